"""The verdict a controller or the status loop reaches on an object: what its three conditions will say."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """How an object stands, as its three conditions will say (Ready, Progressing, Degraded)."""

    ready: bool
    progressing: bool
    degraded: bool
    reason: str
    message: str

    @classmethod
    def of(cls, health: tuple[bool, bool, bool, str, str]) -> Verdict:
        """From the positional verdicts older code returns."""
        return cls(*health)
