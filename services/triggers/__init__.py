"""The triggers service: git push webhooks and registry notifications turned into events.

Modules (import modules, not names):

* :mod:`~services.triggers.settings` — ``TriggersSettings`` (``KILN_TRIGGERS_*``);
* :mod:`~services.triggers.payloads` — the bodies providers send, as pydantic models;
* :mod:`~services.triggers.webhooks` — each provider's request authenticated and parsed (pure);
* :mod:`~services.triggers.matching` — the Images and builders a push affects, as events (pure);
* :mod:`~services.triggers.limits` — a token bucket per source, the webhooks' rate limit (pure);
* :mod:`~services.triggers.service` — ``Triggers``, the aiohttp application publishing them.

Wiring::

    triggers = service.Triggers(cluster, publisher, settings=settings.TriggersSettings())
    runner = web.AppRunner(triggers.app())
"""
