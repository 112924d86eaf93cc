"""Empty host directories that private mount namespaces bind over, shared between concurrent users.

The node (devenv/netns.py) and the image builder's Docker engine (devenv/image.py) bind
run-directory folders over paths their programs hard-code (/run/containerd, /var/lib/kubelet,
...). Those mountpoints must exist on the host; whoever creates one records it, and the last
user out removes the recorded ones. Removing a directory that is a mountpoint in another mount
namespace would detach that mount there, so nobody removes anything while another user (another
node, a build, another engineer's test run on the same machine) still holds the shared lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from fargate_devenv.cache import cache_root


class SharedMountpoints:
    def __init__(self, paths: tuple[str, ...], state_dir: Path | None = None) -> None:
        self.paths = paths
        self.state_dir = state_dir or cache_root() / "host-mountpoints"
        self._held: IO[str] | None = None

    @property
    def _users(self) -> Path:
        return self.state_dir / "users.lock"

    @property
    def _record(self) -> Path:
        return self.state_dir / "created.json"

    @contextlib.contextmanager
    def _bookkeeping(self) -> Iterator[None]:
        with open(self.state_dir / "record.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _created(self) -> list[str]:
        try:
            return list(json.loads(self._record.read_text()))
        except (OSError, ValueError):
            return []

    def acquire(self) -> None:
        """Hold the shared lock for as long as the bind mounts live; make the missing mountpoints."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._held = open(self._users, "a")  # noqa: SIM115 - held until release()
        fcntl.flock(self._held, fcntl.LOCK_SH)
        with self._bookkeeping():
            created = self._created()
            for path in map(Path, self.paths):
                if not path.exists():
                    path.mkdir(parents=True)
                    created.append(str(path))
            self._record.write_text(json.dumps(sorted(set(created))))

    def release(self) -> None:
        """Let go; the last user removes the mountpoints users made (empty on the host)."""
        if self._held is None:
            return
        fcntl.flock(self._held, fcntl.LOCK_UN)
        self._held.close()
        self._held = None
        with open(self._users, "a") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # someone still has mounts over them
            try:
                with self._bookkeeping():
                    left = []
                    for path in sorted(self._created(), reverse=True):
                        try:
                            Path(path).rmdir()
                        except FileNotFoundError:
                            pass
                        except OSError:
                            left.append(path)  # not empty: not ours to judge; keep the record
                    self._record.write_text(json.dumps(left))
            finally:
                fcntl.flock(probe, fcntl.LOCK_UN)
