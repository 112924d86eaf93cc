"""The ``fargate-operator`` command.

- ``run``: the operator (watch cache, REST + MCP front doors; Kopf handlers + status loops while it
  leads), in or out of a cluster; ``--leader-elect`` for several replicas.

The development commands (the local world of `make run`, code generation, the test binaries) are
`fargate-devenv`'s (operator/devenv/): the operator's wheel and image hold the operator alone.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any


def _boolean(value: str) -> bool:
    """true/false (and 1/0, yes/no), as Kubernetes components take `--flag=false`."""
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {value!r}")


def _election(args: argparse.Namespace) -> Any:
    """The Lease election's settings from the flags, or None when leader election is off."""
    import socket

    from fargate_operator.leader.lease import ElectionSettings

    if not args.leader_elect:
        return None
    return ElectionSettings(
        name=args.leader_elect_resource_name,
        namespace=args.leader_elect_resource_namespace,
        # The pod's name in a cluster (the chart sets POD_NAME); outside one, host and pid, so two
        # processes on one machine never share an identity (they would both think they lead).
        identity=args.leader_elect_identity or os.environ.get("POD_NAME") or f"{socket.gethostname()}_{os.getpid()}",
        lease_duration=args.leader_elect_lease_duration,
        renew_deadline=args.leader_elect_renew_deadline,
        retry_period=args.leader_elect_retry_period,
    )


def _run(args: argparse.Namespace) -> int:
    from fargate_operator import heap

    heap.limit_arenas()  # before any thread starts (heap.py)
    import asyncio
    import dataclasses
    import logging

    from fargate_operator import k8s
    from fargate_operator.config import OperatorConfig
    from fargate_operator.web.listeners import PortInUse, bind_listener

    election = _election(args)
    if election is not None and (problems := election.problems()):
        print("fargate-operator: " + "; ".join(problems), file=sys.stderr)
        return 2
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
    if election is not None:
        from fargate_operator.ecs.settings import GatewaySettings

        if note := election.margin_note(GatewaySettings().connect_timeout):
            logging.getLogger(__name__).warning("leader election: %s", note)
    from fargate_operator.handlers import lifecycle
    from fargate_operator.reconcile.tenancy import TenancyConfigError

    try:
        runtime = lifecycle.build_runtime(config)  # reads the tenancy config: a bad one stops us here
    except TenancyConfigError as exc:
        print(f"fargate-operator: --tenancy-config {exc}", file=sys.stderr)
        return 2
    if election is not None:
        runtime.gateway.fence.close()  # no ECS write before this replica holds the Lease
    k8s.configure(config.kubeconfig)
    lifecycle.use_config(config)
    return asyncio.run(_serve(args, config, runtime, listeners, election))


