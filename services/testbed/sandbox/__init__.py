"""``kiln sandbox``: the whole of Kiln on one machine, against an emulated Kubernetes API."""
