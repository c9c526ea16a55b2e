"""Kiln's contracts: kpack-compatible resources, admission, conversion and event schemas.

Pure data and pure functions only — no I/O, no asyncio (enforced by ``.importlinter``).
"""
