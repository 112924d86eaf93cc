"""Operator settings from flags and environment (FARGATE_OPERATOR_*; AWS_* as boto3 reads them)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class OperatorConfig:
    region: str | None = field(
        default_factory=lambda: os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    )
    # None: boto3's default endpoint, or AWS_ENDPOINT_URL_ECS / AWS_ENDPOINT_URL when set.
    ecs_endpoint: str | None = field(default_factory=lambda: os.environ.get("FARGATE_OPERATOR_ECS_ENDPOINT"))
    namespaces: tuple[str, ...] = ()  # empty: all namespaces
    status_interval: float = field(default_factory=lambda: _env_float("FARGATE_OPERATOR_STATUS_INTERVAL", 5.0))
    ecs_concurrency: int = 16
    # Handler bodies run at once (handlers/slots.py). Unbounded, a burst of 1,000 creations ran 1,000 handlers side by
    # side: more RSS (~200 MiB) and a slower burst than 128 at a time (bench/create_to_running.py).
    max_workers: int = field(default_factory=lambda: int(_env_float("FARGATE_OPERATOR_MAX_WORKERS", 128)))
    # The admin's tenancy config (docs/tenancy.md); None: the built-in default.
    tenancy_config: str | None = field(
        default_factory=lambda: os.environ.get("FARGATE_OPERATOR_TENANCY_CONFIG") or None
    )
    # Drift detection (handlers/drift.py): off only to measure what it costs (bench/drift_cost.py).
    drift_detection: bool = field(
        default_factory=lambda: (
            os.environ.get("FARGATE_OPERATOR_DRIFT_DETECTION", "on").lower() not in ("off", "false", "0")
        )
    )
    # Task definitions are checked every this many status cycles (ListTaskDefinitions pages): see docs/drift.md.
    drift_task_definition_every: int = field(
        default_factory=lambda: max(1, int(_env_float("FARGATE_OPERATOR_DRIFT_TASK_DEFINITION_EVERY", 2)))
    )
    # Event-driven status (handlers/event_status.py): the SQS queue ECS's events reach in the operator's own
    # account and region; empty: polling every status_interval, as without it.
    events_queue_url: str | None = field(
        default_factory=lambda: os.environ.get("FARGATE_OPERATOR_EVENTS_QUEUE_URL") or None
    )
    # With events driving an object's status, everything is still described this often (the safety net for a
    # lost or unrouted event); the task-definition drift walk follows this cadence too.
    resync_interval: float = field(default_factory=lambda: _env_float("FARGATE_OPERATOR_RESYNC_INTERVAL", 300.0))
    # ...and no more often than its reads allow at this many ECS reads per second on average (events/resync.py):
    # 1,000 services take ~155 reads a resync (300 s), 10,000 about 1,550 (~32 minutes at 0.8/s).
    resync_reads_per_second: float = field(
        default_factory=lambda: _env_float("FARGATE_OPERATOR_RESYNC_READS_PER_SECOND", 0.8)
    )
    # Kopf's own peering stays off: which replica runs Kopf is decided by the Lease (leader/).
    standalone: bool = True
    kubeconfig: str | None = None
