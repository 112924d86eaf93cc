"""FargateTaskDefinition handlers: register on change, retire old revisions, roll dependent services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import kopf

from fargate_operator import k8s
from fargate_operator.controllers.base import Verdict
from fargate_operator.ecs import owner_gate
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import DELETE_TASK_DEFINITIONS_BATCH, EcsGateway
from fargate_operator.handlers import tenancy
from fargate_operator.handlers.common import (
    apply_health,
    backoff,
    creating,
    ecs_for_deletion,
    ecs_or_wait,
    fail,
    placed,
    set_conditions,
    up_to_date,
)
from fargate_operator.handlers.remembered import remembered
from fargate_operator.handlers.slots import bounded
from fargate_operator.models.kinds import (
    DEREGISTER_ANNOTATION,
    GROUP,
    PLURALS,
    SERVICE,
    TASK_DEFINITION,
    TENANCY_RECHECK_ANNOTATION,
    VERSION,
)
from fargate_operator.reconcile import deregistration
from fargate_operator.reconcile import taskdefinition as logic
from fargate_operator.reconcile.accounts import same_place
from fargate_operator.reconcile.ownership import (
    OWNER_TAG_KEYS,
    SPEC_HASH_TAG,
    AdoptionRefused,
    Claim,
    Owner,
    check_claim,
    claim,
    family_claim,
    owner_named_in,
    tag_dict,
)
from fargate_operator.reconcile.tenancy import TASK_DEFINITION_OPERATIONS, family_of
from fargate_operator.runtime import Runtime, runtime_of

PLURAL = PLURALS["FargateTaskDefinition"]
# An unrecorded revision is the family's newest but one or two (a racing writer): this many are looked at.
UNRECORDED_LOOKUP_MAX = 5
RESOLVED_ANNOTATION = f"{GROUP}/task-definition"


async def _latest(gw: EcsGateway, family: str) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """The family's latest ACTIVE revision and its tags, or None when the family has none."""
    try:
        resp = await gw.call("DescribeTaskDefinition", taskDefinition=family, include=["TAGS"])
    except EcsError as err:
        if err.code == "ClientException" and not err.transient:
            return None, []  # ECS: "Unable to describe task definition."
        raise
    latest = resp.get("taskDefinition")
    if latest is None or latest.get("status") != "ACTIVE":
        return None, []  # only INACTIVE revisions left: the family is free again
    return latest, resp.get("tags", [])


async def _active_revisions(gw: EcsGateway, family: str) -> list[str]:
    arns = await gw.list_all("ListTaskDefinitions", "taskDefinitionArns", familyPrefix=family, status="ACTIVE")
    return [a for a in arns if a.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]


@dataclass(frozen=True)
class _Verdict:
    claim: Claim
    revision: str | None
    tags: list[dict[str, str]] | None


async def _family_verdict(gw: EcsGateway, owner: Owner, active: list[str], ours: set[str]) -> _Verdict:
    """ownership.family_claim, asking ECS for the tags of each revision it needs (lowest first)."""
    tags_of: dict[str, list[dict[str, str]] | None] = {}
    while isinstance(step := family_claim(owner, active, ours, tags_of), str):
        try:
            resp = await gw.call("DescribeTaskDefinition", taskDefinition=step, include=["TAGS"])
            tags_of[step] = resp.get("tags") or []
        except EcsError as err:
            if err.transient:
                raise
            tags_of[step] = None  # gone meanwhile (deleted): it decides nothing
    return _Verdict(step.claim, step.revision, tags_of.get(step.revision) if step.revision else None)


async def owned_revisions(
    gw: EcsGateway, owner: Owner, arns: list[str], adoption_policy: str
) -> list[owner_gate.Owned]:
    """The revisions of `arns` the owner gate admits: this object's by owner tag, or untagged ones of a family
    it adopted (one DescribeTaskDefinition each; revisions gone meanwhile are left out)."""
    found = []
    for arn in arns:
        try:
            resp = await gw.call("DescribeTaskDefinition", taskDefinition=arn, include=["TAGS"])
        except EcsError as err:
            if err.transient:
                raise
            continue  # gone meanwhile
        if (target := owner_gate.owned(owner, resp, adoption_policy=adoption_policy)) is not None:
            found.append(target)
    return found


