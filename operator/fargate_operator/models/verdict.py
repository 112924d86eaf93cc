"""The verdict a controller or the status loop reaches on an object: what its three conditions will say."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Verdict:
    """How an object stands, as its three conditions will say (Ready, Progressing, Degraded)."""

    ready: bool
    progressing: bool
    degraded: bool
    reason: str
    message: str

    def noted(self, note: str) -> Verdict:
        """The same verdict whose message also says `note` (unchanged when there is nothing to add)."""
        return replace(self, message=f"{self.message}; {note}") if note else self
