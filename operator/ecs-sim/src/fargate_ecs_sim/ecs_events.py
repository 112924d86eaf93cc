"""ECS's events, put on the account's default EventBridge bus in moto's EventBridge (same process).

ECS sends "ECS Task State Change", "ECS Service Action" and "ECS Deployment State Change" events
(source `aws.ecs`) to the default event bus of the resource's account and region (ECS developer
guide, "Amazon ECS events"); moto's EventBridge matches them against the bus's rules and delivers
them to the rules' targets (an SQS queue among them) as EventBridge does. API calls reach
EventBridge as "AWS API Call via CloudTrail" only where a trail records management events: off
unless `SETTINGS.cloudtrail` (the `--cloudtrail-events` flag) says so. Shapes and sources:
docs/ecs-emulator.md, "ECS events".
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.core.serialize import JSONSerializer, TimestampSerializer, XFormedAttributePicker, never_return
from moto.core.utils import get_service_model
from moto.ecs.responses import DESCRIBE_TASKS_TAGS
from moto.events.models import events_backends
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

from fargate_ecs_sim import events_ext

SOURCE = "aws.ecs"
TASK_STATE_CHANGE = "ECS Task State Change"
SERVICE_ACTION = "ECS Service Action"
DEPLOYMENT_STATE_CHANGE = "ECS Deployment State Change"
API_CALL = "AWS API Call via CloudTrail"
# CloudTrail record fields (CloudTrail user guide, "CloudTrail record contents for management events").
CLOUDTRAIL_EVENT_VERSION = "1.08"
ECS_EVENT_SOURCE = "ecs.amazonaws.com"
# EventBridge gets read-only calls only on rules that opt in (ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS),
# which moto does not model: only calls that change something are sent.
READ_ONLY_PREFIXES = ("Describe", "List", "Get")
log = logging.getLogger("ecs_sim")


@dataclass
class Settings:
    """cloudtrail: a trail records management events in every account (a fresh account has none)."""

    cloudtrail: bool = False


SETTINGS = Settings()


def install(cloudtrail: bool) -> None:
    SETTINGS.cloudtrail = cloudtrail
    events_ext.install()


def iso(stamp: datetime) -> str:
    """ECS events' timestamps: ISO 8601, UTC, milliseconds ("2020-01-23T17:57:34.402Z")."""
    stamp = stamp.astimezone(UTC) if stamp.tzinfo else stamp
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def iso_seconds(stamp: datetime) -> str:
    """To the second ("2020-05-23T11:11:11Z"): deployment events' updatedAt, CloudTrail's eventTime."""
    return (stamp.astimezone(UTC) if stamp.tzinfo else stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def _default_bus(arn: str) -> tuple[Any, bool]:
    """The events backend of the account and region `arn` names, and whether its default bus has rules."""
    _, _, _, region, account = arn.split(":", 5)[:5]
    backend = events_backends[account][region]
    bus = backend.event_buses.get("default")
    return backend, bool(bus is not None and bus.rules)


def put(
    arn: str, detail_type: str, detail: Callable[[], dict[str, Any]], resources: list[str], stamp: datetime
) -> None:
    """One event on the default bus of the account and region `arn` names; never fails the caller.

    `detail` is built only when a rule may want it: without rules EventBridge drops the event, and
    a fleet of 20,000 tasks should not pay for serializing what nobody reads."""
    backend, listening = _default_bus(arn)
    if not listening:
        return
    entry = {
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail(), default=str),
        "Resources": resources,
        "Time": stamp.timestamp(),  # moto's SQS delivery formats it as EventBridge does
    }
    try:
        backend.put_events([entry])
    except Exception:  # a broken rule or target must not stop a task's lifecycle
        log.exception("putting an %s event for %s failed", detail_type, arn)


# --- ECS Task State Change --------------------------------------------------------------------


class _EventTimestamps(TimestampSerializer):
    def _timestamp_event(self, value: datetime) -> str:
        return iso(value)


class _TaskSerializer(JSONSerializer):
    """DescribeTasks' own serialization (the same shape, members and omissions), with event timestamps."""

    def __init__(self) -> None:
        operation = get_service_model("ecs").operation_model("DescribeTasks")
        # DescribeTasks without include=TAGS leaves tags out; so do the events.
        picker = XFormedAttributePicker(response_transformers={DESCRIBE_TASKS_TAGS: never_return})
        super().__init__(operation, value_picker=picker)
        self._timestamp_serializer = _EventTimestamps("event")


