"""Errors of telesim.

Public tree (re-exported from ``telesim``)::

    TelesimError                 root of everything telesim raises at you
    ├── UserActionError          a simulated user cannot do that (press a button that
    │                            is not there, forward protected content, ...)
    └── SimulatorProblem         the simulator broke its own contract: it emitted JSON
                                 that does not match api.json, or a handler crashed;
                                 raised when a TelegramSimulator context exits

Misuse of the Python API (wrong argument types or values) raises ``ValueError`` /
``TypeError`` / ``LookupError`` as usual.

Inside, method handlers raise :class:`ApiError`; ``_server`` translates it, in one
place, into Telegram's error answer ``{"ok": false, "error_code": ..., "description":
...}``.
"""

from __future__ import annotations

from typing import Any


class TelesimError(Exception):
    """Root of the exceptions telesim raises."""


class UserActionError(TelesimError):
    """A simulated user tried something Telegram's client would not allow."""


class SimulatorProblem(TelesimError):
    """The simulator found faults in itself (see ``TelegramSimulator.problems``)."""


class ApiError(Exception):
    """A Bot API error answer. Raised by method handlers, answered by ``_server``."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        parameters: dict[str, int] = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


def bad_request(detail: str) -> ApiError:
    """``400 Bad Request: <detail>``."""
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    """``403 Forbidden: <detail>``."""
    return ApiError(403, f"Forbidden: {detail}")


def conflict(detail: str) -> ApiError:
    """``409 Conflict: <detail>``."""
    return ApiError(409, f"Conflict: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """``429 Too Many Requests: retry after N`` with ``parameters.retry_after``."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


NOT_FOUND = ApiError(404, "Not Found")
UNAUTHORIZED = ApiError(401, "Unauthorized")
CHAT_NOT_FOUND = "chat not found"
