"""Errors in ECS's own vocabulary, so SDKs raise the right exception class."""

from __future__ import annotations

from fargate_operator.ecs.errors import EcsError


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


def client(message: str) -> ApiError:
    return ApiError("ClientException", message)


def access_denied(message: str) -> ApiError:
    return ApiError("AccessDeniedException", message, 403)


def from_ecs(err: EcsError) -> ApiError:
    """An error ECS answered to a call made on the caller's behalf, passed on as ECS sent it."""
    return ApiError(err.code, err.message, 500 if err.transient else 400)
