"""Test and sandbox infrastructure: real outside systems started locally (registry, token server)."""
