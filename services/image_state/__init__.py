"""The image-state service: records, on each Build, how it ended and which cache digest it wrote.

Its pure core:

* :mod:`.build_status` — the Build status a pod implies, read with the completion container's
  termination message (:mod:`contracts.completion`).
* :mod:`.cache_digests` — which cache image to confirm in the registry, what to announce once a
  build is recorded, and the rule that a digest a Build records is never replaced.
* :mod:`.outcomes` — the Kubernetes Events of an outcome recorded and what the build metrics count.

:mod:`.service` performs the reads and writes. Nothing else here performs I/O or reads the clock.
"""
