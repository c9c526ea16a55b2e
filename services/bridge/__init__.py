"""The bridge service: Kubernetes watches (and a periodic resync) turned into events."""
