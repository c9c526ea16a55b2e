"""Objects that do not fit their model, as an old or schema-less cluster holds them: lists and watches
serve every other object and report the bad one once; a read of it names the field and the fix."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest

from services import errors
from services.kube import resources, watching
from services.testbed.emulator import Emulator
from tests.integration.kube import kube_support as support

SKIPS_LOGGER = "services.kube.parsing"
MISTYPED: dict[str, tuple[dict[str, Any], str, str]] = {
    # kind: (a merge into a valid object, the path at fault, the fix)
    "images": (
        {"spec": {"imageTaggingStrategy": "buildNumber"}},
        "spec.imageTaggingStrategy",
        "must be one of",
    ),
    "builds": ({"spec": {"tags": "registry.example/app"}}, "spec.tags", "must be a list"),
    "builders": ({"spec": "registry.example/builder"}, "spec", "must be an object"),
    "cluster_builders": ({"spec": ["registry.example/builder"]}, "spec", "must be an object"),
    "source_resolvers": (
        {"spec": {"source": {"git": {"url": 42}}}},
        "spec.source.git.url",
        "must be a string",
    ),
}


def _merged(raw: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(raw)
    for key, value in patch.items():
        merged[key] = _merged(merged.get(key) or {}, value) if isinstance(value, dict) and value else value
    return merged


def _seed_mistyped(emulator: Emulator, kube: resources.Kube, kind: str, namespace: str) -> dict[str, Any]:
    """A mistyped object of ``kind`` stored directly, as a cluster without Kiln's schema keeps it."""
    resource = support.resource(kube, kind)
    valid = support.dump(support.FACTORIES[kind]("mistyped", namespace))
    plural = resource.endpoint.plural  # type: ignore[attr-defined]
    return emulator.create(_merged(valid, MISTYPED[kind][0]), resource=plural, namespace=namespace)


def _name(obj: Any) -> str:
    return str(support.meta_of(obj)["name"])


def _skips(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == SKIPS_LOGGER and r.levelno == logging.WARNING and name in r.getMessage()
    ]


@pytest.mark.parametrize("kind", sorted(MISTYPED))
async def test_a_list_serves_every_other_object_and_reports_the_mistyped_one_once(
    kube: resources.Kube, emulator: Emulator, namespace: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=SKIPS_LOGGER)
    resource, make = support.resource(kube, kind), support.FACTORIES[kind]
    bad = _seed_mistyped(emulator, kube, kind, namespace)
    good = await resource.create(make("valid", namespace))
    scope = namespace if resource.endpoint.namespaced else None

    listed = await resource.list(namespace=scope)
    listing = await resource.list_with_version(namespace=scope)

    names = {_name(o) for o in listed}
    assert _name(good) in names
    assert _name(bad) not in names
    [unparsed] = [u for u in listing.unparsed if u.name == _name(bad)]
    _, path, fix = MISTYPED[kind]
    assert path in unparsed.message
    assert fix in unparsed.message
    [warning] = _skips(caplog, _name(bad))
    assert path in warning.getMessage()


@pytest.mark.parametrize("kind", sorted(MISTYPED))
async def test_reading_a_mistyped_object_names_the_field_and_carries_the_raw_object(
    kube: resources.Kube, emulator: Emulator, namespace: str, kind: str
) -> None:
    resource = support.resource(kube, kind)
    bad = _seed_mistyped(emulator, kube, kind, namespace)
    md = support.meta_of(bad)

    with pytest.raises(errors.UnparseableError) as raised:
        await resource.get(md["name"], namespace=md.get("namespace", ""))

    _, path, fix = MISTYPED[kind]
    assert path in raised.value.problems
    assert fix in raised.value.problems
    assert raised.value.raw["metadata"]["uid"] == md["uid"]
    assert isinstance(raised.value, errors.InvalidError)


