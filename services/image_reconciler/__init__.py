"""The kpack Image reconcile as pure decisions (spec §4).

``reconcile.plan`` takes what was observed (Image, Builder, SourceResolver, Builds, cache PVC, the
newest running Build's pod) and ``now``, with the pushed revision when the reconcile is for a git
push, and returns a ``ReconcilePlan``: the rebuild decision (``changes``), the cache PVC action
(``cache_volumes``), the SourceResolver action and the status to write on it (``resolvers``, with
``resolving``'s rules for pushes), the Build to create (``next_build``), the running Build to
announce again, the builds to delete (``history``) and the Image status to write (``statuses``).
``notices`` says the Kubernetes Event of a Build it created (``BuildScheduled``).
Nothing here performs I/O or reads the clock; ``service`` performs the plan.
"""
