"""Blue/green, linear and canary deployments: the lifecycle stages, traffic steps, bake times and hooks.

A staged deployment runs a fixed program of operations (`plan`), one lifecycle stage after another, as
the botocore model documents ServiceDeployment.lifecycleStage and DeploymentLifecycleHook.lifecycleStages:
RECONCILE_SERVICE (only with more than one ACTIVE revision), PRE_SCALE_UP, SCALE_UP (green to 100%),
POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT (PRE_PRODUCTION_TRAFFIC_SHIFT
hooks before and PRODUCTION_TRAFFIC_SHIFT hooks at every step), POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME, CLEAN_UP.
Time: a minute of ECS time lasts one lifecycle step of the emulator (`minute` = --step-seconds).
The scheduler (scheduler.py) does the side effects: launching green from SCALE_UP on, stopping blue at
CLEAN_UP, rolling back when `advance` names a reason. This module imports nothing of the scheduler.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

STAGED_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)
# model: DeploymentLifecycleHook.lifecycleStages: "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or
# PRODUCTION_TRAFFIC_SHIFT stages. These stages are only valid for AWS_LAMBDA hooks."
NO_PAUSE_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
# model defaults: LinearConfiguration (stepPercent 10.0, stepBakeTimeInMinutes 6), CanaryConfiguration
# (canaryPercent 5.0, canaryBakeTimeInMinutes 10), DeploymentLifecycleHookTimeoutConfiguration (1440, ROLLBACK).
LINEAR_STEP_PERCENT, LINEAR_STEP_BAKE = 10.0, 6.0
CANARY_PERCENT, CANARY_BAKE = 5.0, 10.0
HOOK_TIMEOUT_MINUTES, HOOK_TIMEOUT_ACTION = 1440.0, "ROLLBACK"
# Lambda hooks guide: IN_PROGRESS -> "Amazon ECS invokes the function again after a delay. By default,
# the delay is 30 seconds."
CALLBACK_DELAY_MINUTES = 0.5
SLOW_HOOK_CALLS = 2  # a "slow" stand-in answers IN_PROGRESS this many times before SUCCEEDED
WAITING = ("IN_PROGRESS", "AWAITING_ACTION")


class ConfigurationError(ValueError):
    """An InvalidParameterException for CreateService / UpdateService."""


def check(config: dict[str, Any]) -> None:
    """What the model says lifecycle hooks must not be (the messages are the emulator's).

    linearConfiguration / canaryConfiguration under another strategy are kept and unused (the model says
    "Only valid when ..." without saying ECS refuses them)."""
    for hook in config.get("lifecycleHooks") or []:
        kind = hook.get("targetType") or "AWS_LAMBDA"
        stages = hook.get("lifecycleStages") or []
        if not stages:
            raise ConfigurationError("lifecycleStages must be provided for a deployment lifecycle hook.")
        if kind == "AWS_LAMBDA" and not hook.get("hookTargetArn"):
            raise ConfigurationError("hookTargetArn must be provided for an AWS_LAMBDA lifecycle hook.")
        if kind == "PAUSE" and set(stages) & set(NO_PAUSE_STAGES):
            raise ConfigurationError(
                "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT."
            )


def lambda_answer(function_arn: str, calls: int) -> str:
    """The emulator's stand-in for the hook function's hookStatus, chosen by the function's name.

    A name containing "fail" answers FAILED; "slow" answers IN_PROGRESS twice, then SUCCEEDED;
    any other name answers SUCCEEDED. (arn:aws:lambda:region:account:function:NAME[:qualifier])
    """
    parts = function_arn.split(":")
    name = (parts[6] if len(parts) > 6 else function_arn).lower()
    if "fail" in name:
        return "FAILED"
    if "slow" in name and calls <= SLOW_HOOK_CALLS:
        return "IN_PROGRESS"
    return "SUCCEEDED"


@dataclass
class HookRun:
    """One hook at one stage: the DeploymentLifecycleHookDetail shape."""

    hook_id: str
    stage: str
    target_type: str
    target_arn: str | None
    status: str
    expires: float
    expires_at: datetime
    timeout_action: str
    next_call: float = 0.0
    calls: int = 0
    reason: str | None = None

    def shape(self) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "hookId": self.hook_id,
            "targetType": self.target_type,
            "status": self.status,
            "expiresAt": self.expires_at,
            "timeoutAction": self.timeout_action,
        }
        if self.target_arn:
            shape["targetArn"] = self.target_arn
        return shape


@dataclass
class Staged:
    """A staged deployment's progress; `program` is a list of (operation, argument)."""

    strategy: str
    program: list[tuple[str, Any]]
    hooks: list[dict[str, Any]]
    stage: str = ""
    pc: int = 0
    started: bool = False
    wait_until: float = 0.0
    test_weight: float = 0.0
    production_weight: float = 0.0
    runs: list[HookRun] = field(default_factory=list)
    stop_reason: str | None = None
    stages_seen: list[str] = field(default_factory=list)

    @property
    def launches(self) -> bool:
        """Green starts its tasks at SCALE_UP ("scales up to 100% and launches new tasks")."""
        return bool(self.stage) and STAGES.index(self.stage) >= STAGES.index("SCALE_UP")

    @property
    def cleaning(self) -> bool:
        return self.stage == "CLEAN_UP"


def plan(config: dict[str, Any], reconcile_stage: bool, has_blue: bool = True) -> Staged:
    """The operations of one deployment, from its deploymentConfiguration (taken when it starts).

    Without a blue revision (a new service) there is no traffic to shift in steps: one step to 100%."""
    strategy = config.get("strategy") or "BLUE_GREEN"
    steps: list[float]
    step_bake = 0.0
    if not has_blue:
        steps = [100.0]
    elif strategy == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        percent = float(linear.get("stepPercent") or LINEAR_STEP_PERCENT)
        step_bake = float(linear.get("stepBakeTimeInMinutes", LINEAR_STEP_BAKE))
        steps, at = [], percent
        while at < 100.0 - 1e-9:
            steps.append(round(at, 1))
            at += percent
        steps.append(100.0)
    elif strategy == "CANARY":
        canary = config.get("canaryConfiguration") or {}
        percent = float(canary.get("canaryPercent") or CANARY_PERCENT)
        step_bake = float(canary.get("canaryBakeTimeInMinutes", CANARY_BAKE))
        steps = [percent, 100.0] if percent < 100.0 else [100.0]
    else:
        steps = [100.0]
    program: list[tuple[str, Any]] = []
    if reconcile_stage:
        program += [("stage", "RECONCILE_SERVICE"), ("hooks", "RECONCILE_SERVICE")]
    program += [
        ("stage", "PRE_SCALE_UP"),
        ("hooks", "PRE_SCALE_UP"),
        ("stage", "SCALE_UP"),
        ("scale", None),
        ("stage", "POST_SCALE_UP"),
        ("hooks", "POST_SCALE_UP"),
        ("stage", "TEST_TRAFFIC_SHIFT"),
        ("test", 100.0),
        ("hooks", "TEST_TRAFFIC_SHIFT"),
        ("stage", "POST_TEST_TRAFFIC_SHIFT"),
        ("hooks", "POST_TEST_TRAFFIC_SHIFT"),
        ("stage", "PRODUCTION_TRAFFIC_SHIFT"),
    ]
    for weight in steps:
        program += [
            ("hooks", "PRE_PRODUCTION_TRAFFIC_SHIFT"),
            ("production", weight),
            ("hooks", "PRODUCTION_TRAFFIC_SHIFT"),
        ]
        if weight < 100.0:  # "This bake time is not applied after reaching 100 percent traffic."
            program.append(("wait", step_bake))
    program += [
        ("stage", "POST_PRODUCTION_TRAFFIC_SHIFT"),
        ("hooks", "POST_PRODUCTION_TRAFFIC_SHIFT"),
        ("stage", "BAKE_TIME"),
        ("wait", float(config.get("bakeTimeInMinutes") or 0)),
        ("stage", "CLEAN_UP"),
        ("clean", None),
    ]
    return Staged(strategy=strategy, program=program, hooks=list(config.get("lifecycleHooks") or []))


def advance(st: Staged, now: float, stamp: datetime, green_ready: bool, minute: float) -> tuple[bool, str | None]:
    """One pass: (whether anything changed, a rollback reason or None). At most one stage change a pass."""
    if st.stop_reason is not None:
        return True, st.stop_reason
    changed = False
    while st.pc < len(st.program):
        op, arg = st.program[st.pc]
        if op == "stage":
            st.stage = arg
            st.stages_seen.append(arg)
            st.pc += 1
            return True, None
        if op == "hooks":
            if not st.started:
                st.started, changed = True, True
                at_stage = [h for h in st.hooks if arg in (h.get("lifecycleStages") or [])]
                st.runs = [_run(h, arg, now, stamp, minute) for h in at_stage]
            progressed, reason = _resolve(st, now, minute)
            changed = changed or progressed
            if reason is not None:
                return True, reason
            if any(r.status in WAITING for r in st.runs):
                return changed, None
        elif op == "scale":
            if not green_ready:
                return changed, None
        elif op == "test":
            st.test_weight, changed = arg, True
        elif op == "production":  # a shift is a pass of its own: each step is seen, the last one too
            st.production_weight = arg
            st.pc += 1
            st.started = False
            return True, None
        elif op == "wait":
            if not st.started:
                st.started, st.wait_until = True, now + arg * minute
            if now < st.wait_until:
                return changed, None
        elif op == "clean":
            return changed, None  # the scheduler stops blue; completion is the scheduler's steady state
        st.pc += 1
        st.started = False
    return changed, None


def _run(hook: dict[str, Any], stage: str, now: float, stamp: datetime, minute: float) -> HookRun:
    timeout = hook.get("timeoutConfiguration") or {}
    minutes = float(timeout.get("timeoutInMinutes") or HOOK_TIMEOUT_MINUTES)
    kind = hook.get("targetType") or "AWS_LAMBDA"
    return HookRun(
        hook_id=str(uuid.uuid4()),
        stage=stage,
        target_type=kind,
        target_arn=hook.get("hookTargetArn") if kind == "AWS_LAMBDA" else None,
        status="AWAITING_ACTION" if kind == "PAUSE" else "IN_PROGRESS",
        expires=now + minutes * minute,
        expires_at=stamp + timedelta(minutes=minutes),
        timeout_action=str(timeout.get("action") or HOOK_TIMEOUT_ACTION),
        next_call=now,
    )


def _resolve(st: Staged, now: float, minute: float) -> tuple[bool, str | None]:
    """Call the Lambda stand-ins that are due, time out what has expired; a reason when one rolls back."""
    changed = False
    for run in st.runs:
        if run.status == "IN_PROGRESS" and run.target_type == "AWS_LAMBDA" and now >= run.next_call:
            run.calls += 1
            run.status, changed = lambda_answer(run.target_arn or "", run.calls), True
            run.next_call = now + CALLBACK_DELAY_MINUTES * minute
            if run.status == "FAILED":
                run.reason = f"Lifecycle hook {run.target_arn} returned FAILED at {run.stage}."
        if run.status in WAITING and now >= run.expires:
            run.status, changed = "TIMED_OUT", True
            if run.timeout_action == "ROLLBACK":
                return True, f"Lifecycle hook {run.target_arn or run.hook_id} timed out at {run.stage}."
        if run.status == "FAILED":
            return True, run.reason or f"Lifecycle hook {run.hook_id} failed at {run.stage}."
    return changed, None


def continue_hook(st: Staged, hook_id: str, action: str) -> bool:
    """ContinueServiceDeployment on a PAUSE hook AWAITING_ACTION; False when there is no such hook."""
    run = next((r for r in st.runs if r.hook_id == hook_id and r.status == "AWAITING_ACTION"), None)
    if run is None:
        return False
    if action == "ROLLBACK":
        run.status, run.reason = "FAILED", f"Rolled back by ContinueServiceDeployment at {run.stage}."
    else:
        run.status = "SUCCEEDED"
    return True
