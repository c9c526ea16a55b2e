#!/usr/bin/env bash
# Start the local RabbitMQ if it is down, restart it if it is wedged, and enable the plugin Kiln
# needs (x-consistent-hash exchanges). Idempotent: a healthy running broker is left running, at
# most its plugin is enabled. Needs root (or the rabbitmq user), as rabbitmqctl does;
# deploy/local/up.sh calls it.
#
# Every rabbitmqctl call is bounded: a broker node that accepts connections on 5672 but no longer
# answers its CLI (seen after a long overload) would otherwise hang this script, and with it CI,
# for good. Such a node, or one with a resource alarm raised (publishers blocked), is stopped and
# started again; what it held is test data.
set -euo pipefail
plugin=rabbitmq_consistent_hash_exchange
ctl_seconds="${KILN_RABBITMQCTL_SECONDS:-30}"

ctl() { timeout -k 5 "$ctl_seconds" rabbitmqctl -q "$@"; }

port_open() { (: </dev/tcp/127.0.0.1/5672) 2>/dev/null; }

# Stop the node: politely first, then every process of the rabbitmq user (beam, epmd, helpers).
stop_node() {
  ctl stop >/dev/null 2>&1 || true
  for _ in $(seq 1 20); do
    pgrep -u rabbitmq beam.smp >/dev/null 2>&1 || break
    sleep 1
  done
  if pgrep -u rabbitmq >/dev/null 2>&1; then
    pkill -KILL -u rabbitmq >/dev/null 2>&1 || true
    sleep 2
  fi
}

start_node() {
  rabbitmq-plugins enable --offline "$plugin" >/dev/null
  rabbitmq-server -detached
  for _ in $(seq 1 60); do
    if ctl await_startup --timeout 60 >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  ctl await_startup --timeout 60
}

if ctl status >/dev/null 2>&1; then
  if ! timeout -k 5 "$ctl_seconds" rabbitmq-diagnostics -q check_local_alarms >/dev/null 2>&1; then
    echo "rabbitmq: a resource alarm is raised (publishers are blocked): restarting the node"
    stop_node
    start_node
  elif timeout -k 5 "$ctl_seconds" rabbitmq-plugins -q is_enabled "$plugin" >/dev/null 2>&1; then
    echo "rabbitmq: already running on 127.0.0.1:5672 (${plugin} enabled)"
    exit 0
  fi
elif port_open || pgrep -u rabbitmq beam.smp >/dev/null 2>&1; then
  echo "rabbitmq: the node does not answer rabbitmqctl within ${ctl_seconds}s: restarting it"
  stop_node
  start_node
else
  echo "rabbitmq: starting"
  start_node
fi
timeout -k 5 120 rabbitmq-plugins -q enable "$plugin" >/dev/null
echo "rabbitmq: ready on 127.0.0.1:5672"
