#!/usr/bin/env bash
# What Kiln needs on this machine, installed where missing and started where down: RabbitMQ with
# the consistent-hash exchange plugin on 127.0.0.1:5672 and a distribution registry on
# 127.0.0.1:5000, plus curl and Python's venv. README command 1 and .ci/run both start here.
#
#   bash deploy/local/up.sh            # what the sandbox needs
#   bash deploy/local/up.sh --tests    # also what the tests use: htpasswd, kubectl
#
# Idempotent and quick when all is there: a running broker or registry is left as it is (only a
# disabled consistent-hash plugin is enabled). Installs with apt-get as root, with service starts
# forbidden during the install (the broker and registry are started below, not by postinst
# scripts); without root or apt it prints one line saying what to install, and exits 1.
set -euo pipefail
here="${BASH_SOURCE[0]%/*}"
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
compose_hint='or, with Docker, run the sandbox in containers: docker compose run --rm sandbox'

tests=0
for arg in "$@"; do
  case "$arg" in
    --tests) tests=1 ;;
    *) echo "usage: bash deploy/local/up.sh [--tests]" >&2; exit 2 ;;
  esac
done

# Debian packages whose command is missing. Only builtins here: this also runs where PATH has
# nothing Kiln needs.
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need curl curl
need rabbitmq-server rabbitmq-server
need rabbitmqctl rabbitmq-server
need docker-registry docker-registry
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
if [ "$tests" = 1 ]; then
  need htpasswd apache2-utils
  need kubectl kubernetes-client
fi
# One name per package, in order.
packages=()
for package in ${missing[@]+"${missing[@]}"}; do
  case " ${packages[*]-} " in *" $package "*) ;; *) packages+=("$package") ;; esac
done

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  local log policy=/usr/sbin/policy-rc.d ours=0
  log="$(mktemp /tmp/kiln-up-apt.XXXXXX)"
  if [ ! -e "$policy" ]; then
    # invoke-rc.d and deb-systemd-invoke ask this before starting a service: 101 means "no".
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    ours=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  local apt=(apt-get -y -qq -o DPkg::Lock::Timeout=120
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  echo "up: installing $* (apt-get, log in ${log})"
  "${apt[@]}" update >>"$log" 2>&1 || echo "up: apt-get update failed; installing from the package lists there are" >&2
  if ! "${apt[@]}" install --no-install-recommends "$@" >>"$log" 2>&1; then
    # A postinst that failed (a service that could not start, say) leaves a package unconfigured
    # and apt-get exits "dpkg returned an error code (1)": finish the configuration, then retry.
    echo "up: apt-get install failed; running dpkg --configure -a and retrying" >&2
    dpkg --configure -a >>"$log" 2>&1 || true
    if ! "${apt[@]}" install --no-install-recommends "$@" >>"$log" 2>&1; then
      tail -n 20 "$log" >&2
      echo "up: apt-get install $* failed (log: ${log})" >&2
      exit 1
    fi
  fi
  if [ "$ours" = 1 ]; then
    rm -f "$policy"
    trap - EXIT
  fi
}

if [ ${#packages[@]} -gt 0 ]; then
  if [ "$EUID" -ne 0 ]; then
    echo "up: ${packages[*]} missing and only root installs them: run 'sudo bash deploy/local/up.sh' once (or 'sudo apt-get install -y ${packages[*]}'), ${compose_hint}" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "up: ${packages[*]} missing (Debian names) and there is no apt-get: install curl, Python's venv, RabbitMQ with the rabbitmq_consistent_hash_exchange plugin and the distribution registry (docker-registry) with your package manager, ${compose_hint}" >&2
    exit 1
  fi
  apt_install "${packages[@]}"
fi

if [ "$EUID" -eq 0 ]; then
  bash "$here/start-rabbitmq.sh"
elif (: </dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  # rabbitmqctl runs only as root or rabbitmq: the plugin is checked by a root run of this script.
  echo "rabbitmq: already serving on 127.0.0.1:5672"
else
  echo "up: RabbitMQ is not running and only root starts it: run 'sudo bash deploy/local/up.sh' once, ${compose_hint}" >&2
  exit 1
fi
bash "$here/start-registry.sh"
