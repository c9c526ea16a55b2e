"""Helpers every ``kiln`` command shares: reading input, printing output, failing clearly."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from services.cli import documents

OutputOption = Annotated[documents.Output, typer.Option("--output", "-o", help="yaml or json")]


def fail(messages: list[str] | str) -> NoReturn:
    """Invalid input: each message on its own line on stderr, exit 1."""
    for line in [messages] if isinstance(messages, str) else messages:
        typer.echo(line, err=True)
    raise typer.Exit(code=1)


def emit(docs: list[Any], *, output: documents.Output) -> None:
    sys.stdout.write(documents.render(docs, output=output))


def load(path: Path) -> list[dict[str, Any]]:
    try:
        return documents.load(path)
    except documents.DocumentError as e:
        fail(str(e))


def load_some(path: Path) -> list[dict[str, Any]]:
    """At least one document: a command that prints what it read has nothing to say about none."""
    docs = load(path)
    if not docs:
        fail(f"{path}: no documents")
    return docs


def load_one(path: Path) -> dict[str, Any]:
    try:
        return documents.load_one(path)
    except documents.DocumentError as e:
        fail(str(e))


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"not an RFC 3339 time: {value}", param_hint="--now") from None
    if parsed.tzinfo is None:
        raise typer.BadParameter(f"RFC 3339 time needs a time zone: {value}", param_hint="--now")
    return parsed
