"""``python -m services.testbed.emulator --port 8001 --kubeconfig /tmp/kubeconfig``: serve until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from services.testbed.emulator import emulating

logger = logging.getLogger(__name__)


async def serve(host: str, port: int, kubeconfig: str | None) -> None:
    emulator = emulating.Emulator()
    base_url = await emulator.start(host, port)
    if kubeconfig:
        emulator.write_kubeconfig(kubeconfig)
    print(f"Kubernetes emulator (for tests and the sandbox) serving on {base_url}", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
    finally:
        await emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.testbed.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--kubeconfig", help="write a kubeconfig pointing at the emulator to this path")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level)
    asyncio.run(serve(args.host, args.port, args.kubeconfig))


if __name__ == "__main__":
    main()
