"""The event log as users handle it: where a read starts, the saved form, one line per event, and
the pacing of a replay.

* **Start** (``--from``): ``first``, ``last`` (the last chunk the broker stored), ``next`` (only
  what arrives from now on), an offset number, or a time: RFC 3339 with a time zone, or a
  duration ago (``90s``, ``15m``, ``2h``, ``7d``). The broker finds a time's place in the stream
  to the second and by chunk, so a read from a time also leaves out the events observed before
  it (their CloudEvents ``time``); a read up to a time stops at the first event observed after it.
* **Saved form**: one CloudEvents 1.0 event per line in the structured JSON form, the context
  attributes beside ``data`` (the payload in camelCase) — what ``kiln events export`` writes and
  ``kiln replay`` reads back, with the ids unchanged so that the services' dedup holds.
* **Pacing**: a replay keeps the gaps between the events' times, divided by the speed (2: twice as
  fast), each gap at most ``max_gap`` seconds; no speed (``max``, or 0) publishes at once.

Pure: no I/O, no asyncio; the current time is a parameter.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from contracts import events, json_bounds

Start = int | str | datetime
"""Where a read of the stream starts, as the broker's ``x-stream-offset`` takes it."""
NAMED_STARTS = ("first", "last", "next")
MAX_LINE_BYTES = events.MAX_EVENT_BYTES + 4096
"""Longest saved line accepted: the largest event body plus its attributes."""
_AGO = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
SHORT_DATA = 72
"""Characters of payload a table line shows before it cuts with ``…``."""
_IN_SUBJECT = ("namespace", "name", "image", "kind")
"""Payload fields a table line leaves out when the subject already shows their value."""
TABLE_HEADER = f"{'OFFSET':>7}  {'TIME':<24}  {'TYPE':<27}  {'SUBJECT':<28}  {'ID':<36}  DATA"


def parse_start(text: str, *, now: datetime) -> Start:
    """The start named by ``--from``; :class:`ValueError` says what is accepted."""
    value = text.strip()
    if value in NAMED_STARTS:
        return value
    if value.isdigit():
        return int(value)
    try:
        return parse_time(value, now=now)
    except ValueError:
        raise ValueError(
            f"{text!r} is not first, last, next, an offset number, an RFC 3339 time with a time zone "
            "or a duration ago such as 15m"
        ) from None


def parse_time(text: str, *, now: datetime) -> datetime:
    """An RFC 3339 time with a time zone (``Z`` allowed), or a duration before ``now`` (``15m``)."""
    value = text.strip()
    ago = _AGO.match(value)
    if ago:
        return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 time or a duration such as 15m") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (add Z or an offset such as +02:00)")
    return parsed


def parse_speed(text: str) -> float | None:
    """The speed factor of ``--speed``: a positive number, or None for ``max`` and ``0`` (no pacing)."""
    value = text.strip().lower()
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a number or max") from None
    if math.isnan(speed) or speed < 0:
        raise ValueError(f"{text!r}: the speed is a factor of 0 or more (0 or max: as fast as possible)")
    return None if speed == 0 or math.isinf(speed) else speed


def to_line(event: events.Event[events.Payload]) -> str:
    """The saved form of ``event``: one line of structured CloudEvents JSON (no newline)."""
    return json.dumps({**event.attributes(), "data": event.data.model_dump(mode="json")})


def parse_line(text: str) -> events.Event[events.Payload]:
    """The event of one saved line; :class:`contracts.events.InvalidEventError` names what is wrong."""
    try:
        document = json_bounds.loads(text, max_bytes=MAX_LINE_BYTES)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise events.InvalidEventError(f"not JSON: {e}") from e
    except json_bounds.BoundsError as e:
        raise events.InvalidEventError(str(e)) from e
    if not isinstance(document, dict):
        raise events.InvalidEventError(f"a {type(document).__name__}, not a CloudEvents JSON object")
    attributes = dict(document)
    if "data" not in attributes:
        raise events.InvalidEventError("data: missing")
    data = attributes.pop("data")
    return events.parse(json.dumps(data), attributes=attributes)


@dataclasses.dataclass(frozen=True)
class Line:
    """One non-blank line of a saved log: its event, or why it is not one."""

    number: int
    """1-based line number in the file."""
    event: events.Event[events.Payload] | None
    problem: str = ""


def read_lines(lines: Iterable[str]) -> Iterator[Line]:
    """The lines of a saved log, parsed; blank lines are passed over."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            yield Line(number, parse_line(text))
        except events.InvalidEventError as e:
            yield Line(number, None, str(e))


def placement(
    event: events.Event[events.Payload], *, since: datetime | None, until: datetime | None
) -> Literal["before", "within", "after"]:
    """Where ``event``'s time falls against a read's ``--from`` and ``--to`` times."""
    if since is not None and event.time < since:
        return "before"
    if until is not None and event.time > until:
        return "after"
    return "within"


def table_line(event: events.Event[events.Payload], *, offset: int | None) -> str:
    """One aligned line: stream offset, time (UTC, milliseconds), type, subject, id, short data."""
    moment = event.time.astimezone(UTC)
    when = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    where = "" if offset is None else str(offset)
    return (
        f"{where:>7}  {when:<24}  {event.type:<27}  {event.subject:<28}  {event.id:<36}  {short_data(event)}"
    ).rstrip()


def short_data(event: events.Event[events.Payload], *, width: int = SHORT_DATA) -> str:
    """``key=value`` of the payload's set fields, less what the subject shows, cut to ``width``."""
    shown = event.subject.split("/")
    parts = [
        f"{key}={value}"
        for key, value in event.data.model_dump(mode="json").items()
        if value not in (None, "") and not (key in _IN_SUBJECT and value in shown)
    ]
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def schedule(times: Sequence[datetime], *, speed: float | None, max_gap: float | None = None) -> list[float]:
    """Seconds after the first publish at which each event is due.

    A gap is the time between an event and the one before it (none when the times go backwards),
    at most ``max_gap`` seconds, divided by ``speed``; no speed: every event is due at once."""
    if speed is None:
        return [0.0] * len(times)
    due: list[float] = []
    at = 0.0
    for previous, current in zip([*times[:1], *times], times, strict=False):
        gap = max(0.0, (current - previous).total_seconds())
        if max_gap is not None:
            gap = min(gap, max_gap)
        at += gap / speed
        due.append(at)
    return due


def due_batch(due: Sequence[float], *, start: int, elapsed: float, most: int) -> int:
    """The end (exclusive) of the batch to publish now: from ``start``, every event due by
    ``elapsed`` seconds, at most ``most``, and always at least the one at ``start``."""
    end = start + 1
    while end < len(due) and end - start < most and due[end] <= elapsed:
        end += 1
    return end
