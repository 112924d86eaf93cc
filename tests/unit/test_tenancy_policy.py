"""Tenancy, the pure policy logic (reconcile/tenancy.py), the owner lookups' cache and the config file.

The integration tests (tests/integration/controller/test_tenancy.py) show the defect end to end
against moto; these pin every branch of the decisions, which moto cannot reach (IAM role
paths, partitions, short role names, glob edge cases, the config's error messages).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.owners import OwnerLookups
from fargate_operator.models.facts import ClusterFacts, TaskDefinitionFacts
from fargate_operator.models.kinds import TENANCY_RECHECK_ANNOTATION
from fargate_operator.models.ownership import KIND_TAG, NAME_TAG, NAMESPACE_TAG
from fargate_operator.reconcile import tenancy as t
from fargate_operator.tenancy_config import PolicySource

A, B = "team-a", "team-b"
ACCT = "123456789012"
CLUSTER_ARN = f"arn:aws:ecs:us-east-1:{ACCT}:cluster/"
TD_ARN = f"arn:aws:ecs:us-east-1:{ACCT}:task-definition/"


def role(path_name: str, partition: str = "aws", account: str = ACCT) -> str:
    return f"arn:{partition}:iam::{account}:role/{path_name}"


def tags(ns: str | None, kind: str = "FargateCluster", name: str = "x") -> dict[str, str]:
    return {} if ns is None else {NAMESPACE_TAG: ns, KIND_TAG: kind, NAME_TAG: name}


SHARING = t.parse_policy(
    {
        "roles": [
            {"namespaces": ["*"], "arns": ["arn:aws:iam::*:role/ecsTaskExecutionRole"]},
            {"namespaces": ["*"], "arns": [t.DEFAULT_ROLE_PATTERN]},
            {"namespaces": ["team-*"], "arns": [f"arn:aws:iam::{ACCT}:role/shared/??-reader"]},
        ],
        "clusters": [
            {"namespaces": [B], "names": ["platform-shared"]},
            {"namespaces": ["*"], "names": [f"arn:aws:ecs:*:{ACCT}:cluster/public-*"]},
        ],
        "taskDefinitions": [{"namespaces": ["*"], "families": ["base-*"]}],
    }
)


# -- roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "namespace", "candidate", "allowed"),
    [
        (t.DEFAULT_POLICY, A, role(f"fargate/{A}/app"), True),
        (t.DEFAULT_POLICY, A, role(f"fargate/{A}/deep/path/app"), True),
        (t.DEFAULT_POLICY, B, role(f"fargate/{A}/app"), False),  # another namespace's role
        (t.DEFAULT_POLICY, "team", role("fargate/team-b/app"), False),  # no prefix ambiguity with paths
        (t.DEFAULT_POLICY, A, role("ecsTaskExecutionRole"), False),  # nothing shared by default
        (t.DEFAULT_POLICY, A, role(f"fargate/{A}/app", partition="aws-cn"), True),
        (t.DEFAULT_POLICY, A, role(f"fargate/{A}/app", account="999999999999"), True),  # any account by default
        (t.DEFAULT_POLICY, A, "app", False),  # a short name sits at path /, outside /fargate/<ns>/
        (t.DEFAULT_POLICY, A, role(f"fargate/{A}/*"), False),  # glob characters are no role name
        (t.DEFAULT_POLICY, A, f"arn:aws:iam::{ACCT}:user/fargate/{A}/x", False),  # a user, not a role
        (t.DEFAULT_POLICY, A, f"arn:aws:iam::*:role/fargate/{A}/x", False),  # '*' is no account
        (SHARING, B, role("ecsTaskExecutionRole"), True),
        (SHARING, B, role("shared/ab-reader"), True),
        (SHARING, B, role("shared/abc-reader"), False),  # ? is exactly one character
        (SHARING, "other", role("shared/ab-reader"), False),  # rule is for team-*
        (SHARING, B, role("ecsTaskExecutionRole", partition="aws-cn"), False),  # rule names partition aws
        (t.parse_policy({"roles": [{"namespaces": ["*"], "arns": ["arn:*:iam::*:role/legacy"]}]}), A, "legacy", True),
        (t.parse_policy({"roles": []}), A, role(f"fargate/{A}/app"), False),  # roles: [] allows none
    ],
)
def test_a_role_is_allowed_only_as_the_tenancy_rules_say(
    policy: t.Policy, namespace: str, candidate: str, allowed: bool
) -> None:
    assert t.role_allowed(policy, namespace, candidate) is allowed


def test_role_refusal_names_the_role_and_its_namespace() -> None:
    (msg,) = t.role_refusals(t.DEFAULT_POLICY, B, [("spec.overrides.taskRoleArn", role(f"fargate/{A}/app"))])
    assert msg.startswith(f"spec.overrides.taskRoleArn: IAM role {role(f'fargate/{A}/app')}")
    assert f"it is a role of namespace {A}" in msg and f"role/fargate/{B}/*" in msg
    (other,) = t.role_refusals(t.DEFAULT_POLICY, B, [("spec.taskRoleArn", role("admin"))])
    assert "no tenancy rule allows it" in other
    (bad,) = t.role_refusals(t.DEFAULT_POLICY, B, [("spec.taskRoleArn", "not a role!")])
    assert "is not an IAM role ARN or role name" in bad
    assert t.role_refusals(t.DEFAULT_POLICY, A, [("spec.taskRoleArn", role(f"fargate/{A}/app"))]) == []


def test_role_owner_respects_the_rules_namespaces() -> None:
    only_a = t.parse_policy({"roles": [{"namespaces": [A], "arns": ["arn:aws:iam::*:role/x/{namespace}/*"]}]})
    assert t.role_owner(only_a, role(f"x/{A}/r")) == A
    assert t.role_owner(only_a, role(f"x/{B}/r")) is None  # the rule is not for team-b
    twice = t.parse_policy(
        {"roles": [{"namespaces": ["*"], "arns": ["arn:aws:iam::*:role/{namespace}/{namespace}-*"]}]}
    )
    assert t.role_owner(twice, role(f"{A}/{A}-r")) == A and t.role_owner(twice, role(f"{A}/{B}-r")) is None


def test_roles_are_found_wherever_the_ecs_model_puts_them() -> None:
    run = {
        "overrides": {"taskRoleArn": "r1", "executionRoleArn": "r2", "containerOverrides": [{"name": "a"}]},
        "volumeConfigurations": [{"name": "v", "managedEBSVolume": {"roleArn": "r3"}}],
        "taskDefinition": "not-a-role",
    }
    assert sorted(t.roles_in(run, ["RunTask"])) == [
        ("spec.overrides.executionRoleArn", "r2"),
        ("spec.overrides.taskRoleArn", "r1"),
        ("spec.volumeConfigurations[0].managedEBSVolume.roleArn", "r3"),
    ]
    service = {
        "role": "r4",
        "deploymentConfiguration": {"lifecycleHooks": [{"roleArn": "r5", "hookTargetArn": "x"}]},
        "vpcLatticeConfigurations": [{"roleArn": "r6", "targetGroupArn": "x", "portName": "p"}],
    }
    assert sorted(r for _, r in t.roles_in(service, ["CreateService", "UpdateService"])) == ["r4", "r5", "r6"]
    td = {"taskRoleArn": "r7", "executionRoleArn": "r8", "containerDefinitions": [{"name": "a", "image": "i"}]}
    assert sorted(t.roles_in(td, ["RegisterTaskDefinition"])) == [
        ("spec.executionRoleArn", "r8"),
        ("spec.taskRoleArn", "r7"),
    ]
    assert t.roles_in({"overrides": "garbage", "volumeConfigurations": {"no": "list"}}, ["RunTask"]) == []


# -- clusters ----------------------------------------------------------------------------------


def facts(name: str, owner: str | None) -> ClusterFacts:
    return ClusterFacts(name, CLUSTER_ARN + name, tags(owner, name=name))


@pytest.mark.parametrize(
    ("policy", "namespace", "ref", "found", "implicit", "refusal"),
    [
        (t.DEFAULT_POLICY, B, "b1", facts("b1", B), False, None),
        (t.DEFAULT_POLICY, B, CLUSTER_ARN + "b1", facts("b1", B), False, None),
        (t.DEFAULT_POLICY, B, "a1", facts("a1", A), False, f"it is owned by namespace {A} (FargateCluster {A}/a1)"),
        (t.DEFAULT_POLICY, B, "legacy", facts("legacy", None), False, "no namespace owns it"),
        (t.DEFAULT_POLICY, B, "ghost", None, False, "it does not exist"),
        (t.DEFAULT_POLICY, B, "default", facts("default", None), True, "ECS would use its 'default' cluster"),
        (SHARING, B, "platform-shared", facts("platform-shared", "platform"), False, None),
        (SHARING, A, "platform-shared", facts("platform-shared", "platform"), False, "owned by namespace platform"),
        (SHARING, A, "public-1", facts("public-1", None), False, None),  # shared by ARN pattern
        (SHARING, A, "public-1", None, False, "it does not exist"),  # ARN pattern needs the ARN
        (SHARING, B, "platform-shared", None, False, None),  # shared by name: no lookup needed
    ],
)
def test_cluster_refusals_name_the_namespace_and_the_cluster(
    policy: t.Policy, namespace: str, ref: str, found: ClusterFacts | None, implicit: bool, refusal: str | None
) -> None:
    got = t.cluster_refusal(policy, namespace, ref, found, implicit=implicit)
    if refusal is None:
        assert got is None
    else:
        assert got is not None and refusal in got and f"namespace {namespace}" in got and ref in got, got


def test_default_cluster_is_shared_only_when_the_admin_says_so() -> None:
    default = facts("default", None)
    assert t.cluster_refusal(t.DEFAULT_POLICY, A, "default", default, implicit=True) is not None
    shared = t.parse_policy({"clusters": [{"namespaces": ["*"], "names": ["default"]}]})
    assert t.cluster_refusal(shared, A, "default", default, implicit=True) is None
    assert shared.roles == t.DEFAULT_POLICY.roles  # a section left out keeps its default


# -- task definitions --------------------------------------------------------------------------


def revision(family: str, owner: str | None, *roles: tuple[str, str]) -> TaskDefinitionFacts:
    return TaskDefinitionFacts(f"{TD_ARN}{family}:3", family, tags(owner, "FargateTaskDefinition", "job"), roles)


@pytest.mark.parametrize(
    ("namespace", "ref", "found", "refusal"),
    [
        (B, "b-job", revision("b-job", B, ("taskRoleArn", role(f"fargate/{B}/r"))), None),
        (B, f"{TD_ARN}a-job:3", revision("a-job", A), f"owned by namespace {A} (FargateTaskDefinition {A}/job)"),
        (B, "a-job:3", revision("a-job", A), f"{TD_ARN}a-job:3 may not be used from namespace {B}"),
        (B, "orphan", revision("orphan", None), "no namespace owns it"),
        (B, "ghost:1", None, "it does not exist"),
        # own family, but a revision passing a role the namespace may not (registered before adoption)
        (B, "b-old:1", revision("b-old", B, ("taskRoleArn", role(f"fargate/{A}/r"))), "its taskRoleArn: IAM role"),
        # a shared family carries its roles with it
        (B, f"{TD_ARN}base-python:3", revision("base-python", "platform", ("taskRoleArn", role("p"))), None),
        (B, "base-python", None, None),
    ],
)
def test_task_definition_refusals_follow_the_sharing_policy(
    namespace: str, ref: str, found: TaskDefinitionFacts | None, refusal: str | None
) -> None:
    got = t.task_definition_refusal(SHARING, namespace, ref, found)
    if refusal is None:
        assert got is None
    else:
        assert got is not None and refusal in got, got


@pytest.mark.parametrize(
    ("ref", "family"),
    [("web", "web"), ("web:12", "web"), (f"{TD_ARN}web:12", "web"), (f"{TD_ARN}web", "web")],
)
def test_the_family_is_read_from_every_task_definition_reference_form(ref: str, family: str) -> None:
    assert t.family_of(ref) == family


# -- the config --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ([], "must be a mapping"),
        ({"role": []}, "unknown key 'role'; allowed: roles, clusters, taskDefinitions"),
        ({"roles": {"namespaces": ["*"]}}, "roles must be a list of rules"),
        ({"roles": [{"arns": ["arn:x"]}]}, "roles[0].namespaces is required"),
        ({"roles": [{"namespaces": ["*"], "arn": ["x"]}]}, "roles[0]: unknown key 'arn'; allowed: namespaces, arns"),
        ({"roles": [{"namespaces": ["*"], "arns": ["team-*"]}]}, "roles[0].arns[0] 'team-*' must be an IAM role ARN"),
        ({"roles": [{"namespaces": "*", "arns": ["arn:x"]}]}, "roles[0].namespaces must be a non-empty list"),
        ({"clusters": [{"namespaces": ["*"], "names": [""]}]}, "clusters[0].names[0] must be a non-empty string"),
        ({"clusters": [{"namespaces": ["*"], "names": ["{ns}-x"]}]}, "the only placeholder is {namespace}"),
        ({"taskDefinitions": [{"namespaces": ["{namespace}"], "families": ["x"]}]}, "no placeholder is allowed"),
        ({"taskDefinitions": [{"namespaces": ["*"], "families": []}]}, "taskDefinitions[0].families must be"),
    ],
)
def test_config_errors_name_the_field(data: Any, complaint: str) -> None:
    with pytest.raises(t.TenancyConfigError) as err:
        t.parse_policy(data)
    assert complaint in str(err.value)


def test_an_empty_config_is_the_default_policy_with_a_stable_digest() -> None:
    assert t.parse_policy(None) == t.parse_policy({}) == t.DEFAULT_POLICY
    assert t.DEFAULT_POLICY.digest == t.parse_policy({}).digest and len(t.DEFAULT_POLICY.digest) == 12
    assert SHARING.digest != t.DEFAULT_POLICY.digest
    assert t.parse_policy({"clusters": None}) == t.DEFAULT_POLICY


def test_ambiguous_tenancy_patterns_are_named() -> None:
    policy = t.parse_policy(
        {
            "roles": [
                {"namespaces": ["*"], "arns": ["arn:aws:iam::*:role/{namespace}-*", t.DEFAULT_ROLE_PATTERN]},
                {"namespaces": ["*"], "arns": ["arn:aws:iam::*:role/app-{namespace}"]},
            ],
            "clusters": [{"namespaces": ["*"], "names": ["{namespace}"]}],
        }
    )
    assert t.ambiguous_patterns(policy) == ["arn:aws:iam::*:role/{namespace}-*", "arn:aws:iam::*:role/app-{namespace}"]


def test_refusals_carry_the_policy_digest_and_are_rechecked_when_it_changes() -> None:
    message = t.stamp("x" * 5000, SHARING)
    assert len(message) <= 1024 and t.refused_under(message) == SHARING.digest
    assert t.refused_under("no stamp") is None

    def obj(kind: str, reason: str, msg: str, annotation: str | None = None, **status: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {"namespace": B, "name": "x"}
        if annotation:
            meta["annotations"] = {TENANCY_RECHECK_ANNOTATION: annotation}
        cond = {"type": "Degraded", "status": "True", "reason": reason, "message": msg}
        return {
            "kind": kind,
            "metadata": meta,
            "spec": status.pop("spec", {}),
            "status": {"conditions": [cond], **status},
        }

    old = t.stamp("refused", t.DEFAULT_POLICY)
    assert t.needs_recheck(obj("FargateTask", t.REASON, old), SHARING)
    assert not t.needs_recheck(obj("FargateTask", t.REASON, old, annotation=SHARING.digest), SHARING)  # asked
    assert not t.needs_recheck(obj("FargateTask", t.REASON, t.stamp("refused", SHARING)), SHARING)  # decided
    assert not t.needs_recheck(obj("FargateTask", "RunTaskFailure", "ECS said no"), SHARING)
    # A registered task definition whose role the new config no longer allows shows it.
    foreign = {"taskRoleArn": role(f"fargate/{A}/r")}
    registered = {"taskDefinitionArn": f"{TD_ARN}x:1"}
    assert t.needs_recheck(obj("FargateTaskDefinition", "Registered", "", spec=foreign, **registered), SHARING)
    own = {"taskRoleArn": role(f"fargate/{B}/r")}
    assert not t.needs_recheck(obj("FargateTaskDefinition", "Registered", "", spec=own, **registered), SHARING)


def test_config_file_reload_keeps_the_last_good(tmp_path: Path) -> None:
    path = tmp_path / "tenancy.yaml"
    path.write_text("clusters:\n  - namespaces: [team-b]\n    names: [platform-shared]\n")
    source = PolicySource(path)
    assert t.cluster_shared(source.policy, B, "platform-shared", None)
    assert source.reload() is False  # unchanged
    path.write_text("clusters: [oops")
    assert source.reload() is False and t.cluster_shared(source.policy, B, "platform-shared", None)
    path.write_text("")
    assert source.reload() is True and source.policy == t.DEFAULT_POLICY
    path.unlink()
    assert source.reload() is False and source.policy == t.DEFAULT_POLICY
    with pytest.raises(t.TenancyConfigError, match=r"tenancy.yaml: cannot read"):
        PolicySource(path)
    path.write_text("roles: [{namespaces: ['*'], arns: [nope]}]")
    with pytest.raises(t.TenancyConfigError, match=r"roles\[0\]\.arns\[0\] 'nope' must be an IAM role ARN"):
        PolicySource(path)
    assert PolicySource().policy == t.DEFAULT_POLICY


def test_cli_refuses_to_start_with_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fargate_operator import cli

    bad = tmp_path / "t.yaml"
    bad.write_text(json.dumps({"clusters": [{"namespaces": ["*"]}]}))
    assert cli.main(["run", "--tenancy-config", str(bad), "--region", "us-east-1"]) == 2
    assert "clusters[0].names is required" in capsys.readouterr().err


# -- the owner lookups: one ECS call for many, kept briefly ------------------------------------


class FakeGateway:
    """Stands in for EcsGateway (no boto3): answers from a table and counts calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.clusters: dict[str, dict[str, Any]] = {}
        self.revisions: dict[str, dict[str, Any]] = {}

    async def describe_clusters(self, names: list[str]) -> list[dict[str, Any]]:
        self.calls.append(f"DescribeClusters {names[0]}")
        await asyncio.sleep(0.01)
        return [self.clusters[n] for n in names if n in self.clusters]

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        self.calls.append(f"{operation} {params['taskDefinition']}")
        await asyncio.sleep(0.01)
        if params["taskDefinition"] not in self.revisions:
            raise EcsError(operation, "ClientException", "Unable to describe task definition.", 400)
        return self.revisions[params["taskDefinition"]]


