"""The ``fargate-operator`` command.

- ``run``: the operator (Kopf handlers + status loops), in or out of a cluster.
- ``codegen [--check]``: regenerate (or check) the files derived from botocore's ECS model.
- ``assets``: provision etcd, kube-apiserver, kubectl and helm for the local test world.
- ``dev``: start the local test world (control plane + ECS emulator) for `make run`.
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

    from fargate_operator.web.auth import CREDENTIAL_LABEL

    data = {"accessKeyId": "test", "secretAccessKey": "test", "token": "test", "namespace": "default"}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "fargate-operator-dev-credential", "labels": {CREDENTIAL_LABEL: "true"}},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import dataclasses
    import logging

    from fargate_operator import k8s
    from fargate_operator.config import OperatorConfig
    from fargate_operator.web.listeners import PortInUse, bind_listener

    try:  # first: a port in use is a start-up error naming it, before anything else starts
        listeners = (
            bind_listener(args.rest_host, args.rest_port, "--rest-port (the ECS REST adapter)"),
            bind_listener(args.mcp_host, args.mcp_port, "--mcp-port (the MCP endpoint)"),
        )
    except PortInUse as exc:
        print(f"fargate-operator: {exc}", file=sys.stderr)
        return 2
    if args.kubeconfig:
        os.environ["KUBECONFIG"] = str(args.kubeconfig)  # Kopf's login reads it too
    config = OperatorConfig(
        **{k: v for k, v in (("region", args.region), ("ecs_endpoint", args.ecs_endpoint)) if v},
        namespaces=tuple(args.namespace),
        **({"status_interval": args.status_interval} if args.status_interval else {}),
        **({"max_workers": args.max_workers} if args.max_workers else {}),
        standalone=True,
        kubeconfig=str(args.kubeconfig) if args.kubeconfig else None,
    )
    if args.tenancy_config:  # else FARGATE_OPERATOR_TENANCY_CONFIG, else the built-in default
        config = dataclasses.replace(config, tenancy_config=str(args.tenancy_config))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if not args.verbose:  # Kopf reports every watch-cache update at INFO
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    from fargate_operator.handlers import lifecycle
    from fargate_operator.reconcile.tenancy import TenancyConfigError

    try:
        runtime = lifecycle.build_runtime(config)  # reads the tenancy config: a bad one stops us here
    except TenancyConfigError as exc:
        print(f"fargate-operator: --tenancy-config {exc}", file=sys.stderr)
        return 2
    k8s.configure(config.kubeconfig)
    lifecycle.use_config(config)
    asyncio.run(_serve(args, config, runtime, listeners))
    return 0


async def _serve(args: argparse.Namespace, config: Any, runtime: Any, listeners: tuple[Any, Any]) -> None:
    """Kopf and the REST adapter in one event loop, sharing the runtime (watch cache, gateway)."""
    import asyncio

    import kopf
    import uvicorn

    from fargate_operator import diagnostics
    from fargate_operator.service.api import EcsApi
    from fargate_operator.web.app import SecretCredentials, build_app
    from fargate_operator.web.mcp import McpSettings, build_mcp_app

    diagnostics.install(asyncio.get_running_loop())
    memo = kopf.Memo(runtime=runtime, started=False)
    api = EcsApi(runtime, wait_timeout=args.adapter_wait)
    credentials = SecretCredentials(args.credentials_namespace)
    # Ready once Kopf runs and the watch cache holds every object that existed at start:
    # before that, reads through the adapters could miss objects.
    app = build_app(api, credentials, ready=lambda: bool(memo.started) and runtime.registry.synced())
    server = uvicorn.Server(
        uvicorn.Config(app, host=args.rest_host, port=args.rest_port, log_level="warning", lifespan="off")
    )
    mcp_app = build_mcp_app(
        api,
        credentials,
        McpSettings(
            read_only=not args.mcp_write,
            allowed_hosts=tuple(args.mcp_allowed_host or [f"127.0.0.1:{args.mcp_port}", f"localhost:{args.mcp_port}"]),
            allowed_origins=tuple(args.mcp_allowed_origin or ["http://127.0.0.1:*", "http://localhost:*"]),
            public_url=args.mcp_public_url or f"http://127.0.0.1:{args.mcp_port}/mcp",
        ),
    )
    mcp_server = uvicorn.Server(
        uvicorn.Config(mcp_app, host=args.mcp_host, port=args.mcp_port, log_level="warning", lifespan="on")
    )
    operator = kopf.operator(
        standalone=config.standalone, namespaces=list(config.namespaces), clusterwide=not config.namespaces, memo=memo
    )
    tasks = [
        asyncio.create_task(operator, name="kopf"),
        asyncio.create_task(server.serve(sockets=[listeners[0]]), name="rest"),
        asyncio.create_task(mcp_server.serve(sockets=[listeners[1]]), name="mcp"),
    ]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = mcp_server.should_exit = True
    for task in pending:
        task.cancel()
    for task in done:
        task.result()


def _dev(args: argparse.Namespace) -> int:
    from fargate_operator.devenv.run_lock import RunDirBusy, RunDirLock
    from fargate_operator.web.listeners import PortInUse, bind_listener

    run_dir: Path = args.run_dir.resolve()
    try:
        lock = RunDirLock(run_dir).acquire()  # before anything in run_dir is touched
    except RunDirBusy as exc:
        print(f"fargate-operator dev: {exc}", file=sys.stderr)
        return 1
    try:
        for port, what in ((args.rest_port, "--rest-port (the ECS REST adapter)"), (args.mcp_port, "--mcp-port (MCP)")):
            bind_listener("127.0.0.1", port, what).close()  # fail in a second, not after the world started
    except PortInUse as exc:
        lock.release()
        print(f"fargate-operator dev: {exc}; stop what uses it or pass {what.split()[0]} <port>", file=sys.stderr)
        return 2
    try:
        return _dev_world(args, run_dir)
    finally:
        lock.release()


def _dev_world(args: argparse.Namespace, run_dir: Path) -> int:
    import yaml

    from fargate_operator.codegen.generate import repo_root
    from fargate_operator.devenv import processes, run_env
    from fargate_operator.devenv.ecs_emulator import DEV_STEP_SECONDS
    from fargate_operator.devenv.world import World

    if args.node:  # the node tier: a real node, the image, the chart (devenv/node_dev.py)
        from fargate_operator.devenv import node_dev

        return node_dev.run(run_dir, repo_root())
    world = World.start(repo_root() / "crds", workdir=run_dir / "state", ecs_step_seconds=DEV_STEP_SECONDS)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    operator = None
    try:
        kubeconfig = world.control_plane.write_kubeconfig(run_dir / "kubeconfig")
        network = world.ecs.create_example_network()  # the ids examples/ names
        # kubectl and helm matching the API server; the AWS CLI of `make venv` when it is there.
        awscli = repo_root() / ".venv-awscli" / "bin"
        env = run_env.variables(kubeconfig, world.ecs.endpoint, network)
        run_env.write(run_dir / "env", [*world.assets.bin_dirs, *([awscli] if (awscli / "aws").exists() else [])], env)
        world.control_plane.kubectl(
            "apply", "-n", "default", "-f", "-", input=yaml.safe_dump(local_credential_secret())
        )
        operator_log = run_dir / "operator.log"
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
            ],
            operator_log,
            env={**os.environ, **env},
        )
        try:
            processes.wait_until(
                lambda: _answers_as(rest, operator.pid), operator, "the operator", operator_log, args.ready_timeout
            )
        except (RuntimeError, TimeoutError) as exc:
            print(f"fargate-operator dev: {exc}", file=sys.stderr)
            return 1
        print(
            f"""
