"""Operator start and stop: Kopf settings chosen on purpose, the runtime, the status loops.

Kopf settings (see README "Kopf settings"):
- finalizer `ecs.fargate.dev/finalizer` on every object, so deletion reaches ECS first;
- progress and diff-base in annotations under `kopf.ecs.fargate.dev/` (status stays ECS's
  alone, spec is never written);
- Kopf's own log-to-Event posting off: the handlers post one Event per ECS write or failure;
- watch requests time out server-side after 5 minutes (client after 5.5) to recover quietly
  from silently dropped connections;
- peering: standalone, one replica. A hot standby is not offered yet: Kopf peering would
  pause a standby's handlers but not the status loop this module starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import kopf

from fargate_operator.ecs.gateway import EcsGateway, GatewaySettings
from fargate_operator.handlers.refresh import refresh_forever
from fargate_operator.models.kinds import FINALIZER, GROUP
from fargate_operator.runtime import Runtime
from fargate_operator.store.registry import Registry

# Kopf hides annotations under its own prefix from change detection; ours (such as
# ecs.fargate.dev/task-definition, which rolls a service) must stay visible.
KOPF_PREFIX = f"kopf.{GROUP}"

_config_holder: dict[str, Any] = {}


def use_config(config: Any) -> None:
    """Called by the CLI before Kopf starts."""
    _config_holder["config"] = config


def build_runtime(config: Any) -> Runtime:
    gateway = EcsGateway(
        GatewaySettings(region=config.region, endpoint_url=config.ecs_endpoint, max_concurrency=config.ecs_concurrency)
    )
    return Runtime(config=config, gateway=gateway, registry=Registry())


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: Any, logger: Any, **_: Any) -> None:
    from fargate_operator.config import OperatorConfig

    config: OperatorConfig = _config_holder.get("config") or OperatorConfig()
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=KOPF_PREFIX, key="last-handled-configuration"
    )
    settings.posting.enabled = False
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 30
    if getattr(memo, "runtime", None) is None:
        memo.runtime = build_runtime(config)
    memo.refresher = asyncio.create_task(refresh_forever(memo.runtime), name="status-refresh")
    memo.started = True
    logger.info("fargate-operator started (status interval %.1fs)", config.status_interval)


@kopf.on.cleanup()
async def cleanup(memo: Any, **_: Any) -> None:
    task = getattr(memo, "refresher", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    rt = getattr(memo, "runtime", None)
    if rt is not None:
        rt.gateway.close()
