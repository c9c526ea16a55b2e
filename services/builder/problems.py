"""The builder half's failures, each carrying kpack's message verbatim (it becomes a condition).

    services.errors.PermanentError
    └── BuilderProblem        kpack's message for a resource or builder that cannot be resolved
                              as it stands (a missing label, a stack mismatch, an unknown buildpack);
                              it is written into the object's status, then nothing is retried until
                              something changes

Pure: no I/O.
"""

from __future__ import annotations

from services import errors


class BuilderProblem(errors.PermanentError, ValueError):
    """kpack's message for what is wrong; ``str(problem)`` is the status message, exactly."""
