"""The emulator's STS where FargateAccounts depend on it (fargate_ecs_sim/sts_ext.py), and its paging of families."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fargate_devenv.ecs_emulator import EcsEmulator

ACCOUNT = "777777777777"


def test_expired_sessions_are_refused_and_lifetimes_can_be_compressed(tmp_path: Path) -> None:
    """AWS refuses an expired session's requests with ExpiredTokenException; moto did not."""
    with EcsEmulator(log=tmp_path / "ecs.log", sts_session_seconds=2) as emulator:
        sts = emulator.client("sts")
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/r", RoleSessionName="session", DurationSeconds=3600
        )
        lifetime = creds["Credentials"]["Expiration"].timestamp() - time.time()
        assert 0 < lifetime <= 3, lifetime  # capped to the emulator's setting
        ecs = emulator.client_with(creds["Credentials"])
        ecs.create_cluster(clusterName="in-time")
        assert ecs.describe_clusters(clusters=["in-time"])["clusters"][0]["clusterArn"].split(":")[4] == ACCOUNT
        time.sleep(lifetime + 0.5)
        with pytest.raises(ClientError) as err:
            ecs.describe_clusters(clusters=["in-time"])
        assert err.value.response["Error"]["Code"] == "ExpiredTokenException"
        # A web identity session is left as asked (the operator's own identity; botocore refreshes it hourly).
        web = sts.assume_role_with_web_identity(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/w",
            RoleSessionName="web-session",
            WebIdentityToken="a-token",
            DurationSeconds=900,
        )
        assert web["Credentials"]["Expiration"].timestamp() - time.time() > 800


def test_trust_policy_external_id_is_required_when_the_role_says_so(emulator: EcsEmulator) -> None:
    emulator.reset()
    admin = emulator.client_as(f"arn:aws:iam::{ACCOUNT}:role/admin", "iam")
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "expected"}},
            }
        ]
    }
    admin.create_role(RoleName="guarded", AssumeRolePolicyDocument=json.dumps(trust))
    role = f"arn:aws:iam::{ACCOUNT}:role/guarded"
    sts = emulator.client("sts")
    for wrong in ({}, {"ExternalId": "other"}):
        with pytest.raises(ClientError) as err:
            sts.assume_role(RoleArn=role, RoleSessionName="session", **wrong)
        assert err.value.response["Error"]["Code"] == "AccessDenied"
        assert role in err.value.response["Error"]["Message"]
    assert sts.assume_role(RoleArn=role, RoleSessionName="session", ExternalId="expected")["Credentials"]["AccessKeyId"]
    # A role that does not exist may still be assumed (moto's rule: tests need no IAM setup).
    assert sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/absent", RoleSessionName="session")["Credentials"]


def test_list_task_definition_families_pages_and_filters_by_status(ecs: Any) -> None:
    """model: ListTaskDefinitionFamilies.status (ACTIVE: families with an ACTIVE revision), maxResults/nextToken."""
    spec = {"cpu": "256", "memory": "512", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"]}
    containers = [{"name": "app", "image": "busybox"}]
    for i in range(5):
        ecs.register_task_definition(family=f"fam-{i}", containerDefinitions=containers, **spec)
    arn = ecs.register_task_definition(family="gone", containerDefinitions=containers, **spec)["taskDefinition"]
    ecs.deregister_task_definition(taskDefinition=arn["taskDefinitionArn"])
    first = ecs.list_task_definition_families(status="ACTIVE", maxResults=3)
    assert first["families"] == ["fam-0", "fam-1", "fam-2"] and first["nextToken"]
    rest = ecs.list_task_definition_families(status="ACTIVE", maxResults=3, nextToken=first["nextToken"])
    assert rest["families"] == ["fam-3", "fam-4"] and "nextToken" not in rest
    assert ecs.list_task_definition_families(status="INACTIVE")["families"] == ["gone"]
    assert "gone" in ecs.list_task_definition_families()["families"]  # default: ACTIVE and INACTIVE alike
    assert ecs.list_task_definition_families(familyPrefix="fam-1", status="ACTIVE")["families"] == ["fam-1"]
