"""Task definition revisions and services that roll to them, against the real API server and moto."""

from __future__ import annotations

from typing import Any

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    condition,
    manifest,
    service_manifest,
    task_definition_spec,
    wait_for,
)


def _active(ecs: Any, family: str) -> list[str]:
    arns: list[str] = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]
    return arns


def test_revisions_roll_the_service_and_noop_registers_nothing(
    operator_process: OperatorProcess, kube: Kube, ecs_client: Any, ecs_proxy: EcsProxy, network: Network, unique: str
) -> None:
    cluster, family, td, svc = f"c-{unique}", f"fam-{unique}", f"td-{unique}", f"svc-{unique}"
    kube.apply(manifest("FargateCluster", cluster, {}))
    td_spec = {**task_definition_spec(family), "revisionHistoryLimit": 1}
    kube.apply(manifest("FargateTaskDefinition", td, td_spec))
    kube.apply(
        service_manifest(svc, awsvpc(network.subnet_id, network.security_group_id), cluster=cluster, td=td, desired=2)
    )
    first = wait_for("revision 1", lambda: kube.status("fargatetaskdefinition", td).get("taskDefinitionArn"))
    assert first.endswith(f"{family}:1")
    wait_for("service on revision 1", lambda: kube.status("fargateservice", svc).get("taskDefinition") == first)
    obj = kube.get("fargateservice", svc)
    assert obj is not None and "taskDefinition" not in obj["spec"], "resolved values go to status, never to spec"

    # A re-apply of the same spec and a no-op change of formatting register nothing.
    registered = ecs_proxy.count("RegisterTaskDefinition")
    kube.apply(manifest("FargateTaskDefinition", td, {**td_spec, "cpu": "0.25 vCPU", "memory": "0.5 GB"}))
    wait_for(
        "no-op update handled",
        lambda: condition(kube.status("fargatetaskdefinition", td), "Ready").get("observedGeneration") == 2,
    )
    assert ecs_proxy.count("RegisterTaskDefinition") == registered
    assert _active(ecs_client, family) == [first]

    # An image change registers revision 2 and the service rolls to it.
    for n, image in ((2, "busybox:1.37"), (3, "busybox:1.38")):
        kube.apply(
            manifest(
                "FargateTaskDefinition",
                td,
                {**td_spec, "containerDefinitions": [{"name": "app", "image": image, "memory": 256}]},
            )
        )
        arn = wait_for(
            f"revision {n}",
            lambda n=n: (
                (a := kube.status("fargatetaskdefinition", td).get("taskDefinitionArn")) and a.endswith(f":{n}") and a
            ),
        )
        wait_for(
            f"service rolled to revision {n}",
            lambda arn=arn: kube.status("fargateservice", svc).get("taskDefinition") == arn,
        )
        ecs_service = ecs_client.describe_services(cluster=cluster, services=[svc])["services"][0]
        assert ecs_service["taskDefinition"] == arn
        # The rollout completes (the old revision's tasks drained) before the next change, as in a
        # GitOps flow that waits for Ready: then no deployment runs the revision before it.
        wait_for(
            f"rollout to revision {n} completed",
            lambda: (
                (s := kube.status("fargateservice", svc)).get("rolloutState") == "COMPLETED"
                and len(s["deployments"]) == 1
            ),
        )
    assert any(e["reason"] == "Updated" for e in kube.events(svc))

    # revisionHistoryLimit 1 keeps revision 2 (newest superseded) and 3 (current); revision 1, which
    # no deployment ran any more when revision 3 was registered, is retired.
    expected = sorted({f"{first[:-2]}:2", f"{first[:-2]}:3"})
    assert sorted(_active(ecs_client, family)) == expected
    status = kube.status("fargatetaskdefinition", td)
    assert [r["revision"] for r in status["retainedRevisions"]] == [
        int(a.rsplit(":", 1)[1]) for a in reversed(expected)
    ]

    # desiredCount changes go through; deleting scales to 0 and removes the service.
    kube.apply(
        service_manifest(svc, awsvpc(network.subnet_id, network.security_group_id), cluster=cluster, td=td, desired=3)
    )
    wait_for(
        "desiredCount 3 in ECS",
        lambda: ecs_client.describe_services(cluster=cluster, services=[svc])["services"][0]["desiredCount"] == 3,
    )
    kube.delete("fargateservice", svc, wait=True)
    # The object goes once DeleteService is accepted; ECS drains the tasks, then the service is INACTIVE.
    wait_for(
        "service INACTIVE in ECS",
        lambda: ecs_client.describe_services(cluster=cluster, services=[svc])["services"][0]["status"] == "INACTIVE",
    )
    kube.delete("fargatetaskdefinition", td, wait=True)
    assert _active(ecs_client, family) == []
    kube.delete("fargatecluster", cluster, wait=True)


