"""Source resolution as pure decisions (kpack's SourceResolver, spec §4): what a git revision
resolves to over a repository's advertised references.

Modules (import modules, not names):

* :mod:`~services.sources.git_refs` — ``resolve(listing, revision)`` → ``Resolution`` (kpack's
  Branch/Tag/Commit/Unknown rule, annotated tags peeled to their commit), ``unknown(revision)``.

The I/O lives in the adapter :mod:`services.git` (``ls_remote``, ``tree_id``, the ``kpack.io/git``
credentials); a ``service`` module here may wire the two. Nothing else here performs I/O.
"""
