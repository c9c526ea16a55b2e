#!/usr/bin/env bash
# Start the local RabbitMQ if it is down and enable the plugin Kiln needs (x-consistent-hash
# exchanges). Idempotent: a running broker is left running, at most its plugin is enabled.
# Needs root (or the rabbitmq user), as rabbitmqctl does; deploy/local/up.sh calls it.
set -euo pipefail
plugin=rabbitmq_consistent_hash_exchange
if rabbitmqctl -q status >/dev/null 2>&1; then
  if rabbitmq-plugins -q is_enabled "$plugin" >/dev/null 2>&1; then
    echo "rabbitmq: already running on 127.0.0.1:5672 (${plugin} enabled)"
    exit 0
  fi
else
  echo "rabbitmq: starting"
  rabbitmq-plugins enable --offline "$plugin" >/dev/null
  rabbitmq-server -detached
fi
for _ in $(seq 1 60); do
  if rabbitmqctl -q await_startup --timeout 60 >/dev/null 2>&1; then break; fi
  sleep 1
done
rabbitmqctl -q await_startup --timeout 60
rabbitmq-plugins -q enable "$plugin" >/dev/null
echo "rabbitmq: ready on 127.0.0.1:5672"
