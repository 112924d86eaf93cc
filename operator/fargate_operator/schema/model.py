"""botocore's ECS model, loaded once per process.

The gateway's client, the REST adapter's validation, request building and the MCP
tool schemas all read the same model; one session (and so one loader cache) keeps a
single copy of its JSON in memory instead of one per reader.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.model
import botocore.session


@cache
def session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model() -> botocore.model.ServiceModel:
    return session().get_service_model("ecs")


def raw() -> dict[str, Any]:
    """The model's JSON as loaded (the loader's cached copy: read it, never change it)."""
    loaded: dict[str, Any] = session().get_component("data_loader").load_service_model("ecs", "service-2")
    return loaded
