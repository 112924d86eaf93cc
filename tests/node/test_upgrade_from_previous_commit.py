"""An upgrade as users meet it: the previous chart and image running, Fargate objects live in ECS, then
the CRDs applied and `helm upgrade` to this checkout's release from the registry (docs/install.md,
"Upgrading"). Nothing may be lost, recreated or run twice, and the new operator carries on.

"Previous" is the tree before the newest commit that changed the chart, the CRDs or the image
(support/previous_commit.py), taken out of git: its chart installed from that tree, its image built
from that tree by the same builder (a warm build: the dependency layer is shared) and pushed to the
node's registry. The current release is what `make release-local` pushes; the kubelet pulls both by
digest. ECS is the emulator inside the node's namespace, as in test_helm_on_node.py.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import REGION
from fargate_devenv.image import OPERATOR_REPOSITORY, ensure_operator_image
from fargate_devenv.node import NodeWorld
from fargate_devenv.oci_push import PushedImage, push_archive
from fargate_devenv.release_local import IMAGE_NAME, LocalRelease, release_local
from fargate_devenv.tenancy import helm_sets, world_sharing
from support.node import apply, apply_ecs_credentials, get, wait_for
from support.operator_process import awsvpc, condition, manifest, service_manifest, task_definition_spec, task_manifest
from support.previous_commit import PreviousTree, extract, previous_commit

REPO = Path(__file__).resolve().parents[2]
RELEASE = "fargate-operator"
REPLICAS = 2  # the chart's default
KINDS = ("fargatecluster", "fargatetaskdefinition", "fargateservice", "fargatetask")


@dataclass
class Upgrade:
    """What the module's steps share: the two releases' images, the namespaces, what ECS held before."""

    previous: PreviousTree
    previous_image: PushedImage
    namespace: str
    team: str
    cluster: str = ""
    family: str = ""
    job_uid: str = ""
    job_task: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _values(node: NodeWorld, image: PushedImage) -> list[str]:
    """The same values for install and upgrade (a user's values file), the image pinned by digest."""
    sets = {
        "image.repository": image.repository,
        "image.tag": f"{image.tag}@{image.digest}",
        "aws.region": REGION,
        "aws.ecsEndpoint": node.ecs_inside_endpoint,
        "aws.logsEndpoint": node.ecs_inside_endpoint,
        "envFrom[0].secretRef.name": "ecs-credentials",
        "statusInterval": "2",
    }
    return [a for key, value in sets.items() for a in ("--set", f"{key}={value}")] + helm_sets(world_sharing())


def _pods(node: NodeWorld, namespace: str) -> list[dict[str, Any]]:
    """The Deployment's pods, not those on their way out."""
    out = node.kubectl("get", "pods", "-n", namespace, "-l", f"app.kubernetes.io/instance={RELEASE}", "-o", "json")
    pods = json.loads(out.stdout)["items"]
    return [p for p in pods if p["metadata"].get("ownerReferences") and not p["metadata"].get("deletionTimestamp")]


def _runs(pod: dict[str, Any], image: PushedImage) -> bool:
    """Ready, and running `image`: the spec names it by digest and the runtime resolved that digest."""
    statuses = pod.get("status", {}).get("containerStatuses", [])
    return (
        pod["spec"]["containers"][0]["image"] == image.ref
        and len(statuses) == 1
        and statuses[0]["ready"]
        and statuses[0]["imageID"].endswith(image.digest)
    )


def _uids(node: NodeWorld, team: str) -> dict[str, str]:
    items = json.loads(node.kubectl("get", ",".join(KINDS), "-n", team, "-o", "json").stdout)["items"]
    return {f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["uid"] for o in items}


def _ecs(node: NodeWorld, up: Upgrade) -> dict[str, Any]:
    """What ECS holds for the module's objects. A second RunTask would add a task (running or stopped),
    a second CreateService a service or a new createdAt, a re-registration a revision."""
    assert node.ecs is not None
    ecs = node.ecs.client()
    tasks = sorted(
        arn
        for desired in ("RUNNING", "STOPPED")
        for arn in ecs.list_tasks(cluster=up.cluster, desiredStatus=desired)["taskArns"]
    )
    services = ecs.describe_services(cluster=up.cluster, services=["svc"])["services"]
    return {
        "tasks": tasks,
        "services": sorted(ecs.list_services(cluster=up.cluster)["serviceArns"]),
        "service": [(s["serviceArn"], s["createdAt"], sorted(d["id"] for d in s["deployments"])) for s in services],
        "revisions": ecs.list_task_definitions(familyPrefix=up.family)["taskDefinitionArns"],
        # What the FargateTask started, by its uid (RunTask's startedBy), in any state.
        "job": sorted(
            arn
            for desired in ("RUNNING", "STOPPED")
            for arn in ecs.list_tasks(
                cluster=up.cluster, startedBy=f"fargate-operator/{up.job_uid}", desiredStatus=desired
            )["taskArns"]
        ),
    }


def _status(node: NodeWorld, kind: str, name: str, team: str) -> dict[str, Any]:
    status: dict[str, Any] = (get(node, kind, name, team) or {}).get("status", {})
    return status


@pytest.fixture(scope="module")
def up(node: NodeWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgrade]:
    """The previous release installed from its own tree; yields what the steps share. Deletes the Fargate
    objects while an operator still runs (so their ECS resources go too), then uninstalls."""
    assert node.registry is not None
    t0 = time.monotonic()
    previous = extract(REPO, previous_commit(REPO), tmp_path_factory.mktemp("previous"))
    built = ensure_operator_image(previous.root, repository=f"{OPERATOR_REPOSITORY}-previous")
    image = push_archive(built.archive, node.registry.host, IMAGE_NAME, f"{previous.version}-{previous.commit[:12]}")
    suffix = uuid.uuid4().hex[:6]
    up = Upgrade(previous, image, namespace=f"fo-upgrade-{suffix}", team=f"team-upgrade-{suffix}")
    up.timings["previous image (build or cache, push)"] = time.monotonic() - t0
    print(f"previous: {previous.subject} (version {previous.version}, image built in {built.build_seconds:.1f} s)")
    for ns in (up.namespace, up.team):
        node.kubectl("create", "namespace", ns)
    apply_ecs_credentials(node, up.namespace)
    # The previous CRDs, as a user of the previous release applied them (docs/install.md, kubectl);
    # an earlier module's Helm release may own them: taking them over is what --force-conflicts is for.
    node.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(previous.crds))
    t1 = time.monotonic()
    node.helm(
        "install", RELEASE, str(previous.chart), "-n", up.namespace, "--skip-crds", *_values(node, image),
        "--wait", "--timeout=5m",
    )  # fmt: skip
    up.timings["helm install (previous)"] = time.monotonic() - t1
    try:
        yield up
    finally:
        for kind in reversed(KINDS):
            node.kubectl("delete", kind, "--all", "-n", up.team, "--timeout=120s", check=False)
        node.helm("uninstall", RELEASE, "-n", up.namespace, "--wait", check=False)
        print("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in up.timings.items()))


@pytest.fixture(scope="module")
def current(node: NodeWorld) -> LocalRelease:
    """`make release-local`: this checkout's chart and image in the node's registry."""
    assert node.registry is not None
    return release_local(REPO, node.registry.host)


def test_the_previous_release_runs_its_image_and_reconciles_the_four_kinds(node: NodeWorld, up: Upgrade) -> None:
    assert node.ecs is not None
    pods = _pods(node, up.namespace)
    assert len(pods) == REPLICAS and all(_runs(p, up.previous_image) for p in pods), [p["status"] for p in pods]
    suffix = uuid.uuid4().hex[:6]
    up.cluster, up.family = f"upgrade-{suffix}", f"upgrade-{suffix}"
    network = node.ecs.create_network()
    net = awsvpc(network.subnet_id, network.security_group_id)
    apply(
        node,
        manifest("FargateCluster", "c", {"clusterName": up.cluster}),
        manifest("FargateTaskDefinition", "td", task_definition_spec(up.family)),
        service_manifest("svc", net),
        task_manifest("job", net),
        namespace=up.team,
    )

    def ready(kind: str, name: str) -> bool:
        return bool(condition(_status(node, kind, name, up.team), "Ready").get("status") == "True")

    wait_for("the cluster Ready", lambda: ready("fargatecluster", "c"))
    wait_for("the task definition Ready", lambda: ready("fargatetaskdefinition", "td"))
    wait_for(
        "the service running its task", lambda: _status(node, "fargateservice", "svc", up.team).get("runningCount") == 1
    )
    wait_for("the task running", lambda: _status(node, "fargatetask", "job", up.team).get("lastStatus") == "RUNNING")
    (task,) = _status(node, "fargatetask", "job", up.team)["tasks"]
    up.job_task = task["taskArn"]
    up.job_uid = (get(node, "fargatetask", "job", up.team) or {})["metadata"]["uid"]


def test_helm_upgrade_to_this_release_keeps_every_object_and_runs_or_creates_nothing_again(
    node: NodeWorld, up: Upgrade, current: LocalRelease
) -> None:
    uids = _uids(node, up.team)
    assert len(uids) == len(KINDS), uids
    up.before = _ecs(node, up)
    assert len(up.before["services"]) == 1 and len(up.before["service"]) == 1, up.before
    assert up.before["job"] == [up.job_task], up.before
    before_pods = {p["metadata"]["uid"] for p in _pods(node, up.namespace)}
    # docs/install.md "Upgrading": Helm applies crds/ only on install, so the CRDs first (the previous ones were
    # applied the same way: no conflict to force).
    crds = node.kubectl("apply", "--server-side", "-f", str(REPO / "helm" / "fargate-operator" / "crds"), check=False)
    assert crds.returncode == 0, crds.stderr
    t0 = time.monotonic()
    node.helm(
        "upgrade", RELEASE, current.chart, "--version", current.version, "--plain-http", "-n", up.namespace,
        *_values(node, current.image), "--wait", "--timeout=5m",
    )  # fmt: skip
    pods = wait_for(
        "the new pods Ready on this release's image",
        lambda: (
            (ps := _pods(node, up.namespace))
            and len(ps) == REPLICAS
            and all(_runs(p, current.image) for p in ps)
            and ps
        ),
        timeout=180,
    )
    up.timings["helm upgrade until the new pods are Ready"] = time.monotonic() - t0
    assert not before_pods & {p["metadata"]["uid"] for p in pods}, "every operator pod was replaced"
    history = json.loads(node.helm("history", RELEASE, "-n", up.namespace, "-o", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history][-1] == (2, "deployed"), history
    assert history[-1]["app_version"] == current.version
    time.sleep(8)  # a few status cycles (statusInterval 2) of the new leader: anything it would redo, it has
    assert _uids(node, up.team) == uids, "the same objects, none recreated"
    assert _ecs(node, up) == up.before, "the upgrade must not run, register or create anything again"
    job = get(node, "fargatetask", "job", up.team) or {}
    assert [t["taskArn"] for t in job["status"]["tasks"]] == [up.job_task]
    for kind in KINDS:
        for obj in json.loads(node.kubectl("get", kind, "-n", up.team, "-o", "json").stdout)["items"]:
            degraded = condition(obj.get("status", {}), "Degraded")
            assert degraded.get("status") != "True", (kind, degraded)
    for pod in pods:
        log = node.kubectl("logs", "-n", up.namespace, pod["metadata"]["name"]).stdout
        assert "Traceback" not in log, log[-3000:]


def test_the_new_operator_keeps_status_current_and_reconciles_changes(node: NodeWorld, up: Upgrade) -> None:
    """After the upgrade: ECS changes reach status (a task stopped out of band), spec changes reach ECS."""
    assert node.ecs is not None and up.before, "runs after the upgrade"
    ecs = node.ecs.client()
    job = get(node, "fargatetask", "job", up.team) or {}
    (task,) = job["status"]["tasks"]
    ecs.stop_task(cluster=up.cluster, task=task["taskArn"], reason="stopped by the upgrade test")
    wait_for(
        "the stop in the task's status",
        lambda: _status(node, "fargatetask", "job", up.team).get("lastStatus") == "STOPPED",
    )
    node.kubectl("patch", "fargateservice", "svc", "-n", up.team, "--type=merge", "-p", '{"spec": {"desiredCount": 2}}')
    wait_for(
        "the service scaled in ECS and its status",
        lambda: (
            ecs.describe_services(cluster=up.cluster, services=["svc"])["services"][0]["desiredCount"] == 2
            and _status(node, "fargateservice", "svc", up.team).get("runningCount") == 2
        ),
    )
    (service,) = ecs.describe_services(cluster=up.cluster, services=["svc"])["services"]
    assert (service["serviceArn"], service["createdAt"]) == up.before["service"][0][:2], "updated, not recreated"