def test_service_waits_for_its_references(
    operator_process: OperatorProcess, kube: Kube, network: Network, unique: str
) -> None:
    svc = f"early-{unique}"
    kube.apply(
        manifest(
            "FargateService",
            svc,
            {
                "serviceName": svc,
                "clusterRef": {"name": f"later-{unique}"},
                "taskDefinition": "nothing:1",
                "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
            },
        )
    )
    cond = wait_for(
        "Progressing/Waiting",
        lambda: (
            (c := condition(kube.status("fargateservice", svc), "Progressing")) and c.get("reason") == "Waiting" and c
        ),
    )
    assert f"FargateCluster {kube.namespace}/later-{unique}" in cond["message"]
    kube.delete("fargateservice", svc, wait=True)


def test_history_limit_retires_unused_revisions(
    operator_process: OperatorProcess, kube: Kube, ecs_client: Any, ecs_proxy: EcsProxy, unique: str
) -> None:
    family, td = f"lim-{unique}", f"lim-{unique}"
    spec = {**task_definition_spec(family), "revisionHistoryLimit": 0, "deleteDeregisteredRevisions": True}
    for n in (1, 2, 3):
        kube.apply(
            manifest(
                "FargateTaskDefinition",
                td,
                {**spec, "containerDefinitions": [{"name": "app", "image": f"busybox:1.{n}", "memory": 256}]},
            )
        )
        wait_for(f"revision {n}", lambda n=n: str(kube.status("fargatetaskdefinition", td).get("revision")) == str(n))
    wait_for("only the current revision stays ACTIVE", lambda: len(_active(ecs_client, family)) == 1)
    assert _active(ecs_client, family)[0].endswith(f"{family}:3")
    assert ecs_proxy.count("DeleteTaskDefinitions") >= 2
    reasons = [e["reason"] for e in kube.events(td)]
    assert reasons.count("Registered") == 3 and "Deregistered" in reasons
    kube.delete("fargatetaskdefinition", td, wait=True)
    assert _active(ecs_client, family) == []


def _cluster_and_revision(kube: Kube, cluster: str, td: str, family: str) -> tuple[str, str]:
    kube.apply(manifest("FargateCluster", cluster, {}))
    kube.apply(manifest("FargateTaskDefinition", td, task_definition_spec(family)))
    arn = wait_for("cluster", lambda: kube.status("fargatecluster", cluster).get("clusterArn"))
    revision = wait_for("revision 1", lambda: kube.status("fargatetaskdefinition", td).get("taskDefinitionArn"))
    return arn, revision


def test_service_records_the_revision_it_deployed(
    operator_process: OperatorProcess, kube: Kube, network: Network, unique: str
) -> None:
    """status.desiredTaskDefinition is what a rollback is measured against.

    The emulator cannot roll back (moto has no circuit breaker: tests/unit/test_service_rollback.py
    covers the verdict); here the record itself: written on create and on every roll, kept by the
    CRD's status schema, and no false rollback from moto's PRIMARY deployment, which keeps the
    first revision after UpdateService while the service's taskDefinition moves on.
    """
    cluster, family, td, svc = f"c5-{unique}", f"fam5-{unique}", f"td5-{unique}", f"svc5-{unique}"
    _, first = _cluster_and_revision(kube, cluster, td, family)
    kube.apply(service_manifest(svc, awsvpc(network.subnet_id, network.security_group_id), cluster=cluster, td=td))
    wait_for("desired revision 1", lambda: kube.status("fargateservice", svc).get("desiredTaskDefinition") == first)
    spec = task_definition_spec(family, image="public.ecr.aws/docker/library/busybox:1.37")
    kube.apply(manifest("FargateTaskDefinition", td, spec))
    second = wait_for(
        "revision 2",
        lambda: (a := kube.status("fargatetaskdefinition", td).get("taskDefinitionArn")) and a.endswith(":2") and a,
    )
    status = wait_for(
        "desired revision 2",
        lambda: (s := kube.status("fargateservice", svc)).get("desiredTaskDefinition") == second and s,
    )
    operator_process.wait_cycles(2)  # a few status-loop cycles over moto's stale PRIMARY deployment
    status = kube.status("fargateservice", svc)
    assert condition(status, "Degraded").get("status") == "False", status["conditions"]
    kube.delete("fargateservice", svc, wait=True)
    kube.delete("fargatetaskdefinition", td, wait=True)
    kube.delete("fargatecluster", cluster, wait=True)


