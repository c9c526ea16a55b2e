"""The builder half of kpack as pure decisions: ClusterStores, Buildpacks and ClusterBuildpacks
(``stores``), ClusterStacks and ClusterLifecycles (``stacks``, ``lifecycles``) resolved from what
the registry holds, their labels read as Go's ``json.Unmarshal`` reads them (``labels``); a
Builder's order resolved against them (``resolution``) and checked (``compatibility``); the
builder image planned layer by layer (``tars``, ``layers``, ``builder_images``); the statuses
written (``statuses``) and which builders an input feeds (``dependencies``). Nothing here
performs I/O or reads the clock; ``service`` does the reads and writes.
"""
