"""The ``fargate-devenv`` command: the development world around the operator (never shipped with it).

- ``run``: a control plane, the ECS emulator and the operator on this machine (``make run``).
- ``node``: the node tier, a real node with the operator image installed by Helm (root; ``make run-node``).
- ``assets [--node]``: provision etcd, kube-apiserver, kubectl and helm (and the node tier's parts).
- ``codegen [--check]``: regenerate (or check) the files derived from botocore's ECS model.
- ``release-local``: push the image and the chart at the current version to the node's registry.
- ``ssm-plugin``: find or build AWS's session-manager-plugin (``aws ecs execute-command``); prints its path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _world_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", type=Path, default=Path(".run"), help="where kubeconfig, env and state go")
    parser.add_argument("--rest-port", type=int, default=8080, help="REST adapter port on 127.0.0.1 (default 8080)")
    parser.add_argument("--mcp-port", type=int, default=9090, help="MCP endpoint port on 127.0.0.1 (default 9090)")


def _assets(argv: list[str]) -> int:
    """`fargate-devenv assets [--node]`: provision, then print where each part is."""
    from fargate_devenv.assets import ensure_assets

    parser = argparse.ArgumentParser(
        prog="fargate-devenv assets", description="Provision the test world's binaries and print where they are."
    )
    parser.add_argument(
        "--node",
        action="store_true",
        help="also the node tier: Debian packages (as root), kubelet & co., CoreDNS, pause, registry, the images",
    )
    args = parser.parse_args(argv)
    assets = ensure_assets()
    for name in ("etcd", "kube_apiserver", "kubectl", "helm"):
        print(f"{name}={getattr(assets, name)}")
    if args.node:
        from fargate_devenv import image, node_assets
        from fargate_devenv.host_packages import ensure_host_packages
        from fargate_devenv.paths import repo_root
        from fargate_devenv.registry import ensure_registry

        ensure_host_packages()
        for name, path in node_assets.ensure_node_assets().__dict__.items():
            print(f"{name}={path}")
        print(f"registry={ensure_registry()}")
        for built in (image.ensure_operator_image(repo_root()), image.ensure_clients_image(repo_root())):
            how = "cached" if built.cached else f"built in {built.build_seconds:.0f} s"
            print(f"image {built.ref} ({built.size_bytes / 1e6:.0f} MB, {how})={built.archive}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fargate-devenv", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the local control plane, ECS emulator and operator (make run)")
    _world_flags(run)
    run.add_argument(
        "--ready-timeout", type=float, default=120.0, help="seconds to wait for the operator to be ready (default 120)"
    )
    node = sub.add_parser("node", help="a real node (kubelet, containerd, DNS) with the operator installed by Helm")
    _world_flags(node)
    # The subcommands below parse their own flags (with their own parsers).
    sub.add_parser(
        "assets", help="provision the local test world's binaries (--node: the node tier's too)", add_help=False
    )
    sub.add_parser("codegen", help="regenerate the files derived from botocore's ECS model", add_help=False)
    sub.add_parser(
        "release-local", help="push the image and chart to the node's registry (make release-local)", add_help=False
    )
    sub.add_parser("ssm-plugin", help="find or build session-manager-plugin (for aws ecs execute-command)")
    args, rest = parser.parse_known_args(argv)
    if args.command == "ssm-plugin" and not rest:
        from fargate_devenv.ssm_plugin import ensure_session_manager_plugin

        print(ensure_session_manager_plugin())
        return 0
    if args.command == "assets":
        return _assets(rest)
    if args.command == "release-local":
        from fargate_devenv.release_local import main as release_local_main

        return release_local_main(rest)
    if args.command == "codegen":
        from fargate_devenv.codegen import main as codegen_main

        return codegen_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from fargate_devenv import dev_world

    args.node = args.command == "node"
    return dev_world.run(args)


if __name__ == "__main__":
    sys.exit(main())