def test_owner_lookups_share_one_call_and_expire() -> None:
    gateway = FakeGateway()
    gateway.clusters["a1"] = {"clusterName": "a1", "clusterArn": CLUSTER_ARN + "a1", "status": "ACTIVE", "tags": []}
    gateway.revisions["a-job:1"] = {
        "taskDefinition": {"taskDefinitionArn": TD_ARN + "a-job:1", "family": "a-job", "taskRoleArn": "r"},
        "tags": [{"key": NAMESPACE_TAG, "value": A}],
    }
    now = [0.0]
    lookups = OwnerLookups(gateway.describe_clusters, gateway.call, ttl=30, clock=lambda: now[0])

    async def scenario() -> None:
        burst = await asyncio.gather(*(lookups.cluster("a1") for _ in range(20)))
        assert {b.arn for b in burst if b} == {CLUSTER_ARN + "a1"} and gateway.calls == ["DescribeClusters a1"]
        now[0] = 29
        await lookups.cluster("a1")
        assert len(gateway.calls) == 1  # still fresh
        now[0] = 31
        await lookups.cluster("a1")
        assert len(gateway.calls) == 2  # tags may have changed: asked again
        revision = await lookups.task_definition("a-job:1")
        assert revision is not None and revision.tags[NAMESPACE_TAG] == A and revision.roles == (("taskRoleArn", "r"),)
        assert await lookups.task_definition("ghost") is None
        assert await lookups.task_definition("ghost") is None
        assert gateway.calls.count("DescribeTaskDefinition ghost") == 2  # a missing name is not kept
        assert await lookups.cluster("nope") is None

    asyncio.run(scenario())