async def test_a_watch_goes_on_past_a_mistyped_object_and_hands_its_changes_to_on_unparsed(
    kube: resources.Kube, emulator: Emulator, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=SKIPS_LOGGER)
    bad = _seed_mistyped(emulator, kube, "images", namespace)
    await kube.images.create(support.image("before", namespace))
    unparsed: list[tuple[str, str]] = []

    def on_unparsed(event: watching.WatchEvent[Any]) -> None:
        unparsed.append((event.type, event.object.name))

    events = kube.images.watch(namespace=namespace, on_unparsed=on_unparsed)
    async with contextlib.aclosing(events):
        first = await asyncio.wait_for(anext(events), timeout=5)
        raw_images = kube.custom_objects(support.KPACK, "images")
        await raw_images.patch("mistyped", {"metadata": {"labels": {"seen": "again"}}}, namespace=namespace)
        await kube.images.create(support.image("after", namespace))
        second = await asyncio.wait_for(anext(events), timeout=5)
        await kube.images.delete("mistyped", namespace=namespace)
        await kube.images.create(support.image("last", namespace))
        third = await asyncio.wait_for(anext(events), timeout=5)

    assert [(e.type, e.object.name) for e in (first, second, third)] == [
        ("ADDED", "before"),
        ("ADDED", "after"),
        ("ADDED", "last"),
    ]
    assert unparsed == [("ADDED", _name(bad)), ("MODIFIED", _name(bad)), ("DELETED", _name(bad))]
    assert len(_skips(caplog, _name(bad))) == 1, "reported once, not on every event"


async def test_follow_is_not_restarted_by_a_mistyped_object(
    kube: resources.Kube, emulator: Emulator, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    _seed_mistyped(emulator, kube, "builds", namespace)
    seen: list[str] = []
    arrived = asyncio.Event()

    def handle(event: watching.WatchEvent[Any]) -> None:
        seen.append(event.object.name)
        if event.object.name == "after":
            arrived.set()

    following = asyncio.create_task(
        watching.follow(kube.builds, handle=handle, namespace=namespace, restart_delay=0.05)
    )
    try:
        await kube.builds.create(support.build("after", namespace))
        await asyncio.wait_for(arrived.wait(), timeout=5)
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following

    assert seen == ["after"]
    restarts = [r for r in caplog.records if r.name == watching.__name__ and r.levelno >= logging.WARNING]
    assert restarts == []


@pytest.mark.parametrize(
    ("merge", "message"),
    [
        pytest.param(
            {"spec": {"imageTaggingStrategy": "buildNumber"}},
            'spec.imageTaggingStrategy: Unsupported value: "buildNumber": supported values: "None", "BuildNumber", ""',
            id="an-unknown-tagging-strategy",
        ),
        pytest.param(
            {"spec": {"builder": {"name": 42}}},
            'spec.builder.name: Invalid value: "integer": spec.builder.name in body must be of type string: "integer"',
            id="a-number-for-the-builder-name",
        ),
    ],
)
async def test_the_api_refuses_a_mistyped_image_naming_the_field_as_kiln_s_crd_schema_does(
    kube: resources.Kube, namespace: str, merge: dict[str, Any], message: str
) -> None:
    raw_images = kube.custom_objects(support.KPACK, "images")
    valid = await raw_images.create(support.image("typed", namespace).dump())

    with pytest.raises(errors.InvalidError) as created:
        await raw_images.create(_merged(support.image("mistyped", namespace).dump(), merge))
    with pytest.raises(errors.InvalidError) as patched:
        await raw_images.patch("typed", merge, namespace=namespace)

    assert message in str(created.value)
    assert message in str(patched.value)
    assert (await kube.images.get("typed", namespace=namespace)).metadata.uid == valid["metadata"]["uid"]


async def test_a_status_write_to_an_image_stored_before_the_schema_refused_it_is_let_through(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    _seed_mistyped(emulator, kube, "images", namespace)
    raw_images = kube.custom_objects(support.KPACK, "images")

    written = await kube.images.patch_status_raw(
        "mistyped", {"status": {"observedGeneration": 1}}, namespace=namespace
    )
    with pytest.raises(errors.InvalidError, match=r"spec\.tag"):
        await raw_images.patch("mistyped", {"spec": {"tag": 7}}, namespace=namespace)

    assert written["status"] == {"observedGeneration": 1}
    assert written["spec"]["imageTaggingStrategy"] == "buildNumber"