def task_detail(task: Any, stamp: datetime) -> dict[str, Any]:
    """The task as DescribeTasks shows it, plus updatedAt and version (ECS developer guide, task state change)."""
    body = json.loads(_TaskSerializer().serialize({"tasks": [task], "failures": []})["body"])
    detail: dict[str, Any] = body["tasks"][0]
    detail["updatedAt"] = iso(stamp)
    detail["version"] = task.version
    return detail


def task_state_change(task: Any, stamp: datetime) -> None:
    put(task.task_arn, TASK_STATE_CHANGE, lambda: task_detail(task, stamp), [task.task_arn], stamp)


# --- ECS Service Action / ECS Deployment State Change ------------------------------------------


def service_action(svc: Any, name: str, event_type: str, stamp: datetime, **extra: Any) -> None:
    """eventType INFO / WARN / ERROR, eventName, clusterArn, createdAt (no version: "service action events
    do not include a version number in the details")."""
    detail = {"eventType": event_type, "eventName": name, "clusterArn": svc.cluster_arn, "createdAt": iso(stamp)}
    put(svc.arn, SERVICE_ACTION, lambda: {**detail, **extra}, [svc.arn], stamp)


def deployment_state_change(svc: Any, name: str, deployment_id: str, reason: str, stamp: datetime) -> None:
    """SERVICE_DEPLOYMENT_IN_PROGRESS / _COMPLETED (INFO), _FAILED (ERROR), with deploymentId and reason."""
    detail = {
        "eventType": "ERROR" if name == "SERVICE_DEPLOYMENT_FAILED" else "INFO",
        "eventName": name,
        "clusterArn": svc.cluster_arn,
        "deploymentId": deployment_id,
        "updatedAt": iso_seconds(stamp),
        "reason": reason,
    }
    put(svc.arn, DEPLOYMENT_STATE_CHANGE, lambda: detail, [svc.arn], stamp)


# --- AWS API Call via CloudTrail ---------------------------------------------------------------


def records(action: str) -> bool:
    """Whether an ECS call reaches EventBridge through CloudTrail: switched on, and not read-only."""
    return SETTINGS.cloudtrail and bool(action) and not action.startswith(READ_ONLY_PREFIXES)


def _identity(access_key: str, account: str, region: str) -> dict[str, Any]:
    """CloudTrail's userIdentity for the request's access key (moto's GetCallerIdentity answer)."""
    principal, arn, owner = sts_backends[account][get_partition(region)].get_caller_identity(access_key, region)
    identity: dict[str, Any] = {"principalId": principal, "arn": arn, "accountId": owner, "accessKeyId": access_key}
    if ":assumed-role/" in arn:
        role = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        issuer = f"arn:{arn.split(':')[1]}:iam::{owner}:role/{role}"
        identity["type"] = "AssumedRole"
        identity["sessionContext"] = {
            "sessionIssuer": {"type": "Role", "arn": issuer, "accountId": owner, "userName": role}
        }
    else:
        identity["type"] = "IAMUser"
        identity["userName"] = arn.rsplit("/", 1)[-1]
    return identity


@dataclass(frozen=True)
class ApiCall:
    """What CloudTrail records of one ECS request."""

    action: str
    account: str
    region: str
    access_key: str
    source_ip: str
    user_agent: str
    request_parameters: dict[str, Any]
    response_elements: dict[str, Any] | None


def api_call(call: ApiCall, stamp: datetime) -> None:
    """An "AWS API Call via CloudTrail" event: the CloudTrail record as detail, no resources."""
    put(f"arn:aws:ecs:{call.region}:{call.account}:", API_CALL, lambda: _record(call, stamp), [], stamp)


def _record(call: ApiCall, stamp: datetime) -> dict[str, Any]:
    return {
        "eventVersion": CLOUDTRAIL_EVENT_VERSION,
        "userIdentity": _identity(call.access_key, call.account, call.region),
        "eventTime": iso_seconds(stamp),
        "eventSource": ECS_EVENT_SOURCE,
        "eventName": call.action,
        "awsRegion": call.region,
        "sourceIPAddress": call.source_ip,
        "userAgent": call.user_agent,
        "requestParameters": call.request_parameters or None,
        "responseElements": call.response_elements,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": call.account,
        "eventCategory": "Management",
    }
