"""``fargate-devenv codegen [--check]`` (``make generate``): write or check the generated files of this checkout.

The version's copies (release_version.py) are stamped first, so deploy/ renders the chart at the current version.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fargate_devenv.assets import ensure_assets
from fargate_devenv.paths import repo_root
from fargate_devenv.release_version import stale_stamps, write_stamps
from fargate_operator.codegen.generate import check, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fargate-devenv codegen", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="fail if a generated file is stale, write nothing (deploy/ needs helm)"
    )
    parser.add_argument("--root", type=Path, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    root = args.root or repo_root()
    helm = ensure_assets().helm  # deploy/fargate-operator.yaml is the chart rendered by helm
    if not args.check:
        write_stamps(root)  # first: deploy/ is rendered from the chart, whose version it stamps
        write(root, helm)
        return 0
    stale = stale_stamps(root) + check(root, helm)
    for path in stale:
        print(f"stale: {path}", file=sys.stderr)
    if stale:
        print("run `make generate` and commit the result", file=sys.stderr)
    return 1 if stale else 0
