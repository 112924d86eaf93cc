"""deploy/events/: the CloudFormation template and the Terraform snippet the admin applies, read as data.

Both hold the EventBridge rule's event pattern with one value left open, the cluster ARN prefix
(partition, region, account and a cluster-name prefix). `cfn_pattern` and `tf_pattern` render each
file's pattern for one place, so tests compare the two and install the very pattern on the emulator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import yaml

from support.event_queue import EventQueue

EVENTS = Path(__file__).resolve().parents[2] / "deploy" / "events"
TEMPLATE = EVENTS / "cloudformation.yaml"
TERRAFORM = EVENTS / "main.tf"
IAM_POLICY = EVENTS / "iam-policy-events.json"
_INTERPOLATION = re.compile(r"\$\{([^}]+)\}")  # ${Name} in Fn::Sub and in HCL strings alike


@dataclass(frozen=True)
class Place:
    """Where the stack is applied, and its cluster-name prefix."""

    account: str
    region: str
    partition: str = "aws"
    cluster_name_prefix: str = ""


# --- CloudFormation ----------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, !GetAtt) read as their long forms."""


def _short_form(tag: str, long: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "!GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {long: value}

    return construct


for _tag, _long in {"!Ref": "Ref", "!Sub": "Fn::Sub", "!GetAtt": "Fn::GetAtt"}.items():
    _CfnLoader.add_constructor(_tag, _short_form(_tag, _long))


def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # a SafeLoader
    return loaded


def resolve(node: Any, values: dict[str, str]) -> Any:
    """`node` with Ref, Fn::GetAtt and Fn::Sub replaced from `values` (a missing name is a KeyError)."""
    if isinstance(node, list):
        return [resolve(n, values) for n in node]
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            return values[node["Ref"]]
        if set(node) == {"Fn::GetAtt"}:
            return values[".".join(node["Fn::GetAtt"])]
        if set(node) == {"Fn::Sub"}:
            return _INTERPOLATION.sub(lambda m: values[m.group(1)], node["Fn::Sub"])
        return {k: resolve(v, values) for k, v in node.items()}
    return node


def cfn_values(place: Place, **attributes: str) -> dict[str, str]:
    """Pseudo parameters, the parameters' defaults (the prefix from `place`) and resources' attributes."""
    params = {name: str(p["Default"]) for name, p in template()["Parameters"].items()}
    pseudo = {"AWS::Partition": place.partition, "AWS::Region": place.region, "AWS::AccountId": place.account}
    return {**params, **pseudo, "ClusterNamePrefix": place.cluster_name_prefix, **attributes}


def cfn_resource(name: str) -> dict[str, Any]:
    resource: dict[str, Any] = template()["Resources"][name]
    return resource


def cfn_pattern(place: Place) -> dict[str, Any]:
    pattern: dict[str, Any] = resolve(cfn_resource("EcsEventsRule")["Properties"]["EventPattern"], cfn_values(place))
    return pattern


# --- Terraform ---------------------------------------------------------------------------------

_HCL = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


def terraform() -> dict[str, Any]:
    loaded: dict[str, Any] = hcl2.loads(TERRAFORM.read_text(), serialization_options=_HCL)
    return loaded


def tf_resource(kind: str, name: str) -> dict[str, Any]:
    (found,) = [r[kind][name] for r in terraform()["resource"] if name in r.get(kind, {})]
    resource: dict[str, Any] = found
    return resource


def tf_defaults() -> dict[str, Any]:
    return {name: body.get("default") for block in terraform()["variable"] for name, body in block.items()}


def tf_pattern(place: Place) -> dict[str, Any]:
    heredoc = tf_resource("aws_cloudwatch_event_rule", "ecs_events")["event_pattern"]
    body = re.fullmatch(r"<<-?(\w+)\n(.*)\n\s*\1", heredoc, re.S)
    assert body, f"event_pattern is not a heredoc: {heredoc[:40]!r}"
    values = {
        "data.aws_partition.current.partition": place.partition,
        "data.aws_region.current.id": place.region,
        "data.aws_caller_identity.current.account_id": place.account,
        "var.cluster_name_prefix": place.cluster_name_prefix,
    }
    (local,) = [block["cluster_arn_prefix"] for block in terraform()["locals"] if "cluster_arn_prefix" in block]
    values["local.cluster_arn_prefix"] = _INTERPOLATION.sub(lambda m: values[m.group(1)], local)
    pattern: dict[str, Any] = json.loads(_INTERPOLATION.sub(lambda m: values[m.group(1)], body.group(2)))
    return pattern


# --- Installing the template's resources with boto3 --------------------------------------------


def _sqs_attributes(properties: dict[str, Any]) -> dict[str, str]:
    """AWS::SQS::Queue properties as SetQueueAttributes names them (the same names, string values)."""

    def text(value: Any) -> str:
        return json.dumps(value) if isinstance(value, dict) else "true" if value is True else str(value)

    return {name: text(value) for name, value in properties.items() if name != "QueueName"}


def _queue_arn(sqs: Any, url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return arn


def install(events: Any, sqs: Any, place: Place) -> EventQueue:
    """The template's queues, rule, target and queue policies, made with boto3 as the stack would be."""
    values = cfn_values(place)
    dlq = resolve(cfn_resource("DeadLetterQueue")["Properties"], values)
    dlq_url: str = sqs.create_queue(QueueName=dlq["QueueName"], Attributes=_sqs_attributes(dlq))["QueueUrl"]
    values["DeadLetterQueue.Arn"] = _queue_arn(sqs, dlq_url)
    queue = resolve(cfn_resource("EventQueue")["Properties"], values)
    url: str = sqs.create_queue(QueueName=queue["QueueName"], Attributes=_sqs_attributes(queue))["QueueUrl"]
    values["EventQueue.Arn"] = _queue_arn(sqs, url)
    rule = resolve({k: v for k, v in cfn_resource("EcsEventsRule")["Properties"].items() if k != "Targets"}, values)
    values["EcsEventsRule.Arn"] = events.put_rule(
        Name=rule["Name"],
        Description=rule["Description"],
        EventBusName=rule["EventBusName"],
        State=rule["State"],
        EventPattern=json.dumps(rule["EventPattern"]),
    )["RuleArn"]
    targets = resolve(cfn_resource("EcsEventsRule")["Properties"]["Targets"], values)
    events.put_targets(Rule=rule["Name"], EventBusName=rule["EventBusName"], Targets=targets)
    for policy, queue_url in (("EventQueuePolicy", url), ("DeadLetterQueuePolicy", dlq_url)):
        document = resolve(cfn_resource(policy)["Properties"]["PolicyDocument"], values)
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(document)})
    return EventQueue(sqs, url)
