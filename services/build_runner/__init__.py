"""The build runner's pure core: the build pod a Build needs.

* :mod:`.cache_args` — the cache argument matrix (none, volume, registry first build, registry
  with a pinned digest).
* :mod:`.secrets` — secret, cosign key and image-pull-secret arguments, volumes and mounts.
* :mod:`.bindings` — the Build's service and CNB bindings: resolved, checked, mounted.
* :mod:`.steps` — the init containers and the completion container.
* :mod:`.pods` — :func:`~.pods.render_pod`: the whole Pod manifest, or a rebase pod.
* :mod:`.notices` — the Kubernetes Event of a Build that fails before its pod.

Nothing here performs I/O or reads the clock: time is a parameter.
"""
