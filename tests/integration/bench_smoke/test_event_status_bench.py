"""The event-driven status benchmark, small: the same fleet polled and kept fresh by ECS's events."""

from __future__ import annotations

import json
from pathlib import Path

from support.bench_run import run_bench


def test_events_keep_status_fresh_with_fewer_reads_than_polling(tmp_path: Path) -> None:
    """bench/event_status.py, small: both modes run on one fleet; the probes' status names the mode that kept it
    fresh; in events mode a stopped task, a service's steady state and a console-style change (CloudTrail) show
    in status within 5 s at the 95th percentile, nothing is missed, and the steady state costs fewer ECS reads
    than polling the same fleet (the window is whole resync intervals, so the resync is counted). No ECS write
    and no Kubernetes write while nothing changes, in either mode."""
    args = ["--services", "60", "--samples", "5", "--window", "30", "--resync-interval", "30", "--settle", "10"]
    run_bench("event_status.py", [*args, "--sample-timeout", "60", "--timeout", "300"], tmp_path, 900)
    result = json.loads((tmp_path / "event_status.json").read_text())
    polling, events = result["modes"]["polling"], result["modes"]["events"]
    assert polling["probe_freshness"] == {"Polling": 15}, polling["probe_freshness"]
    assert events["probe_freshness"] == {"Events": 15}, events["probe_freshness"]
    for key in ("task_stopped", "service_steady", "drift"):
        assert polling[key]["missed"] == 0, (key, polling[key])
        assert events[key]["missed"] == 0, (key, events[key])
        assert events[key]["p95_s"] <= 5.0, (key, events[key])
    assert events["steady"]["ecs_reads_per_s"] < polling["steady"]["ecs_reads_per_s"], (events, polling)
    for mode in (polling, events):
        assert mode["steady"]["ecs_writes"] == 0, mode["steady"]["ecs_calls"]
        assert not mode["steady"]["k8s_writes"], mode["steady"]["k8s_writes"]
