"""Errors in ECS's own vocabulary, so SDKs raise the right exception class."""

from __future__ import annotations


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
