"""Which objects an ECS event concerns: pure, from the event alone (no watch cache, no ECS call).

An event names ECS resources; handlers/event_status.py finds the objects whose status records
them. The mapping:

| event (detail-type, eventName)                         | concerns                                         |
|--------------------------------------------------------|--------------------------------------------------|
| ECS Task State Change                                  | its service when its group is "service:<name>";  |
|                                                        | the task (by ARN); its cluster                   |
| ECS Service Action, ECS Deployment State Change        | the service (resources[0]); its cluster          |
| CloudTrail CreateService, UpdateService, DeleteService | the service (cluster + service / serviceName);   |
|                                                        | its cluster                                      |
| CloudTrail CreateCluster, UpdateCluster, DeleteCluster,| the cluster                                      |
| UpdateClusterSettings, PutClusterCapacityProviders     |                                                  |
| CloudTrail TagResource, UntagResource                  | the cluster or service of resourceArn            |
| CloudTrail RegisterTaskDefinition,                     | the task-definition drift walk of the account    |
| DeregisterTaskDefinition, DeleteTaskDefinitions        | and region                                       |
| anything else, or a CloudTrail call that failed        | nothing                                          |

Names are matched by account, region and ECS name (a request may give a name or an ARN). The first
target is what the event is about (the task, the service, the cluster); the others are touched by it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

TASK_STATE_CHANGE = "ECS Task State Change"
SERVICE_ACTION = "ECS Service Action"
DEPLOYMENT_STATE_CHANGE = "ECS Deployment State Change"
API_CALL = "AWS API Call via CloudTrail"
SERVICE_GROUP = "service:"
DEFAULT_CLUSTER = "default"  # ECS's cluster when a request names none

SERVICE_CALLS = frozenset({"CreateService", "UpdateService", "DeleteService"})
CLUSTER_CALLS = frozenset(
    {"CreateCluster", "UpdateCluster", "DeleteCluster", "UpdateClusterSettings", "PutClusterCapacityProviders"}
)
TAG_CALLS = frozenset({"TagResource", "UntagResource"})
TASK_DEFINITION_CALLS = frozenset({"RegisterTaskDefinition", "DeregisterTaskDefinition", "DeleteTaskDefinitions"})


@dataclass(frozen=True)
class Task:
    arn: str


@dataclass(frozen=True)
class Service:
    account: str
    region: str
    cluster: str  # ECS name
    name: str


@dataclass(frozen=True)
class Cluster:
    account: str
    region: str
    name: str


@dataclass(frozen=True)
class TaskDefinitions:
    """The drift walk of the current revisions in one account and region (handlers/drift.py)."""

    account: str
    region: str


Target = Task | Service | Cluster | TaskDefinitions


@dataclass(frozen=True)
class Routed:
    """One event: its id (for duplicates), the task version it reports (for stale ones), what it concerns."""

    event_id: str
    targets: tuple[Target, ...] = ()
    task_arn: str | None = None
    version: int | None = None
    time: datetime.datetime | None = None
    detail_type: str = ""
    name: str = ""  # eventName (service, deployment and CloudTrail events)


def arn_parts(arn: str) -> tuple[str, str, str] | None:
    """(account, region, resource) of an ARN, None when it is none."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return parts[4], parts[3], parts[5]


def cluster_of_arn(arn: str) -> Cluster | None:
    parts = arn_parts(arn)
    if parts is None or not parts[2].startswith("cluster/"):
        return None
    return Cluster(parts[0], parts[1], parts[2].removeprefix("cluster/"))


def service_of_arn(arn: str, cluster: str | None = None) -> Service | None:
    """A service ARN, long ("service/<cluster>/<name>") or old ("service/<name>": `cluster` says which)."""
    parts = arn_parts(arn)
    if parts is None or not parts[2].startswith("service/"):
        return None
    path = parts[2].removeprefix("service/").split("/")
    if len(path) == 2:
        return Service(parts[0], parts[1], path[0], path[1])
    if cluster is None:
        return None
    return Service(parts[0], parts[1], _name(cluster), path[0])


def _name(name_or_arn: str) -> str:
    """A cluster's name from a request's `cluster` member (a name or an ARN)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.rsplit("/", 1)[-1]
    return name_or_arn


def _time(value: Any) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def route(event: Mapping[str, Any]) -> Routed:
    """What `event` (EventBridge's envelope: id, detail-type, account, region, resources, detail) concerns."""
    detail_type = str(event.get("detail-type") or "")
    detail: Mapping[str, Any] = event.get("detail") or {}
    base = Routed(str(event.get("id") or ""), time=_time(event.get("time")), detail_type=detail_type)
    if detail_type == TASK_STATE_CHANGE:
        return _task(base, detail)
    if detail_type in (SERVICE_ACTION, DEPLOYMENT_STATE_CHANGE):
        resources = list(event.get("resources") or [])
        svc = service_of_arn(str(resources[0]), str(detail.get("clusterArn") or "")) if resources else None
        cl = cluster_of_arn(str(detail.get("clusterArn") or ""))
        found: tuple[Target, ...] = tuple(t for t in (svc, cl) if t is not None)
        return replace(base, targets=found, name=str(detail.get("eventName") or ""))
    if detail_type == API_CALL:
        account = str(event.get("account") or detail.get("recipientAccountId") or "")
        region = str(event.get("region") or detail.get("awsRegion") or "")
        name = str(detail.get("eventName") or "")
        targets = () if detail.get("errorCode") else api_call(name, account, region, detail.get("requestParameters"))
        return replace(base, targets=targets, name=name)
    return base


def _task(base: Routed, detail: Mapping[str, Any]) -> Routed:
    arn = str(detail.get("taskArn") or "")
    if not arn:
        return base
    targets: list[Target] = [Task(arn)]
    cl = cluster_of_arn(str(detail.get("clusterArn") or ""))
    group = str(detail.get("group") or "")
    if cl is not None:
        if group.startswith(SERVICE_GROUP):  # a service's task: the event is about the service
            targets.insert(0, Service(cl.account, cl.region, cl.name, group.removeprefix(SERVICE_GROUP)))
        targets.append(cl)
    version = detail.get("version")
    at = _time(detail.get("updatedAt")) or base.time  # to the millisecond; the envelope's time is to the second
    known = int(version) if isinstance(version, int) or (isinstance(version, str) and version.isdigit()) else None
    return replace(base, targets=tuple(targets), task_arn=arn, version=known, time=at)


def api_call(name: str, account: str, region: str, params: Mapping[str, Any] | None) -> tuple[Target, ...]:
    """A CloudTrail record of an ECS call that succeeded -> what it changed."""
    params = params or {}
    if name in SERVICE_CALLS:
        cluster = _name(str(params.get("cluster") or DEFAULT_CLUSTER))
        service = str(params.get("service") or params.get("serviceName") or "")
        if not service:
            return ()
        svc = service_of_arn(service, cluster) if service.startswith("arn:") else None
        svc = svc or Service(account, region, cluster, service)
        return (svc, Cluster(svc.account, svc.region, svc.cluster))
    if name in CLUSTER_CALLS:
        cluster = str(params.get("cluster") or params.get("clusterName") or DEFAULT_CLUSTER)
        return (cluster_of_arn(cluster) or Cluster(account, region, _name(cluster)),)
    if name in TAG_CALLS:
        arn = str(params.get("resourceArn") or "")
        found = service_of_arn(arn) or cluster_of_arn(arn)
        return (found,) if found is not None else ()
    if name in TASK_DEFINITION_CALLS:
        return (TaskDefinitions(account, region),)
    return ()