def test_adopted_service_keeps_its_aws_tags(
    operator_process: OperatorProcess, kube: Kube, ecs_client: Any, network: Network, unique: str
) -> None:
    """An adopted service's `aws:` tags are left alone by tag sync.

    Real ECS refuses to delete them (botocore model, shape Tag); moto removes them, so the defect
    shows as the tag vanishing. moto's deployments never complete, so the service is Progressing,
    not Ready: the check is that it adopted without Degraded and the tag is still there.
    """
    cluster, family, td, svc = f"c9-{unique}", f"fam9-{unique}", f"td9-{unique}", f"svc9-{unique}"
    cluster_arn, revision = _cluster_and_revision(kube, cluster, td, family)
    aws_tag = {"key": "aws:cloudformation:stack-name", "value": "legacy-stack"}
    network_config = awsvpc(network.subnet_id, network.security_group_id)
    ecs_client.create_service(
        cluster=cluster_arn,
        serviceName=svc,
        taskDefinition=revision,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network_config,
        tags=[aws_tag, {"key": "team", "value": "old"}],
    )
    adopt = service_manifest(svc, network_config, cluster=cluster, td=td)
    adopt["spec"] |= {"adoptionPolicy": "Adopt", "tags": [{"key": "team", "value": "a"}]}
    kube.apply(adopt)
    status = wait_for("adopted", lambda: (s := kube.status("fargateservice", svc)).get("serviceArn") and s)
    assert condition(status, "Degraded").get("status") == "False", status["conditions"]
    tags = {t["key"]: t["value"] for t in ecs_client.list_tags_for_resource(resourceArn=status["serviceArn"])["tags"]}
    assert tags.get(aws_tag["key"]) == aws_tag["value"], tags
    assert tags["team"] == "a"
    kube.delete("fargateservice", svc, wait=True)
    kube.delete("fargatetaskdefinition", td, wait=True)
    kube.delete("fargatecluster", cluster, wait=True)


def test_a_revision_registered_before_a_crash_goes_with_an_object_deleted_meanwhile(
    operator_process: OperatorProcess, kube: Kube, ecs_client: Any, ecs_proxy: EcsProxy, unique: str
) -> None:
    """RegisterTaskDefinition reached ECS, the operator was SIGKILLed before it recorded the revision, and
    the object was deleted while it was down: the restarted operator finds the revision by its owner tag
    and deregisters it (nothing is left that no object owns)."""
    name = family = f"crashtd-{unique}"
    ecs_proxy.hold_response("RegisterTaskDefinition")
    try:
        kube.apply(manifest("FargateTaskDefinition", name, task_definition_spec(family)))
        assert ecs_proxy.held.wait(60), "RegisterTaskDefinition never reached ECS"
        operator_process.kill()
    finally:
        ecs_proxy.release()
    registered = _active(ecs_client, family)
    assert len(registered) == 1, registered
    assert not kube.status("fargatetaskdefinition", name).get("taskDefinitionArn"), "recorded before the kill"
    kube.delete("fargatetaskdefinition", name)  # the finalizer keeps it until the operator is back

    operator_process.start()
    wait_for("the object gone", lambda: kube.get("fargatetaskdefinition", name) is None, timeout=90)
    assert _active(ecs_client, family) == [], "the unrecorded revision outlived its object"