fargate-operator dev world is up.
  Kubernetes API   {world.control_plane.url}  (kube-apiserver {world.assets.kube_apiserver.parent.name})
  ECS emulator     {world.ecs.endpoint}  (moto + ECS lifecycle, {DEV_STEP_SECONDS} s a step; what the operator talks to)
  subnet / SG      {network.subnet_id} / {network.security_group_id}
  operator         pid {operator.pid}, log {operator_log}
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
                print(f"fargate-operator dev: the operator exited ({operator.returncode}); see {operator_log}")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fargate-operator", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("codegen", help="regenerate the files derived from botocore's ECS model", add_help=False)
    sub.add_parser("assets", help="provision the local test world's binaries", add_help=False)
    run = sub.add_parser("run", help="run the operator")
    run.add_argument("--namespace", action="append", default=[], help="watch only this namespace (repeatable)")
    run.add_argument("--region", help="AWS region (default: boto3's: AWS_REGION, profile, IMDS)")
    run.add_argument("--ecs-endpoint", help="ECS endpoint URL (default: boto3's, or AWS_ENDPOINT_URL_ECS)")
    run.add_argument("--status-interval", type=float, help="seconds between batched status refreshes (default 5)")
    run.add_argument(
        "--max-workers", type=int, help="handler bodies run at once (default 128; FARGATE_OPERATOR_MAX_WORKERS)"
    )
    run.add_argument("--kubeconfig", type=Path, help="kubeconfig (default: in-cluster, then KUBECONFIG)")
    run.add_argument(
        "--tenancy-config",
        type=Path,
        help="YAML file: the clusters, task definitions and IAM roles namespaces may use beyond their own; "
        "re-read when it changes (default: FARGATE_OPERATOR_TENANCY_CONFIG, else built in; README 'Tenancy')",
    )
    run.add_argument("--rest-host", default="0.0.0.0", help="REST adapter bind address (default 0.0.0.0)")
    run.add_argument("--rest-port", type=int, default=8080, help="REST adapter port (default 8080)")
    run.add_argument(
        "--credentials-namespace",
        default=os.environ.get("POD_NAMESPACE", "default"),
        help="namespace of the Secrets holding adapter credentials (default: POD_NAMESPACE or 'default')",
    )
    run.add_argument("--adapter-wait", type=float, default=30.0, help="seconds a write waits for its result")
    run.add_argument("--mcp-host", default="0.0.0.0", help="MCP endpoint bind address (default 0.0.0.0)")
    run.add_argument("--mcp-port", type=int, default=9090, help="MCP endpoint port (default 9090)")
    run.add_argument("--mcp-write", action="store_true", help="offer the MCP write tools (default: read-only)")
    run.add_argument(
        "--mcp-allowed-host",
        action="append",
        help="Host header the MCP endpoint accepts (repeatable), e.g. "
        "fargate-operator.fargate-system.svc:9090; default: 127.0.0.1 and localhost on --mcp-port",
    )
    run.add_argument("--mcp-allowed-origin", action="append", help="Origin the MCP endpoint accepts (repeatable)")
    run.add_argument("--mcp-public-url", help="the endpoint's URL as clients see it (OAuth resource metadata)")
    run.add_argument("--verbose", action="store_true")
    dev = sub.add_parser("dev", help="start the local control plane and ECS emulator")
    dev.add_argument("--run-dir", type=Path, default=Path(".run"), help="where kubeconfig, env and state go")
    dev.add_argument("--rest-port", type=int, default=8080, help="REST adapter port on 127.0.0.1 (default 8080)")
    dev.add_argument("--mcp-port", type=int, default=9090, help="MCP endpoint port on 127.0.0.1 (default 9090)")
    dev.add_argument(
        "--ready-timeout", type=float, default=120.0, help="seconds to wait for the operator to be ready (default 120)"
    )
    dev.add_argument(
        "--node", action="store_true", help="a real node (kubelet, containerd, DNS) with the operator installed by Helm"
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "codegen":
        from fargate_operator.codegen.generate import main as codegen_main

        return codegen_main(rest)
    if args.command == "assets":
        from fargate_operator.devenv.assets import main as assets_main

        return assets_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return _run(args) if args.command == "run" else _dev(args)


if __name__ == "__main__":
    sys.exit(main())
