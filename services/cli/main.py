"""``kiln``: validate, convert, plan and render kpack resources; run the services; the sandbox.

Exit codes: 0 success, 1 invalid input (one message per line on stderr), 2 usage errors; a command
that follows a build (``kiln logs --follow``, ``--wait``) exits 1 when the build did not end as
hoped.
"""

from __future__ import annotations

import typer

from services.cli import (
    chaos_commands,
    cluster_commands,
    core_commands,
    event_commands,
    log_commands,
    service_commands,
    status_commands,
)

app = typer.Typer(
    name="kiln",
    help="Kiln: kpack-compatible Cloud Native Buildpacks builds, driven by events over RabbitMQ.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
core_commands.register(app)
cluster_commands.register(app)
service_commands.register(app)
event_commands.register(app)
status_commands.register(app)
chaos_commands.register(app)
log_commands.register(app)
