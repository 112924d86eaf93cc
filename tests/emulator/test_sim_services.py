"""The emulator's service scheduler, rolling deployments, the circuit breaker, events, deletion."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_devenv.ecs_emulator import Network
from support.emulator import (
    UNPULLABLE,
    awsvpc,
    container,
    messages,
    register,
    run,
    running,
    service,
    steady,
    task_id,
    wait_for,
    wait_task,
    wait_until,
)

BREAKER = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}


def _create(ecs: Any, cluster: str, td: str, network: Network, count: int = 2, **extra: Any) -> dict[str, Any]:
    svc: dict[str, Any] = ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=td,
        desiredCount=count,
        launchType="FARGATE",
        networkConfiguration=awsvpc(network),
        **extra,
    )["service"]
    return svc


def _wait_steady(ecs: Any, cluster: str, count: int) -> dict[str, Any]:
    return wait_until(
        f"steady state with {count} tasks", lambda: service(ecs, cluster, "web"), lambda s: steady(s, count)
    )


def _tasks(ecs: Any, cluster: str, status: str = "RUNNING") -> list[dict[str, Any]]:
    arns = ecs.list_tasks(cluster=cluster, serviceName="web", desiredStatus=status)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def _named_tasks(message: str) -> set[str]:
    """The task ids an ECS event names: "... tasks: (task a) (task b)." -> {a, b}."""
    return {part.split(" ", 1)[1].rstrip(").") for part in message.split(": ", 1)[1].split(") (")}


def _started(svc: dict[str, Any]) -> list[str]:
    return [m for m in messages(svc) if " has started " in m]


def _emulator_time_passes(ecs: Any, cluster: str, network: Network) -> None:
    """Wait until a fresh task reaches RUNNING: proof that the emulator's clock (and scheduler) moved on.

    This waits on the emulator, not on a wall-clock duration, so load cannot make it lie."""
    td = register(ecs, "witness")
    wait_task(ecs, cluster, run(ecs, cluster, td, network)["taskArn"], running, "the witness task RUNNING")


def test_service_starts_desired_count_tasks_and_reaches_steady_state(ecs: Any, cluster: str, network: Network) -> None:
    created = _create(ecs, cluster, register(ecs, "web"), network)
    deployment = created["deployments"][0]
    assert created["runningCount"] == 0 and deployment["status"] == "PRIMARY"
    assert deployment["rolloutState"] == "IN_PROGRESS" and deployment["id"].startswith("ecs-svc/")
    svc = _wait_steady(ecs, cluster, 2)
    done = svc["deployments"][0]
    assert done["id"] == deployment["id"] and done["runningCount"] == 2 and done["failedTasks"] == 0
    assert done["rolloutStateReason"] == f"ECS deployment {deployment['id']} completed."
    tasks = _tasks(ecs, cluster)
    assert {t["group"] for t in tasks} == {"service:web"} and {t["startedBy"] for t in tasks} == {deployment["id"]}
    log = messages(svc)
    started = next(m for m in log if " has started " in m)
    assert started.startswith("(service web) has started 2 tasks: ")
    assert _named_tasks(started) == {task_id(t["taskArn"]) for t in tasks}
    assert log[-1] == "(service web) has reached a steady state."
    assert f"(service web) (deployment {deployment['id']}) deployment completed." in log


def test_new_task_definition_rolls_out_and_drains_the_old_deployment(ecs: Any, cluster: str, network: Network) -> None:
    first = register(ecs, "web")
    _create(ecs, cluster, first, network)
    old = _wait_steady(ecs, cluster, 2)["deployments"][0]["id"]
    old_tasks = {t["taskArn"] for t in _tasks(ecs, cluster)}
    second = register(ecs, "web", container("app", environment=[{"name": "V", "value": "2"}]))
    updated = ecs.update_service(cluster=cluster, service="web", taskDefinition=second)["service"]
    assert [d["status"] for d in updated["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert updated["deployments"][0]["taskDefinition"] == second and updated["taskDefinition"] == second
    svc = _wait_steady(ecs, cluster, 2)
    assert svc["deployments"][0]["taskDefinition"] == second and svc["deployments"][0]["id"] != old
    assert {t["taskDefinitionArn"] for t in _tasks(ecs, cluster)} == {second}
    gone = ecs.describe_tasks(cluster=cluster, tasks=sorted(old_tasks))["tasks"]
    assert {t["stopCode"] for t in gone} == {"ServiceSchedulerInitiated"}
    assert {t["stoppedReason"] for t in gone} == {f"Scaling activity initiated by (deployment {old})"}


def test_scaling_in_stops_tasks_by_the_scheduler(ecs: Any, cluster: str, network: Network) -> None:
    _create(ecs, cluster, register(ecs, "web"), network, count=3)
    _wait_steady(ecs, cluster, 3)
    ecs.update_service(cluster=cluster, service="web", desiredCount=1)
    svc = _wait_steady(ecs, cluster, 1)
    assert any(m.startswith("(service web) has stopped 2 running tasks: ") for m in messages(svc))
    stopped = wait_until("2 stopped tasks", lambda: _tasks(ecs, cluster, "STOPPED"), lambda t: len(t) == 2)
    assert {t["stopCode"] for t in stopped} == {"ServiceSchedulerInitiated"}


def test_a_task_that_exits_is_replaced(ecs: Any, cluster: str, network: Network) -> None:
    td = register(ecs, "web", container("app", command=["sh", "-c", "sleep 1; exit 1"]))
    _create(ecs, cluster, td, network, count=1)
    exited = wait_for("an exited task", lambda: _tasks(ecs, cluster, "STOPPED"))
    assert exited[0]["stopCode"] == "EssentialContainerExited"
    svc = wait_until("a replacement task", lambda: service(ecs, cluster, "web"), lambda s: len(_started(s)) >= 2)
    assert svc["desiredCount"] == 1


def test_circuit_breaker_fails_the_deployment_and_rolls_back(ecs: Any, cluster: str, network: Network) -> None:
    good = register(ecs, "web")
    _create(ecs, cluster, good, network, count=2, deploymentConfiguration=BREAKER)
    completed = _wait_steady(ecs, cluster, 2)["deployments"][0]["id"]
    bad = register(ecs, "web", container("app", image=UNPULLABLE))
    failing = ecs.update_service(cluster=cluster, service="web", taskDefinition=bad)["service"]["deployments"][0]["id"]

    def rolled_back() -> dict[str, Any] | None:
        s = service(ecs, cluster, "web")
        return s if s["taskDefinition"] == good and steady(s, 2) else None

    svc = wait_for("rollback to the completed deployment", rolled_back)
    log = messages(svc)
    assert f"(service web) (deployment {failing}) deployment failed: tasks failed to start." in log
    assert f"(service web) rolling back to deployment {completed}." in log
    arns = ecs.list_service_deployments(cluster=cluster, service="web")["serviceDeployments"]
    described = ecs.describe_service_deployments(serviceDeploymentArns=[a["serviceDeploymentArn"] for a in arns])
    by_status = {d["status"]: d for d in described["serviceDeployments"]}
    failed = by_status["ROLLBACK_SUCCESSFUL"]
    assert failed["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert failed["deploymentCircuitBreaker"]["failureCount"] >= failed["deploymentCircuitBreaker"]["threshold"] == 3
    assert failed["statusReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert set(by_status) == {"SUCCESSFUL", "ROLLBACK_SUCCESSFUL"}


def test_circuit_breaker_without_a_completed_deployment_stops_launching(
    ecs: Any, cluster: str, network: Network
) -> None:
    """A failed deployment launches no new tasks; rollback needs a COMPLETED deployment to go back to."""
    _create(ecs, cluster, register(ecs, "web", container("app", image=UNPULLABLE)), network, count=4,
            deploymentConfiguration=BREAKER)  # fmt: skip
    svc = wait_until(
        "deployment FAILED",
        lambda: service(ecs, cluster, "web"),
        lambda s: s["deployments"][0]["rolloutState"] == "FAILED",
    )
    deployment = svc["deployments"][0]
    assert deployment["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert deployment["failedTasks"] >= 3
    launched = len(_started(svc))
    for _ in range(3):  # many scheduler passes later, nothing new has been started
        _emulator_time_passes(ecs, cluster, network)
    later = service(ecs, cluster, "web")
    assert later["deployments"][0]["rolloutState"] == "FAILED" and len(_started(later)) == launched
    assert ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"] == []


def test_delete_service_drains_to_inactive(ecs: Any, cluster: str, network: Network) -> None:
    _create(ecs, cluster, register(ecs, "web"), network)
    _wait_steady(ecs, cluster, 2)
    running = {t["taskArn"] for t in _tasks(ecs, cluster)}
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.delete_service(cluster=cluster, service="web")
    deleted = ecs.delete_service(cluster=cluster, service="web", force=True)["service"]
    assert deleted["status"] == "DRAINING" and deleted["desiredCount"] == 0
    # DeleteService: INACTIVE "after all tasks have transitioned to either STOPPING or STOPPED status".
    wait_for("INACTIVE", lambda: service(ecs, cluster, "web")["status"] == "INACTIVE")
    assert ecs.list_services(cluster=cluster)["serviceArns"] == []
    gone = wait_until(
        "the service's tasks STOPPED",
        lambda: ecs.describe_tasks(cluster=cluster, tasks=sorted(running))["tasks"],
        lambda tasks: {t["lastStatus"] for t in tasks} == {"STOPPED"},
    )
    assert {t["stopCode"] for t in gone} == {"ServiceSchedulerInitiated"}
    with pytest.raises(ecs.exceptions.ServiceNotActiveException):
        ecs.update_service(cluster=cluster, service="web", desiredCount=1)


def test_service_deployments_are_listed_and_described(ecs: Any, cluster: str, network: Network) -> None:
    first = register(ecs, "web")
    _create(ecs, cluster, first, network, count=1)
    _wait_steady(ecs, cluster, 1)
    second = register(ecs, "web", container("app", environment=[{"name": "V", "value": "2"}]))
    ecs.update_service(cluster=cluster, service="web", taskDefinition=second)
    _wait_steady(ecs, cluster, 1)
    listed = ecs.list_service_deployments(cluster=cluster, service="web")["serviceDeployments"]
    assert len(listed) == 2 and {d["status"] for d in listed} == {"SUCCESSFUL"}
    described = ecs.describe_service_deployments(serviceDeploymentArns=[d["serviceDeploymentArn"] for d in listed])
    assert not described["failures"]
    newest = max(described["serviceDeployments"], key=lambda d: d["createdAt"])
    assert newest["targetServiceRevision"]["runningTaskCount"] == 1
    assert newest["sourceServiceRevisions"] and "finishedAt" in newest
    with pytest.raises(ecs.exceptions.ServiceNotFoundException):
        ecs.list_service_deployments(cluster=cluster, service="nope")


def test_service_keeps_its_revision_after_the_definition_is_deleted(ecs: Any, cluster: str, network: Network) -> None:
    """Deregistering or deleting a revision has "no impact on existing services or tasks": the service
    still starts tasks of it (ECS deletes a definition only once nothing references it)."""
    td = register(ecs, "web")
    _create(ecs, cluster, td, network, count=1)
    _wait_steady(ecs, cluster, 1)
    ecs.deregister_task_definition(taskDefinition=td)
    ecs.delete_task_definitions(taskDefinitions=[td])
    ecs.update_service(cluster=cluster, service="web", desiredCount=2)
    svc = _wait_steady(ecs, cluster, 2)
    assert {t["taskDefinitionArn"] for t in _tasks(ecs, cluster)} == {td} and svc["taskDefinition"] == td


def test_service_reports_the_network_configuration_it_was_given(ecs: Any, cluster: str, network: Network) -> None:
    """Without securityGroups the tasks get the VPC's default group, but the service's configuration
    stays as given, so a client comparing its spec with DescribeServices sees no drift."""
    given = {"awsvpcConfiguration": {"subnets": [network.subnet_id], "assignPublicIp": "DISABLED"}}
    ecs.create_service(
        cluster=cluster, serviceName="web", taskDefinition=register(ecs, "web"), desiredCount=1,
        launchType="FARGATE", networkConfiguration=given,
    )  # fmt: skip
    svc = _wait_steady(ecs, cluster, 1)
    assert svc["networkConfiguration"] == given and svc["deployments"][0]["networkConfiguration"] == given


def test_service_reports_availability_zone_rebalancing(ecs: Any, cluster: str, network: Network) -> None:
    """For drift detection: a member UpdateService sets must come back in DescribeServices, or drift detection sees
    a difference that never goes away. model: CreateServiceRequest.availabilityZoneRebalancing ("For
    create service requests, when no value is specified ... Amazon ECS defaults the value to ENABLED";
    on update, "defaults to the existing service's AvailabilityZoneRebalancing value")."""
    td = register(ecs, "web")
    nc = {"awsvpcConfiguration": {"subnets": [network.subnet_id]}}
    for name, given in (("plain", {}), ("off", {"availabilityZoneRebalancing": "DISABLED"})):
        ecs.create_service(
            cluster=cluster, serviceName=name, taskDefinition=td, desiredCount=0, launchType="FARGATE",
            networkConfiguration=nc, **given,
        )  # fmt: skip
    found = {s["serviceName"]: s for s in ecs.describe_services(cluster=cluster, services=["plain", "off"])["services"]}
    assert found["plain"]["availabilityZoneRebalancing"] == "ENABLED"
    assert found["off"]["availabilityZoneRebalancing"] == "DISABLED"
    ecs.update_service(cluster=cluster, service="plain", availabilityZoneRebalancing="DISABLED")
    ecs.update_service(cluster=cluster, service="off", desiredCount=0)  # unset: kept
    found = {s["serviceName"]: s for s in ecs.describe_services(cluster=cluster, services=["plain", "off"])["services"]}
    assert found["plain"]["availabilityZoneRebalancing"] == "DISABLED"
    assert found["off"]["availabilityZoneRebalancing"] == "DISABLED"
