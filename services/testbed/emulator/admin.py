"""Admin paths under ``/_emulator`` for tests in other processes and for people poking at it.

* ``GET|POST|DELETE /_emulator/faults`` — list, add (JSON fields of `faults.Fault`), clear;
* ``GET|DELETE /_emulator/answers`` — the responses so far by status code, verb and resource
  (:mod:`.answers`), or start counting again;
* ``POST /_emulator/compact`` — forget the watch history (older resume versions get 410);
* ``GET /_emulator/healthz`` — ``ok``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from services.testbed.emulator import faults, server


async def list_faults(request: web.Request) -> web.Response:
    rules = request.app[server.CONTEXT].faults.active()
    return server.respond({"faults": [rule.as_dict() for rule in rules]})


async def add_fault(request: web.Request) -> web.Response:
    try:
        fields: Any = json.loads(await request.read() or b"{}")
        fields.pop("hits", None)
        rule = request.app[server.CONTEXT].faults.add(faults.Fault(**fields))
    except (ValueError, TypeError, AttributeError) as e:
        return server.respond({"error": str(e)}, status=400)
    return server.respond(rule.as_dict(), status=201)


async def clear_faults(request: web.Request) -> web.Response:
    request.app[server.CONTEXT].faults.clear()
    return server.respond({"faults": []})


async def list_answers(request: web.Request) -> web.Response:
    tally = request.app[server.CONTEXT].answers.tally()
    return server.respond({"answers": tally.as_list()})


async def clear_answers(request: web.Request) -> web.Response:
    request.app[server.CONTEXT].answers.clear()
    return server.respond({"answers": []})


async def compact(request: web.Request) -> web.Response:
    objects = request.app[server.CONTEXT].store
    objects.compact()
    return server.respond({"compactedTo": str(objects.resource_version)})


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_emulator/faults", list_faults)
    app.router.add_post("/_emulator/faults", add_fault)
    app.router.add_delete("/_emulator/faults", clear_faults)
    app.router.add_get("/_emulator/answers", list_answers)
    app.router.add_delete("/_emulator/answers", clear_answers)
    app.router.add_post("/_emulator/compact", compact)
    app.router.add_get("/_emulator/healthz", healthz)