def test_owner_lookups_serve_two_event_loops_at_once() -> None:
    """Under leader election Kopf's handlers and the status loop (drift's re-creations) run on loops of
    their own threads and share one OwnerLookups: a lookup in flight on one loop must not be awaited
    from the other ("attached to a different loop") nor removed twice (KeyError)."""
    import threading

    gateway = FakeGateway()
    gateway.clusters["a1"] = {"clusterName": "a1", "clusterArn": CLUSTER_ARN + "a1", "status": "ACTIVE", "tags": []}
    lookups = OwnerLookups(gateway.describe_clusters, gateway.call, ttl=0, clock=time.monotonic)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def on_own_loop() -> None:
        async def burst() -> None:
            start.wait()
            for _ in range(20):
                found = await asyncio.gather(*(lookups.cluster("a1") for _ in range(5)))
                assert all(f is not None for f in found)

        try:
            asyncio.run(burst())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=on_own_loop) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors


# -- the handlers' checks: accepted objects answer without ECS, the rest asks ECS once ---------


def _guard_runtime(policy: t.Policy = t.DEFAULT_POLICY) -> tuple[Any, Any]:
    """A Runtime whose ECS client is botocore's Stubber (requests checked against the real model)."""
    import boto3
    from botocore.stub import Stubber

    from fargate_operator.config import OperatorConfig
    from fargate_operator.ecs.gateway import EcsGateway
    from fargate_operator.ecs.settings import GatewaySettings
    from fargate_operator.models.ownership import Owner
    from fargate_operator.reconcile import task_definition as td_logic
    from fargate_operator.runtime import Runtime
    from fargate_operator.store.watch_cache import WatchCache

    client = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    registry = WatchCache()
    registry.upsert(
        {
            "kind": "FargateCluster",
            "metadata": {"name": "prod", "namespace": B, "uid": "c1"},
            "spec": {"clusterName": "b-prod"},
            "status": {"clusterArn": CLUSTER_ARN + "b-prod"},
        }
    )
    registry.upsert({"kind": "FargateCluster", "metadata": {"name": "new", "namespace": B}, "spec": {}, "status": {}})
    spec = {"family": "b-job", "taskRoleArn": role(f"fargate/{A}/r"), "containerDefinitions": [{"name": "a"}]}
    registry.upsert(
        {
            "kind": "FargateTaskDefinition",
            "metadata": {"name": "job", "namespace": B, "uid": "t1", "generation": 1},
            "spec": spec,
            "status": {
                "taskDefinitionArn": TD_ARN + "b-job:4",
                "specHash": td_logic.register_request(spec, Owner("", "", "", ""))[1],
            },
        }
    )
    rt = Runtime(OperatorConfig(), EcsGateway(GatewaySettings(), client=client), registry)
    rt.tenancy.policy = policy
    return rt, Stubber(client)


