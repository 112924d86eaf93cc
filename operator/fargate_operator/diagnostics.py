"""Memory diagnostics on demand: where the operator's Python memory is allocated.

FARGATE_OPERATOR_TRACEMALLOC=<frames> starts tracemalloc (slows allocation; for
diagnosis only); SIGUSR2 then logs the 30 biggest allocation sites. Used to find
what limits the RSS figures of bench/memory_restart.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import tracemalloc

log = logging.getLogger(__name__)
ENV = "FARGATE_OPERATOR_TRACEMALLOC"


def install(loop: asyncio.AbstractEventLoop) -> None:
    frames = os.environ.get(ENV)
    if not frames:
        return
    tracemalloc.start(max(1, int(frames)))
    loop.add_signal_handler(signal.SIGUSR2, _dump)
    log.warning("tracemalloc on (%s frames): SIGUSR2 logs the biggest allocation sites", frames)


def _dump() -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    )
    stats = snapshot.statistics("traceback" if tracemalloc.get_traceback_limit() > 1 else "lineno")
    total = sum(s.size for s in stats)
    lines = [f"tracemalloc: {total / 2**20:.1f} MiB traced in {len(stats)} sites"]
    for stat in stats[:30]:
        where = " <- ".join(f"{f.filename.rsplit('site-packages/', 1)[-1]}:{f.lineno}" for f in stat.traceback[:4])
        lines.append(f"{stat.size / 2**20:8.2f} MiB {stat.count:8d} blocks  {where}")
    log.warning("\n".join(lines))
