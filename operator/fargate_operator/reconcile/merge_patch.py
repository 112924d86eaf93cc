"""JSON merge patch (RFC 7386), the status writes' semantics: what a patch would leave stored.

The status loop writes only what changed. A merge patch deletes a member sent as null, so the
stored status never holds the nulls the computed one has (status.drift's `since` while in sync):
comparing the two directly sees a change every cycle and writes every object every cycle.
Comparing the stored value with the stored value after the patch does not (used for status.drift).
"""

from __future__ import annotations

from typing import Any


def applied(target: Any, patch: Any) -> Any:
    """`target` after the merge patch `patch` (RFC 7386 section 2): objects merge, null deletes."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = applied(result.get(key), value)
    return result


def changes(stored: Any, patch: Any) -> bool:
    """Whether the merge patch `patch` would change `stored`."""
    return bool(applied(stored, patch) != stored)


def replacing(stored: Any, wanted: Any) -> Any:
    """The merge patch that makes `stored` equal `wanted`: `wanted` plus a null for each member it lacks."""
    if not isinstance(wanted, dict) or not isinstance(stored, dict):
        return wanted
    patch = {key: replacing(stored.get(key), value) for key, value in wanted.items()}
    return patch | {key: None for key in stored if key not in wanted}
