"""Run the Argo CD health check (deploy/argocd/health/common.lua) as Argo CD's Lua VM would, two ways.

- gopher-lua, the VM Argo CD embeds, through tools/argocd-health: Argo CD's rules (only the libraries
  it opens, a 1 s timeout, `obj` from JSON, the answer read back through JSON, an unknown status is
  Unknown). One process evaluates a whole batch (JSON lines in and out).
- lupa's Lua 5.1 runtime (not lupa's default, a newer Lua that accepts `//`, integers, `goto`, bitwise
  operators and the utf8 library, none of which Argo CD has): in-process, but with every standard
  library open, so it accepts scripts Argo CD rejects.

`health()` asks both and insists they agree, so every test that judges an object's health checks the
script on both VMs.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import lupa.lua51

from fargate_devenv import go_tools

REPO = Path(__file__).resolve().parents[2]
SCRIPT = (REPO / "deploy" / "argocd" / "health" / "common.lua").read_text()
LUA_VERSION = (5, 1)


class GopherLuaError(Exception):
    """The script failed where Argo CD would report an error (syntax, runtime, timeout, wrong return)."""


def _to_lua(lua: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return lua.table_from({k: _to_lua(lua, v) for k, v in value.items()})
    if isinstance(value, list):
        return lua.table_from([_to_lua(lua, v) for v in value])
    return value


def run(script: str, obj: dict[str, Any]) -> Any:
    """Run a health script on lupa's Lua 5.1 with `obj` as the global Argo CD gives it; returns what it returns."""
    lua = lupa.lua51.LuaRuntime(unpack_returned_tuples=True)
    assert tuple(lua.lua_version) == LUA_VERSION
    lua.globals().obj = _to_lua(lua, obj)
    return lua.execute(script)


def health_lua51(obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) the health check gives for an object on lupa's Lua 5.1."""
    result = run(SCRIPT, obj)
    return str(result["status"]), str(result["message"])


@cache
def harness() -> Path:
    """The tools/argocd-health binary, built into the cache on first use."""
    return go_tools.ensure_argocd_health(REPO)


def evaluate(requests: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, str]]:
    """Each (script, obj) evaluated by gopher-lua under Argo CD's rules, in one harness process.
    Each answer is {"status", "message"} or {"error"}."""
    lines = "".join(json.dumps({"script": script, "obj": obj}) + "\n" for script, obj in requests)
    # Each evaluation stops after Argo CD's 1 s; the margin is for the process itself.
    done = subprocess.run(
        [str(harness())], input=lines, capture_output=True, text=True, check=True, timeout=10 + 2 * len(requests)
    )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == len(requests), done.stderr
    return answers


def gopher_health_many(objs: Sequence[dict[str, Any]], script: str = SCRIPT) -> list[tuple[str, str]]:
    """(status, message) Argo CD's gopher-lua gives for each object; GopherLuaError if one fails."""
    verdicts = []
    for answer in evaluate([(script, obj) for obj in objs]):
        if "error" in answer:
            raise GopherLuaError(answer["error"])
        verdicts.append((answer["status"], answer["message"]))
    return verdicts


def health(obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) the health check gives for an object: gopher-lua's answer, which lupa's Lua
    5.1 must give too."""
    [verdict] = gopher_health_many([obj])
    assert health_lua51(obj) == verdict, f"lupa's Lua 5.1 and gopher-lua disagree on {obj}"
    return verdict
