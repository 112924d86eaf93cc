"""``fargate-devenv run`` (``make run``): a control plane, the ECS emulator and the operator on this machine.

``--node`` (``make run-node``) starts the node tier instead: a real node with the operator installed by Helm.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any


def local_credential_secret() -> dict[str, Any]:
    """The development credential of `make run`: access key test / secret test (and bearer token test)."""
    import base64

    from fargate_devenv.control_plane import ADMIN_USER
    from fargate_operator.web.auth import CREDENTIAL_LABEL

    # The local world's admin (kubeconfig .run/kubeconfig is admin too): what RBAC lets it do, it may.
    data = {
        "accessKeyId": "test",
        "secretAccessKey": "test",
        "token": "test",
        "namespace": "default",
        "user": ADMIN_USER,
        "groups": "system:masters",
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "fargate-operator-dev-credential", "labels": {CREDENTIAL_LABEL: "true"}},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def run(args: argparse.Namespace) -> int:
    """Start the world (or the node tier with --node) and keep it up until Ctrl-C."""
    from fargate_devenv.run_lock import RunDirBusy, RunDirLock
    from fargate_operator.web.listeners import PortInUse, bind_listener

    run_dir: Path = args.run_dir.resolve()
    try:
        lock = RunDirLock(run_dir).acquire()  # before anything in run_dir is touched
    except RunDirBusy as exc:
        print(f"fargate-devenv run: {exc}", file=sys.stderr)
        return 1
    try:
        for port, what in ((args.rest_port, "--rest-port (the ECS REST adapter)"), (args.mcp_port, "--mcp-port (MCP)")):
            bind_listener("127.0.0.1", port, what).close()  # fail in a second, not after the world started
    except PortInUse as exc:
        lock.release()
        print(f"fargate-devenv run: {exc}; stop what uses it or pass {what.split()[0]} <port>", file=sys.stderr)
        return 2
    try:
        return _dev_world(args, run_dir)
    finally:
        lock.release()


def _dev_world(args: argparse.Namespace, run_dir: Path) -> int:
    import yaml

    from fargate_devenv import processes, run_env
    from fargate_devenv import tenancy as dev_tenancy
    from fargate_devenv.ecs_emulator import DEV_STEP_SECONDS
    from fargate_devenv.paths import repo_root
    from fargate_devenv.ssm_plugin import cached_session_manager_plugin
    from fargate_devenv.world import World

    if args.node:  # the node tier: a real node, the image, the chart (node_dev.py)
        from fargate_devenv import node_dev

        return node_dev.run(run_dir, repo_root())
    world = World.start(repo_root() / "crds", workdir=run_dir / "state", ecs_step_seconds=DEV_STEP_SECONDS)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    operator = None
    try:
        kubeconfig = world.control_plane.write_kubeconfig(run_dir / "kubeconfig")
        network = world.ecs.create_example_network()  # the ids examples/ names
        # kubectl and helm matching the API server; the AWS CLI of `make venv` and session-manager-plugin
        # (`fargate-devenv ssm-plugin` builds it) when they are there.
        awscli = repo_root() / ".venv-awscli" / "bin"
        plugin = cached_session_manager_plugin()
        env = run_env.variables(kubeconfig, world.ecs.endpoint, network)
        tools = [*([awscli] if (awscli / "aws").exists() else []), *([plugin.parent] if plugin else [])]
        run_env.write(run_dir / "env", [*world.assets.bin_dirs, *tools], env)
        world.control_plane.kubectl(
            "apply", "-n", "default", "-f", "-", input=yaml.safe_dump(local_credential_secret())
        )
        operator_log = run_dir / "operator.log"
        # Network references are the tenancy config's to allow (docs/tenancy.md): share what examples/ name.
        tenancy = run_dir / "tenancy.yaml"
        tenancy.write_text(yaml.safe_dump(dev_tenancy.example_sharing(), sort_keys=False))
        rest = f"http://127.0.0.1:{args.rest_port}"
        operator = processes.start(
            [
                sys.executable,
                "-m",
                "fargate_operator.cli",
                "run",
                "--kubeconfig",
                str(kubeconfig),
                "--rest-host",
                "127.0.0.1",
                "--rest-port",
                str(args.rest_port),
                "--credentials-namespace",
                "default",
                "--mcp-host",
                "127.0.0.1",
                "--mcp-port",
                str(args.mcp_port),
                "--mcp-write",
                "--tenancy-config",
                str(tenancy),
            ],
            operator_log,
            env={**os.environ, **env},
        )
        try:
            processes.wait_until(
                lambda: _answers_as(rest, operator.pid), operator, "the operator", operator_log, args.ready_timeout
            )
        except (RuntimeError, TimeoutError) as exc:
            print(f"fargate-devenv run: {exc}", file=sys.stderr)
            return 1
        print(
            f"""
fargate-devenv run world is up.
  Kubernetes API   {world.control_plane.url}  (kube-apiserver {world.assets.kube_apiserver.parent.name})
  ECS emulator     {world.ecs.endpoint}  (moto + ECS lifecycle, {DEV_STEP_SECONDS} s a step; what the operator talks to)
  subnet / SG      {network.subnet_id} / {network.security_group_id}
  operator         pid {operator.pid}, log {operator_log}
  tenancy config   {tenancy}  (gives every namespace what examples/ name; re-read when edited)
  ECS REST adapter {rest}  access key "test", secret "test", bound to namespace default

  source {run_dir / "env"}
  kubectl get fargate -A
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws ecs list-task-definitions --endpoint-url {rest}

  MCP endpoint     http://127.0.0.1:{args.mcp_port}/mcp  bearer token "test" (write scope, namespace default)
    npx @modelcontextprotocol/inspector --cli http://127.0.0.1:{args.mcp_port}/mcp --transport http \\
      --header "Authorization: Bearer test" --method tools/list

Ctrl-C stops everything.""",
            flush=True,
        )
        while not stop.wait(1.0):
            if operator.poll() is not None:
                print(f"fargate-devenv run: the operator exited ({operator.returncode}); see {operator_log}")
                return 1
        return 0
    finally:
        processes.stop(operator)
        world.stop()


def _answers_as(url: str, pid: int) -> bool:
    """Whether `url`/readyz is ready and served by process `pid` (not some other world's operator)."""
    import urllib.error
    import urllib.request

    from fargate_operator.web.app import PID_HEADER

    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=1) as resp:
            return bool(resp.status == 200 and resp.headers.get(PID_HEADER) == str(pid))
    except (OSError, urllib.error.URLError):
        return False
