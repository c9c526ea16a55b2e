"""The git poller: the fallback to webhooks, one ``git ls-remote`` per repository and period.

Every ``period`` seconds (kpack's 1 minute by default, lengthened by up to ``jitter`` of itself at
random so that workers and restarts do not poll in step) it lists the Images and their
SourceResolvers (two API requests however many Images there are), groups the Images following a
branch or tag by remote (:func:`services.sources.polling.followers`), lists each remote once —
at most ``concurrency`` at a time and at most ``per_second`` started per second, the global rate
limit — and publishes ``source.changed`` for each Image whose branch or tag moved
(:func:`~services.sources.polling.moved`). A remote that cannot be listed is logged and tried
again at the next poll; the others go on. Webhooks stay first: a push resolves at once, and the
poll that sees the same commit later publishes nothing (the resolver already records it).
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


@dataclasses.dataclass
class GitPoller:
    """Polls the git remotes Images follow."""

    cluster: ports.Cluster
    publisher: ports.Publisher
    ls_remote: ListRemote
    _: dataclasses.KW_ONLY
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
        gate = asyncio.Semaphore(self.concurrency)
        spacing = 1.0 / self.per_second if self.per_second > 0 else 0.0
        async with asyncio.TaskGroup() as tasks:
            started = [
                tasks.create_task(self._poll_remote(remote, following, gate=gate, delay=index * spacing))
                for index, (remote, following) in enumerate(grouped.items())
            ]
        published = sum(task.result() for task in started)
        self.polls += 1
        if published:
            logger.info("git poll: %d remote(s), %d image(s) moved", len(grouped), published)
        return published

    async def _poll_remote(
        self,
        remote: polling.Remote,
        following: list[polling.Follower],
        *,
        gate: asyncio.Semaphore,
        delay: float,
    ) -> int:
        await asyncio.sleep(delay)  # the global rate: listings start at most per_second apart
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
