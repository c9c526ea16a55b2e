"""Where a process's memory goes: ``GET /debug/memory`` on the admin endpoint.

Served when Python traces its allocations (``PYTHONTRACEMALLOC=N`` in the process's environment,
N frames kept per allocation; tracing costs CPU and memory, so it is for a diagnosis, never on by
default). The answer is JSON: the traced total, the process's resident set, and the allocation
sites holding the most, grouped by line (``?by=lineno``, the default), by file (``?by=filename``)
or by the whole kept stack (``?by=traceback``); ``?top=N`` sites (25).

    PYTHONTRACEMALLOC=8 KILN_ADMIN_PORT=8081 kiln run image-reconciler &
    curl -s '127.0.0.1:8081/debug/memory?by=traceback&top=10'
"""

from __future__ import annotations

import resource
import tracemalloc
from typing import Any

from aiohttp import web

GROUPINGS = ("lineno", "filename", "traceback")


def add_routes(app: web.Application) -> None:
    """Serve ``/debug/memory`` on ``app`` when allocations are traced."""
    if tracemalloc.is_tracing():
        app.router.add_get("/debug/memory", _memory)


async def _memory(request: web.Request) -> web.Response:
    by = request.query.get("by", "lineno")
    if by not in GROUPINGS:
        raise web.HTTPBadRequest(text=f"by={by!r}: expected one of {', '.join(GROUPINGS)}")
    try:
        top = int(request.query.get("top", "25"))
    except ValueError:
        raise web.HTTPBadRequest(text="top: expected a whole number of sites") from None
    return web.json_response(held(by=by, top=top))


def held(*, by: str, top: int) -> dict[str, Any]:
    """The traced total and the ``top`` allocation sites by ``by`` (what ``/debug/memory`` answers)."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        (
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        )
    )
    stats = snapshot.statistics(by)
    traced, peak = tracemalloc.get_traced_memory()
    return {
        "traced_mib": round(traced / 2**20, 1),
        "traced_peak_mib": round(peak / 2**20, 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "sites": [
            {
                "mib": round(stat.size / 2**20, 2),
                "blocks": stat.count,
                "where": [f"{frame.filename}:{frame.lineno}" for frame in stat.traceback],
            }
            for stat in stats[:top]
        ],
    }