def test_accepted_objects_answer_without_ecs_calls() -> None:
    from fargate_operator.handlers import tenancy as guard

    allow_a_role = t.parse_policy({"roles": [{"namespaces": ["*"], "arns": [role(f"fargate/{A}/*")]}]})
    rt, stubber = _guard_runtime(allow_a_role)
    with stubber:  # no responses queued: any ECS call fails the test
        asyncio.run(guard.require_cluster(rt, rt.gateway, B, "b-prod"))
        asyncio.run(guard.require_cluster(rt, rt.gateway, B, CLUSTER_ARN + "b-prod"))
        asyncio.run(guard.require_task_definition(rt, rt.gateway, B, "b-job"))
        asyncio.run(guard.require_task_definition(rt, rt.gateway, B, TD_ARN + "b-job:4"))
        asyncio.run(guard.require_task_definition(rt, rt.gateway, B, "b-job:4"))
    # The same accepted revision, under a config that no longer allows its role: refused, still no call.
    rt.tenancy.policy = t.DEFAULT_POLICY
    with stubber, pytest.raises(guard.TenancyRefused) as err:
        asyncio.run(guard.require_task_definition(rt, rt.gateway, B, "b-job"))
    assert f"its taskRoleArn: IAM role {role(f'fargate/{A}/r')}" in str(err.value)
    assert f"(FargateTaskDefinition {B}/job)" in str(err.value) and t.refused_under(str(err.value))


