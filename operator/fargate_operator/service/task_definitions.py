"""RegisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions, DeregisterTaskDefinition.

A family is one FargateTaskDefinition. Its revisions are answered as ECS registered them: the
content of a revision is asked of ECS once by ARN and remembered (revisions are immutable; only
their ACTIVE/INACTIVE status changes, and that comes from the object's status). Never from the
spec: a spec change ECS refused was never registered.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fargate_operator.ecs.errors import EcsError
from fargate_operator.models.kinds import DEREGISTER_ANNOTATION, TASK_DEFINITION
from fargate_operator.models.ownership import NAMESPACE_TAG, tag_dict
from fargate_operator.reconcile import deregistration
from fargate_operator.reconcile.requests import ecs_members
from fargate_operator.reconcile.tenancy import TASK_DEFINITION_OPERATIONS
from fargate_operator.service import views
from fargate_operator.service.access import Caller
from fargate_operator.service.errors import client, from_ecs
from fargate_operator.service.lookups import Store, condition, page, short_name

REMEMBERED_REVISIONS = 4096  # an LRU bound: each is one ECS call to fetch again


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


def revisions(status: dict[str, Any]) -> dict[int, tuple[str, str]]:
    """revision -> (ARN, ACTIVE or INACTIVE): the object's current and retained revisions."""
    known = {
        r["revision"]: (r["taskDefinitionArn"], r.get("status", "ACTIVE")) for r in status.get("retainedRevisions", [])
    }
    if status.get("taskDefinitionArn") and status.get("revision") not in known:
        known[status["revision"]] = (status["taskDefinitionArn"], "ACTIVE")
    return known


def deleted_revisions(store: Store, ns: str, family: str) -> dict[int, tuple[str, str]]:
    """revision -> (ARN, INACTIVE) of the family's recently deleted objects: their deletion deregistered them."""
    found: dict[int, tuple[str, str]] = {}
    for obj in store.deleted(TASK_DEFINITION, ns):  # newest first: a later object's revision wins
        if obj["spec"].get("family") == family:
            for rev, (arn, _) in revisions(obj.get("status", {})).items():
                found.setdefault(rev, (arn, deregistration.INACTIVE))
    return found


