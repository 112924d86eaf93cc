"""Run the Argo CD health check (deploy/argocd/health/common.lua) with lupa, as Argo CD's Lua VM would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lupa

SCRIPT = (Path(__file__).resolve().parents[1] / "deploy" / "argocd" / "health" / "common.lua").read_text()


def _to_lua(lua: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return lua.table_from({k: _to_lua(lua, v) for k, v in value.items()})
    if isinstance(value, list):
        return lua.table_from([_to_lua(lua, v) for v in value])
    return value


def health(obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) the health check gives for an object."""
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = _to_lua(lua, obj)
    result = lua.execute(SCRIPT)
    return str(result["status"]), str(result["message"])
