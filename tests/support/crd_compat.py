"""What a CRD change breaks for objects written against the last release (docs/releasing.md, "Breaking").

Within one served API version, a change breaks when an object valid before is refused, pruned or read
differently now: a field removed or retyped, a field newly required, an enum value removed, the CRD or
its scope gone. A change under a new API version name (v1alpha1 -> v1alpha2) is a new API: the old
version's schema is compared only while the new CRD still serves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Break:
    crd: str
    version: str
    path: str
    why: str

    def __str__(self) -> str:
        return f"{self.crd} {self.version} {self.path or '(root)'}: {self.why}"


def load_crds(folder: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))]


def breaking_changes(old: Iterable[dict[str, Any]], new: Iterable[dict[str, Any]]) -> list[Break]:
    """Every breaking difference from the `old` CRDs (the last release's) to the `new` ones."""
    current = {c["metadata"]["name"]: c for c in new}
    found: list[Break] = []
    for crd in old:
        name = crd["metadata"]["name"]
        if name not in current:
            found.append(Break(name, "*", "", "the CustomResourceDefinition is gone"))
            continue
        now = current[name]
        if now["spec"].get("scope") != crd["spec"].get("scope"):
            found.append(Break(name, "*", "", f"scope {crd['spec'].get('scope')} became {now['spec'].get('scope')}"))
        served = {v["name"]: v for v in now["spec"]["versions"] if v.get("served")}
        for version in crd["spec"]["versions"]:
            if version.get("served") and version["name"] in served:
                before = version["schema"]["openAPIV3Schema"]
                after = served[version["name"]]["schema"]["openAPIV3Schema"]
                found += [Break(name, version["name"], p, why) for p, why in _schema_breaks(before, after, "")]
    return found


def _kind(schema: dict[str, Any]) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "int-or-string"
    return str(schema.get("type", "any"))


def _schema_breaks(old: dict[str, Any], new: dict[str, Any], path: str) -> Iterator[tuple[str, str]]:
    if _kind(old) != _kind(new):
        yield path, f"type {_kind(old)} became {_kind(new)}"
        return  # what lies below a retyped field is a different shape altogether
    for field in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        yield f"{path}.{field}", "now required"
    if "enum" in new:
        if "enum" not in old:
            yield path, "values now restricted to an enum"
        elif removed := [v for v in old["enum"] if v not in new["enum"]]:
            yield path, f"enum values removed: {removed}"
    new_fields = new.get("properties", {})
    for field, sub in old.get("properties", {}).items():
        if field not in new_fields:
            yield f"{path}.{field}", "removed"
        else:
            yield from _schema_breaks(sub, new_fields[field], f"{path}.{field}")
    if isinstance(old.get("items"), dict):
        yield from _schema_breaks(old["items"], new.get("items") or {}, f"{path}[]")
    if isinstance(old.get("additionalProperties"), dict):
        if not isinstance(new.get("additionalProperties"), dict):
            yield f"{path}{{}}", "map values no longer accepted"
        else:
            yield from _schema_breaks(old["additionalProperties"], new["additionalProperties"], f"{path}{{}}")
