#!/usr/bin/env bash
# Start the local RabbitMQ if it is down and enable the plugins Kiln needs. Idempotent.
set -euo pipefail
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  echo "rabbitmq: starting"
  rabbitmq-plugins enable --offline rabbitmq_consistent_hash_exchange >/dev/null
  rabbitmq-server -detached
fi
for _ in $(seq 1 60); do
  if rabbitmqctl -q await_startup --timeout 60 >/dev/null 2>&1; then break; fi
  sleep 1
done
rabbitmqctl -q await_startup --timeout 60
rabbitmq-plugins -q enable rabbitmq_consistent_hash_exchange >/dev/null
echo "rabbitmq: ready on 127.0.0.1:5672"
