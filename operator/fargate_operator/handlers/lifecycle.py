"""Kopf's start: settings chosen on purpose, and the runtime every handler shares.

Kopf runs only while this replica leads (handlers/leadership.py starts it for each term,
in a thread and event loop of its own); the status loop, the tenancy-config watcher and the
watch cache (store/feed.py) are not Kopf's and run beside it.

Kopf settings (see docs/operator.md "Kopf settings"):
- finalizer `ecs.fargate.dev/finalizer`, so deletion reaches ECS first (on a FargateTask
  only once it is marked for RunTask, written together with the mark);
- progress and diff-base in `status.kopf` (spec is never written): a handler's status and
  Kopf's bookkeeping go out as one status patch instead of a body patch plus a status patch;
- Kopf's own log-to-Event posting off: the handlers post one Event per ECS write or failure;
- login with the identity of the operator's own client (kubeclient.py: in-cluster, then kubeconfig);
- at most `max_workers` (default 128) handler bodies at once (our semaphore, handlers/slots.py;
  Kopf's own worker limit is off, since a worker keeps its slot while it sleeps out a retry),
  idle workers gone after 0.1 s;
- 30 s to wait for the watch event of Kopf's own patch before acting on an older one;
- watch requests time out server-side after 5 minutes (client after 5.5) to recover quietly
  from silently dropped connections;
- peering: standalone. Which replica runs Kopf at all is decided by the Lease (leader/):
  Kopf's peering pauses lower-priority replicas, but not loops outside Kopf, and it takes
  over only after a 60 s keep-alive;
- no "ultimate exiting" SIGKILL: a term is stopped on purpose when leadership ends, and the
  process (with its REST and MCP servers) must outlive it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.ecs.settings import GatewaySettings
from fargate_operator.models.kinds import FINALIZER, RUN_MARK
from fargate_operator.runtime import Runtime
from fargate_operator.store.watch_cache import WatchCache
from fargate_operator.tenancy_config import PolicySource

_config_holder: dict[str, Any] = {}


def use_config(config: Any) -> None:
    """Called by the CLI before Kopf starts."""
    _config_holder["config"] = config


def build_runtime(config: Any) -> Runtime:
    gateway = EcsGateway(
        GatewaySettings(region=config.region, endpoint_url=config.ecs_endpoint, max_concurrency=config.ecs_concurrency)
    )
    return Runtime(
        config=config, gateway=gateway, watch_cache=WatchCache(), tenancy=PolicySource(config.tenancy_config)
    )


@kopf.on.login()
def login(**kwargs: Any) -> Any:
    """Kopf's credentials: the same identity k8s.py's client uses (kubeclient.py: the in-cluster
    ServiceAccount, else the kubeconfig), so both clients agree. Registering it turns off Kopf's
    other login handlers."""
    from fargate_operator import k8s, kubeclient

    return kubeclient.kopf_login(k8s.api().conn)


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: Any, logger: Any, **_: Any) -> None:
    from fargate_operator.config import OperatorConfig

    config: OperatorConfig = _config_holder.get("config") or OperatorConfig()
    settings.persistence.finalizer = FINALIZER
    # In status, so that a handler's result and Kopf's bookkeeping land in one status write.
    settings.persistence.progress_storage = kopf.StatusProgressStorage(field="status.kopf.progress")
    settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage(
        field="status.kopf.last-handled-configuration",
        ignored_fields=[("metadata", "annotations", RUN_MARK)],  # the operator's own record, not a change
    )
    settings.posting.enabled = False
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 30
    # Kopf's workers unbounded: a worker keeps its slot while Kopf sleeps out a retry delay, so
    # waiting objects could hold every slot. Handler bodies are bounded instead (handlers/slots.py,
    # `max_workers` at once); idle workers leave after 0.1 s.
    settings.queueing.worker_limit = None
    settings.queueing.idle_timeout = 0.1
    # Under a burst, the watch event of Kopf's own status patch can take seconds to come back;
    # processing the older event instead re-runs handlers (harmless, but calls and writes).
    settings.persistence.consistency_timeout = 30
    settings.process.ultimate_exiting_timeout = None
    rt: Runtime = memo.runtime
    # This term's event loop: the handler-body bound must be a semaphore of this loop.
    rt.work_slots = asyncio.Semaphore(config.max_workers)
    memo.started = True
    source = rt.tenancy
    logger.info(
        "fargate-operator handlers started (status interval %.1fs, tenancy config %s %s)",
        config.status_interval,
        source.policy.digest,
        f"from {source.path}" if source.path else "built in",
    )