async def _retire(gw: EcsGateway, body: Any, targets: list[owner_gate.Owned], delete: bool) -> None:
    arns = [t.arn for t in targets]
    for target in targets:
        await gw.write("DeregisterTaskDefinition", target)
    if arns:
        await k8s.post_event(body, "Deregistered", f"DeregisterTaskDefinition {', '.join(arns)}")
    if delete and arns:
        for start in range(0, len(targets), DELETE_TASK_DEFINITIONS_BATCH):
            await gw.write("DeleteTaskDefinitions", targets[start : start + DELETE_TASK_DEFINITIONS_BATCH])
        await k8s.post_event(body, "DeletedRevisions", f"DeleteTaskDefinitions {', '.join(arns)}")


def recorded_elsewhere(rt: Runtime, owner: Owner, family: str, gw: EcsGateway) -> dict[str, Any] | None:
    """Another FargateTaskDefinition that recorded a revision of `family` where `gw` acts, from the watch cache.

    ECS forgets whose a family is once it has no ACTIVE revision, but an object that emptied its family
    (DeregisterTaskDefinition through the ECS API adapter) still holds it: registering into it would make
    the latest ACTIVE revision -- what a bare family runs -- another object's, and its deletion would act
    on it. So a family stays claimed while any object records a revision of it, ACTIVE or not.
    """
    for obj in rt.registry.items(TASK_DEFINITION):
        if obj["metadata"].get("uid") == owner.uid:
            continue
        st = obj.get("status") or {}
        recorded = [
            st.get("taskDefinitionArn"),
            *(r.get("taskDefinitionArn") for r in st.get("retainedRevisions") or []),
        ]
        for arn in (str(a) for a in recorded if a):
            if family_of(arn) == family and _same_place(rt, obj, arn, gw):
                return obj
    return None


async def family_taken(rt: Runtime, gw: EcsGateway, obj: dict[str, Any]) -> str | None:
    """Why `obj` may not register into its family again (drift's re-register), or None: another object holds
    it (recorded_elsewhere), or its lowest owner-tagged ACTIVE revision is another object's."""
    owner, st = Owner.of(obj), obj.get("status") or {}
    family = str((obj.get("spec") or {})["family"])
    if (holder := recorded_elsewhere(rt, owner, family, gw)) is not None:
        return f"family {family} is held by FargateTaskDefinition {holder['metadata']['namespace']}/" + str(
            holder["metadata"]["name"]
        )
    known = {st.get("taskDefinitionArn"), *(r.get("taskDefinitionArn") for r in st.get("retainedRevisions") or [])}
    verdict = await _family_verdict(gw, owner, await _active_revisions(gw, family), {a for a in known if a})
    if verdict.claim is Claim.OTHER:
        return f"family {family} is owned by {owner_named_in(verdict.tags)} (its lowest revision, {verdict.revision})"
    return None


def _same_place(rt: Runtime, obj: dict[str, Any], arn: str, gw: EcsGateway) -> bool:
    """Whether `arn` (another object's revision) is in the account and region `gw` acts in."""
    return same_place(arn, obj.get("status") or {}, gw.region, gw.where.account_id)


async def roll_dependents(rt: Runtime, body: Any, arn: str) -> None:
    """Touch every FargateService that references this object, so it rolls to `arn`."""
    ns, name = body["metadata"]["namespace"], body["metadata"]["name"]
    for svc in rt.registry.items(SERVICE):
        meta, spec = svc["metadata"], svc.get("spec", {})
        ref = spec.get("taskDefinitionRef") or {}
        current = (meta.get("annotations") or {}).get(RESOLVED_ANNOTATION)
        if meta["namespace"] == ns and ref.get("name") == name and current != arn:
            await k8s.patch_annotations(SERVICE, ns, meta["name"], {RESOLVED_ANNOTATION: arn})


