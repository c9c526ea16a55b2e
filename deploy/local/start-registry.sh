#!/usr/bin/env bash
# Start the distribution registry on 127.0.0.1:5000 (storage in a temporary folder) unless one
# already answers there. Idempotent.
set -euo pipefail
addr="${KILN_REGISTRY_ADDR:-127.0.0.1:5000}"
if curl -fsS "http://${addr}/v2/" >/dev/null 2>&1; then
  echo "registry: already serving on ${addr}"
  exit 0
fi
dir="$(mktemp -d /tmp/kiln-registry.XXXXXX)"
cat > "${dir}/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${dir}/data
  delete:
    enabled: true
http:
  addr: ${addr}
  secret: kiln-local-registry
YAML
nohup docker-registry serve "${dir}/config.yml" >"${dir}/registry.log" 2>&1 &
for _ in $(seq 1 100); do
  if curl -fsS "http://${addr}/v2/" >/dev/null 2>&1; then
    echo "registry: ready on ${addr} (storage ${dir}/data)"
    exit 0
  fi
  sleep 0.1
done
echo "registry: did not start; log follows" >&2
cat "${dir}/registry.log" >&2
exit 1
