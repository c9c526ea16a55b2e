"""Registries for tests and the sandbox: throw-away ``docker-registry`` processes (htpasswd or bearer
token auth), the token server, and fake CNB builder images pushed to a real registry."""
