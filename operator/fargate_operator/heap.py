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
_mallopt = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _mallopt = _libc.mallopt  # the arena limit, whatever the trim switch says
    if os.environ.get("FARGATE_OPERATOR_MALLOC_TRIM", "1") != "0":
        _trim = _libc.malloc_trim
except (OSError, AttributeError):
    _trim = _mallopt = None

M_ARENA_MAX = -8  # glibc's mallopt parameter
ARENAS = 2


def limit_arenas() -> None:
    """At most ARENAS malloc arenas (glibc makes up to 8 per core, one for each thread that meets a locked
    one): the ECS thread pool, the watch streams and the servers then share two heaps instead of
    fragmenting a dozen. Called first thing, before the threads start (MALLOC_ARENA_MAX does the same)."""
    if _mallopt is not None and "MALLOC_ARENA_MAX" not in os.environ:
        _mallopt(M_ARENA_MAX, ARENAS)


def release_free_memory() -> None:
    if _trim is not None:
        _trim(0)
