"""deploy/events/: the template and the Terraform snippet are valid, and say the same things."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest

from fargate_ecs_sim import ecs_events
from support.event_setup import (
    IAM_POLICY,
    TEMPLATE,
    TERRAFORM,
    Place,
    cfn_pattern,
    cfn_resource,
    template,
    terraform,
    tf_defaults,
    tf_pattern,
    tf_resource,
)

PLACES = [
    Place("123456789012", "eu-west-1"),
    Place("210987654321", "cn-north-1", partition="aws-cn", cluster_name_prefix="team-a"),
]
READ_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
# Terraform's copy of each CloudFormation parameter.
TF_VARIABLES = {
    "QueueName": "queue_name",
    "ClusterNamePrefix": "cluster_name_prefix",
    "MessageRetentionSeconds": "message_retention_seconds",
    "VisibilityTimeoutSeconds": "visibility_timeout_seconds",
    "MaxReceiveCount": "max_receive_count",
}


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is missing: `make venv` installs it"
    return found


def test_the_cloudformation_template_lints_clean() -> None:
    """cfn-lint checks every property against the resource specifications it ships, informational rules too."""
    res = subprocess.run(
        [_tool("cfn-lint"), "--include-checks", "I", "--", str(TEMPLATE)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.partition)
def test_the_template_and_the_terraform_snippet_hold_the_same_event_pattern(place: Place) -> None:
    assert cfn_pattern(place) == tf_pattern(place)


def test_the_pattern_takes_ecss_own_events_of_the_clusters_under_the_prefix() -> None:
    place = Place("123456789012", "eu-west-1", cluster_name_prefix="team-")
    pattern = cfn_pattern(place)
    assert pattern["source"] == [ecs_events.SOURCE]
    own, calls = pattern["$or"]
    assert own["detail-type"] == [
        ecs_events.TASK_STATE_CHANGE,
        ecs_events.SERVICE_ACTION,
        ecs_events.DEPLOYMENT_STATE_CHANGE,
    ]
    assert own["detail"] == {"clusterArn": [{"prefix": "arn:aws:ecs:eu-west-1:123456789012:cluster/team-"}]}
    assert calls["detail-type"] == [ecs_events.API_CALL]
    assert calls["detail"]["eventSource"] == [ecs_events.ECS_EVENT_SOURCE]


def test_the_cloudtrail_calls_in_the_pattern_are_ecs_write_operations() -> None:
    """A misspelt name would match nothing, silently; a read would flood the queue."""
    operations = set(botocore.session.get_session().get_service_model("ecs").operation_names)
    (calls,) = [branch for branch in cfn_pattern(PLACES[0])["$or"] if "eventName" in branch["detail"]]
    names = calls["detail"]["eventName"]
    assert len(names) == len(set(names)) and set(names) <= operations
    assert not [n for n in names if n.startswith(ecs_events.READ_ONLY_PREFIXES)]
    # The calls that change what a FargateCluster/FargateService/FargateTaskDefinition reflects.
    for drift in ("UpdateService", "DeleteService", "DeregisterTaskDefinition", "DeleteCluster", "TagResource"):
        assert drift in names
    # A task's own state change events already say what RunTask and StopTask did.
    assert not {"RunTask", "StopTask"} & set(names)


def test_terraform_variables_default_to_the_template_parameters() -> None:
    params = template()["Parameters"]
    defaults = tf_defaults()
    assert set(defaults) == set(TF_VARIABLES.values())
    for param, variable in TF_VARIABLES.items():
        assert str(defaults[variable]) == str(params[param]["Default"]), param


def test_both_queues_are_encrypted_and_the_event_queue_redrives_to_the_dead_letter_queue() -> None:
    queue, dlq = cfn_resource("EventQueue")["Properties"], cfn_resource("DeadLetterQueue")["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert queue["ReceiveMessageWaitTimeSeconds"] == 20
    tf_queue, tf_dlq = tf_resource("aws_sqs_queue", "events"), tf_resource("aws_sqs_queue", "dead_letter")
    assert tf_queue["sqs_managed_sse_enabled"] is True and tf_dlq["sqs_managed_sse_enabled"] is True
    assert "deadLetterTargetArn = aws_sqs_queue.dead_letter.arn" in tf_queue["redrive_policy"]
    assert tf_queue["receive_wait_time_seconds"] == queue["ReceiveMessageWaitTimeSeconds"]
    assert tf_dlq["message_retention_seconds"] == dlq["MessageRetentionPeriod"]


@pytest.mark.parametrize("policy", ["EventQueuePolicy", "DeadLetterQueuePolicy"])
def test_only_the_rule_may_send_to_the_queues(policy: str) -> None:
    (statement,) = cfn_resource(policy)["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["EcsEventsRule", "Arn"]}}}
    tf_name = {"EventQueuePolicy": "events", "DeadLetterQueuePolicy": "dead_letter"}[policy]
    tf_policy = tf_resource("aws_sqs_queue_policy", tf_name)["policy"]
    for part in ('Service = "events.amazonaws.com"', 'Action = "sqs:SendMessage"', f"aws_sqs_queue.{tf_name}.arn"):
        assert part in tf_policy
    assert '{ArnEquals = {"aws:SourceArn" = aws_cloudwatch_event_rule.ecs_events.arn}}' in tf_policy


def test_the_target_sends_undelivered_events_to_the_dead_letter_queue_in_both() -> None:
    (target,) = cfn_resource("EcsEventsRule")["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["EventQueue", "Arn"]} and "RoleArn" not in target
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    tf_target = tf_resource("aws_cloudwatch_event_target", "queue")
    assert tf_target["arn"] == "${aws_sqs_queue.events.arn}"
    ((dead_letter,), (tf_retry,)) = tf_target["dead_letter_config"], tf_target["retry_policy"]  # blocks: lists
    assert dead_letter["arn"] == "${aws_sqs_queue.dead_letter.arn}"
    assert tf_target["target_id"] == target["Id"]
    retry = target["RetryPolicy"]
    assert tf_retry == {
        "maximum_event_age_in_seconds": retry["MaximumEventAgeInSeconds"],
        "maximum_retry_attempts": retry["MaximumRetryAttempts"],
    }


def test_the_operator_may_read_and_delete_from_the_queue_and_nothing_else() -> None:
    policy = json.loads(IAM_POLICY.read_text())
    (statement,) = policy["Statement"]
    assert set(statement["Action"]) == READ_ACTIONS
    queue_name = template()["Parameters"]["QueueName"]["Default"]
    assert statement["Resource"] == [f"arn:aws:sqs:*:*:{queue_name}"]
    # The stacks' outputs print the same statement for the queue they made.
    output = template()["Outputs"]["OperatorPolicyStatement"]["Value"]["Fn::Sub"]
    assert set(json.loads(output)["Action"]) == READ_ACTIONS and json.loads(output)["Resource"] == "${EventQueue.Arn}"
    (tf_output,) = [o["operator_policy_statement"] for o in terraform()["output"] if "operator_policy_statement" in o]
    assert all(f'"{action}"' in tf_output["value"] for action in READ_ACTIONS)


def test_both_give_the_queue_url_and_arn() -> None:
    outputs = template()["Outputs"]
    assert outputs["QueueUrl"]["Value"] == {"Ref": "EventQueue"}
    assert outputs["QueueArn"]["Value"] == {"Fn::GetAtt": ["EventQueue", "Arn"]}
    tf_outputs = {name: body["value"] for block in terraform()["output"] for name, body in block.items()}
    assert tf_outputs["queue_url"] == "${aws_sqs_queue.events.url}"
    assert tf_outputs["queue_arn"] == "${aws_sqs_queue.events.arn}"


def test_terraform_validates_the_snippet_against_the_aws_provider(tmp_path: Path) -> None:
    """`terraform validate` needs the AWS provider: from a local mirror (TF_PLUGIN_DIR), as no registry is reachable."""
    terraform_bin = shutil.which("terraform")
    plugins = Path(os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins"))
    if terraform_bin is None or not plugins.is_dir():
        pytest.skip("terraform and a local mirror of the AWS provider are not on this machine")
    shutil.copy(TERRAFORM, tmp_path / "main.tf")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TF_CLI_CONFIG_FILE": "/dev/null", "TF_IN_AUTOMATION": "1"}
    for command in (
        ["init", "-backend=false", "-input=false", f"-plugin-dir={plugins}"],
        ["validate", "-no-color"],
        ["fmt", "-check", "-diff", "-no-color"],
    ):
        res = subprocess.run([terraform_bin, *command], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert res.returncode == 0, f"terraform {command[0]}: {res.stdout}{res.stderr}"


def test_the_docs_page_shows_the_pattern_the_template_holds() -> None:
    page = (TEMPLATE.parents[2] / "docs" / "event-driven-status.md").read_text()
    shown = re.search(r"The event pattern:\n\n```json\n(.*?)\n```", page, re.S)
    assert shown, "docs/event-driven-status.md shows the event pattern in a json block"
    placeholders = Place("<account>", "<region>", partition="<partition>", cluster_name_prefix="<ClusterNamePrefix>")
    assert json.loads(shown.group(1)) == cfn_pattern(placeholders)
