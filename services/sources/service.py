"""The source poller: the fallback to webhooks, one ``git ls-remote`` per repository and period.

Every ``period`` seconds (kpack's 1 minute by default, lengthened by up to ``jitter`` of itself at
random so that workers and restarts do not poll in step) it lists the Images and their
SourceResolvers (two API requests however many Images there are), groups the Images following a
branch or tag by remote (:func:`services.sources.polling.followers`), lists each remote once —
at most ``concurrency`` at a time and at most ``per_second`` started per second, the global rate
limit — and publishes ``source.changed`` for each Image whose branch or tag moved
(:func:`~services.sources.polling.moved`). A remote that cannot be listed is logged and tried
again at the next poll; the others go on. Webhooks stay first: a push resolves at once, and the
poll that sees the same commit later publishes nothing (the resolver already records it).

Registry source tags are polled alike, under the same limits: each tag (as one service account
reads it) is resolved once per poll, and each Image whose resolver records another digest gets
``source.image.pushed`` (:func:`~services.sources.polling.tag_moved`); registry notifications
stay first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime

from contracts import events
from services import errors, ports
from services.sources import polling

logger = logging.getLogger(__name__)
SOURCE = "/kiln/sources"

ListRemote = Callable[[str, str, str], Awaitable[dict[str, str]]]
"""``ls_remote(url, namespace, service_account)``: the remote's references."""
FindDigest = Callable[[polling.SourceTag], Awaitable[str | None]]
"""The digest a registry source tag is at now, read as its service account reads it; None when
the tag is not there."""


@dataclasses.dataclass
class SourcePoller:
    """Polls the git remotes Images follow, and their registry source tags."""

    cluster: ports.Cluster
    publisher: ports.Publisher
    ls_remote: ListRemote
    _: dataclasses.KW_ONLY
    find_digest: FindDigest | None = None
    """Resolves registry source tags; None: they are not polled."""
    clock: Callable[[], datetime]
    period: float = 60.0
    jitter: float = 0.1
    concurrency: int = 8
    per_second: float = 20.0
    random: random.Random = dataclasses.field(default_factory=random.Random)
    polls: int = 0
    """Polls completed."""
    listings: int = 0
    """``git ls-remote`` calls made."""
    lookups: int = 0
    """Registry source tags resolved."""

    async def run(self) -> None:
        """Poll every period until cancelled."""
        while True:
            try:
                await self.poll()
            except errors.KilnError as e:
                logger.warning("git poll failed; the next one will try again: %s", e)
            await asyncio.sleep(self.period * (1 + self.jitter * self.random.random()))

    async def poll(self) -> int:
        """One poll of every remote; the number of ``source.changed`` published."""
        listed = await self.cluster.list_images()
        resolvers = await self.cluster.list_source_resolvers()
        grouped = polling.followers(listed, resolvers)
        tags = polling.tag_followers(listed, resolvers) if self.find_digest is not None else {}
        gate = asyncio.Semaphore(self.concurrency)
        spacing = 1.0 / self.per_second if self.per_second > 0 else 0.0
        polls = [
            *(self._poll_remote(remote, following, gate=gate) for remote, following in grouped.items()),
            *(self._poll_tag(tag, following, gate=gate) for tag, following in tags.items()),
        ]
        async with asyncio.TaskGroup() as tasks:
            started = [tasks.create_task(_after(index * spacing, one)) for index, one in enumerate(polls)]
        published = sum(task.result() for task in started)
        self.polls += 1
        if published:
            logger.info(
                "source poll: %d git remote(s), %d registry tag(s), %d image(s) moved",
                len(grouped),
                len(tags),
                published,
            )
        return published

    async def _poll_remote(
        self,
        remote: polling.Remote,
        following: list[polling.Follower],
        *,
        gate: asyncio.Semaphore,
    ) -> int:
        async with gate:
            try:
                self.listings += 1
                listing = await self.ls_remote(remote.url, remote.namespace, remote.service_account)
            except errors.KilnError as e:
                logger.warning("git poll of %s (%d image(s)): %s", remote.url, len(following), e)
                return 0
        changes = polling.moved(following, listing)
        now = self.clock()
        await self.publisher.publish_many(
            events.new(change, source=SOURCE, time=now, discriminator=f"poll:{change.revision}")
            for change in changes
        )
        return len(changes)

    async def _poll_tag(
        self, tag: polling.SourceTag, following: list[polling.TagFollower], *, gate: asyncio.Semaphore
    ) -> int:
        assert self.find_digest is not None  # tags are only grouped when there is one
        async with gate:
            try:
                self.lookups += 1
                digest = await self.find_digest(tag)
            except errors.KilnError as e:
                logger.warning("registry poll of %s (%d image(s)): %s", tag.reference, len(following), e)
                return 0
        changes = polling.tag_moved(following, digest)
        now = self.clock()
        await self.publisher.publish_many(
            events.new(change, source=SOURCE, time=now, discriminator=f"poll:{change.pushed}")
            for change in changes
        )
        return len(changes)


async def _after(delay: float, poll: Awaitable[int]) -> int:
    """``poll`` started ``delay`` seconds from now: the global rate, polls at most per_second apart."""
    await asyncio.sleep(delay)
    return await poll
