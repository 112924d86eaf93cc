"""CloudWatch Logs reads beside an ECS gateway: the awslogs streams of the tasks it runs.

Same account, credentials (the gateway's botocore session: the operator's identity or the
FargateAccount's assumed role), region and client settings as the gateway it belongs to; its
endpoint is boto3's own for `logs` (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, else AWS_ENDPOINT_URL, else AWS's),
never the ECS endpoint (the variable is named after the service id "CloudWatch Logs", not after
`logs`: AWS_ENDPOINT_URL_LOGS is not read). Reads only (logs:GetLogEvents), made as the operator for
callers the service layer authorised: no write fence, no ECS read budget (CloudWatch Logs throttles apart).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from prometheus_client import Counter

from fargate_operator.ecs.credentials import CredentialsRefused
from fargate_operator.ecs.errors import EcsError, from_botocore

if TYPE_CHECKING:
    from fargate_operator.ecs.settings import GatewaySettings, Where

LOGS_CALLS = Counter("fargate_operator_logs_calls_total", "CloudWatch Logs API calls", ["operation", "outcome"])


class LogsClient:
    def __init__(
        self, settings: GatewaySettings, session: botocore.session.Session, pool: ThreadPoolExecutor, where: Where
    ) -> None:
        self.where = where
        self._pool = pool
        self._settings, self._session = settings, session
        self._client: Any = None
        self._lock = threading.Lock()

    def _made(self) -> Any:
        """The boto3 client, made on first use (no network call)."""
        with self._lock:
            if self._client is None:
                self._client = boto3.session.Session(botocore_session=self._session).client(
                    "logs",
                    region_name=self.where.region,
                    config=Config(
                        retries={"mode": "adaptive", "max_attempts": self._settings.max_attempts},
                        connect_timeout=self._settings.connect_timeout,
                        read_timeout=self._settings.read_timeout,
                    ),
                )
            return self._client

    def _call_sync(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        operation = "".join(part.title() for part in method.split("_"))
        try:
            response: dict[str, Any] = getattr(self._made(), method)(**params)
        except Exception as exc:
            if isinstance(exc, CredentialsRefused):
                err = EcsError("AssumeRole", exc.code, str(exc), None)
            else:
                err = from_botocore(operation, exc)
            err.where = str(self.where)
            LOGS_CALLS.labels(operation, "error").inc()
            raise err from exc
        LOGS_CALLS.labels(operation, "ok").inc()
        response.pop("ResponseMetadata", None)
        return response

    async def get_log_events(
        self, group: str, stream: str, limit: int, start_time_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """The newest `limit` events of a stream (after `start_time_ms`, if given), oldest first."""
        params: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "limit": limit}
        params["startFromHead"] = False  # the last `limit` events: what someone debugging wants
        if start_time_ms is not None:
            params["startTime"] = start_time_ms
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self._pool, partial(self._call_sync, "get_log_events", params))
        return list(response.get("events", []))
