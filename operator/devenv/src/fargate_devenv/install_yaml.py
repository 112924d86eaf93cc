"""A release's ``install.yaml``: the one way it is rendered, by the release workflow and ``make release-local``.

The Namespace, then the chart with its CRDs and without its test hook, the image pinned by digest
(``helm template … --include-crds --skip-tests``). ``make install-yaml IMAGE=<repo>:<tag>@<digest>
OUT=<file>`` runs :func:`main`; .github/workflows/release.yml calls that target, and release_local.py
calls :func:`render`, so the two cannot drift. Standard library only: the workflow runs it with the
runner's ``python3`` and ``PYTHONPATH=operator/devenv/src``, nothing installed (pyproject's import
contract keeps it so).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

RELEASE = "fargate-operator"
CHART = Path("helm") / "fargate-operator"
NAMESPACE = "fargate-system"
# <registry>/<name>:<tag>@sha256:<64 hex>: a tag for people, the digest for the runtime.
_PINNED = re.compile(r"^(?P<repository>[^@\s]+):(?P<tag>[\w][\w.-]{0,127})@(?P<digest>sha256:[0-9a-f]{64})$")


def split_pinned(image: str) -> tuple[str, str]:
    """``repo:tag@digest`` -> (repository, ``tag@digest``), the chart's image.repository and image.tag."""
    m = _PINNED.match(image)
    if m is None:
        raise ValueError(f"{image!r} is not <repository>:<tag>@sha256:<digest>: install.yaml pins the image")
    return m["repository"], f"{m['tag']}@{m['digest']}"


def template_args(chart: Path, image: str, namespace: str = NAMESPACE) -> list[str]:
    """helm's arguments (pure; unit-tested)."""
    repository, tag = split_pinned(image)
    return [
        "template",
        RELEASE,
        str(chart),
        "--namespace",
        namespace,
        "--include-crds",
        "--skip-tests",
        "--set",
        f"image.repository={repository}",
        "--set",
        f"image.tag={tag}",
    ]


def namespace_doc(namespace: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n---\n"


def render(
    helm: Path | str, chart: Path, image: str, out: Path, namespace: str = NAMESPACE, env: dict[str, str] | None = None
) -> Path:
    """Write install.yaml for `image` to `out`. `env`: helm's environment (its own HOME, say)."""
    res = subprocess.run(
        [str(helm), *template_args(chart, image, namespace)], capture_output=True, text=True, env=env, timeout=300
    )
    if res.returncode != 0:
        raise RuntimeError(f"helm template failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(namespace_doc(namespace) + res.stdout)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="install_yaml", description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="<repository>:<tag>@sha256:<digest>")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--chart", type=Path, default=CHART)
    parser.add_argument("--namespace", default=NAMESPACE)
    parser.add_argument("--helm", default="helm", help="the helm binary (default: helm on PATH)")
    args = parser.parse_args(argv)
    try:
        out = render(args.helm, args.chart, args.image, args.out, args.namespace)
    except (ValueError, RuntimeError) as e:
        print(e, file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
