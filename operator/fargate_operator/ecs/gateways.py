"""The ECS gateways in use: one per FargateAccount and region, and the operator's own per region.

Created on first use and kept while used, at most MAX_GATEWAYS (the least recently used one
goes first; a later use makes it again, with the same AssumeRole session: sessions are kept
apart). Every gateway shares the one write fence (only the Lease holder writes, whatever the
account) and the one thread pool (a bound on ECS calls in flight for the whole process); reads
take tokens from one bucket per account and region, because that is how ECS throttles. A
FargateAccount whose credential settings change gets a new gateway (new sessions); the old one
is left to age out.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prometheus_client import Counter, Gauge

from fargate_operator.ecs.credentials import AssumedRoleCredentials, CredentialsRefused, assumed_role_session
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.ecs.ratelimit import ReadPacer
from fargate_operator.ecs.settings import Where
from fargate_operator.models.accounts import AccountMapping
from fargate_operator.schema import model

MAX_GATEWAYS = 256
# Sessions outlive the gateways made from them: a gateway made again (it was the least recently used one)
# reuses its session instead of assuming the role again. Bounded too.
MAX_SESSIONS = 4 * MAX_GATEWAYS
GATEWAYS = Gauge("fargate_operator_ecs_gateways", "ECS gateways (account and region pairs) in use")
WRITES_IN_FLIGHT = Gauge(
    "fargate_operator_ecs_writes_in_flight", "ECS writes started, not yet answered or refused (what the fence drains)"
)
SESSIONS = Counter(
    "fargate_operator_assume_role_total", "sts:AssumeRole sessions made for FargateAccounts", ["account"]
)


def credential_key(mapping: AccountMapping) -> Hashable:
    """What decides a session: a selector or allowed-regions change keeps it, a role or tag change does not."""
    return (
        mapping.name,
        mapping.role_arn,
        mapping.external_id,
        mapping.session_tags,
        mapping.transitive_tag_keys,
        mapping.session_duration,
        mapping.source_identity,
        mapping.endpoint,
    )


class Gateways:
    def __init__(self, default: EcsGateway, max_gateways: int = MAX_GATEWAYS) -> None:
        self.default = default
        self.fence = default.fence
        WRITES_IN_FLIGHT.set_function(self.fence.in_flight)
        self._settings = default.settings
        self._max = max_gateways
        self._pool: ThreadPoolExecutor = default.pool
        self._lock = threading.Lock()  # handlers, the status loop and the adapters look up from several threads
        self._gateways: OrderedDict[Hashable, EcsGateway] = OrderedDict()
        self._pacers: dict[tuple[str, str | None], ReadPacer] = {("", default.region): default.reads}
        # credential key -> the session acting as the FargateAccount's role, and its credentials: one for every
        # region (temporary credentials are not regional)
        self._sessions: OrderedDict[Hashable, tuple[Any, AssumedRoleCredentials]] = OrderedDict()

    def own(self, region: str | None = None) -> EcsGateway:
        """The operator's own identity, in `region` (None or the operator's region: the default gateway)."""
        if region is None or region == self.default.region:
            return self.default
        return self._get(("own", region), lambda: self._make(None, region))

    def for_mapping(self, mapping: AccountMapping | None, region: str | None) -> EcsGateway:
        if mapping is None:
            return self.own(region)
        if mapping.role_arn is None and mapping.endpoint is None:
            return self.own(region)  # the operator's own identity, a region the mapping allows
        return self._get((credential_key(mapping), region), lambda: self._make(mapping, region))

    def session_for(self, mapping: AccountMapping | None) -> Any:
        """The botocore session that signs as `mapping`'s role (the operator's own identity without one): other
        clients in that account, e.g. the SQS queue of its ECS events (events/queue.py), share its credentials."""
        if mapping is None or mapping.role_arn is None:
            return model.session()
        with self._lock:
            return self._session(mapping)[0]

    def check_credentials(self, mapping: AccountMapping) -> str | None:
        """Blocking: make (or reuse) the session the mapping's gateways sign with; None when it works, else why
        not (a mapping without a role: nothing to check)."""
        if mapping.role_arn is None:
            return None
        with self._lock:
            _, credentials = self._session(mapping)
        try:
            credentials.get_frozen_credentials()
        except CredentialsRefused as exc:
            return str(exc)
        return None

    def all(self) -> list[EcsGateway]:
        with self._lock:
            return [self.default, *self._gateways.values()]

    def close(self) -> None:
        for gateway in self.all():
            gateway.close()

    def _get(self, key: Hashable, make: Callable[[], EcsGateway]) -> EcsGateway:
        with self._lock:
            gateway = self._gateways.get(key)
            if gateway is not None:
                self._gateways.move_to_end(key)
                return gateway
            gateway = make()
            self._gateways[key] = gateway
            while len(self._gateways) > self._max:
                self._gateways.popitem(last=False)
            GATEWAYS.set(len(self._gateways) + 1)
            return gateway

    def _pacer(self, account: str | None, region: str | None) -> ReadPacer:
        return self._pacers.setdefault((account or "", region), ReadPacer())

    def _make(self, mapping: AccountMapping | None, region: str | None) -> EcsGateway:
        """Called under the lock: builds clients only (no network call; credentials come on first use)."""
        settings = dataclasses.replace(
            self._settings,
            region=region or self._settings.region,
            endpoint_url=(mapping.endpoint if mapping and mapping.endpoint else self._settings.endpoint_url),
        )
        if mapping is None or mapping.role_arn is None:
            where = Where(region=settings.region, account_name=mapping.name if mapping else None)
            reads = self._pacer(None, settings.region)
            return EcsGateway(settings, fence=self.fence, pool=self._pool, reads=reads, where=where)
        session, _ = self._session(mapping)
        where = Where(settings.region, mapping.account_id, mapping.role_arn, mapping.name)
        return EcsGateway(
            settings,
            fence=self.fence,
            session=session,
            pool=self._pool,
            reads=self._pacer(mapping.account_id, settings.region),
            where=where,
        )

    def _session(self, mapping: AccountMapping) -> tuple[Any, AssumedRoleCredentials]:
        """Called under the lock: the mapping's session, made on first use (no network call yet); its STS
        client in the mapping's region, else the operator's."""
        key = credential_key(mapping)
        if key in self._sessions:
            self._sessions.move_to_end(key)
            return self._sessions[key]
        sts_region = mapping.region or self._settings.region or "us-east-1"
        made = assumed_role_session(model.session(), mapping, sts_region)
        made[1].on_assumed = SESSIONS.labels(mapping.account_id or "").inc
        self._sessions[key] = made
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return made
