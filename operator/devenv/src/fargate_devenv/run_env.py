"""The `source`-able environment file of a dev world (`.run/env`, `.run/node-env`)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path

from fargate_devenv.ecs_emulator import ACCESS_KEY, REGION, SECRET_KEY, Network


def variables(kubeconfig: Path, ecs_endpoint: str, network: Network) -> dict[str, str]:
    """What the world's users need: its kubeconfig, the emulator as boto3 / the AWS CLI find it, network ids."""
    return {
        "KUBECONFIG": str(kubeconfig),
        "AWS_ENDPOINT_URL_ECS": ecs_endpoint,
        "AWS_ENDPOINT_URL_EC2": ecs_endpoint,
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": ecs_endpoint,  # task logs: the emulator's CloudWatch Logs
        "AWS_ENDPOINT_URL_STS": ecs_endpoint,  # FargateAccounts' AssumeRole lands in the emulator's accounts
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "FARGATE_SUBNET": network.subnet_id,
        "FARGATE_SECURITY_GROUP": network.security_group_id,
    }


def write(path: Path, tool_dirs: Iterable[Path], env: dict[str, str]) -> None:
    """`export` lines: PATH gets the tool folders in front (kubectl and helm matching the API server)."""
    tools = ":".join(str(d) for d in tool_dirs)
    lines = [f"export PATH={tools}:$PATH"] + [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    path.write_text("\n".join(lines) + "\n")
