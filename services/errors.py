"""The error tree every adapter translates into, and the consumer wrapper acts upon.

    KilnError
    ├── TemporaryError            retry with back-off (timeouts, 429, 5xx, connection loss);
    │                             ``retry_after``: the server's ``Retry-After``, in seconds
    │   └── ConflictError         a stale write (409 on update); re-read and try again
    └── PermanentError            dead-letter / fail the object with the reason
        ├── NotFoundError         the object or tag does not exist (404)
        ├── AlreadyExistsError    a create found the object there (409 on create)
        ├── InvalidError          the server refused the object as invalid (422)
        │   └── UnparseableError  an object the API holds does not fit Kiln's model of its kind
        └── InvalidMessageError   an event that cannot be decoded or fails its schema

Third-party errors are translated at the adapter edge with ``raise ... from e``; nothing above
an adapter catches an aiohttp, aiormq or kubernetes-asyncio exception.
"""

from __future__ import annotations

from typing import Any


class KilnError(Exception):
    """Root of every error Kiln raises on purpose."""


class TemporaryError(KilnError):
    """A failure that may pass: the operation is retried with back-off.

    ``retry_after`` is how long the server asked us to wait (its ``Retry-After`` header, in
    seconds), or None; the retry waits at least that long (``services.retrying``)."""

    def __init__(self, *args: object, retry_after: float | None = None) -> None:
        super().__init__(*args)
        self.retry_after = retry_after


class ConflictError(TemporaryError):
    """A write lost a race (stale resourceVersion); re-read the object and decide again."""


class DeferredError(KilnError):
    """Not now (a build waiting for a free slot): the event goes to its service's wait queue and
    comes back after the wait, as often as it takes; never a retry counted, never dead-lettered."""


class PermanentError(KilnError):
    """A failure that retrying cannot fix: the message is dead-lettered with this reason."""


class NotFoundError(PermanentError):
    """The object, manifest or tag does not exist."""


class AlreadyExistsError(PermanentError):
    """A create found an object of that name already there."""


class InvalidError(PermanentError):
    """The receiving server refused the object as invalid."""


class UnparseableError(InvalidError):
    """An object read from the API that does not fit Kiln's model of its kind (a field of the
    wrong type or value, e.g. stored before the CRD schema refused it).

    ``raw`` is the object as the API holds it; ``problems`` names each field at fault and what it
    must be, as kpack's validation messages do (one ``invalid value: …: <path>`` line and its fix).
    """

    def __init__(self, message: str, *, raw: dict[str, Any], problems: str) -> None:
        super().__init__(message)
        self.raw = raw
        self.problems = problems


class InvalidMessageError(PermanentError):
    """An event body that cannot be decoded, or does not match its schema."""
