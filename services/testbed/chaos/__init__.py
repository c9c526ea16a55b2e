"""``kiln chaos``: Kiln's scenarios run clean and then under faults, with figures.

* :mod:`.scenarios` — the scenario file format (pure parsing);
* :mod:`.normalising` — a final state as documents two runs can be compared by (pure);
* :mod:`.figures` — expected Builds, lost triggers, duplicate Builds, the report (pure);
* :mod:`.system` — the sandbox with its services as ``kiln run`` processes, behind a registry proxy;
* :mod:`.acting` — performing a scenario's steps; :mod:`.injecting` — the faults;
* :mod:`.proxy`, :mod:`.brokering` — the registry proxy and the broker faults;
* :mod:`.campaign` — a scenario run clean, then under faults, compared.
"""