def test_named_resources_are_looked_up_once_and_pending_ones_wait() -> None:
    from fargate_operator.handlers import tenancy as guard

    rt, stubber = _guard_runtime()
    include = ["TAGS", "SETTINGS", "CONFIGURATIONS"]
    a_cluster = {"clusterName": "a-prod", "clusterArn": CLUSTER_ARN + "a-prod", "status": "ACTIVE"}
    a_cluster["tags"] = [{"key": NAMESPACE_TAG, "value": A}]  # type: ignore[assignment]
    stubber.add_response("describe_clusters", {"clusters": [a_cluster]}, {"clusters": ["a-prod"], "include": include})
    stubber.add_response(
        "describe_clusters", {"clusters": [], "failures": []}, {"clusters": ["new"], "include": include}
    )
    revision = {"taskDefinitionArn": TD_ARN + "b-job:2", "family": "b-job", "taskRoleArn": role(f"fargate/{B}/r")}
    stubber.add_response(
        "describe_task_definition",
        {"taskDefinition": revision, "tags": [{"key": NAMESPACE_TAG, "value": B}]},
        {"taskDefinition": "b-job:2", "include": ["TAGS"]},
    )
    with stubber:
        for _ in range(2):  # the second answer comes from the cache
            with pytest.raises(guard.TenancyRefused, match=f"it is owned by namespace {A}"):
                asyncio.run(guard.require_cluster(rt, rt.gateway, B, "a-prod"))
        with pytest.raises(guard.NotYetAccepted, match=f"FargateCluster {B}/new has no ECS cluster yet"):
            asyncio.run(guard.require_cluster(rt, rt.gateway, B, "new"))
        asyncio.run(
            guard.require_task_definition(rt, rt.gateway, B, "b-job:2")
        )  # an older own revision: asked, allowed
    stubber.assert_no_pending_responses()


