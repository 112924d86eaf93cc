"""ECS names (up to 255 of [A-Za-z0-9_-]) to Kubernetes object names, totally and without collisions.

Objects are always found by the exact ECS name kept in their spec (family,
serviceName, clusterName), never by parsing their Kubernetes name. A new object
created by an adapter is named:
- the ECS name itself, when it is a valid Kubernetes name (lowercase letters,
  digits, '-', starting and ending alphanumeric, at most 63 characters) and no
  object of that kind holds that name yet;
- otherwise `<readable part>-<10 base32 chars of sha256(exact ECS name)>`, the
  readable part being the name lowercased with '_' as '-', cut to 40 characters.
  Two different ECS names get different hashes; the caller checks the rare case
  that the hashed name is also taken and then fails loudly instead of sharing.
"""

from __future__ import annotations

import base64
import hashlib
import re

_PLAIN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def is_plain(name: str) -> bool:
    return bool(_PLAIN.match(name))


def hashed_name(ecs_name: str) -> str:
    digest = base64.b32encode(hashlib.sha256(ecs_name.encode()).digest()).decode().lower()[:10]
    readable = re.sub(r"[^a-z0-9-]", "-", ecs_name.lower().replace("_", "-"))[:40].strip("-") or "x"
    return f"{readable}-{digest}"


def candidate_names(ecs_name: str) -> list[str]:
    """Names to try, in order."""
    return [ecs_name, hashed_name(ecs_name)] if is_plain(ecs_name) else [hashed_name(ecs_name)]
