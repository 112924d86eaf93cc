"""The many-accounts world: three namespaces (two mapped to AWS accounts by FargateAccounts, one not), the ECS
emulator behind the counting proxy for ECS and STS alike, and one operator process watching all three."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import yaml

from fargate_devenv.ecs_emulator import REGION
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from support.accounts import (
    ACCOUNT_A,
    ACCOUNT_B,
    DEFAULT_ACCOUNT,
    OTHER_REGION,
    REGION_B,
    ROLE_A,
    ROLE_B,
    Accounts,
    network_in,
)
from support.operator_process import OperatorProcess, manifest


@pytest.fixture(scope="module")
def accounts(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Accounts]:
    cp = world.control_plane
    suffix = uuid.uuid4().hex[:6]
    a, b, unmapped, c = f"acct-a-{suffix}", f"acct-b-{suffix}", f"acct-u-{suffix}", f"acct-c-{suffix}"
    for ns in (a, b, unmapped, c):
        cp.kubectl("create", "namespace", ns)
    cp.kubectl("label", "namespace", b, f"aws-account=b-{suffix}")
    mappings = [
        manifest(
            "FargateAccount",
            f"a-{suffix}",
            {
                "roleArn": ROLE_A,
                "externalId": f"ext-{suffix}",
                "sessionTags": [{"key": "team", "value": "a"}],
                "region": REGION,
                "allowedRegions": [OTHER_REGION],
                "namespaces": {"names": [a]},
            },
        ),
        manifest(
            "FargateAccount",
            f"b-{suffix}",
            {
                "roleArn": ROLE_B,
                "region": REGION_B,
                "namespaces": {"selector": {"matchLabels": {"aws-account": f"b-{suffix}"}}},
            },
        ),
    ]
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(mappings))
    nets = {
        (ACCOUNT_A, REGION): network_in(world, ROLE_A, REGION),
        (ACCOUNT_A, OTHER_REGION): network_in(world, ROLE_A, OTHER_REGION),
        (ACCOUNT_B, REGION_B): network_in(world, ROLE_B, REGION_B),
        (DEFAULT_ACCOUNT, REGION): network_in(world, None, REGION),
    }
    proxy = EcsProxy(world.ecs.endpoint, journal=True).start()
    op = OperatorProcess(
        cp,
        proxy.endpoint,
        a,
        tmp_path_factory.mktemp("accounts") / "operator.log",
        extra_args=("--namespace", b, "--namespace", unmapped, "--namespace", c),
        env={"AWS_ENDPOINT_URL_STS": proxy.endpoint},
    ).start()
    try:
        op.wait_ready()
        yield Accounts(a, b, unmapped, c, suffix, nets, proxy, op)
    finally:
        op.stop()
        proxy.stop()
        names = [
            o["metadata"]["name"]
            for o in yaml.safe_load(cp.kubectl("get", "fargateaccounts", "-o", "yaml").stdout)["items"]
        ]
        mine = [n for n in names if n.endswith(suffix)]
        if mine:
            cp.kubectl("delete", "fargateaccounts", *mine, "--ignore-not-found")
