"""ECS errors, sorted into the ones a retry can fix and the ones it can't."""

from __future__ import annotations

import html
import re

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from fargate_operator.ecs.fence import Fenced

# Codes a retry can fix: throttling (HTTP 400 in ECS's JSON protocol) and server-side failures.
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServerException",
        "InternalFailure",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# A write the write fence refused (ecs/fence.py): never sent; the Lease holder will do it.
FENCED_CODE = "NotLeader"
# A quota was hit: retrying soon won't help, retrying later may.
SLOW_RETRY_CODES = frozenset({"LimitExceededException"})


class EcsError(Exception):
    """An ECS call that failed after the gateway's own retries."""

    def __init__(self, operation: str, code: str, message: str, http_status: int | None = None) -> None:
        super().__init__(f"{operation}: {code}: {message}")
        self.operation = operation
        self.code = code
        self.message = message
        self.http_status = http_status
        self.where = ""  # the gateway's account, region and role (settings.Where), for Events and conditions

    @property
    def transient(self) -> bool:
        if self.code in TRANSIENT_CODES or self.code in SLOW_RETRY_CODES:
            return True
        return self.http_status is None or self.http_status >= 500

    @property
    def retry_delay(self) -> float:
        """A base delay for the next attempt (callers add backoff and jitter)."""
        return 60.0 if self.code in SLOW_RETRY_CODES else 5.0


MESSAGE_LIMIT = 300
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def one_line(message: str) -> str:
    """A message fit for a condition or an Event: one line, no markup, bounded.

    Something in front of ECS (a proxy, a load balancer, a crashed emulator) can answer with an
    HTML page; botocore then passes the whole page on as the error message.
    """
    text = message
    if text.lstrip().startswith("<"):
        title = _TITLE.search(text)
        text = title.group(1) if title else _TAG.sub(" ", text)
        text = f"non-ECS answer: {html.unescape(text)}"
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def from_botocore(operation: str, exc: Exception) -> EcsError:
    if isinstance(exc, Fenced):  # not sent at all; transient: whoever holds the Lease acts
        return EcsError(operation, FENCED_CODE, str(exc), None)
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(err.get("Code", "Unknown"))
        if code.isdigit():  # botocore found no ECS error code in the body: name the HTTP status instead
            code = f"HTTP{code}"
        return EcsError(operation, code, one_line(str(err.get("Message", ""))), status)
    if isinstance(exc, ParamValidationError):
        # botocore checked the request against ECS's model before sending it.
        return EcsError(operation, "InvalidParameterException", str(exc), 400)
    if isinstance(exc, BotoCoreError):
        # Connection failures, timeouts: the request may not have reached ECS.
        return EcsError(operation, type(exc).__name__, one_line(str(exc)), None)
    raise exc
