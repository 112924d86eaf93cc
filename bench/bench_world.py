"""What the benchmarks share: the world they start, the counts they take, how they report.

- `BenchWorld`: kube-apiserver + etcd, moto behind the counting proxy (devenv), the
  operator as its own process; all on loopback, stopped on exit.
- `apiserver_writes`: kube-apiserver's own request counter (apiserver_request_total),
  so Kubernetes writes are counted by the server, not by the code under test.
- `Sampler`: RSS and CPU seconds of the operator and the other processes, over time.
- `Profiler`: py-spy attached to the operator (`--profile`), summarised as the functions
  that hold the most samples.
- `report`: a table on stdout, JSON in bench/results/, a PNG chart in docs/bench/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes
import psutil
import urllib3
import yaml

REPO = Path(__file__).resolve().parents[1]
# FARGATE_BENCH_OUTPUT sends JSON and charts elsewhere (the smoke test uses it).
RESULTS = Path(os.environ.get("FARGATE_BENCH_OUTPUT") or REPO / "bench" / "results")
CHARTS = Path(os.environ.get("FARGATE_BENCH_OUTPUT") or REPO / "docs" / "bench")
sys.path.insert(0, str(REPO / "tests"))

from fargate_devenv.control_plane import ControlPlane  # noqa: E402
from fargate_devenv.ecs_proxy import EcsProxy  # noqa: E402
from fargate_devenv.world import World  # noqa: E402
from support import identity as identity_support  # noqa: E402
from support.operator_process import OperatorProcess, awsvpc, manifest, task_definition_spec, wait_for  # noqa: E402

# The test helpers the benchmarks use too, so that scripts import from this module only.
__all__ = ["OperatorProcess", "awsvpc", "identity_support", "manifest", "task_definition_spec", "wait_for"]

MIB = 1024 * 1024
_METRIC = re.compile(r"^apiserver_request_total\{([^}]*)\} (\d+(?:\.\d+)?)$")
# What the operator writes; the API server's own housekeeping (leases, endpoints) is not counted.
OPERATOR_RESOURCES = ("fargateclusters", "fargatetaskdefinitions", "fargateservices", "fargatetasks", "events")


@dataclass
class BenchWorld:
    """The world a benchmark runs in; `with BenchWorld.start(...) as bw:` stops it all afterwards."""

    world: World
    proxy: EcsProxy
    workdir: Path
    namespace: str = "bench"
    status_interval: float = 5.0
    extra_args: tuple[str, ...] = ()
    operator: OperatorProcess | None = None
    operator_starts: int = field(default=0)

    @classmethod
    def start(
        cls, status_interval: float = 5.0, extra_args: tuple[str, ...] = (), cloudtrail_events: bool = False
    ) -> BenchWorld:
        workdir = Path(tempfile.mkdtemp(prefix="bench-"))
        world = World.start(REPO / "crds", workdir=workdir / "world", cloudtrail_events=cloudtrail_events)
        proxy = EcsProxy(world.ecs.endpoint).start()
        bw = cls(world, proxy, workdir, status_interval=status_interval, extra_args=extra_args)
        bw.cp.kubectl("create", "namespace", bw.namespace)
        return bw

    @property
    def cp(self) -> ControlPlane:
        return self.world.control_plane

    def start_operator(self) -> OperatorProcess:
        self.operator_starts += 1
        log = self.workdir / f"operator-{self.operator_starts}.log"
        op = OperatorProcess(
            self.cp, self.proxy.endpoint, self.namespace, log, self.status_interval, extra_args=self.extra_args
        )
        self.operator = op.start()
        return op

    def seed(self) -> dict[str, Any]:
        """A cluster and a task definition (reconciled), and the spec of a FargateTask that uses them."""
        network = self.world.ecs.create_network()
        setup = [
            manifest("FargateCluster", "bench", {"clusterName": "bench"}),
            manifest("FargateTaskDefinition", "job", task_definition_spec("bench-job")),
        ]
        self.cp.kubectl("apply", "-n", self.namespace, "-f", "-", input=yaml.safe_dump_all(setup))
        self.wait_field("fargatetaskdefinition", "job", ".status.taskDefinitionArn")
        self.wait_field("fargatecluster", "bench", ".status.clusterArn")
        return {
            "clusterRef": {"name": "bench"},
            "taskDefinitionRef": {"name": "job"},
            "launchType": "FARGATE",
            "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
        }

    def wait_field(self, kind: str, name: str, path: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.cp.kubectl("get", kind, name, "-n", self.namespace, "-o", f"jsonpath={{{path}}}", check=False)
            if out.stdout.strip():
                return
            time.sleep(0.3)
        raise TimeoutError(f"{kind}/{name} has no {path}")

    def create(self, docs: list[dict[str, Any]], parallel: int = 4) -> None:
        """`kubectl create` of all docs by `parallel` kubectl processes at a time (kubectl is serial)."""
        per_call = max(1, min(500, -(-len(docs) // parallel)))  # each call well inside kubectl()'s timeout
        chunks = [docs[i : i + per_call] for i in range(0, len(docs), per_call)]

        def one(chunk: list[dict[str, Any]]) -> None:
            self.cp.kubectl("create", "-n", self.namespace, "-f", "-", "-o", "name", input=yaml.safe_dump_all(chunk))

        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(one, chunks))

    def __enter__(self) -> BenchWorld:
        return self

    def __exit__(self, *_: object) -> None:
        if self.operator is not None:
            self.operator.stop()
        self.proxy.stop()
        self.world.stop()


class StatusWatch:
    """One watch on a kind; records when each object was first seen and first met `done(status)`."""

    def __init__(self, bw: BenchWorld, plural: str, done: Callable[[dict[str, Any]], bool]) -> None:
        cfg = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=str(bw.cp.kubeconfig), client_configuration=cfg)
        self.api = kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(cfg))
        self.namespace, self.plural, self.is_done = bw.namespace, plural, done
        self.created: dict[str, float] = {}
        self.done: dict[str, float] = {}
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._watch = kubernetes.watch.Watch()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> StatusWatch:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except (kubernetes.client.ApiException, urllib3.exceptions.HTTPError, OSError):
                # The stream broke, or asked for a version the server's cache lacks: list and watch anew.
                self._watch = kubernetes.watch.Watch()
                time.sleep(0.2)

    def _follow(self) -> None:
        stream = self._watch.stream(
            self.api.list_namespaced_custom_object,
            "ecs.fargate.dev",
            "v1alpha1",
            self.namespace,
            self.plural,
            timeout_seconds=60,
        )
        for event in stream:
            obj: Any = event["object"]
            name, now = obj["metadata"]["name"], time.monotonic() - self.t0
            self.created.setdefault(name, now)
            if self.is_done(obj.get("status") or {}):
                self.done.setdefault(name, now)
            if self._stop.is_set():
                break

    def wait(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.done) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return len(self.done) >= count

    def stop(self) -> None:
        self._stop.set()
        self._watch.stop()


def apiserver_writes(cp: ControlPlane) -> Counter[str]:
    """kube-apiserver's count of write requests so far, as "VERB resource[/subresource]"."""
    assert cp.workdir is not None
    ctx = ssl.create_default_context(cafile=str(cp.workdir / "pki" / "ca.crt"))
    req = urllib.request.Request(f"{cp.url}/metrics", headers={"Authorization": f"Bearer {cp.admin_token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        text = resp.read().decode()
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        m = _METRIC.match(line)
        if not m:
            continue
        labels = {k: v.strip('"') for k, v in (kv.split("=", 1) for kv in re.findall(r'\w+="[^"]*"', m.group(1)))}
        if labels.get("verb") in ("POST", "PATCH", "PUT", "DELETE", "APPLY"):
            sub = f"/{labels['subresource']}" if labels.get("subresource") else ""
            counts[f"{labels['verb']} {labels.get('resource', '')}{sub}"] += int(float(m.group(2)))
    return counts


def operator_writes(delta: Counter[str]) -> Counter[str]:
    """The writes in `delta` that went to the operator's kinds or to Events."""
    return Counter({k: v for k, v in delta.items() if k.split()[1].split("/")[0] in OPERATOR_RESOURCES and v > 0})


@dataclass
class Sample:
    t: float
    rss_mib: dict[str, float]
    cpu_s: dict[str, float]


class Sampler:
    """RSS and CPU seconds of named processes every `interval` seconds, on a thread."""

    def __init__(self, processes: Callable[[], dict[str, int]], interval: float = 0.5) -> None:
        self._processes = processes
        self.interval = interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Sampler:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def take(self) -> Sample:
        rss, cpu = {}, {}
        for name, pid in self._processes().items():
            try:
                proc = psutil.Process(pid)
                rss[name] = proc.memory_info().rss / MIB
                times = proc.cpu_times()
                cpu[name] = times.user + times.system
            except psutil.Error:
                continue
        sample = Sample(time.monotonic() - self._t0, rss, cpu)
        self.samples.append(sample)
        return sample

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.take()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak_rss(self, name: str) -> float:
        return max((s.rss_mib.get(name, 0.0) for s in self.samples), default=0.0)


def steady_rss(sampler: Sampler, seconds: float = 10.0) -> float:
    """The highest operator RSS over `seconds` of samples."""
    peak = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        peak = max(peak, sampler.take().rss_mib.get("operator", 0.0))
        time.sleep(0.5)
    return round(peak, 1)


def world_processes(bw: BenchWorld) -> dict[str, int]:
    """The pids a benchmark watches: the operator, and what shares the machine with it."""
    procs: dict[str, int] = {}
    if bw.operator is not None and bw.operator.proc is not None:
        procs["operator"] = bw.operator.proc.pid
    procs.update(bw.cp.pids())
    if bw.world.ecs.pid is not None:
        procs["moto"] = bw.world.ecs.pid
    return procs


class Profiler:
    """py-spy attached to a process; `summary()` names where the samples went."""

    def __init__(self, pid: int, name: str, rate: int = 50) -> None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.raw = RESULTS / f"{name}-profile.txt"  # collapsed stacks: flamegraph.pl / speedscope read them
        self._proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--output",
                str(self.raw),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> None:
        self._proc.send_signal(signal.SIGINT)
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            self._proc.kill()

    def summary(self, top: int = 15) -> dict[str, Any]:
        """Samples by leaf function, and by the innermost known package on each stack."""
        if not self.raw.exists():
            return {"error": (self._proc.stderr.read().decode() if self._proc.stderr else "no profile")[:500]}
        leaf: Counter[str] = Counter()
        area: Counter[str] = Counter()
        caller: Counter[str] = Counter()  # whose work it is: our code's innermost frame, or Kopf's
        total = 0
        for line in self.raw.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            total += count
            frames = stack.split(";")
            leaf[frames[-1]] += count
            area[next((a for f in reversed(frames) if (a := _area(f))), "other")] += count
            ours = next((f for f in reversed(frames) if "(fargate_operator/" in f and "cli.py" not in f), None)
            caller[
                ours.split(" (")[0] if ours else next((a for f in frames if (a := _area(f)) == "kopf"), "other")
            ] += count

        def share(n: int) -> float:
            return round(100 * n / max(total, 1), 1)

        return {
            "samples": total,
            "self_top": [(name, share(n)) for name, n in leaf.most_common(top)],
            "by_package": {name: share(n) for name, n in area.most_common()},
            "by_caller": {name: share(n) for name, n in caller.most_common(top)},
        }


# py-spy names a frame "function (path:line)", the path relative to its sys.path entry.
_AREAS = (
    ("(fargate_operator/", "fargate_operator"),
    ("(kopf/", "kopf"),
    ("(kubernetes/", "kubernetes client"),
    ("(botocore/", "botocore"),
    ("(boto3/", "boto3"),
    ("(aiohttp/", "aiohttp"),
    ("(urllib3/", "urllib3"),
    ("(starlette/", "starlette"),
    ("(uvicorn/", "uvicorn"),
    ("(json/", "json"),
    ("(ssl.py", "ssl"),
    ("(socket.py", "socket"),
    ("(http/", "http.client"),
    ("(copy.py", "copy"),
    ("(yaml/", "yaml"),
    ("(concurrent/", "thread pool"),
    ("(asyncio/", "asyncio"),
)


def _area(frame: str) -> str:
    return next((name for marker, name in _AREAS if marker in frame), "")


def report(name: str, result: dict[str, Any], rows: Iterable[tuple[str, Any, str]]) -> Path:
    """Print `rows` (metric, value, target) as a table and write the whole result as JSON."""
    rows = list(rows)
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'metric':<{width}} {'measured':>14}   target")
    for metric, value, target in rows:
        print(f"{metric:<{width}} {value!s:>14}   {target}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {out}")
    return out


def chart_path(name: str) -> Path:
    CHARTS.mkdir(parents=True, exist_ok=True)
    return CHARTS / f"{name}.png"


def save_chart(fig: Any, ax: Any, name: str, legend_loc: str = "lower right", legend_size: int = 8) -> None:
    """The finishing every chart shares: grid, legend, layout, PNG in docs/bench/."""
    ax.grid(alpha=0.3)
    ax.legend(loc=legend_loc, fontsize=legend_size)
    fig.tight_layout()
    fig.savefig(chart_path(name))


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