def test_observe_only_never_mirrors_another_namespaces_service() -> None:
    """A cluster shared by the tenancy config does not make B's services observable from A (their
    tasks and events would reach A through status and the front doors); untagged or own ones may be."""
    b_tags = [{"key": NAMESPACE_TAG, "value": B}, {"key": "team", "value": "x"}]
    assert t.observed_elsewhere(A, b_tags) == B
    assert t.observed_elsewhere(B, b_tags) is None
    assert t.observed_elsewhere(A, [{"key": "team", "value": "x"}]) is None  # made outside the operator
    assert t.observed_elsewhere(A, None) is None


# -- network and traffic references ------------------------------------------------------------

SUBNET_A, SUBNET_B, SG_A, SG_B = "subnet-0aaa", "subnet-0bbb", "sg-0aaa", "sg-0bbb"
TG_A = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:targetgroup/a-web/0123456789abcdef"
RULE_A = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:listener-rule/app/a/1/2/3"
LATTICE_A = f"arn:aws:vpc-lattice:us-east-1:{ACCT}:targetgroup/tg-0aaa"
REGISTRY_A = f"arn:aws:servicediscovery:us-east-1:{ACCT}:service/srv-0aaa"


def network_policy() -> t.Policy:
    """Each network section gives team-a its own; a subnet pattern is shared with all."""
    return t.parse_policy(
        {
            "subnets": [{"namespaces": [A], "ids": [SUBNET_A]}, {"namespaces": ["*"], "ids": ["subnet-shared-*"]}],
            "securityGroups": [{"namespaces": [A], "ids": [SG_A]}],
            "loadBalancers": [{"namespaces": [A], "arns": [TG_A, RULE_A]}],
            "serviceRegistries": [{"namespaces": [A], "arns": [REGISTRY_A]}],
            "serviceConnectNamespaces": [{"namespaces": [A], "names": ["a.local"]}],
            "vpcLattice": [{"namespaces": [A], "arns": [LATTICE_A]}],
        }
    )