def _first_attempt(body: Any, spec: Any, status: Any, retry: int) -> bool:
    """A new object's first try, creating only: nothing says an earlier attempt may have registered
    (a retry, or an operator that restarted, finds the family in ECS's list: families.py)."""
    return retry == 0 and creating(body, spec, status, "taskDefinitionArn")


async def _register(gw: EcsGateway, body: Any, request: dict[str, Any], family: str) -> dict[str, Any]:
    """RegisterTaskDefinition's answer: the revision, and its tags beside it (the owner gate reads them)."""
    answer: dict[str, Any] = await gw.call("RegisterTaskDefinition", **request)
    gw.families.note_registered(family)
    await k8s.post_event(body, "Registered", f"RegisterTaskDefinition {answer['taskDefinition']['taskDefinitionArn']}")
    return answer


def _own_new(owner: Owner, answer: dict[str, Any]) -> owner_gate.Owned:
    """The revision this object just registered (RegisterTaskDefinition's answer, tags included)."""
    target = owner_gate.owned(owner, answer)
    if target is None:  # ECS answered without the tags it was given: nothing may act on it blind
        raise EcsError("RegisterTaskDefinition", "TagsMissing", "ECS's answer carries no owner tags", None)
    return target


async def _undo_if_family_appeared(
    gw: EcsGateway, body: Any, spec: Any, mine: owner_gate.Owned, active: list[str]
) -> None:
    """Registered first into a family the index had not seen, and ECS made revision N+1 > 1.

    Only INACTIVE revisions before it: the family was free, and is now this object's. Another
    ACTIVE revision: the family appeared after the walk (another object, or someone outside the
    operator). Whose it is, and whether this object may adopt it, is the careful path's question:
    take this revision back and let the retry ask it.
    """
    arn = mine.arn
    others = [a for a in active if a != arn]
    if others:
        await _retire(gw, body, [mine], bool(spec.get("deleteDeregisteredRevisions")))
        raise EcsError(
            "RegisterTaskDefinition",
            "FamilyAppeared",
            f"family {spec['family']} has other ACTIVE revisions ({', '.join(others[:3])}) that were not there a "
            f"moment ago; {arn} was deregistered and ownership is checked again",
            None,  # no HTTP status: transient, so Kopf retries -- the careful way (retry > 0)
        )


async def _reuse_or_register(
    gw: EcsGateway, body: Any, spec: Any, owner: Owner, request: dict[str, Any], digest: str
) -> dict[str, Any]:
    """The careful path: look at the family's latest revision first (adoption, or a revision an
    earlier attempt registered before a crash), then register only if it is not already there.
    Returns the answer naming the revision and its tags."""
    family = spec["family"]
    latest, tags = await _latest(gw, family)
    if latest is None and spec.get("adoptionPolicy") == "Adopt":
        raise AdoptionRefused(f"task definition family {family} has no ACTIVE revision and adoptionPolicy is Adopt")
    if latest is not None and check_claim(owner, tags, spec.get("adoptionPolicy", "CreateOnly"), f"family {family}"):
        await k8s.post_event(body, "Adopted", f"adopting task definition family {family}")
    if latest is not None and claim(owner, tags) is Claim.OURS and tag_dict(tags).get(SPEC_HASH_TAG) == digest:
        return {"taskDefinition": latest, "tags": tags}  # registered before a crash or restart: reuse it
    return await _register(gw, body, request, family)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
