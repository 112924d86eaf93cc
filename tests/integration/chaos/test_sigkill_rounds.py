"""SIGKILL the operator at random moments while FargateTasks and FargateServices are created, changed and deleted.

After several rounds and a final restart: exactly one ECS task per FargateTask,
every object converged, and nothing left in ECS for deleted objects. Bounded by
CHAOS_* below; `make chaos` runs a longer variant (FARGATE_CHAOS_SCALE=5).
"""

from __future__ import annotations

import os
import random
import time
import uuid
from typing import Any

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from support.chaos import ChaosWorkload
from support.operator_process import OperatorProcess

SCALE = int(os.environ.get("FARGATE_CHAOS_SCALE", "1"))
TASKS, SERVICES, ROUNDS = 200 * SCALE, 20 * SCALE, 4 + SCALE
WAIT = float(os.environ.get("FARGATE_CHAOS_WAIT", "240"))


def test_sigkill_rounds_start_nothing_twice_and_lose_nothing(world: World, network: Network, tmp_path: Any) -> None:
    rng = random.Random(20261124)
    ns = f"kill-{uuid.uuid4().hex[:8]}"
    cp = world.control_plane
    cp.kubectl("create", "namespace", ns)
    proxy = EcsProxy(world.ecs.endpoint).start()
    op = OperatorProcess(cp, proxy.endpoint, ns, tmp_path / "operator.log").start()
    workload = ChaosWorkload(cp, ns, network, TASKS, SERVICES, ROUNDS, rng)
    kills = 0
    try:
        workload.setup()

        def kill_and_restart(_round: int) -> None:
            nonlocal kills
            time.sleep(rng.uniform(0.5, 3.0))
            op.kill()
            kills += 1
            op.start()

        workload.play(kill_and_restart)
        workload.wait_converged(WAIT)
        workload.check_ecs(world.ecs.client())
        print(
            f"chaos: {kills} SIGKILLs, {TASKS} tasks ({len(workload.deleted_tasks)} deleted), {SERVICES} services "
            f"({len(workload.deleted_services)} deleted), duplicates 0, orphans 0, ECS calls {sum(proxy.calls.values())}"
        )
    finally:
        op.stop()
        proxy.stop()
