"""RegisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions, DeregisterTaskDefinition.

A family is one FargateTaskDefinition; its current revision is the object's spec
as registered, older revisions are asked of ECS once (they are immutable) and remembered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fargate_operator import k8s
from fargate_operator.ecs.errors import EcsError
from fargate_operator.models.kinds import TASK_DEFINITION
from fargate_operator.reconcile.requests import ecs_members
from fargate_operator.service import views
from fargate_operator.service.errors import client, from_ecs
from fargate_operator.service.lookups import Store, condition, page, short_name


def parse_task_definition(store: Store, ns: str, ref: str) -> tuple[dict[str, Any] | None, str, int | None]:
    """(object, family, revision or None) for 'family', 'family:rev' or an ARN."""
    tail = short_name(ref, "task-definition/")
    family, _, rev = tail.partition(":")
    if rev and not rev.isdigit():
        raise client(f"Invalid revision number. Number: {rev}")
    return store.find_family(ns, family), family, int(rev) if rev else None


def reconciled(generation: int) -> Callable[[dict[str, Any]], bool]:
    """Whether the operator registered (or found registered) the spec of `generation` or a later one."""

    def done(obj: dict[str, Any]) -> bool:
        ready = condition(obj, "Ready")
        seen = ready.get("observedGeneration") or 0
        return (
            ready.get("status") == "True"
            and seen >= generation
            and bool(obj.get("status", {}).get("taskDefinitionArn"))
        )

    return done


class TaskDefinitions:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._revisions: dict[str, dict[str, Any]] = {}  # immutable older revisions, from ECS

    async def register_task_definition(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        family = p["family"]
        request = ecs_members(p, "RegisterTaskDefinition")
        obj = self.store.find_family(ns, family)
        if obj is None:
            obj_name = await self.store.create(TASK_DEFINITION, ns, family, request)
            generation = 1
        else:
            obj_name = obj["metadata"]["name"]
            # Replace every ECS member (null removes what the new request leaves out); keep ours.
            spec_patch = {k: None for k in ecs_members(obj["spec"], "RegisterTaskDefinition")} | request
            generation = await self.store.patch_spec(TASK_DEFINITION, obj, spec_patch)
        # Wait for the operator's verdict on exactly this write's generation. (A hash of the request
        # cannot say what to wait for: the API server adds CRD defaults, and the watch cache may not
        # show this write yet.) An identical request changes nothing, so its generation is done at once.
        done = await self.store.wait(TASK_DEFINITION, ns, obj_name, reconciled(generation), generation)
        return {"taskDefinition": views.task_definition_view(done), "tags": views.user_tags(done["spec"])}

    async def describe_task_definition(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        obj, _, revision = parse_task_definition(self.store, ns, p["taskDefinition"])
        status = (obj or {}).get("status", {})
        if obj is None or not status.get("taskDefinitionArn"):
            raise client("Unable to describe task definition.")
        tags = views.user_tags(obj["spec"]) if "TAGS" in (p.get("include") or []) else None
        if revision is None or revision == status.get("revision"):
            view = views.task_definition_view(obj)
        else:
            known = {r["revision"]: r for r in status.get("retainedRevisions", [])}
            if revision not in known:
                raise client("Unable to describe task definition.")
            arn = known[revision]["taskDefinitionArn"]
            if arn not in self._revisions:
                try:
                    resp = await self.store.rt.gateway.call("DescribeTaskDefinition", taskDefinition=arn)
                except EcsError as err:
                    raise from_ecs(err) from err
                self._revisions[arn] = resp["taskDefinition"]
            view = self._revisions[arn]
        return {"taskDefinition": view, **({"tags": tags} if tags is not None else {})}

    async def list_task_definitions(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        want = p.get("status", "ACTIVE")
        prefix = p.get("familyPrefix")
        entries = []
        for obj in self.store.objects(TASK_DEFINITION, ns):
            family = obj["spec"].get("family", "")
            if prefix and not family.startswith(prefix):
                continue
            for r in obj.get("status", {}).get("retainedRevisions", []):
                if r.get("status", "ACTIVE") == want:
                    entries.append((family, r["revision"], r["taskDefinitionArn"]))
        entries.sort(reverse=p.get("sort") == "DESC")
        arns, token = page([arn for _, _, arn in entries], p)
        return {"taskDefinitionArns": arns, **({"nextToken": token} if token else {})}

    async def deregister_task_definition(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        obj, _, revision = parse_task_definition(self.store, ns, p["taskDefinition"])
        if revision is None:
            raise client("Invalid revision number. Number: ")  # ECS requires family:revision or an ARN
        status = (obj or {}).get("status", {})
        known = {r["revision"]: r for r in status.get("retainedRevisions", [])}
        if obj is None or revision not in known:
            raise client("The specified task definition does not exist.")
        if revision == status.get("revision"):
            # The current revision is the resource: deregistering it deletes the FargateTaskDefinition.
            view = {**views.task_definition_view(obj), "status": "INACTIVE"}
            await k8s.delete_object(TASK_DEFINITION, ns, obj["metadata"]["name"])
            return {"taskDefinition": view}
        arn = known[revision]["taskDefinitionArn"]
        try:
            resp = await self.store.rt.gateway.call("DeregisterTaskDefinition", taskDefinition=arn)
        except EcsError as err:
            raise from_ecs(err) from err
        await k8s.post_event(obj, "Deregistered", f"DeregisterTaskDefinition {arn} (ECS API adapter)")
        return {"taskDefinition": resp["taskDefinition"]}