@kopf.on.update(GROUP, VERSION, PLURAL, field=("metadata", "annotations", TENANCY_RECHECK_ANNOTATION))
@bounded
async def reconcile_task_definition(
    body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    rt = runtime_of(memo)
    owner, family = Owner.of(body), spec["family"]
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    try:
        # Before the up-to-date shortcut: a config that no longer allows the roles shows here.
        tenancy.require_references(rt, owner.namespace, spec, TASK_DEFINITION_OPERATIONS)
    except tenancy.TenancyRefused as err:
        await fail(body, patch, status, err, retry, permanent=True)
    request, digest = logic.register_request(dict(spec), owner)
    if status.get("specHash") == digest and status.get("taskDefinitionArn"):
        up_to_date(body, patch, status)
        return
    if not rt.registry.synced():
        # Which revisions services and tasks use is read from the cache: never judge it half-filled.
        raise kopf.TemporaryError("waiting for the watch cache to load (revisions in use)", delay=1)
    try:
        if (holder := recorded_elsewhere(rt, owner, family, gw)) is not None:
            meta = holder["metadata"]
            why = (
                f"family {family} is held by FargateTaskDefinition {meta['namespace']}/{meta['name']}, which recorded "
                "revisions of it (ACTIVE or not); two objects cannot manage one family"
            )
            if meta.get("deletionTimestamp"):  # it is going: try again once its finalizer is done
                raise EcsError("RegisterTaskDefinition", "FamilyHeld", f"{why} (that object is being deleted)", None)
            raise AdoptionRefused(why)
        answer = None
        if _first_attempt(body, spec, status, retry) and await gw.families.is_new(family):
            answer = await _register(gw, body, request, family)  # the common path: one ECS call
        registered = answer["taskDefinition"] if answer is not None else None
        if registered is not None and registered["revision"] == 1:
            # The family began with this revision: it is this object's, and holds nothing else.
            arn, active, retire = registered["taskDefinitionArn"], [registered["taskDefinitionArn"]], []
        else:
            registered_first = answer is not None
            if answer is None:
                answer = await _reuse_or_register(gw, body, spec, owner, request, digest)
            registered, mine = answer["taskDefinition"], _own_new(owner, answer)
            arn = registered["taskDefinitionArn"]
            active = await _active_revisions(gw, family)
            if registered_first:
                await _undo_if_family_appeared(gw, body, spec, mine, active)
            known = {arn, *(r.get("taskDefinitionArn") for r in status.get("retainedRevisions") or [])}
            verdict = await _family_verdict(gw, owner, active, {a for a in known if a})
            if verdict.claim is Claim.OTHER:
                # Lost a race for the family: take back what we registered, leave the family to its owner.
                await _retire(gw, body, [mine], bool(spec.get("deleteDeregisteredRevisions")))
                raise AdoptionRefused(
                    f"family {family} is owned by {owner_named_in(verdict.tags)} (its lowest revision, "
                    f"{verdict.revision}); two objects cannot manage one family, so {arn} was deregistered"
                )
            superseded = logic.revisions_to_retire(
                active, arn, spec.get("revisionHistoryLimit", 10), rt.task_definitions_in_use()
            )
            adoption = spec.get("adoptionPolicy", "CreateOnly")
            targets = await owned_revisions(gw, owner, superseded, adoption)
            await _retire(gw, body, targets, bool(spec.get("deleteDeregisteredRevisions")))
            retire = [t.arn for t in targets]
    except AdoptionRefused as err:
        await fail(body, patch, status, err, retry, permanent=True)
    except EcsError as err:
        await fail(body, patch, status, err, retry)
    kept = sorted((a for a in active if a not in retire), key=logic.revision_of, reverse=True)
    patch.status.update(
        {
            "family": family,
            "revision": registered["revision"],
            "taskDefinitionArn": arn,
            "specHash": digest,
            "retainedRevisions": [
                {"revision": logic.revision_of(a), "taskDefinitionArn": a, "status": "ACTIVE"} for a in kept
            ],
        }
    )
    placed(patch, arn, gw)
    health = Verdict(True, False, False, "Registered", f"revision {registered['revision']}")
    apply_health(body, patch, status, health, drift_in_sync=rt.config.drift_detection)
    await roll_dependents(rt, body, arn)


async def _unrecorded_revisions(gw: EcsGateway, owner: Owner, family: str) -> list[owner_gate.Owned]:
    """Revisions of this object that status never recorded: RegisterTaskDefinition reached ECS and the
    operator stopped before the status patch (a crash, a lost answer), and the object was deleted
    before a retry. Found by owner tag among the family's newest ACTIVE revisions (ECS itself is
    asked: the family index may not list a family registered moments ago, nor one registered before
    a restart)."""
    newest = sorted(await _active_revisions(gw, family), key=logic.revision_of, reverse=True)
    return await owned_revisions(gw, owner, newest[:UNRECORDED_LOOKUP_MAX], "CreateOnly")


@kopf.on.delete(GROUP, VERSION, PLURAL)
@bounded
@remembered
async def delete_task_definition(
    body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    rt = runtime_of(memo)
    gw = await ecs_for_deletion(rt, body, patch, status, retry)
    if gw is None:
        return
    family, owner = spec["family"], Owner.of(body)
    try:
        if status.get("taskDefinitionArn"):
            # The family's ACTIVE revisions that are this object's by owner tag (or untagged, in a family it
            # adopted): another object may have registered into the family since this one emptied it.
            adoption = spec.get("adoptionPolicy", "CreateOnly")
            active = await owned_revisions(gw, owner, await _active_revisions(gw, family), adoption)
        else:
            active = await _unrecorded_revisions(gw, owner, family)
        arns = [t.arn for t in active]
        if spec.get("deletionPolicy") == "Retain":
            for target in active:
                await gw.write("UntagResource", target, tagKeys=[*OWNER_TAG_KEYS, SPEC_HASH_TAG])
            await k8s.post_event(body, "Retained", f"left family {family} registered (deletionPolicy Retain)")
            return
        # Deregistered revisions keep running where services use them; only deletion must spare them.
        for target in active:
            await gw.write("DeregisterTaskDefinition", target)
        if active:
            await k8s.post_event(body, "Deregistered", f"DeregisterTaskDefinition {', '.join(arns)}")
        if spec.get("deleteDeregisteredRevisions"):
            in_use = rt.task_definitions_in_use()
            deletable = [t for t in active if t.arn not in in_use]
            for start in range(0, len(deletable), DELETE_TASK_DEFINITIONS_BATCH):
                await gw.write("DeleteTaskDefinitions", deletable[start : start + DELETE_TASK_DEFINITIONS_BATCH])
    except EcsError as err:
        await fail(body, patch, status, err, retry, permanent=False)  # never give up: no orphans


@kopf.on.update(GROUP, VERSION, PLURAL, field="metadata.annotations", annotations={DEREGISTER_ANNOTATION: kopf.PRESENT})
@bounded
async def deregister_requested(
    body: Any, status: Any, old: Any, new: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    """DeregisterTaskDefinition asked through the ECS API adapter: exactly the revisions named; the object stays."""
    rt = runtime_of(memo)
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    current = dict(status)
    todo = deregistration.to_deregister(
        (old or {}).get(DEREGISTER_ANNOTATION), (new or {}).get(DEREGISTER_ANNOTATION), current
    )
    done: list[str] = []
    try:
        adoption = (body.get("spec") or {}).get("adoptionPolicy", "CreateOnly")
        for target in await owned_revisions(gw, Owner.of(body), todo, adoption):
            await gw.write("DeregisterTaskDefinition", target)
            done.append(target.arn)
    except EcsError as err:
        await k8s.post_event(body, "DeregisterFailed", str(err), warning=True)
        if err.transient:
            raise kopf.TemporaryError(str(err), delay=backoff(retry, err.retry_delay)) from err
    finally:
        if done:
            patch.status["retainedRevisions"] = deregistration.recorded(current, done)
    if not done:
        return
    await k8s.post_event(body, deregistration.REASON, f"DeregisterTaskDefinition {', '.join(done)} (ECS API adapter)")
    if current.get("taskDefinitionArn") in done:
        set_conditions(
            patch,
            status,
            body["metadata"].get("generation"),
            ready=False,
            progressing=False,
            degraded=True,
            reason=deregistration.REASON,
            message=f"the current revision {current.get('revision')} was deregistered through the ECS API; "
            "change the spec to register a new revision",
        )
