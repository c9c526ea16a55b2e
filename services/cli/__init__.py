"""``kiln``: the command line over Kiln's core and services."""
