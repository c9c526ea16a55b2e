"""Adversarial Images through the API of a whole running Kiln: what the CRD schema refuses is a 4xx
naming the field; what it admits but Kiln refuses is ``Ready=False`` naming the field; a valid
event about an Image that does not exist is taken and dropped; and a valid Image applied after
all of them builds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aio_pika
import pytest

from services.broker import settings as broker_settings
from services.broker import topology
from services.testbed import badinput

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration


async def test_bad_images_are_refused_or_not_ready_naming_the_field_and_a_valid_image_still_builds(
    run: Run,
) -> None:
    inputs = badinput.bad_images(run.image("registry-cache"))

    outcomes = await badinput.try_bad_resources(
        run.sb.emulator.base_url, namespace=run.namespace, inputs=inputs, within=10.0
    )
    ended = {outcome.name: (outcome.ended, outcome.detail) for outcome in outcomes}

    assert badinput.unhandled(outcomes) == [], ended
    assert ended["a tag of the wrong type"][0] == "refused"
    assert "spec.tag" in ended["a tag of the wrong type"][1]
    assert ended["a name of 254 characters"][0] == "refused"
    assert "metadata.name" in ended["a name that is not a DNS subdomain"][1]
    own_tag = ended["a cache tag that is the image's own tag"]
    assert own_tag[0] == "condition", own_tag
    assert "spec.cache.registry.tag" in own_tag[1], own_tag

    await run.sb.apply(run.image("registry-cache"))
    [build] = await run.wait_finished(1)
    assert build.succeeded()


async def test_events_about_an_image_that_does_not_exist_are_dropped_and_bad_ones_dead_lettered(
    run: Run,
) -> None:
    settings = broker_settings.BrokerSettings(prefix=run.sb.prefix)
    names = topology.Names(settings)
    [reconciler] = [s for s in topology.SERVICES if s.name == "image-reconciler"]
    connection = await aio_pika.connect(settings.url.get_secret_value())
    try:
        inputs = badinput.bad_events(namespace=run.namespace, name="does-not-exist")
        outcomes = await badinput.try_bad_events(
            connection, settings=settings, queue=names.queues(reconciler)[0], inputs=inputs
        )
    finally:
        await connection.close()
    ended = {outcome.name: outcome for outcome in outcomes}

    assert badinput.unhandled(outcomes) == []
    assert ended.pop("a valid event about an Image that does not exist").ended == "ignored"
    assert {outcome.ended for outcome in ended.values()} == {"dead-letter"}

    await run.sb.apply(run.image("registry-cache"))
    [build] = await run.wait_finished(1)
    assert build.succeeded()
