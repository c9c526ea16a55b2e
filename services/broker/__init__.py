"""The RabbitMQ adapter: topology, publishing, the one consumer wrapper, replay and a benchmark.

Import the modules, not names: ``from services.broker import consuming, publishing, topology``.
"""
