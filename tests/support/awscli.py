"""The AWS CLI (PyPI awscli, unmodified, its own venv) run against the REST adapter with an adapter key."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
AWS = Path(os.environ.get("FARGATE_AWS_CLI", REPO / ".venv-awscli" / "bin" / "aws"))

Run = Callable[..., dict[str, Any]]


def ecs_cli(endpoint: str, key: dict[str, str], home: Path) -> Run:
    """`run(operation, *args)`: `aws ecs <operation> ... --output json` as the key's caller; its parsed output.

    The CLI parses ECS's answer with its own botocore model, so what it prints is what a person sees."""
    assert AWS.exists(), f"{AWS} is missing: `make venv` installs the AWS CLI (or set FARGATE_AWS_CLI)"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": key["accessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["secretAccessKey"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }

    def run(operation: str, *args: str) -> dict[str, Any]:
        res = subprocess.run(
            [str(AWS), "ecs", operation, "--endpoint-url", endpoint, "--output", "json", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert res.returncode == 0, f"aws ecs {operation}: {res.stderr}"
        out: dict[str, Any] = json.loads(res.stdout) if res.stdout.strip() else {}
        return out

    return run
