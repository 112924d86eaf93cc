"""Operator start and stop: Kopf settings chosen on purpose, the runtime, the status loops.

Kopf settings (see README "Kopf settings"):
- finalizer `ecs.fargate.dev/finalizer`, so deletion reaches ECS first (on a FargateTask
  only once it is marked for RunTask, written together with the mark);
- progress and diff-base in `status.kopf` (spec is never written): a handler's status and
  Kopf's bookkeeping go out as one status patch instead of a body patch plus a status patch;
- Kopf's own log-to-Event posting off: the handlers post one Event per ECS write or failure;
- login through the kubernetes client's configuration only (in-cluster, then kubeconfig);
- at most `max_workers` (default 128) handler bodies at once (our semaphore, handlers/slots.py;
  Kopf's own worker limit is off, since a worker keeps its slot while it sleeps out a retry),
  idle workers gone after 0.1 s;
- 30 s to wait for the watch event of Kopf's own patch before acting on an older one;
- watch requests time out server-side after 5 minutes (client after 5.5) to recover quietly
  from silently dropped connections;
- peering: standalone, one replica. A hot standby is not offered yet: Kopf peering would
  pause a standby's handlers but not the status loop this module starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import kopf

from fargate_operator import k8s
from fargate_operator.ecs.gateway import EcsGateway, GatewaySettings
from fargate_operator.handlers.refresh import refresh_forever
from fargate_operator.handlers.tenancy import watch_config
from fargate_operator.handlers.watch_cache import resync_forever
from fargate_operator.models.kinds import FINALIZER, PLURALS, RUN_MARK
from fargate_operator.runtime import Runtime
from fargate_operator.store.registry import Registry
from fargate_operator.tenancy_config import PolicySource

_config_holder: dict[str, Any] = {}


def use_config(config: Any) -> None:
    """Called by the CLI before Kopf starts."""
    _config_holder["config"] = config


def build_runtime(config: Any) -> Runtime:
    gateway = EcsGateway(
        GatewaySettings(region=config.region, endpoint_url=config.ecs_endpoint, max_concurrency=config.ecs_concurrency)
    )
    return Runtime(config=config, gateway=gateway, registry=Registry(), tenancy=PolicySource(config.tenancy_config))


@kopf.on.login()
def login(**kwargs: Any) -> Any:
    """Kopf's credentials from the same kubernetes-client configuration k8s.py uses (in-cluster or kubeconfig).

    Registering it turns off Kopf's other login handlers (pykube, where installed), so both clients agree.
    """
    return kopf.login_via_client(**kwargs)


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
    if getattr(memo, "runtime", None) is None:
        memo.runtime = build_runtime(config)
    memo.refresher = asyncio.create_task(refresh_forever(memo.runtime), name="status-refresh")
    memo.syncer = asyncio.create_task(wait_until_synced(memo.runtime, config.namespaces), name="cache-sync")
    memo.tenancy = asyncio.create_task(watch_config(memo.runtime), name="tenancy-config")
    memo.resyncer = asyncio.create_task(
        resync_forever(memo.runtime, config.namespaces, config.cache_resync_interval), name="cache-resync"
    )
    memo.started = True
    source = memo.runtime.tenancy
    logger.info(
        "fargate-operator started (status interval %.1fs, tenancy config %s %s)",
        config.status_interval,
        source.policy.digest,
        f"from {source.path}" if source.path else "built in",
    )


async def wait_until_synced(rt: Runtime, namespaces: tuple[str, ...]) -> None:
    """Mark the watch cache synced once it holds as many objects as the API server does.

    Compared with a fresh count each time (one `limit=1` LIST per kind), so objects deleted
    before Kopf's first listing reached them cannot keep it unsynced.
    """
    while True:
        try:
            counts = {kind: await k8s.count_objects(kind, namespaces) for kind in PLURALS}
            if rt.registry.catches_up_with(counts):
                return
        except Exception as exc:  # the API server away for a moment: try again
            logging.getLogger(__name__).warning("watch cache sync check failed: %s", exc)
        await asyncio.sleep(0.5)


@kopf.on.cleanup()
async def cleanup(memo: Any, **_: Any) -> None:
    for name in ("refresher", "syncer", "tenancy", "resyncer"):
        task = getattr(memo, name, None)
        if task is None:
            continue
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    rt = getattr(memo, "runtime", None)
    if rt is not None:
        rt.gateway.close()
