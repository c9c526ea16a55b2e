"""The measurements behind ``kiln bench``: the raw broker against Kiln's publisher and consumer, the
emulator's request rate, and API requests and memory per build."""
