"""The measurements behind ``kiln bench`` (:mod:`.measuring`, whose figures :mod:`.figures` describes),
and the older drivers kept for their tests: Kiln's publisher against raw aio-pika (:mod:`.broker`),
the emulator's request rate (:mod:`.emulator`) and requests per build in one process (:mod:`.builds`)."""
