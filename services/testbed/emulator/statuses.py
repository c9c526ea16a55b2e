"""Kubernetes ``Status`` failures, raised inside the emulator and answered as the real API does.

ApiError(code, reason, message)      → HTTP ``code`` with a ``kind: Status`` body
├── not_found(resource, name)        404 NotFound     images.kpack.io "x" not found
├── already_exists(resource, name)   409 AlreadyExists
├── conflict(resource, name)         409 Conflict     the object has been modified; …
├── invalid(resource, name, causes)  422 Invalid      Image.kpack.io "x" is invalid: …
├── bad_request(message)             400 BadRequest
└── gone(message)                    410 Expired      too old resource version
"""

from __future__ import annotations

from typing import Any

from services.testbed.emulator import resources


class ApiError(Exception):
    """A request the emulator refuses; `body` is the Status object sent back."""

    def __init__(
        self, code: int, reason: str, message: str, *, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    @property
    def body(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            status["details"] = self.details
        return status


def _details(resource: resources.ResourceType, name: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": resource.plural, **extra}
    if resource.group:
        details["group"] = resource.group
    return details


def not_found(resource: resources.ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource.key} "{name}" not found', details=_details(resource, name))


def already_exists(resource: resources.ResourceType, name: str) -> ApiError:
    return ApiError(
        409, "AlreadyExists", f'{resource.key} "{name}" already exists', details=_details(resource, name)
    )


def conflict(resource: resources.ResourceType, name: str, why: str | None = None) -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    message = f'Operation cannot be fulfilled on {resource.key} "{name}": {why}'
    return ApiError(409, "Conflict", message, details=_details(resource, name))


def invalid(resource: resources.ResourceType, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 for ``causes`` = [(field, message)], worded like the API server's field errors."""
    joined = ", ".join(f"{field}: {message}" for field, message in causes)
    items = [{"reason": "FieldValueInvalid", "message": message, "field": field} for field, message in causes]
    message = f'{resource.group_kind} "{name}" is invalid: {joined}'
    details = _details(resource, name, kind=resource.kind, causes=items)
    return ApiError(422, "Invalid", message, details=details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def success(resource: resources.ResourceType, name: str, uid: str) -> dict[str, Any]:
    """The Status a delete answers with when the object is not returned."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": _details(resource, name, uid=uid),
    }
