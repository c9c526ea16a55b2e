"""The kpack Image reconcile as pure decisions (spec §4).

``reconcile.plan`` takes what was observed (Image, Builder, SourceResolver, Builds, cache PVC) and
``now``, and returns a ``ReconcilePlan``: the rebuild decision (``changes``), the cache PVC action
(``cache_volumes``), the Build to create (``next_build``), the builds to delete (``history``) and the
Image status to write (``statuses``). Nothing here performs I/O or reads the clock.
"""
