"""Validation errors with field paths, as knative's ``apis.FieldError`` builds and prints them.

kpack's admission messages are knative ``FieldError`` strings, and users (and scripts) match on
them, so Kiln reproduces the semantics exactly:

* An error has a ``message``, the ``paths`` it concerns and optional ``details``.
* Validators return ``FieldError | None``; :func:`also` (or :meth:`FieldError.also`) accumulates,
  :meth:`FieldError.via_field` / :meth:`FieldError.via_index` / :meth:`FieldError.via_key`
  prefix every path on the way up (``missing_field("tag").via_field("spec")`` → ``spec.tag``;
  indices attach to the preceding part: ``spec.additionalTags[1]``).
* Rendering (``str(err)``) flattens the tree, merges errors with the same message and details
  (their paths combined, de-duplicated and sorted), sorts the result by message then details,
  and prints each as ``<message>: <paths joined ", ">`` plus ``\\n<details>`` when there are
  details; errors are joined with ``\\n``. An error without paths prints as ``<message>: ``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts import golang

CURRENT_FIELD = ""
"""A path naming the field being validated itself (knative ``apis.CurrentField``)."""


@dataclass(frozen=True)
class FieldError:
    """One diagnostic, or a collection of them (``errors``); never mutated."""

    message: str = ""
    paths: tuple[str, ...] = ()
    details: str = ""
    errors: tuple[FieldError, ...] = field(default=(), repr=False)

    def __bool__(self) -> bool:
        return not self.is_empty()

    def __str__(self) -> str:
        return "\n".join(self.messages())

    def is_empty(self) -> bool:
        return not (self.message or self.details or self.errors or self.paths)

    def via_field(self, *prefix: str) -> FieldError:
        """Prefix every path with ``prefix`` (joined with dots)."""
        return FieldError(
            message=self.message,
            paths=tuple(_flatten([*prefix, path]) for path in self.paths),
            details=self.details,
            errors=tuple(e.via_field(*prefix) for e in self.errors),
        )

    def via_index(self, index: int) -> FieldError:
        """Prefix every path with ``[index]``, which sticks to the next :meth:`via_field`."""
        return self.via_field(f"[{index}]")

    def via_key(self, key: str) -> FieldError:
        """Prefix every path with ``[key]``, which sticks to the next :meth:`via_field`."""
        return self.via_field(f"[{key}]")

    def via_field_index(self, name: str, index: int) -> FieldError:
        return self.via_index(index).via_field(name)

    def via_field_key(self, name: str, key: str) -> FieldError:
        return self.via_key(key).via_field(name)

    def also(self, *others: FieldError | None) -> FieldError:
        """This error together with ``others`` (empty ones and None are skipped)."""
        extra = tuple(e for e in others if e)
        if not extra:
            return self
        if self.is_empty():
            return FieldError(errors=extra)
        return FieldError(errors=(self, *extra))

    def normalized(self) -> list[FieldError]:
        """Every leaf (an error with a message), flattened, in accumulation order."""
        own = [FieldError(message=self.message, paths=self.paths, details=self.details)]
        return (own if self.message else []) + [leaf for e in self.errors for leaf in e.normalized()]

    def merged(self) -> list[FieldError]:
        """The leaves as knative prints them: merged by message and details, sorted."""
        by_key: dict[tuple[str, str], list[str]] = {}
        for leaf in self.normalized():
            key = (leaf.message, leaf.details)
            if key not in by_key:
                by_key[key] = list(leaf.paths)
            else:
                by_key[key].extend(p for p in leaf.paths if p not in by_key[key])
        return [
            FieldError(message=message, paths=tuple(sorted(paths)), details=details)
            for (message, details), paths in sorted(by_key.items())
        ]

    def messages(self) -> list[str]:
        """One rendered string per merged error (a string may span lines when it has details)."""
        return [_render(e) for e in self.merged()]


def also(*errors: FieldError | None) -> FieldError | None:
    """Accumulate ``errors``; None when there is nothing to report."""
    combined = FieldError().also(*errors)
    return combined or None


def via_field(error: FieldError | None, *prefix: str) -> FieldError | None:
    """:meth:`FieldError.via_field` that passes None through (Go's nil receiver)."""
    return error.via_field(*prefix) if error else None


def _render(error: FieldError) -> str:
    head = f"{error.message}: {', '.join(error.paths)}"
    return f"{head}\n{error.details}" if error.details else head


def _flatten(parts: Iterable[str]) -> str:
    """Join path parts with dots, dropping empty parts and attaching ``[i]`` to the part before."""
    flat: list[str] = []
    for part in parts:
        for piece in part.split("."):
            if piece == CURRENT_FIELD:
                continue
            if flat and piece.startswith("[") and piece.endswith("]"):
                flat[-1] += piece
            else:
                flat.append(piece)
    return ".".join(flat)


# knative's helpers (``apis.Err*``) -------------------------------------------------------------


def missing_field(*paths: str) -> FieldError:
    """``ErrMissingField``: ``missing field(s): <paths>``."""
    return FieldError(message="missing field(s)", paths=paths)


def disallowed_fields(*paths: str) -> FieldError:
    """``ErrDisallowedFields``: ``must not set the field(s): <paths>``."""
    return FieldError(message="must not set the field(s)", paths=paths)


def invalid_value(value: object, path: str, *details: str) -> FieldError:
    """``ErrInvalidValue``: ``invalid value: <value>: <path>`` (details joined with ``, ``)."""
    return FieldError(message=f"invalid value: {value}", paths=(path,), details=", ".join(details))


def invalid_array_value(value: object, name: str, index: int) -> FieldError:
    """``ErrInvalidArrayValue``: ``invalid value: <value>: <name>[<index>]``."""
    return invalid_value(value, CURRENT_FIELD).via_field_index(name, index)


def generic(diagnostic: str, *paths: str) -> FieldError:
    """``ErrGeneric``: any message; without paths it prints as ``<message>: ``."""
    return FieldError(message=diagnostic, paths=paths)


def missing_one_of(*paths: str) -> FieldError:
    """``ErrMissingOneOf``: ``expected exactly one, got neither: <paths>``."""
    return FieldError(message="expected exactly one, got neither", paths=paths)


def multiple_one_of(*paths: str) -> FieldError:
    """``ErrMultipleOneOf``: ``expected exactly one, got both: <paths>``."""
    return FieldError(message="expected exactly one, got both", paths=paths)


def invalid_key_name(key: str, path: str, *details: str) -> FieldError:
    """``ErrInvalidKeyName``: ``invalid key name "<key>": <path>``."""
    return FieldError(
        message=f"invalid key name {golang.quote(key)}", paths=(path,), details=", ".join(details)
    )


def immutable_field(original: object, current: object, path: str) -> FieldError | None:
    """kpack ``validate.ImmutableField``: ``Immutable field changed: <path>\\ngot: <new>, want: <old>``."""
    if original == current:
        return None
    return FieldError(
        message="Immutable field changed", paths=(path,), details=f"got: {current}, want: {original}"
    )
