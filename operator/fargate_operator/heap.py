"""Hand freed heap memory back to the operating system.

CPython returns its small-object arenas when they empty, but larger blocks come from
glibc's malloc, which keeps freed memory in its heaps: after a burst (a thousand
handlers at once, a status sweep's decoded answers) RSS stays at the peak. glibc's
malloc_trim(0) releases it; the status loop calls it once per cycle (a few ms).
No-op where libc is not glibc (e.g. musl) or not found.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_trim = None
if os.environ.get("FARGATE_OPERATOR_MALLOC_TRIM", "1") != "0":
    try:
        _trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        _trim = None


def release_free_memory() -> None:
    if _trim is not None:
        _trim(0)
