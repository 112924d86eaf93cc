"""A network + mount namespace that holds a whole test node, and nothing outside its run directory.

One long-lived holder process (``unshare --net --mount``, private propagation) owns
both namespaces; every node component is started inside them with
``nsenter -t <holder> -m -n`` and absolute paths. Inside:

- a fresh sysfs (this namespace's links), cgroup v1 controllers and cgroup2
  re-mounted under a tmpfs on /sys/fs/cgroup (kubelet and runc share them);
- the node address on a veth pair whose both ends stay inside, so no packet can
  leave (this VM has no ``dummy`` driver); forwarding and bridge netfilter on,
  per namespace;
- the host paths that kubelet, containerd and CNI hard-code (/var/lib/kubelet,
  /var/log/containers, /var/lib/cni, /run/containerd, /run/netns) bind-mounted
  from the run directory, so what they write stays there. Only the empty
  mountpoints exist on the host, removed again by the last user (devenv/host_mounts.py).

No ``ip netns add``: the namespaces live exactly as long as their processes,
and stop() ends every process that is in them (found by namespace identity).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from fargate_devenv import processes
from fargate_devenv.host_mounts import SharedMountpoints
from fargate_devenv.host_packages import which

NODE_IP = "10.200.0.1"
NODE_PREFIX = 24
NODE_LINK = "fo-node0"
PEER_LINK = "fo-node1"
CGROUP_V1 = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids")
# Host paths the node's components write to whatever their configuration says.
HARD_CODED_PATHS = ("/var/lib/kubelet", "/var/log/containers", "/var/lib/cni", "/run/containerd", "/run/netns")
COMPONENT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def holder_script(run_dir: Path, binds: dict[str, Path]) -> str:
    """The shell the holder runs inside its fresh namespaces before it sleeps (pure; unit-tested)."""
    lines = [
        "set -eu",
        "mount -t sysfs sysfs /sys",
        "mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup",
    ]
    for c in CGROUP_V1:
        lines += [f"mkdir /sys/fs/cgroup/{c}", f"mount -t cgroup -o {c} cgroup /sys/fs/cgroup/{c}"]
    lines += [
        "mkdir /sys/fs/cgroup/systemd /sys/fs/cgroup/unified",
        "mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd",
        "mount -t cgroup2 none /sys/fs/cgroup/unified",
    ]
    lines += [f"mount --bind {shlex.quote(str(src))} {shlex.quote(dst)}" for dst, src in binds.items()]
    lines += [
        "ip link set lo up",
        f"ip link add {NODE_LINK} type veth peer name {PEER_LINK}",
        f"ip addr add {NODE_IP}/{NODE_PREFIX} dev {NODE_LINK}",
        f"ip link set {NODE_LINK} up",
        f"ip link set {PEER_LINK} up",
        f"ip route add default dev {NODE_LINK}",
        # Packets for unknown destinations come back on the peer end: drop them there, never loop.
        "echo 1 > /proc/sys/net/ipv4/ip_forward",
        "echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables || true",
        f"touch {shlex.quote(str(run_dir / 'netns.ready'))}",
        "exec sleep infinity",
    ]
    return "\n".join(lines) + "\n"


def _namespace_id(pid: int | str, kind: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


@dataclass
class NodeNamespace:
    run_dir: Path
    startup_timeout: float = 30.0
    _holder: subprocess.Popen[bytes] | None = None
    _mountpoints: SharedMountpoints = field(default_factory=lambda: SharedMountpoints(HARD_CODED_PATHS))
    _net_ns: str | None = None

    @property
    def pid(self) -> int:
        assert self._holder is not None, "namespace not started"
        return self._holder.pid

    def start(self) -> NodeNamespace:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "netns.ready").unlink(missing_ok=True)
        binds: dict[str, Path] = {}
        for dst in HARD_CODED_PATHS:
            src = self.run_dir / "host" / dst.strip("/").replace("/", "_")
            src.mkdir(parents=True, exist_ok=True)
            binds[dst] = src
        self._mountpoints.acquire()
        script = self.run_dir / "netns-holder.sh"
        script.write_text(holder_script(self.run_dir, binds))
        log = self.run_dir / "netns-holder.log"
        self._holder = processes.start(
            [str(which("unshare")), "--net", "--mount", "--propagation", "private", "/bin/sh", str(script)],
            log,
            env={"PATH": COMPONENT_PATH},
        )
        processes.wait_until(
            lambda: (self.run_dir / "netns.ready").exists(), self._holder, "node namespace", log, self.startup_timeout
        )
        self._net_ns = _namespace_id(self.pid, "net")
        return self

    def enter(self) -> list[str]:
        """The command prefix that runs a program inside the node's network and mount namespaces."""
        return [str(which("nsenter")), "-t", str(self.pid), "-m", "-n", "--"]

    def run(self, *cmd: str, check: bool = True, timeout: float = 60, input: str | None = None) -> str:
        res = subprocess.run(
            [*self.enter(), *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            env={**os.environ, "PATH": COMPONENT_PATH},
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()[-2000:]}")
        return res.stdout

    def members(self) -> list[int]:
        """Every process in the node's network namespace but the holder, and all their descendants.

        Containers live in pod namespaces of their own, as children of the shims that are in this one.
        """
        if self._net_ns is None:
            return []
        holder = self._holder.pid if self._holder else -1
        children: dict[int, list[int]] = {}
        roots = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == holder:
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
            if _namespace_id(entry, "net") == self._net_ns:
                roots.append(int(entry))
        found, todo = set(), list(roots)
        while todo:
            pid = todo.pop()
            if pid not in found:
                found.add(pid)
                todo.extend(children.get(pid, []))
        return sorted(found)

    def kill_members(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL, every process left in the namespace (all of them started by the node)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.members():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while self.members() and time.monotonic() < deadline:
                time.sleep(0.2)
            if not self.members():
                return

    def stop(self) -> None:
        self.kill_members()
        processes.stop(self._holder)
        self._holder = None
        self._mountpoints.release()  # the last user removes the mountpoints (empty on the host)
