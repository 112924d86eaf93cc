"""The whole local test world: control plane with our CRDs installed, plus the ECS emulator."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess
from typing import Protocol

from fargate_devenv.assets import Assets, ensure_assets
from fargate_devenv.control_plane import ControlPlane
from fargate_devenv.ecs_emulator import FAST_STEP_SECONDS, EcsEmulator

KINDS_IN_CATEGORY = 4


class Kubectl(Protocol):
    def __call__(self, *args: str, input: str | None = None, check: bool = True) -> CompletedProcess[str]: ...


def install_crds(kubectl: Kubectl, crd_dir: Path, timeout: float = 60, admission: bool = False) -> None:
    """Apply the CRDs the way a user does, and wait until kubectl can use them; with `admission`, then the
    region admission policy beside them (`deploy/admission/` of the same checkout: FargateAccounts are its
    params). Where the chart is installed later, its template makes that policy instead."""
    kubectl("apply", "-f", str(crd_dir))
    kubectl(
        "wait",
        "--for=condition=Established",
        "crd",
        "-l",
        "app.kubernetes.io/part-of=fargate-operator",
        f"--timeout={int(timeout)}s",
    )
    # Discovery (which `kubectl get fargate` reads) lags the Established condition a little.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = kubectl("api-resources", "--categories=fargate", "--no-headers", check=False).stdout
        if len(out.strip().splitlines()) >= KINDS_IN_CATEGORY:
            if admission:
                kubectl("apply", "-f", str(crd_dir.parent / "deploy" / "admission"))
            return
        time.sleep(0.3)
    raise TimeoutError("the fargate category did not show up in discovery")


@dataclass
class World:
    assets: Assets
    control_plane: ControlPlane
    ecs: EcsEmulator

    @classmethod
    def start(
        cls,
        crd_dir: Path,
        workdir: Path | None = None,
        ecs_step_seconds: float = FAST_STEP_SECONDS,
        cloudtrail_events: bool = False,
    ) -> World:
        """Tests use the fast ECS emulator; `make run` passes DEV_STEP_SECONDS. `cloudtrail_events`: ECS API
        calls reach EventBridge as CloudTrail events (the emulator's --cloudtrail-events)."""
        assets = ensure_assets()
        cp = ControlPlane(assets, workdir=workdir).start()
        try:
            install_crds(cp.kubectl, crd_dir, admission=True)
            log = (workdir / "ecs-sim.log") if workdir else None
            ecs = EcsEmulator(log=log, step_seconds=ecs_step_seconds, cloudtrail_events=cloudtrail_events).start()
        except BaseException:
            cp.stop()
            raise
        return cls(assets, cp, ecs)

    def stop(self) -> None:
        self.ecs.stop()
        self.control_plane.stop()
