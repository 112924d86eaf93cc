"""What the emulator needs from moto's EC2 model beyond what it has.

1. Chosen ids for subnets and security groups: the `_custom_id_` tag, as moto offers for other resources.
moto 5.2 honours `_custom_id_` (moto.utilities.id_generator.TAG_KEY_CUSTOM_ID) for some resources
but not for subnets or security groups, and the README quick start needs the ids examples/ names
(subnet-0123456789abcdef0, sg-0123456789abcdef0). CreateSubnet / CreateSecurityGroup with that tag
get that id; without it moto's random id, as before.

2. A task's network interface in a VPC without DNS hostnames: moto leaves `private_dns_name` unset
and RunTask failed with HTTP 500 (an AttributeError); AWS names every ENI ip-a-b-c-d.<region>...
regardless, and lifecycle.SimTask fills the name in.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from moto.ec2.models import security_groups, subnets
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.utilities.id_generator import TAG_KEY_CUSTOM_ID

_LOCK = threading.Lock()


def _custom(module: ModuleType, generator: str, wanted: Callable[[dict[str, Any]], str | None]) -> Any:
    """Wrap a create method: while it runs, the module's id generator returns the tagged id."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def create(self: Any, *args: Any, **kwargs: Any) -> Any:
            chosen = wanted(kwargs)
            if not chosen:
                return original(self, *args, **kwargs)
            with _LOCK:
                saved = getattr(module, generator)
                setattr(module, generator, lambda: chosen)
                try:
                    return original(self, *args, **kwargs)
                finally:
                    setattr(module, generator, saved)

        return create

    return wrap


def _subnet_id(kwargs: dict[str, Any]) -> str | None:
    tags = (kwargs.get("tags") or {}).get("subnet") or {}
    return tags.get(TAG_KEY_CUSTOM_ID)


def _group_id(kwargs: dict[str, Any]) -> str | None:
    return (kwargs.get("tags") or {}).get(TAG_KEY_CUSTOM_ID)


def install() -> None:
    if not hasattr(NetworkInterface, "private_dns_name"):
        setattr(NetworkInterface, "private_dns_name", None)  # noqa: B010  (a class default moto lacks)
    backend = subnets.SubnetBackend
    if not hasattr(backend.create_subnet, "__wrapped__"):
        backend.create_subnet = _custom(subnets, "random_subnet_id", _subnet_id)(backend.create_subnet)  # type: ignore[method-assign]
    groups = security_groups.SecurityGroupBackend
    if not hasattr(groups.create_security_group, "__wrapped__"):
        groups.create_security_group = _custom(security_groups, "random_security_group_id", _group_id)(  # type: ignore[method-assign]
            groups.create_security_group
        )
