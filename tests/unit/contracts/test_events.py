"""The event contracts: round trips, deterministic ids, errors that name the field, the schema file."""

from __future__ import annotations

import json
import pathlib
import re
from datetime import UTC, datetime
from typing import ClassVar

import pydantic
import pytest

from contracts import builds, events

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DIGEST = "registry.example/cache@sha256:" + "a" * 64
COMMIT = "3f786850e387550fdab836ed7e6dc881de23001b"
SCHEMA_FILE = pathlib.Path(__file__).parents[3] / "contracts" / "schemas" / "events.json"

PAYLOADS: list[events.Payload] = [
    events.ImageChanged(namespace="ns", name="app", generation=3, resource_version="17"),
    events.BuilderChanged(kind="Builder", namespace="ns", name="builder"),
    events.BuilderChanged(kind="ClusterBuilder", namespace="", name="default"),
    events.SourceChanged(namespace="ns", image="app", url="https://git.example/app.git", revision=COMMIT),
    events.BuildScheduled(namespace="ns", image="app", build="app-build-1"),
    events.BuildFinished(
        namespace="ns", image="app", build="app-build-1", outcome="Failed", pod="app-build-1-pod"
    ),
    events.CacheDigestUpdated(
        namespace="ns",
        image="app",
        build="app-build-1",
        build_number=1,
        cache_tag="registry.example/cache:app",
        latest_cache_image=DIGEST,
    ),
    events.CacheDigestUpdated(
        namespace="ns",
        image="app",
        build="app-build-2",
        build_number=2,
        cache_tag="r/c:t",
        latest_cache_image="",
    ),
    events.SourceChanged(
        namespace="ns",
        image="app",
        url="https://git.example/app.git",
        revision="c" * 64,
        before="d" * 64,
        delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958",
    ),
    events.BuildScheduled(namespace="ns", build="direct"),
    events.BuildFinished(namespace="ns", build="direct", outcome="Succeeded", pod="direct-build-pod"),
    events.BuildCancelRequested(namespace="ns", image="app", build="app-build-2"),
    events.StormBuildScheduled(namespace="ns", image="app", build="app-build-3"),
    events.StormImageChanged(namespace="ns", name="app", builder_version="42"),
    events.ImageChanged(namespace="ns", name="app", build="app-build-3", build_version="17"),
    events.BuildFinished(
        namespace="ns",
        image="app",
        build="app-build-3",
        outcome="Failed",
        pod="app-build-3-build-pod",
        pod_status={"phase": "Failed", "initContainerStatuses": [{"name": "prepare", "state": {}}]},
    ),
    events.SourceImagePushed(
        namespace="ns", image="app", reference="reg.io/src:v1", pushed="reg.io/src@sha256:" + "a" * 64
    ),
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: f"a {type(p).__name__} survives the wire")
def test_an_event_survives_body_and_attributes(payload: events.Payload) -> None:
    event = events.new(payload, source="/kiln/test", time=NOW, discriminator="1")

    parsed = events.parse(event.body(), attributes=event.attributes())

    assert parsed == event
    assert type(parsed.data) is type(payload)


