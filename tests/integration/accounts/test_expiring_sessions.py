"""Short-lived AssumeRole sessions keep working, and the AssumeRole calls they cost stay bounded.

An emulator of its own whose AssumeRole sessions last SESSION seconds and which refuses an expired
session's requests (ExpiredTokenException, as AWS does: tests/emulator/test_sim_sts.py), behind the
counting proxy. The operator keeps writing (a task definition every few seconds) and reading (the
status loop, every second) for more than two lifetimes.
"""

from __future__ import annotations

import math
import time
import uuid
from pathlib import Path

import yaml

from fargate_devenv.ecs_emulator import REGION, EcsEmulator
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from support.accounts import ROLE_A
from support.operator_process import Kube, OperatorProcess, condition, manifest, task_definition_spec, wait_for

SESSION = 8  # seconds an AssumeRole session lasts here
RUN = 20  # seconds of work: more than two lifetimes


def test_short_sessions_are_refreshed_before_they_expire(world: World, tmp_path: Path) -> None:
    cp, sfx = world.control_plane, uuid.uuid4().hex[:6]
    ns = f"exp-{sfx}"
    cp.kubectl("create", "namespace", ns)
    mapping = manifest(
        "FargateAccount", f"exp-{sfx}", {"roleArn": ROLE_A, "region": REGION, "namespaces": {"names": [ns]}}
    )
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(mapping))
    emulator = EcsEmulator(log=tmp_path / "ecs.log", sts_session_seconds=SESSION).start()
    proxy = EcsProxy(emulator.endpoint).start()
    op = OperatorProcess(
        cp, proxy.endpoint, ns, tmp_path / "operator.log", env={"AWS_ENDPOINT_URL_STS": proxy.endpoint}
    ).start()
    kube = Kube(cp, ns)
    try:
        op.wait_ready()
        started = time.monotonic()
        kube.apply(manifest("FargateCluster", "c", {"clusterName": f"exp-{sfx}"}))
        made = 0
        while time.monotonic() - started < RUN:
            kube.apply(manifest("FargateTaskDefinition", f"td-{made}", task_definition_spec(f"exp-{sfx}-{made}")))
            made += 1
            time.sleep(4)
        for i in range(made):
            wait_for(
                f"td-{i} Ready",
                lambda i=i: condition(kube.status("fargatetaskdefinition", f"td-{i}"), "Ready").get("status") == "True",
            )
        elapsed = time.monotonic() - started
        assert condition(kube.status("fargatecluster", "c"), "Ready").get("status") == "True"
        log = op.log_text()
    finally:
        op.stop()
        proxy.stop()
        emulator.stop()
        cp.kubectl("delete", "fargateaccount", f"exp-{sfx}", "--ignore-not-found")
    assert "ExpiredToken" not in log, [line for line in log.splitlines() if "ExpiredToken" in line][:3]
    sessions = {key: n for key, n in proxy.sessions.items() if key[0] == ROLE_A}
    assert len(sessions) == 1, proxy.sessions  # one session name for the FargateAccount
    count = next(iter(sessions.values()))
    # Refreshed at least twice (the run outlived two sessions), and about once per lifetime less the window
    # botocore refreshes ahead by (a quarter of a lifetime here): no refresh per call.
    bound = math.ceil(elapsed / (SESSION * 3 / 4)) + 2
    print(
        f"\nAssumeRole sessions: {count} in {elapsed:.0f} s of {SESSION} s sessions (bound {bound}); {dict(proxy.calls)}"
    )
    assert 3 <= count <= bound, (count, bound, elapsed, proxy.calls)
    assert proxy.calls["DescribeClusters"] >= elapsed * 0.5  # the status loop kept reading all along
