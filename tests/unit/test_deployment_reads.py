"""The status loop's DescribeServiceDeployments (handlers/deployments.py): only deployments in flight, 20 a call.

Against the real gateway over botocore's Stubber, which checks each request against ECS's model
(DescribeServiceDeploymentsRequest.serviceDeploymentArns: "You can specify a maximum of 20 ARNs").
"""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
from botocore.stub import Stubber

from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.ecs.settings import GatewaySettings
from fargate_operator.handlers import deployments

PREFIX = "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/"


def _pair(n: int, finished: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    arn = f"{PREFIX}svc{n}/{n}"
    known = {"last": {"serviceDeploymentArn": arn, "status": "SUCCESSFUL"}} if finished else {}
    service = {"currentServiceDeployment": arn, "deployments": [{"rolloutState": "COMPLETED"}]}
    return {"status": {"deployment": known}}, service


def _answer(arns: list[str]) -> dict[str, Any]:
    return {"serviceDeployments": [{"serviceDeploymentArn": a, "status": "IN_PROGRESS"} for a in arns]}


def test_deployments_in_flight_are_described_twenty_a_call_and_steady_ones_not_at_all() -> None:
    client = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stubber = Stubber(client)
    gw = EcsGateway(GatewaySettings(), client=client)
    pairs = [_pair(n, finished=False) for n in range(25)] + [_pair(n, finished=True) for n in range(25, 40)]
    wanted = [f"{PREFIX}svc{n}/{n}" for n in range(25)]
    stubber.add_response("describe_service_deployments", _answer(wanted[:20]), {"serviceDeploymentArns": wanted[:20]})
    stubber.add_response("describe_service_deployments", _answer(wanted[20:]), {"serviceDeploymentArns": wanted[20:]})
    with stubber:
        found = asyncio.run(deployments.in_flight(gw, pairs))
        stubber.assert_no_pending_responses()
        assert sorted(found) == sorted(wanted)
        assert asyncio.run(deployments.in_flight(gw, pairs[25:])) == {}  # no call: the Stubber has none left
    gw.close()


def test_a_refused_describe_leaves_the_status_without_deployments() -> None:
    client = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stubber = Stubber(client)
    gw = EcsGateway(GatewaySettings(), client=client)
    stubber.add_client_error("describe_service_deployments", "AccessDeniedException", "not allowed", 400)
    with stubber:
        assert asyncio.run(deployments.in_flight(gw, [_pair(1, finished=False)])) == {}
    gw.close()