def awsvpc(subnets: list[str], groups: list[str] | None) -> dict[str, Any]:
    config: dict[str, Any] = {"subnets": subnets}
    if groups is not None:
        config["securityGroups"] = groups
    return {"networkConfiguration": {"awsvpcConfiguration": config}}


def service_spec(subnet: str, group: str, tg: str, rule: str, lattice: str, registry: str, ns: str) -> dict[str, Any]:
    return {
        **awsvpc([subnet], [group]),
        "loadBalancers": [
            {
                "targetGroupArn": tg,
                "containerName": "app",
                "containerPort": 8080,
                "advancedConfiguration": {"alternateTargetGroupArn": tg, "productionListenerRule": rule},
            }
        ],
        "serviceRegistries": [{"registryArn": registry}],
        "serviceConnectConfiguration": {"enabled": True, "namespace": ns},
        "vpcLatticeConfigurations": [{"targetGroupArn": lattice, "portName": "http"}],
    }


def test_a_task_in_a_subnet_and_security_group_no_rule_allows_is_refused_naming_member_value_and_what_it_may_use() -> (
    None
):
    message = t.reference_refusal(t.DEFAULT_POLICY, B, awsvpc([SUBNET_A], [SG_A]), t.TASK_OPERATIONS)
    assert message is not None
    assert (
        f"spec.networkConfiguration.awsvpcConfiguration.subnets[0]: subnet {SUBNET_A} may not be used from namespace "
        f"{B}: no subnets rule allows it (it may use subnets.ids: none)"
    ) in message, message
    assert f"securityGroups[0]: security group {SG_A} may not be used from namespace {B}" in message, message
    assert t.refused_under(message) == t.DEFAULT_POLICY.digest


def test_network_rules_admit_what_they_give_a_namespace_and_refuse_it_to_others() -> None:
    spec = service_spec(SUBNET_A, SG_A, TG_A, RULE_A, LATTICE_A, REGISTRY_A, "a.local")
    assert t.reference_refusal(network_policy(), A, spec, t.SERVICE_OPERATIONS) is None
    message = t.reference_refusal(network_policy(), B, spec, t.SERVICE_OPERATIONS)
    assert message is not None and t.refused_under(message) == network_policy().digest
    sentences = t.network_refusals(network_policy(), B, t.references_in(spec, t.SERVICE_OPERATIONS))
    assert message.startswith(sentences[0])
    for where, noun, value, may_use in (
        ("networkConfiguration.awsvpcConfiguration.subnets[0]", "subnet", SUBNET_A, "subnets.ids: subnet-shared-*"),
        ("networkConfiguration.awsvpcConfiguration.securityGroups[0]", "security group", SG_A, "securityGroups.ids"),
        ("loadBalancers[0].targetGroupArn", "load balancer target", TG_A, "loadBalancers.arns"),
        ("loadBalancers[0].advancedConfiguration.alternateTargetGroupArn", "load balancer target", TG_A, "arns"),
        ("loadBalancers[0].advancedConfiguration.productionListenerRule", "load balancer target", RULE_A, "arns"),
        ("serviceRegistries[0].registryArn", "Cloud Map service", REGISTRY_A, "serviceRegistries.arns"),
        ("serviceConnectConfiguration.namespace", "Service Connect namespace", "a.local", "names: none"),
        ("vpcLatticeConfigurations[0].targetGroupArn", "VPC Lattice target", LATTICE_A, "vpcLattice.arns: none"),
    ):
        start = f"spec.{where}: {noun} {value} may not be used from namespace {B}: it is given to namespace {A} ("
        (sentence,) = [s for s in sentences if s.startswith(start)]
        assert "it may use " in sentence and may_use in sentence, sentence
    assert len(sentences) == 8
    # A subnet shared with every namespace is usable by each (with a security group of its own).
    assert t.reference_refusal(network_policy(), B, awsvpc(["subnet-shared-1"], [SG_A]), t.TASK_OPERATIONS) is not None
    assert t.reference_refusal(network_policy(), A, awsvpc(["subnet-shared-1"], [SG_A]), t.TASK_OPERATIONS) is None


