"""The event log as users handle it: ``--from`` and ``--to``, the saved JSON lines, the table lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contracts import events
from services.broker import event_log

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
IMAGE = events.new(
    events.ImageChanged(namespace="ns", name="app", generation=3),
    source="/kiln/tests",
    time=NOW + timedelta(microseconds=250_000),
    discriminator="1",
)
FINISHED = events.new(
    events.BuildFinished(
        namespace="ns", image="app", build="app-build-1", outcome="Failed", pod="app-build-1-pod"
    ),
    source="/kiln/tests",
    time=NOW,
    discriminator="app-build-1/Failed",
)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        pytest.param("first", "first", id="first is the start of the log"),
        pytest.param("last", "last", id="last is the last chunk"),
        pytest.param("next", "next", id="next is what arrives from now on"),
        pytest.param("42", 42, id="a number is a stream offset"),
        pytest.param(
            "2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC), id="an RFC 3339 time in UTC"
        ),
        pytest.param(
            "2024-05-01T12:00:00+02:00",
            datetime(2024, 5, 1, 10, tzinfo=UTC),
            id="an RFC 3339 time with an offset",
        ),
        pytest.param("15m", NOW - timedelta(minutes=15), id="a duration is that long before now"),
        pytest.param("2h", NOW - timedelta(hours=2), id="hours ago"),
        pytest.param("7d", NOW - timedelta(days=7), id="days ago"),
        pytest.param("90s", NOW - timedelta(seconds=90), id="seconds ago"),
    ],
)
def test_a_start_is_read(text: str, start: event_log.Start) -> None:
    assert event_log.parse_start(text, now=NOW) == start


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("2024-05-01T10:00:00", "not first, last, next", id="a time without a zone is refused"),
        pytest.param(
            "yesterday", "duration ago such as 15m", id="a word is refused, naming what is accepted"
        ),
        pytest.param("-3", "an offset number", id="a negative offset is refused"),
        pytest.param("15w", "RFC 3339 time", id="an unknown duration unit is refused"),
    ],
)
def test_a_start_that_means_nothing_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        event_log.parse_start(text, now=NOW)


def test_a_time_without_a_zone_is_refused_saying_so() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        event_log.parse_time("2024-05-01T10:00:00", now=NOW)


@pytest.mark.parametrize("event", [IMAGE, FINISHED], ids=["an image event", "a build event"])
def test_a_saved_line_reads_back_as_the_same_event(event: events.Event[events.Payload]) -> None:
    line = event_log.to_line(event)

    assert "\n" not in line
    assert event_log.parse_line(line) == event


def test_a_saved_line_is_structured_cloudevents_json() -> None:
    assert json.loads(event_log.to_line(IMAGE)) == {
        "specversion": "1.0",
        "id": IMAGE.id,
        "source": "/kiln/tests",
        "type": "kiln.image.changed",
        "subject": "ns/app",
        "time": "2024-05-01T12:00:00.250000+00:00",
        "datacontenttype": "application/json",
        "data": IMAGE.data.model_dump(mode="json"),
    }


def _saved(**changes: object) -> str:
    document = json.loads(event_log.to_line(IMAGE))
    document.update(changes)
    return json.dumps({key: value for key, value in document.items() if value is not None})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("{not json", "not JSON", id="a line that is not JSON"),
        pytest.param("[1, 2]", "a list, not a CloudEvents JSON object", id="a JSON array"),
        pytest.param(_saved(data=None), "data: missing", id="an event without data"),
        pytest.param(_saved(type="kiln.nothing"), "unknown event type", id="an unknown type"),
        pytest.param(
            _saved(subject="ns/other"), "does not match the payload's key", id="a subject not the key"
        ),
        pytest.param(_saved(id=7), "id: 7 is a int", id="an id that is not a string"),
        pytest.param(_saved(time="yesterday"), "time", id="a time that is not RFC 3339"),
        pytest.param(_saved(extra="x"), "extra", id="an attribute Kiln does not know"),
        pytest.param("x" * (event_log.MAX_LINE_BYTES + 1), "more than the", id="a line over the size bound"),
    ],
)
def test_an_invalid_line_is_refused_naming_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(events.InvalidEventError, match=message):
        event_log.parse_line(line)


def test_reading_a_saved_log_numbers_each_line_and_passes_over_blank_ones() -> None:
    lines = [event_log.to_line(IMAGE) + "\n", "\n", "garbage\n", "   \n", event_log.to_line(FINISHED)]

    read = list(event_log.read_lines(lines))

    assert [(line.number, line.event) for line in read] == [(1, IMAGE), (3, None), (5, FINISHED)]
    assert read[1].problem.startswith("not JSON")


@pytest.mark.parametrize(
    ("since", "until", "where"),
    [
        pytest.param(None, None, "within", id="no bounds: every event is within"),
        pytest.param(NOW + timedelta(seconds=1), None, "before", id="observed before --from: left out"),
        pytest.param(NOW, None, "within", id="observed at --from: within"),
        pytest.param(None, NOW, "after", id="observed after --to: the read stops"),
        pytest.param(None, NOW + timedelta(seconds=1), "within", id="observed before --to: within"),
    ],
)
def test_placement_against_from_and_to(since: datetime | None, until: datetime | None, where: str) -> None:
    assert event_log.placement(IMAGE, since=since, until=until) == where


def test_a_table_line_shows_offset_time_type_subject_id_and_short_data() -> None:
    line = event_log.table_line(FINISHED, offset=12)

    assert line.split() == [
        "12",
        "2024-05-01T12:00:00.000Z",
        "kiln.build.finished",
        "ns/app",
        FINISHED.id,
        "build=app-build-1",
        "outcome=Failed",
        "pod=app-build-1-pod",
    ]
    assert line.index("kiln.build.finished") == event_log.TABLE_HEADER.index("TYPE")
    assert line.index(FINISHED.id) == event_log.TABLE_HEADER.index("ID")


def test_a_table_line_shows_the_time_in_utc_to_the_millisecond() -> None:
    elsewhere = IMAGE.model_copy(update={"time": IMAGE.time.astimezone(timezone(timedelta(hours=2)))})

    assert "2024-05-01T12:00:00.250Z" in event_log.table_line(elsewhere, offset=None)


def test_short_data_leaves_out_what_the_subject_shows_and_unset_fields() -> None:
    assert event_log.short_data(IMAGE) == "generation=3"


def test_short_data_is_cut_to_its_width() -> None:
    text = event_log.short_data(FINISHED, width=20)

    assert text == "build=app-build-1 o…"
    assert len(text) == 20
