"""``python -m services.cli``: the ``kiln`` command without the installed entry point."""

from services.cli.main import app

app()