def test_every_type_has_a_payload_model_named_after_it() -> None:
    assert set(events.TYPES) == {
        "kiln.image.changed",
        "kiln.image.changed.storm",
        "kiln.builder.changed",
        "kiln.builder.input.changed",
        "kiln.builder.outdated",
        "kiln.source.changed",
        "kiln.build.scheduled",
        "kiln.build.finished",
        "kiln.build.cancel.requested",
        "kiln.cache.digest.updated",
        "kiln.source.image.pushed",
        "kiln.build.scheduled.storm",
    }
    assert all(model.event_type == name for name, model in events.TYPES.items())


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (events.ImageChanged(namespace="ns", name="app"), "ns/app"),
        (
            events.BuildFinished(namespace="ns", image="app", build="b", outcome="Succeeded", pod="p"),
            "ns/app",
        ),
        (events.BuildCancelRequested(namespace="ns", image="app", build="b"), "ns/app"),
        (events.BuildScheduled(namespace="ns", build="b"), "Build/ns/b"),
        (events.BuildFinished(namespace="ns", build="b", outcome="Failed", pod="p"), "Build/ns/b"),
        (events.BuildCancelRequested(namespace="ns", build="b"), "Build/ns/b"),
        (events.BuilderChanged(kind="Builder", namespace="ns", name="b"), "Builder/ns/b"),
        (events.BuilderChanged(kind="ClusterBuilder", namespace="", name="b"), "ClusterBuilder/b"),
        (events.BuilderOutdated(kind="Builder", namespace="ns", name="b"), "Builder/ns/b"),
        (events.BuilderOutdated(kind="ClusterBuilder", namespace="", name="b"), "ClusterBuilder/b"),
        (events.BuilderInputChanged(kind="ClusterStack", name="base"), "ClusterStack/base"),
        (events.BuilderInputChanged(kind="Buildpack", namespace="ns", name="go"), "Buildpack/ns/go"),
    ],
    ids=[
        "an image event is keyed by its image",
        "a build event is keyed by its image",
        "a cancellation is keyed as the build's finish",
        "a build of no image is scheduled under its own key",
        "a build of no image finishes under its own key",
        "a build of no image is canceled under its own key",
        "a builder",
        "a cluster builder",
        "an outdated builder is keyed as its builder",
        "an outdated cluster builder is keyed as its builder",
        "a cluster-scoped builder input by kind and name",
        "a buildpack by kind, namespace and name",
    ],
)
def test_the_subject_is_the_ordering_key(payload: events.Payload, key: str) -> None:
    assert events.new(payload, source="/s", time=NOW, discriminator="1").subject == key


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "Buildpack", "namespace": "", "name": "go"},
        {"kind": "ClusterStack", "namespace": "ns", "name": "base"},
        {"kind": "Builder", "namespace": "ns", "name": "base"},
    ],
    ids=["a buildpack without its namespace", "a cluster stack with a namespace", "a kind that is no input"],
)
def test_a_builder_input_event_names_its_object_as_its_kind_is_scoped(fields: dict[str, str]) -> None:
    with pytest.raises(pydantic.ValidationError):
        events.BuilderInputChanged(**fields)  # type: ignore[arg-type]


def test_an_outdated_builder_names_its_namespace_as_its_kind_is_scoped() -> None:
    with pytest.raises(pydantic.ValidationError):
        events.BuilderOutdated(kind="ClusterBuilder", namespace="ns", name="b")


def test_the_id_is_deterministic_and_depends_on_the_discriminator() -> None:
    payload = events.ImageChanged(namespace="ns", name="app")

    first = events.new(payload, source="/a", time=NOW, discriminator="17")
    again = events.new(payload, source="/b", time=datetime(2030, 1, 1, tzinfo=UTC), discriminator="17")
    later = events.new(payload, source="/a", time=NOW, discriminator="18")

    assert first.id == again.id == events.event_id("kiln.image.changed", subject="ns/app", discriminator="17")
    assert later.id != first.id


def test_the_payload_is_camel_case_json() -> None:
    payload = PAYLOADS[6]

    assert json.loads(payload.model_dump_json()) == {
        "namespace": "ns",
        "image": "app",
        "build": "app-build-1",
        "buildNumber": 1,
        "cacheTag": "registry.example/cache:app",
        "latestCacheImage": DIGEST,
    }


def _attributes(event_type: str, subject: str = "ns/app") -> dict[str, object]:
    return {"id": "1", "source": "/s", "type": event_type, "subject": subject, "time": NOW.isoformat()}


def _source_changed(**fields: str) -> bytes:
    return json.dumps(
        {"namespace": "ns", "image": "app", "url": "https://git.example/app", **fields}
    ).encode()