async def _serve(args: argparse.Namespace, config: Any, runtime: Any, listeners: tuple[Any, Any], election: Any) -> int:
    """The watch cache, the REST adapter and the MCP endpoint on every replica; Kopf and the loops on the leader."""
    import asyncio
    import contextlib
    import logging

    import uvicorn

    from fargate_operator import diagnostics, k8s
    from fargate_operator.handlers.leadership import Leadership
    from fargate_operator.service.api import EcsApi
    from fargate_operator.store.feed import CacheFeed
    from fargate_operator.web.app import Identities, SecretCredentials, build_app
    from fargate_operator.web.mcp_lazy import LazyApp, McpSettings
    from fargate_operator.web.tokens import TokenReviewer

    loop = asyncio.get_running_loop()
    diagnostics.install(loop)
    feed = CacheFeed(runtime.watch_cache, config.namespaces, k8s.new_client).start(loop)
    leadership = Leadership(runtime, config)
    elector = None
    if election is not None:
        from fargate_operator.leader.elector import LeaseApi, LeaseElector

        elector = LeaseElector(
            election,
            LeaseApi(k8s.new_client(), election.namespace, election.name),
            open_writes_until=runtime.gateway.fence.open_until,
            close_writes=runtime.gateway.fence.close,
            on_lead=leadership.elected,
            on_follow=leadership.deposed,
            may_lead=leadership.may_lead,
        )

    def ready() -> bool:
        # Reads through the adapters could miss objects before the cache has listed everything. Without
        # leader election, also Kopf running (as before); a follower is ready with its cache alone.
        return bool(runtime.watch_cache.synced()) and (elector is not None or leadership.started())

    def leader_line() -> str:
        if elector is None:
            return "leader: this replica (leader election off)"
        holder = elector.holder()
        if elector.leading:
            return f"leader: {holder} (this replica)"
        return f"follower of {holder or 'nobody yet'} (this replica: {election.identity})"

    api = EcsApi(runtime, wait_timeout=args.adapter_wait)
    audiences = tuple(args.token_audience or ["fargate-operator"])
    credentials = Identities(SecretCredentials(args.credentials_namespace), TokenReviewer(audiences))
    app = build_app(api, credentials, ready=ready, describe=leader_line)
    server = uvicorn.Server(
        uvicorn.Config(app, host=args.rest_host, port=args.rest_port, log_level="warning", lifespan="off")
    )
    mcp_settings = McpSettings(
        read_only=not args.mcp_write,
        allowed_hosts=tuple(args.mcp_allowed_host or [f"127.0.0.1:{args.mcp_port}", f"localhost:{args.mcp_port}"]),
        allowed_origins=tuple(args.mcp_allowed_origin or ["http://127.0.0.1:*", "http://localhost:*"]),
        public_url=args.mcp_public_url or f"http://127.0.0.1:{args.mcp_port}/mcp",
        audiences=audiences,
    )

    def build_mcp() -> Any:
        from fargate_operator.web.mcp import build_mcp_app  # the MCP SDK: imported on the first MCP request

        return build_mcp_app(api, credentials, mcp_settings)

    mcp_app = LazyApp(build_mcp)
    mcp_server = uvicorn.Server(
        uvicorn.Config(mcp_app, host=args.mcp_host, port=args.mcp_port, log_level="warning", lifespan="on")
    )
    # uvicorn must not take SIGTERM over: stopping starts with handing the Lease over, then the servers.
    for each in (server, mcp_server):
        each.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    if elector is not None:
        await leadership.follow(grace=0.0)  # the service-task index, until the Lease says otherwise
        elector.start()
    else:
        await leadership.lead()
    tasks: list[asyncio.Future[Any]] = [
        asyncio.create_task(server.serve(sockets=[listeners[0]]), name="rest"),
        asyncio.create_task(mcp_server.serve(sockets=[listeners[1]]), name="mcp"),
        asyncio.create_task(stopping.wait(), name="signal"),
        leadership.failed,
    ]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    await leadership.shutdown(elector)
    server.should_exit = mcp_server.should_exit = True
    await asyncio.wait([t for t in tasks[:2] if not t.done()], timeout=5)
    feed.stop()
    runtime.gateways.close()
    for task in pending:
        task.cancel()
    failed = [t for t in done if t is not tasks[2] and not t.cancelled() and t.exception() is not None]
    for task in failed:
        logging.getLogger(__name__).error("stopping: %s", task.exception())
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    from fargate_operator import __version__

    parser = argparse.ArgumentParser(prog="fargate-operator", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
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
        "re-read when it changes (default: FARGATE_OPERATOR_TENANCY_CONFIG, else built in; docs/tenancy.md)",
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
    run.add_argument(
        "--token-audience",
        action="append",
        help="audience a Kubernetes bearer token must be made for (repeatable; default fargate-operator)",
    )
    run.add_argument(
        "--leader-elect",
        nargs="?",
        const=True,
        default=False,
        type=_boolean,
        help="run as one of several replicas: only the holder of a coordination.k8s.io Lease reconciles and "
        "writes to ECS; every replica serves REST and MCP (default false: one replica, as `make run`)",
    )
    run.add_argument(
        "--leader-elect-lease-duration",
        type=float,
        default=15.0,
        help="seconds a follower waits, after it last saw the leader renew, before taking over (default 15)",
    )
    run.add_argument(
        "--leader-elect-renew-deadline",
        type=float,
        default=10.0,
        help="seconds the leader keeps leading (and writing to ECS) without a successful renewal (default 10)",
    )
    run.add_argument(
        "--leader-elect-retry-period", type=float, default=2.0, help="seconds between renewals (default 2)"
    )
    run.add_argument(
        "--leader-elect-resource-name", default="fargate-operator", help="the Lease's name (default fargate-operator)"
    )
    run.add_argument(
        "--leader-elect-resource-namespace",
        default=os.environ.get("POD_NAMESPACE", "default"),
        help="the Lease's namespace (default: POD_NAMESPACE or 'default')",
    )
    run.add_argument(
        "--leader-elect-identity", help="this replica's name in the Lease (default: POD_NAME, else host name and pid)"
    )
    run.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
