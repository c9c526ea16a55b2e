"""Wiring: the cluster adapter behind :class:`services.ports.Cluster`, and running services."""