class TaskDefinitions:
    def __init__(self, store: Store) -> None:
        self.store = store
        # ARN -> (taskDefinition, user tags, the namespace its owner tags name)
        self._registered: OrderedDict[str, tuple[dict[str, Any], list[dict[str, str]], str]] = OrderedDict()

    async def registered(self, ns: str, arn: str) -> tuple[dict[str, Any], list[dict[str, str]], str]:
        """(taskDefinition, user tags, owner namespace) of one revision as ECS registered it; asked of ECS
        once, in the namespace's account and the ARN's region."""
        if arn in self._registered:
            self._registered.move_to_end(arn)
            return self._registered[arn]
        gateway = self.store.gateway_for_arn(ns, arn)
        try:
            resp = await gateway.call("DescribeTaskDefinition", taskDefinition=arn, include=["TAGS"])
        except EcsError as err:
            raise from_ecs(err) from err
        owner = tag_dict(resp.get("tags")).get(NAMESPACE_TAG, "")
        found = (views.jsonable(resp["taskDefinition"]), views.without_owner_tags(resp.get("tags")), owner)
        self._registered[arn] = found
        while len(self._registered) > REMEMBERED_REVISIONS:
            self._registered.popitem(last=False)
        return found

    async def _view(
        self, ns: str, arn: str, state: str, *, recorded: bool = False
    ) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """A revision's answer. `recorded`: its ARN comes from a deleted object's record, which anyone who
        may edit the namespace's ConfigMaps could have written: answered only if ECS's owner tags name
        this namespace (status, the operator's alone, needs no such check)."""
        registered, tags, owner = await self.registered(ns, arn)
        if recorded and owner != ns:
            raise client("Unable to describe task definition.")
        return {**registered, "status": state}, tags

    async def register_task_definition(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        family = p["family"]
        request = ecs_members(p, "RegisterTaskDefinition")
        self.store.require_references(ns, request, TASK_DEFINITION_OPERATIONS)
        obj = self.store.find_family(ns, family)
        if obj is None:
            obj_name = await self.store.create(TASK_DEFINITION, caller, family, request)
            generation = 1
        else:
            obj_name = obj["metadata"]["name"]
            # Replace every ECS member (null removes what the new request leaves out); keep ours.
            spec_patch = {k: None for k in ecs_members(obj["spec"], "RegisterTaskDefinition")} | request
            generation = await self.store.patch_spec(TASK_DEFINITION, caller, obj, spec_patch)
        # Wait for the operator's verdict on exactly this write's generation. (A hash of the request
        # cannot say what to wait for: the API server adds CRD defaults, and the watch cache may not
        # show this write yet.) An identical request changes nothing, so its generation is done at once.
        done = await self.store.wait(TASK_DEFINITION, ns, obj_name, reconciled(generation), generation)
        view, tags = await self._view(ns, done["status"]["taskDefinitionArn"], "ACTIVE")
        return {"taskDefinition": view, "tags": tags}

    async def describe_task_definition(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        obj, family, revision = parse_task_definition(self.store, ns, p["taskDefinition"])
        live = revisions((obj or {}).get("status", {}))
        known = deleted_revisions(self.store, ns, family) | live
        if revision is None:
            # A bare family means "the latest ACTIVE revision" (botocore model, DescribeTaskDefinition).
            active = [r for r, (_, state) in live.items() if state == "ACTIVE"]
            revision = max(active) if active else None
        if revision not in known:
            raise client("Unable to describe task definition.")
        view, tags = await self._view(ns, *known[revision], recorded=revision not in live)
        include_tags = "TAGS" in (p.get("include") or [])
        return {"taskDefinition": view, **({"tags": tags} if include_tags else {})}

    async def list_task_definitions(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
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
        if want == deregistration.INACTIVE:  # deleted families' revisions were deregistered with them
            listed = {arn for _, _, arn in entries}
            for obj in self.store.deleted(TASK_DEFINITION, ns):
                family = obj["spec"].get("family", "")
                if prefix and not family.startswith(prefix):
                    continue
                for rev, (arn, _) in revisions(obj.get("status", {})).items():
                    if arn not in listed:
                        entries.append((family, rev, arn))
                        listed.add(arn)
        entries.sort(reverse=p.get("sort") == "DESC")
        arns, token = page([arn for _, _, arn in entries], p)
        return {"taskDefinitionArns": arns, **({"nextToken": token} if token else {})}

    async def deregister_task_definition(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        """Exactly the revision named; the object (the family) stays. The operator makes the ECS call."""
        obj, family, revision = parse_task_definition(self.store, ns, p["taskDefinition"])
        if revision is None:
            raise client("Invalid revision number. Number: ")  # ECS requires family:revision or an ARN
        live = revisions((obj or {}).get("status", {}))
        known = deleted_revisions(self.store, ns, family) | live
        if revision not in known:
            raise client("The specified task definition does not exist.")
        arn, state = known[revision]
        if state == "ACTIVE" and obj is not None:

            def with_this_revision(current: dict[str, Any]) -> str:
                value = (current["metadata"].get("annotations") or {}).get(DEREGISTER_ANNOTATION)
                return deregistration.adding(value, arn)

            await self.store.update_annotation(TASK_DEFINITION, caller, obj, DEREGISTER_ANNOTATION, with_this_revision)
            await self.store.wait(
                TASK_DEFINITION,
                ns,
                obj["metadata"]["name"],
                lambda o: deregistration.status_of(o.get("status", {}), arn) == deregistration.INACTIVE,
                failures=False,  # the object's conditions speak of its spec, not of this action
            )
        view, _ = await self._view(ns, arn, deregistration.INACTIVE, recorded=revision not in live)
        return {"taskDefinition": view}
