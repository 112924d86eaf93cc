"""The operator on ECS's lifecycles: what users see as tasks and services really run.

The emulator (docs/ecs-emulator.md) walks tasks through PROVISIONING ... STOPPED with exit codes
and stop codes, runs services with a scheduler, rolling deployments and the circuit breaker.
What a container does comes from its command: `exit N` exits N, `sleep N` runs N seconds, an
image under the `.invalid` TLD cannot be pulled, anything else runs until stopped.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.world import World
from support.operator_process import Kube, OperatorProcess, awsvpc, condition, manifest, wait_for


def _spec(
    family: str, command: list[str] | None = None, image: str = "public.ecr.aws/docker/library/busybox:1.36"
) -> dict[str, Any]:
    """A Fargate task definition as ECS's own examples write it: task-level cpu/memory only."""
    container: dict[str, Any] = {"name": "app", "image": image, "essential": True}
    if command:
        container["command"] = command
    return {"family": family, "cpu": "256", "memory": "512", "containerDefinitions": [container]}


class StatusRecorder:
    """Every status the API server sends for one object (`kubectl get -w`), so passing states are seen."""

    def __init__(self, kube: Kube, kind: str, name: str) -> None:
        self._kube, self._kind, self._name = kube, kind, name
        self._proc = subprocess.Popen(
            # A list-watch by name: it may start before the object exists and misses nothing after.
            [
                *kube.cp.kubectl_command(),
                *("get", kind, "-n", kube.namespace, "--field-selector", f"metadata.name={name}"),
                *("-w", "-o", "json"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._out: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._out.append(line)

    def _seen(self) -> list[dict[str, Any]]:
        out = "".join(list(self._out))
        decoder, seen, pos = json.JSONDecoder(), list[dict[str, Any]](), 0
        while pos < len(out):
            while pos < len(out) and out[pos].isspace():
                pos += 1
            if pos >= len(out):
                break
            try:
                obj, pos = decoder.raw_decode(out, pos)
            except json.JSONDecodeError:
                break  # the watch is still writing this one
            seen.append(obj)
        return seen

    def stop(self) -> list[dict[str, Any]]:
        # Until the watch has delivered the version the API server holds now (which the caller's last
        # read saw, or a later one): every status up to it, and no fixed wait for the last events.
        current = self._kube.get(self._kind, self._name)
        assert current is not None, f"{self._kind}/{self._name} is gone: nothing to wait for"
        version = current["metadata"]["resourceVersion"]
        wait_for(
            f"the watch at resourceVersion {version}",
            lambda: any(o["metadata"].get("resourceVersion") == version for o in self._seen()),
            timeout=30,
            interval=0.05,
        )
        self._proc.terminate()
        self._proc.wait(10)
        self._reader.join(10)
        return [obj.get("status", {}) for obj in self._seen()]


@pytest.fixture(scope="module")
def cluster(operator_process: OperatorProcess, kube: Kube) -> Iterator[str]:
    kube.apply(manifest("FargateCluster", "life", {"clusterName": f"life-{kube.namespace}"}))
    arn: str = wait_for("cluster", lambda: kube.status("fargatecluster", "life").get("clusterArn"))
    yield arn
    kube.delete("fargatecluster", "life", wait=True)


@pytest.fixture
def task_definition(kube: Kube, unique: str) -> Iterator[Callable[..., str]]:
    """Register a FargateTaskDefinition (object name = family) and wait for its revision."""
    made: list[str] = []

    def make(command: list[str] | None = None, **kwargs: Any) -> str:
        family = f"life-{unique}-{len(made)}"
        kube.apply(manifest("FargateTaskDefinition", family, _spec(family, command, **kwargs)))
        made.append(family)
        wait_for("revision", lambda: kube.status("fargatetaskdefinition", family).get("taskDefinitionArn"))
        return family

    yield make
    for family in made:
        kube.delete("fargatetaskdefinition", family)


def _task(name: str, td: str, network: Network, **extra: Any) -> dict[str, Any]:
    # No launchType: the operator places it on Fargate (ECS itself would pick EC2).
    spec = {
        "clusterRef": {"name": "life"},
        "taskDefinitionRef": {"name": td},
        "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
        **extra,
    }
    return manifest("FargateTask", name, spec)


def _phase_is(kube: Kube, name: str, phase: str) -> Callable[[], dict[str, Any] | None]:
    return lambda: ((s := kube.status("fargatetask", name)).get("phase") == phase and s) or None


def test_task_goes_pending_running_succeeded_with_exit_codes(
    cluster: str, task_definition: Callable[..., str], kube: Kube, network: Network, unique: str
) -> None:
    td = task_definition(["sh", "-c", "sleep 3"])
    name = f"ok-{unique}"
    recorder = StatusRecorder(kube, "fargatetask", name)
    kube.apply(_task(name, td, network))
    done = wait_for("Succeeded", _phase_is(kube, name, "Succeeded"), timeout=90)
    phases = [s.get("phase") for s in recorder.stop() if s.get("phase")]
    assert phases[0] == "Pending" and "Running" in phases and phases[-1] == "Succeeded", phases
    assert phases.index("Running") < phases.index("Succeeded")
    task = done["tasks"][0]
    assert task["lastStatus"] == "STOPPED" and task["stopCode"] == "EssentialContainerExited"
    assert task["containers"][0]["exitCode"] == 0 and condition(done, "Ready")["status"] == "True"
    assert done["startedAt"] and done["stoppedAt"]


def test_a_failing_container_fails_the_task_naming_its_exit_code(
    cluster: str, task_definition: Callable[..., str], kube: Kube, network: Network, unique: str
) -> None:
    td = task_definition(["sh", "-c", "exit 3"])
    name = f"bad-{unique}"
    kube.apply(_task(name, td, network))
    failed = wait_for("Failed", _phase_is(kube, name, "Failed"), timeout=90)
    assert failed["tasks"][0]["containers"][0]["exitCode"] == 3
    degraded = condition(failed, "Degraded")
    assert degraded["status"] == "True" and "container app exited 3" in degraded["message"], degraded
    assert "Failed" in [e["reason"] for e in kube.events(name)]


def test_an_image_that_cannot_be_pulled_fails_to_start(
    cluster: str, task_definition: Callable[..., str], kube: Kube, network: Network, unique: str
) -> None:
    td = task_definition(image="registry.invalid/nope:1")
    name = f"pull-{unique}"
    kube.apply(_task(name, td, network))
    failed = wait_for("Failed", _phase_is(kube, name, "Failed"), timeout=90)
    assert failed["tasks"][0]["stopCode"] == "TaskFailedToStart"
    message = condition(failed, "Degraded")["message"]
    assert "TaskFailedToStart" in message and "CannotPullContainerError" in message, message


def test_a_task_stopped_in_ecs_is_stopped_not_succeeded(
    cluster: str, task_definition: Callable[..., str], kube: Kube, ecs_client: Any, network: Network, unique: str
) -> None:
    """Somebody runs StopTask in ECS (console, CLI): the object says Stopped, neither Succeeded nor Failed."""
    td = task_definition()  # no command: runs until stopped
    name = f"stopped-{unique}"
    kube.apply(_task(name, td, network))
    arn = wait_for("Running", _phase_is(kube, name, "Running"), timeout=90)["tasks"][0]["taskArn"]
    ecs_client.stop_task(cluster=cluster, task=arn, reason="stopped by an operator of the account")
    stopped = wait_for("Stopped", _phase_is(kube, name, "Stopped"), timeout=90)
    assert stopped["tasks"][0]["stopCode"] == "UserInitiated"
    assert stopped["tasks"][0]["containers"][0]["exitCode"] == 143
    ready, degraded = condition(stopped, "Ready"), condition(stopped, "Degraded")
    assert ready["status"] == "False" and degraded["status"] == "False"
    assert "stopped by an operator of the account" in ready["message"]


def test_deleting_a_running_task_stops_it_in_ecs_as_user_initiated(
    cluster: str, task_definition: Callable[..., str], kube: Kube, ecs_client: Any, network: Network, unique: str
) -> None:
    td = task_definition()
    name = f"deleted-{unique}"
    kube.apply(_task(name, td, network))
    arn = wait_for("Running", _phase_is(kube, name, "Running"), timeout=90)["tasks"][0]["taskArn"]
    kube.delete("fargatetask", name, wait=True)
    task = wait_for(
        "STOPPED in ECS",
        lambda: (
            (t := ecs_client.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0])["lastStatus"] == "STOPPED" and t
        ),
        timeout=90,
    )
    assert task["stopCode"] == "UserInitiated" and name in task["stoppedReason"]


def test_ttl_counts_from_the_real_end_of_the_task(
    cluster: str, task_definition: Callable[..., str], kube: Kube, ecs_client: Any, network: Network, unique: str
) -> None:
    """ttlSecondsAfterFinished deletes the object after its task ended by itself, never stopping it early."""
    td = task_definition(["sh", "-c", "sleep 4"])
    name = f"ttl-{unique}"
    kube.apply(_task(name, td, network, ttlSecondsAfterFinished=2))
    arn = wait_for("Running", _phase_is(kube, name, "Running"), timeout=90)["tasks"][0]["taskArn"]
    wait_for("object deleted after its TTL", lambda: kube.get("fargatetask", name) is None, timeout=90)
    task = ecs_client.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    assert task["lastStatus"] == "STOPPED" and task["stopCode"] == "EssentialContainerExited", task
    assert task["containers"][0]["exitCode"] == 0
    assert (task["stoppedAt"] - task["startedAt"]).total_seconds() >= 4  # it ran its course


def _service(name: str, td: str, network: Network, desired: int, **extra: Any) -> dict[str, Any]:
    spec = {
        "serviceName": name,
        "clusterRef": {"name": "life"},
        "taskDefinitionRef": {"name": td},
        "desiredCount": desired,
        "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
        **extra,
    }
    return manifest("FargateService", name, spec)


def test_service_is_progressing_then_ready_once_its_rollout_completes(
    cluster: str, task_definition: Callable[..., str], kube: Kube, ecs_client: Any, network: Network, unique: str
) -> None:
    td = task_definition()
    name = f"svc-{unique}"
    recorder = StatusRecorder(kube, "fargateservice", name)
    kube.apply(_service(name, td, network, desired=2))
    ready = wait_for(
        "Ready", lambda: condition(s := kube.status("fargateservice", name), "Ready").get("status") == "True" and s
    )
    seen = recorder.stop()
    reasons = [condition(s, "Ready").get("reason") for s in seen if condition(s, "Ready")]
    assert reasons[0] in ("RollingOut", "ScalingUp") and reasons[-1] == "Steady", reasons
    assert any(condition(s, "Progressing").get("status") == "True" for s in seen)
    assert ready["runningCount"] == 2 and ready["rolloutState"] == "COMPLETED"
    assert [d["status"] for d in ready["deployments"]] == ["PRIMARY"]
    listed = ecs_client.list_tasks(cluster=cluster, serviceName=name)["taskArns"]
    assert len(listed) == 2
    kube.delete("fargateservice", name, wait=True)


def test_circuit_breaker_rollback_is_degraded_naming_how_the_tasks_failed(
    world: World,
    cluster: str,
    task_definition: Callable[..., str],
    kube: Kube,
    ecs_client: Any,
    network: Network,
    unique: str,
) -> None:
    """A new revision whose tasks cannot start: the breaker fails the rollout and rolls back to the old one.

    ECS's breaker counts tasks that never reach RUNNING (developerguide/deployment-circuit-breaker.html,
    stage 1); a container that starts and then exits does not trip it without health checks
    (re:Post "ecs-deployment-roll-back-failure"), so the broken revision names an image that
    cannot be pulled -- the usual bad deployment.
    """
    td = task_definition()
    name = f"breaker-{unique}"
    breaker = {"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}}
    kube.apply(_service(name, td, network, desired=1, **breaker))
    first = wait_for(
        "Ready", lambda: condition(s := kube.status("fargateservice", name), "Ready").get("status") == "True" and s
    )
    good = first["taskDefinition"]
    broken = _spec(td, image="registry.invalid/web:broken")
    kube.apply(manifest("FargateTaskDefinition", td, broken))
    degraded = wait_for(
        "Degraded (RolledBack)",
        lambda: condition(s := kube.status("fargateservice", name), "Degraded").get("reason") == "RolledBack" and s,
        timeout=180,
    )
    message = condition(degraded, "Degraded")["message"]
    assert "deployment failed: tasks failed to start" in message or "circuit breaker" in message, message
    assert "TaskFailedToStart" in message and "CannotPullContainerError" in message, message
    assert condition(degraded, "Ready")["status"] == "False"
    # ECS runs the last revision that completed, and the object keeps saying so.
    settled = wait_for(
        "rollback completed",
        lambda: (
            (s := kube.status("fargateservice", name)).get("rolloutState") == "COMPLETED"
            and s["taskDefinition"] == good
            and s
        ),
        timeout=120,
    )
    assert condition(settled, "Degraded")["reason"] == "RolledBack"
    assert settled["desiredTaskDefinition"] != good
    kube.delete("fargateservice", name, wait=True)
