"""Git for tests and the sandbox: :mod:`~services.testbed.git.serving` serves real repositories over
smart HTTP (``git http-backend`` behind an aiohttp CGI bridge, optional basic auth), and
:mod:`~services.testbed.git.repositories` changes them with real ``git`` pushes (commits, branches,
lightweight and annotated tags, force-pushes, deletions)."""
