"""What ``kiln sandbox`` prints about each finished build: JSON lines or a table row."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from contracts import builds


def build_report(
    build: builds.Build, *, cache_args: dict[str, list[str]], registry: str, rebase: bool = False
) -> dict[str, Any]:
    """One finished build as the sandbox reports it; ``rebase``: its pod ran kpack's rebase step
    alone (a STACK-only rebuild)."""
    succeeded = build.status.condition("Succeeded")
    return {
        "name": build.name,
        "namespace": build.namespace,
        "buildNumber": build.build_number(),
        "reason": build.reason(),
        "rebase": rebase,
        "succeeded": succeeded.status if succeeded else "Unknown",
        "message": (succeeded.message if succeeded else None) or "",
        "cacheArgs": cache_args,
        "latestImage": build.status.latest_image or "",
        "latestCacheImage": build.status.latest_cache_image or "",
        "runImage": build.status.stack.run_image if build.status.stack else "",
        "registry": registry,
    }


class Reporter:
    """Prints reports as JSON lines (``json``) or as rows of a table (``table``)."""

    def __init__(self, *, output: str, console: Console | None = None) -> None:
        self.output = output
        self.console = console or Console(highlight=False)

    def report(self, report: dict[str, Any]) -> None:
        if self.output == "json":
            print(json.dumps(report), flush=True)
            return
        table = Table(show_header=report["buildNumber"] == 1, box=None)
        for column in ("build", "reason", "ok", "analyze/restore read", "export writes", "cache digest"):
            table.add_column(column)
        read = (report["cacheArgs"].get("restore") or ["-"])[0]
        written = (report["cacheArgs"].get("export") or ["-"])[0]
        digest = report["latestCacheImage"].rpartition("@")[2][:19] or "-"
        table.add_row(report["name"], report["reason"], report["succeeded"], read, written, digest)
        self.console.print(table)
