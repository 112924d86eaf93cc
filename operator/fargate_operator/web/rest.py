"""The ECS JSON 1.1 protocol on `POST /`: what unmodified AWS CLIs and SDKs speak.

Request handling, in order: size limit, content type, X-Amz-Target, JSON body,
authentication (SigV4, a Secret's bearer token or a Kubernetes token) and the namespace
addressed (X-Fargate-Namespace, else the caller's own), botocore's own validation of the
body against the operation's input shape, then the shared service layer, which authorizes. Every failure is an
ECS error body `{"__type": ..., "message": ...}` with the status ECS uses; client
mistakes are never a 5xx.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from botocore.validate import ParamValidator
from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.responses import Response

from fargate_operator.schema import model
from fargate_operator.service.api import EcsApi
from fargate_operator.service.errors import ApiError
from fargate_operator.web.auth import NAMESPACE_HEADER, CredentialSource, addressing, authenticate
from fargate_operator.web.review_budget import ReviewRefused

log = logging.getLogger(__name__)

TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
CONTENT_TYPES = ("application/x-amz-json-1.1", "application/json")
MAX_BODY = 1024 * 1024  # ECS rejects larger requests too
DRAIN_LIMIT = 16 * MAX_BODY  # beyond this an oversized body is cut off, connection and all

REQUESTS = Counter("fargate_operator_rest_requests_total", "ECS API adapter requests", ["operation", "code"])
LATENCY = Histogram("fargate_operator_rest_request_seconds", "ECS API adapter latency", ["operation"])


def validate(operation: str, params: dict[str, Any]) -> None:
    """botocore's validation of a request against the ECS model; InvalidParameterException on failure."""
    report = ParamValidator().validate(params, model.service_model().operation_model(operation).input_shape)
    if report.has_errors():
        raise ApiError("InvalidParameterException", report.generate_report())


async def _drain(request: Request) -> None:
    """Read and drop an oversized body (up to DRAIN_LIMIT) before answering 413.

    A client that sends the whole body before reading the answer (urllib, many SDKs) would
    otherwise see its connection reset instead of the error.
    """
    drained = 0
    async for chunk in request.stream():
        drained += len(chunk)
        if drained > DRAIN_LIMIT:
            break


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), default=str),
        status_code=status,
        media_type="application/x-amz-json-1.1",
    )


def error_response(err: ApiError) -> Response:
    response = _json({"__type": err.code, "message": err.message}, err.status)
    if isinstance(err, ReviewRefused):
        response.headers["Retry-After"] = str(err.retry_after)
    return response


class RestAdapter:
    def __init__(self, api: EcsApi, credentials: CredentialSource) -> None:
        self.api = api
        self.credentials = credentials
        self.operations = frozenset(api.operations)

    async def __call__(self, request: Request) -> Response:
        started = time.perf_counter()
        operation = "unknown"
        try:
            operation, response = await self._handle(request)
            code = "OK"
        except ApiError as err:
            response, code = error_response(err), err.code
        except Exception:
            log.exception("ECS API adapter: %s failed", operation)
            response, code = error_response(ApiError("ServerException", "internal error", 500)), "ServerException"
        REQUESTS.labels(operation, code).inc()
        LATENCY.labels(operation).observe(time.perf_counter() - started)
        return response

    async def _handle(self, request: Request) -> tuple[str, Response]:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY:
            await _drain(request)
            raise ApiError("ClientException", f"request body larger than {MAX_BODY} bytes", 413)
        body = await request.body()
        if len(body) > MAX_BODY:
            raise ApiError("ClientException", f"request body larger than {MAX_BODY} bytes", 413)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in CONTENT_TYPES:
            raise ApiError(
                "UnsupportedMediaTypeException" if content_type else "MissingContentTypeException",
                f"Content-Type must be application/x-amz-json-1.1, not {content_type or 'absent'}",
                415 if content_type else 400,
            )
        target = request.headers.get("x-amz-target", "")
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        if operation not in self.operations:
            raise ApiError("UnknownOperationException", f"X-Amz-Target {target or '(absent)'} is not an operation here")
        try:
            params = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError("SerializationException", f"request body is not valid JSON: {exc}") from None
        if not isinstance(params, dict):
            raise ApiError("SerializationException", "request body must be a JSON object")
        caller = await authenticate(
            self.credentials,
            request.method,
            str(request.url),
            # A header sent more than once counts with all its values, as SigV4 canonicalizes it.
            {name: ",".join(request.headers.getlist(name)) for name in request.headers},
            body,
            client=request.client.host if request.client else "",
            must_sign=(NAMESPACE_HEADER,),
        )
        principal = addressing(caller.principal, request.headers.get(NAMESPACE_HEADER))
        validate(operation, params)
        # The signature goes along, to the operations that refuse its replay (replay_sensitive: RunTask).
        answer = await self.api.call(operation, params, principal, signature=caller.signature)
        return operation, _json(answer)
