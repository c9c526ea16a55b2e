"""A Kubernetes API EMULATOR for tests and the local sandbox — not an API server.

No kube-apiserver can run on the machines Kiln is developed and tested on, so this package
serves the slice of the Kubernetes REST API that Kiln and its users touch, over real HTTP, for
the real ``kubernetes-asyncio`` client and plain ``kubectl``:

* core v1 pods, persistentvolumeclaims, events, secrets, serviceaccounts, configmaps, namespaces;
  events.k8s.io/v1 events (kept apart from core v1 events, which a cluster stores together);
  storage.k8s.io/v1 storageclasses; kpack.io/v1alpha2 (and v1alpha1, same storage) images,
  builds, builders, sourceresolvers, clusterbuilders, with the status subresource;
* API semantics: 201/200/404/409/410/422 with ``Status`` bodies; uid, one global
  resourceVersion, generation, creationTimestamp, generateName; optimistic concurrency; merge,
  JSON and (approximated) strategic merge patches; status subresource isolation; label and field
  selectors; deletion with preconditions, finalizers and ownerReference garbage collection;
  namespaced and cluster-wide list and watch with resume, bookmarks, timeoutSeconds, 410 Gone;
* pod logs (``pods/{name}/log`` with ``container``, ``follow``, ``timestamps``, ``tailLines``,
  ``sinceSeconds``, ``limitBytes``; `logs`), appended by a kubelet with
  ``POST /_emulator/logs/namespaces/{ns}/pods/{name}`` or `Emulator.append_log`, so ``kubectl
  logs -f`` and ``kiln logs`` work;
* fault injection (errors, 429, hangs) from Python or ``/_emulator/faults``; a count of its
  answers by status code, verb and resource (`Emulator.answers`, ``/_emulator/answers``), so a
  test can tell how many writes were refused with 409;
* legacy discovery, ``meta.k8s.io`` Tables and the OpenAPI v2 and v3 documents (`openapi`,
  `operations`, `schemas`: the kpack kinds' from ``contracts.crds``, the core kinds' from the
  official definitions), with ``fieldValidation=Strict``, so ``kubectl get``, ``kubectl apply``
  (validation on, or ``--server-side``) and ``kubectl explain`` work against a kubeconfig from
  `Emulator.write_kubeconfig`.

kpack objects written over HTTP are checked against the CRD schemas Kiln deploys
(``contracts.crds``: types and enums, with validation ratcheting on updates); objects seeded with
`Emulator.create` are not, as an old or schema-less cluster would hold them.

Admission only when `Emulator.call_admission` points the emulator at Kiln's webhook
(`kiln run admission`): kpack Image and Build writes then go through its ``/mutate`` and
``/validate`` (`admitting`). Not emulated: other admission and defaulting, other schemas, RBAC and
auth, server-side apply field ownership, dry run, list pagination (``limit`` is ignored, which the
API allows), pod scheduling or kubelet behaviour (see the simulated kubelet), protobuf encoding.

Built to keep up with Kiln at 10,000 Images: a list with a label selector reads what it returns
(`indexes`), and a write is encoded once for its answer and every watch it reaches (`encoding`).

Modules: `emulating` (the `Emulator` class), `server`/`streaming`/`admin` (HTTP), `admitting`,
`store`, `indexes`, `watching`, `encoding`, `validating`, `patching`, `selectors`, `statuses`,
`faults`, `logs`, `resources`, `routing`, `discovery`, `tables`, `openapi`, `operations`, `schemas`,
`answers`, `bench`. Run one with
``python -m services.testbed.emulator``.
"""

from __future__ import annotations

from services.testbed.emulator.emulating import Emulator, kubeconfig
from services.testbed.emulator.faults import Fault

__all__ = ["Emulator", "Fault", "kubeconfig"]
