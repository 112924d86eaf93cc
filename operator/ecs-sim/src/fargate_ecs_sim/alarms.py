"""CloudWatch alarms that fail a deployment (deploymentConfiguration.alarms), read from moto's CloudWatch.

moto's CloudWatch runs in the same process (served on the same port): an alarm is in ALARM when a
client put it there (SetAlarmState) or moto's own evaluation did. Developer guide, "How CloudWatch
alarms detect Amazon ECS deployment failures": ECS "set[s] the deployment to failed when it detects
that a specified CloudWatch alarm has gone into the ALARM state".
"""

from __future__ import annotations

from moto.cloudwatch.models import cloudwatch_backends


def in_alarm(service_arn: str, names: list[str]) -> list[str]:
    """The named alarms of the service's account and region that are in ALARM, in the order given."""
    _, _, _, region, account = service_arn.split(":", 5)[:5]
    known = cloudwatch_backends[account][region].alarms
    return [n for n in names if n in known and known[n].state_value == "ALARM"]