@pytest.mark.parametrize(
    ("body", "attributes", "message"),
    [
        (b'{"namespace": "ns"}', _attributes("kiln.image.changed"), "data.name: Field required"),
        (
            b'{"namespace": "ns", "name": "app", "colour": "red"}',
            _attributes("kiln.image.changed"),
            "data.colour: Extra inputs are not permitted",
        ),
        (
            b'{"namespace":"ns","image":"app","build":"b","buildNumber":1,"cacheTag":"t","latestCacheImage":"x:1"}',
            _attributes("kiln.cache.digest.updated"),
            "data.latestCacheImage: String should match pattern",
        ),
        (
            b'{"namespace": "ns", "image": "app", "build": "b", "outcome": "Done", "pod": "p"}',
            _attributes("kiln.build.finished"),
            "data.outcome: Input should be 'Succeeded' or 'Failed'",
        ),
        (
            b'{"namespace": "ns", "name": "app"}',
            _attributes("kiln.image.exploded"),
            "type: unknown event type",
        ),
        (b"{not json", _attributes("kiln.image.changed"), "data: not JSON"),
        (b"\xff\xfe", _attributes("kiln.image.changed"), "data: not JSON"),
        (
            b'{"namespace": "ns", "name": "app"}',
            {**_attributes("kiln.image.changed"), "time": "noon"},
            "time: ",
        ),
        (b'{"namespace": "ns", "name": "app"}', {**_attributes("kiln.image.changed"), "id": ""}, "id: "),
        (
            b'{"namespace": "ns", "name": "app"}',
            _attributes("kiln.image.changed", subject="ns/other"),
            "subject 'ns/other' does not match the payload's key 'ns/app'",
        ),
        (
            b'{"kind": "ClusterBuilder", "namespace": "ns", "name": "b"}',
            _attributes("kiln.builder.changed", subject="ClusterBuilder/b"),
            "namespace must be '' for a ClusterBuilder",
        ),
        (
            _source_changed(revision="not-a-sha"),
            _attributes("kiln.source.changed"),
            "data.revision: String should match pattern",
        ),
        (
            _source_changed(revision="A" * 40),
            _attributes("kiln.source.changed"),
            "data.revision: String should match pattern",
        ),
        (
            _source_changed(revision=COMMIT, before="main"),
            _attributes("kiln.source.changed"),
            "data.before: String should match pattern",
        ),
        (
            b'{"namespace": "ns", "name": "app"}',
            {**_attributes("kiln.image.changed"), "id": 42},
            "id: 42 is a int; event attributes are strings",
        ),
        (
            b'{"namespace": "ns", "name": "app"}',
            {**_attributes("kiln.image.changed"), "time": 1714564800},
            "time: 1714564800 is a int; event attributes are strings",
        ),
        (
            b"[" * 10_000 + b"]" * 10_000,
            _attributes("kiln.image.changed"),
            "data: arrays and objects nested more than 64 levels deep",
        ),
        (
            b'{"namespace": "ns", "name": "app", "generation": ' + b"1" * 5000 + b"}",
            _attributes("kiln.image.changed"),
            "data: a number too long to convert",
        ),
        (
            b'{"namespace": "ns", "name": "' + b"a" * events.MAX_EVENT_BYTES + b'"}',
            _attributes("kiln.image.changed"),
            f"bytes, more than the {events.MAX_EVENT_BYTES} accepted",
        ),
    ],
    ids=[
        "a missing field is named",
        "an unknown field is named",
        "a cache image that is not a digest reference is named",
        "an unknown outcome is named",
        "an unknown type is refused",
        "a body that is not JSON is refused",
        "a body that is not UTF-8 is refused",
        "a time that is not RFC 3339 is named",
        "an empty id is named",
        "a subject that is not the key is refused",
        "a cluster builder with a namespace is refused",
        "a source.changed whose revision is not a commit is refused",
        "a source.changed whose revision is a commit in capitals is refused",
        "a source.changed whose before is not a commit is refused",
        "an integer id is refused, not turned into a string",
        "an integer time is refused, not read as a Unix time",
        "a body nested ten thousand levels deep is refused before it is parsed",
        "a number too long to convert is refused",
        "a body over the size bound is refused before it is parsed",
    ],
)
def test_an_invalid_event_is_refused_naming_the_field(
    body: bytes, attributes: dict[str, object], message: str
) -> None:
    with pytest.raises(events.InvalidEventError, match=re.escape(message)):
        events.parse(body, attributes=attributes)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="time"):
        events.new(
            events.ImageChanged(namespace="ns", name="app"),
            source="/s",
            time=datetime(2024, 1, 1),
            discriminator="1",
        )


