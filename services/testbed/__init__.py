"""The test bed: what stands in for the outside world in tests, the sandbox and benchmarks. Nothing
in production imports it (import-linter's ``testbed-apart`` contract).

* :mod:`services.testbed.emulator` — a Kubernetes API emulator over HTTP (no API server runs here);
* :mod:`services.testbed.kubelet` — a simulated kubelet that runs build pods and pushes real images;
* :mod:`services.testbed.registry` — throw-away registry processes, a bearer-token server, and fake
  CNB builder images pushed to a real registry;
* :mod:`services.testbed.sandbox` — every service, the emulator and the kubelet in one process
  (``kiln sandbox``);
* :mod:`services.testbed.bench` — the drivers behind ``kiln bench``.
"""
