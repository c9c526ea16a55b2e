"""Kiln services: adapters to the broker, Kubernetes and the registry, and the services wired from them."""