def test_a_left_out_security_group_means_the_vpc_default_one_and_is_refused_unless_a_rule_allows_default() -> None:
    spec = awsvpc([SUBNET_A], None)
    message = t.reference_refusal(network_policy(), A, spec, t.TASK_OPERATIONS)
    assert message is not None
    assert "spec.networkConfiguration.awsvpcConfiguration.securityGroups: none named" in message, message
    assert "VPC's default security group" in message and "'default'" in message, message
    assert "it may use securityGroups.ids: sg-0aaa" in message, message
    shared = t.parse_policy(
        {
            "subnets": [{"namespaces": ["*"], "ids": ["*"]}],
            "securityGroups": [{"namespaces": ["*"], "ids": ["default"]}],
        }
    )
    assert t.reference_refusal(shared, A, spec, t.TASK_OPERATIONS) is None
    assert t.reference_refusal(shared, A, awsvpc([SUBNET_A], [SG_A]), t.TASK_OPERATIONS) is not None
    # No network configuration at all (an UpdateService that keeps the network): nothing to check.
    assert t.reference_refusal(t.DEFAULT_POLICY, A, {"desiredCount": 2}, t.SERVICE_OPERATIONS) is None


def test_traffic_members_come_from_the_ecs_model_including_ones_not_listed_by_hand() -> None:
    found = t.network_members(t.SERVICE_OPERATIONS + t.TASK_OPERATIONS)
    assert found["subnets"] == ["networkConfiguration.awsvpcConfiguration.subnets"]
    assert found["securityGroups"] == ["networkConfiguration.awsvpcConfiguration.securityGroups"]
    assert {
        "loadBalancers[].targetGroupArn",
        "loadBalancers[].advancedConfiguration.alternateTargetGroupArn",
        "loadBalancers[].advancedConfiguration.productionListenerRule",
        "loadBalancers[].advancedConfiguration.testListenerRule",
    } <= set(found["loadBalancers"])
    assert "vpcLatticeConfigurations[].advancedConfiguration.testListenerRule" in found["vpcLattice"]
    assert found["serviceRegistries"] == ["serviceRegistries[].registryArn"]
    assert found["serviceConnectNamespaces"] == ["serviceConnectConfiguration.namespace"]
    # A container's sysctl namespace is no Service Connect namespace; task definitions hold no network member.
    assert t.network_members(t.TASK_DEFINITION_OPERATIONS) == {}
    # Roles still come out of the same walk.
    assert t.roles_in({"loadBalancers": [{"advancedConfiguration": {"roleArn": "r"}}]}, t.SERVICE_OPERATIONS) == [
        ("spec.loadBalancers[0].advancedConfiguration.roleArn", "r")
    ]


def test_the_tenancy_page_table_names_every_checked_network_member() -> None:
    section = (Path(__file__).resolve().parents[2] / "docs" / "tenancy.md").read_text()
    for name, members in t.network_members(t.SERVICE_OPERATIONS + t.TASK_OPERATIONS).items():
        assert f"`{name}`" in section, name
        for member in members:
            assert f"`{member}`" in section, member


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"securityGroups": [{"namespaces": ["*"], "arns": ["sg-1"]}]}, "unknown key 'arns'; allowed: namespaces, ids"),
        ({"subnets": [{"namespaces": ["*"]}]}, "subnets[0].ids is required"),
        ({"loadBalancers": [{"namespaces": ["*"], "arns": []}]}, "loadBalancers[0].arns must be a non-empty list"),
        ({"network": []}, "allowed: roles, clusters, taskDefinitions, subnets, securityGroups, loadBalancers"),
    ],
)
def test_network_config_errors_name_the_field(data: Any, complaint: str) -> None:
    with pytest.raises(t.TenancyConfigError) as err:
        t.parse_policy(data)
    assert complaint in str(err.value)


def test_network_sections_change_the_digest_and_configs_without_them_keep_theirs() -> None:
    assert network_policy().digest != t.DEFAULT_POLICY.digest
    assert t.parse_policy({"subnets": []}) == t.DEFAULT_POLICY  # an empty section allows nothing, as none does
    roles_only = {"roles": [{"namespaces": ["*"], "arns": [t.DEFAULT_ROLE_PATTERN]}]}
    assert t.parse_policy(roles_only).digest == t.DEFAULT_POLICY.digest


def test_a_running_service_whose_security_group_a_changed_config_no_longer_allows_is_checked_again() -> None:
    spec = {"serviceName": "web", **awsvpc([SUBNET_A], [SG_A])}
    obj = {
        "kind": "FargateService",
        "metadata": {"namespace": A, "name": "web"},
        "spec": spec,
        "status": {"serviceArn": f"arn:aws:ecs:us-east-1:{ACCT}:service/c/web"},
    }
    assert not t.needs_recheck(obj, network_policy())
    assert t.needs_recheck(obj, t.DEFAULT_POLICY)
    observed = {**obj, "spec": {**spec, "managementPolicy": "Observe"}}
    assert not t.needs_recheck(observed, t.DEFAULT_POLICY)  # observing passes nothing to ECS
