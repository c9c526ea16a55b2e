"""The Kubernetes adapter: ``kubernetes-asyncio`` behind typed, retried, translated calls.

Modules (import modules, not names):

* :mod:`~services.kube.settings` — ``KubeSettings`` (``KILN_KUBE_*``);
* :mod:`~services.kube.client` — an ``ApiClient`` from a kubeconfig or the in-cluster config;
* :mod:`~services.kube.resources` — ``Kube``, one typed ``Resource`` per kind;
* :mod:`~services.kube.cluster` — ``KubeCluster``, the services' port (:class:`services.ports.Cluster`) over ``Kube``;
* :mod:`~services.kube.watching` — the list+watch loop (resume, 410 re-list, bookmarks);
* :mod:`~services.kube.recording` — ``EventRecorder``: Kubernetes Events, aggregated in series;
* :mod:`~services.kube.translating` — client errors → ``services.errors``, retried calls;
* :mod:`~services.kube.endpoints` — the raw ``CustomObjectsApi`` / ``CoreV1Api`` calls.
"""