def test_models_are_frozen() -> None:
    payload = events.ImageChanged(namespace="ns", name="app")

    with pytest.raises(pydantic.ValidationError, match="frozen"):
        payload.name = "other"  # type: ignore[misc]


def test_every_field_is_documented() -> None:
    for model in (events.Event, *events.TYPES.values()):
        undocumented = [name for name, field in model.model_fields.items() if not field.description]
        assert not undocumented, f"{model.__name__}: {undocumented}"


def test_the_committed_schema_is_the_generated_one() -> None:
    committed = json.loads(SCHEMA_FILE.read_text())

    assert committed == events.json_schema(), (
        "regenerate: python -m contracts.events > contracts/schemas/events.json"
    )


def test_the_schema_has_one_branch_per_type_with_its_payload() -> None:
    schema = events.json_schema()

    mapping = schema["discriminator"]["mapping"]
    assert set(mapping) == set(events.TYPES)
    for event_type, model in events.TYPES.items():
        branch = schema["$defs"][mapping[event_type].removeprefix("#/$defs/")]
        assert branch["properties"]["type"]["const"] == event_type
        assert branch["properties"]["data"]["$ref"] == f"#/$defs/{model.__name__}"
        assert set(branch["required"]) >= {"id", "source", "type", "subject", "time", "data"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"subject": "ns/other"}, "subject 'ns/other' does not match", id="another subject"),
        pytest.param(
            {"type": "kiln.build.finished"},
            "type 'kiln.build.finished' does not match a ImageChanged payload",
            id="another type",
        ),
    ],
)
def test_an_event_built_in_code_must_agree_with_its_payload(change: dict[str, str], message: str) -> None:
    good = events.new(
        events.ImageChanged(namespace="ns", name="app"), source="/kiln/tests", time=NOW, discriminator="1"
    )

    with pytest.raises(pydantic.ValidationError, match=re.escape(message)):
        events.Event[events.ImageChanged].model_validate({**good.model_dump(), **change})


def test_a_payload_type_must_say_what_its_ordering_key_is() -> None:
    class Keyless(events.Payload):
        event_type: ClassVar[str] = "kiln.keyless"

    with pytest.raises(NotImplementedError):
        _ = Keyless().key


def test_the_module_s_main_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    events.main()

    assert json.loads(capsys.readouterr().out) == json.loads(SCHEMA_FILE.read_text())


@pytest.mark.parametrize(
    ("reason", "storm"),
    [
        ("STACK", True),
        ("BUILDPACK,LIFECYCLE", True),
        ("COMMIT,STACK", False),
        ("CONFIG", False),
        ("TRIGGER", False),
        ("", False),
    ],
    ids=[
        "a stack change",
        "builder changes only",
        "a commit among them",
        "config",
        "a trigger",
        "no reason (a Build made directly)",
    ],
)
def test_a_storm_build_is_scheduled_on_the_storm_lane(reason: str, storm: bool) -> None:
    build = builds.Build.model_validate(
        {
            "metadata": {
                "name": "app-build-2",
                "namespace": "ns",
                "labels": {builds.IMAGE_LABEL: "app"},
                "annotations": {builds.REASON_ANNOTATION: reason} if reason else {},
            }
        }
    )

    scheduled = events.build_scheduled(build)

    assert build.storm() is storm
    assert type(scheduled) is (events.StormBuildScheduled if storm else events.BuildScheduled)
    assert (scheduled.namespace, scheduled.image, scheduled.build) == ("ns", "app", "app-build-2")
