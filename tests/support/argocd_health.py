"""Run the Argo CD health check (deploy/argocd/health/common.lua) as Argo CD's Lua VM would.

Argo CD runs health checks with gopher-lua, which implements Lua 5.1: the check runs here on
lupa's Lua 5.1 runtime (not lupa's default, a newer Lua that accepts `//`, integers, `goto`,
bitwise operators and the utf8 library, none of which Argo CD has).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lupa.lua51

SCRIPT = (Path(__file__).resolve().parents[2] / "deploy" / "argocd" / "health" / "common.lua").read_text()
LUA_VERSION = (5, 1)


def _to_lua(lua: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return lua.table_from({k: _to_lua(lua, v) for k, v in value.items()})
    if isinstance(value, list):
        return lua.table_from([_to_lua(lua, v) for v in value])
    return value


def run(script: str, obj: dict[str, Any]) -> Any:
    """Run a health script with `obj` as the global Argo CD gives it; returns what the script returns."""
    lua = lupa.lua51.LuaRuntime(unpack_returned_tuples=True)
    assert tuple(lua.lua_version) == LUA_VERSION
    lua.globals().obj = _to_lua(lua, obj)
    return lua.execute(script)


def health(obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) the health check gives for an object."""
    result = run(SCRIPT, obj)
    return str(result["status"]), str(result["message"])
