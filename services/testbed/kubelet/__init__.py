"""A SIMULATED kubelet for tests and the sandbox — a simulation, not a container runtime.

No kubelet or container runtime runs on the machines Kiln is tested on. This package stands in
for one: it watches build pods (label ``kpack.io/build``) in the Kubernetes API (the emulator,
through :mod:`services.kube`) and moves each through Pending → Running → Succeeded or Failed,
writing per-step container states through the ``pods/status`` subresource. Nothing is executed;
what a build writes to the outside world is written for real:

* the ``export`` (or ``rebase``) step pushes a small app image to the build's first tag and, when
  the completion container's ``CACHE_TAG`` is set, a cache image to that tag, with contents new
  for every build, so every build yields a new real digest in the registry;
* each step writes a few log lines as it runs (what the lifecycle phase would print:
  :mod:`~services.testbed.kubelet.step_logs`), handed to the emulator
  (:mod:`~services.testbed.kubelet.log_writing`), so ``kubectl logs`` and ``kiln logs`` show them;
* the ``completion`` container terminates with the message kpack's completion container writes
  (base64(gzip(JSON)): latestImage, latestCacheImage, stack, buildpacks, lifecycle version).

Modules: :mod:`~services.testbed.kubelet.build_pods` and :mod:`~services.testbed.kubelet.statuses` (pure: read
the pod, write container states), :mod:`~services.testbed.kubelet.failures` (failure injection),
:mod:`~services.testbed.kubelet.pushing` (registry writes, completion message) and
:mod:`~services.testbed.kubelet.kubelet` (the ``Kubelet``: ``start``/``stop``, records of what ran).
"""
