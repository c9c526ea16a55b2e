#!/usr/bin/env bash
# What Kiln needs on this machine, installed where missing and started where down: RabbitMQ with
# the consistent-hash exchange plugin on 127.0.0.1:5672 and a distribution registry on
# 127.0.0.1:5000, plus curl, git (Kiln lists and fetches source repositories with it) and
# Python's venv. README command 1 and .ci/run both start here.
#
#   bash deploy/local/up.sh            # what the sandbox needs
#   bash deploy/local/up.sh --tests    # also what the tests use: htpasswd, and kubectl and chromium if they install
#
# Idempotent and quick when all is there: a running broker or registry is left as it is (only a
# disabled consistent-hash plugin is enabled). Installs with apt-get as root, with service starts
# forbidden during the install (the broker and registry are started below, not by postinst
# scripts); without root or apt it prints one line saying what to install, and exits 1.
set -euo pipefail

COMPOSE_HINT='or, with Docker, run the sandbox in containers: docker compose run --rm sandbox'
APT=(apt-get -y -qq -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef
  -o Dpkg::Options::=--force-confold)
APT_LOG=""

# The Debian packages whose command is missing, one name each, on stdout. Builtins only (and
# python3 where there is one): this also runs where PATH has nothing Kiln needs.
missing_packages() {
  local found=() pair
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || found+=("${pair#*=}")
  done
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    found+=(python3-venv)
  fi
  local unique=() package
  for package in ${found[@]+"${found[@]}"}; do
    case " ${unique[*]-} " in *" $package "*) ;; *) unique+=("$package") ;; esac
  done
  echo "${unique[*]-}"
}

# What a package gives, for a machine without apt, where its name may differ.
describe() {
  case "$1" in
    rabbitmq-server) echo "RabbitMQ (rabbitmq-server) with the rabbitmq_consistent_hash_exchange plugin enabled" ;;
    docker-registry) echo "the distribution registry (docker-registry)" ;;
    python3-venv) echo "Python 3 with its venv module (python3-venv)" ;;
    git) echo "git (the git binary)" ;;
    apache2-utils) echo "htpasswd (apache2-utils)" ;;
    kubernetes-client) echo "kubectl (kubernetes-client)" ;;
    *) echo "$1" ;;
  esac
}

# Exit with one line saying what to install, unless this user can apt-get install it.
require_apt() {
  if [ "$EUID" -ne 0 ]; then
    echo "up: missing $* (Debian packages, which only root installs): run 'sudo bash deploy/local/up.sh' once, which apt-get installs them and starts RabbitMQ with its consistent-hash plugin and the registry, ${COMPOSE_HINT}" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    local wanted="" package
    for package in "$@"; do wanted+="${wanted:+; }$(describe "$package")"; done
    echo "up: missing, and no apt-get here to install: ${wanted}. Install with your package manager and run this again, ${COMPOSE_HINT}" >&2
    exit 1
  fi
}

# Once per run: no service starts from postinst scripts, fresh package lists.
apt_prepare() {
  [ -z "$APT_LOG" ] || return 0
  export DEBIAN_FRONTEND=noninteractive
  APT_LOG="$(mktemp /tmp/kiln-up-apt.XXXXXX)"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # invoke-rc.d and deb-systemd-invoke ask this before starting a service: 101 means "no".
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  "${APT[@]}" update >>"$APT_LOG" 2>&1 || echo "up: apt-get update failed; installing from the package lists there are" >&2
}

# apt-get install; on failure finish what dpkg left unconfigured and try once more.
apt_install() {
  apt_prepare
  echo "up: installing $* (apt-get, log in ${APT_LOG})"
  "${APT[@]}" install --no-install-recommends "$@" >>"$APT_LOG" 2>&1 && return 0
  # A package that failed to unpack or configure (a file another package owns, a postinst
  # that could not start its service) aborts the run, leaving the others unpacked but not
  # configured: apt-get says "dpkg returned an error code (1)".
  echo "up: apt-get install $* failed; running dpkg --configure -a and retrying" >&2
  dpkg --configure -a >>"$APT_LOG" 2>&1 || true
  "${APT[@]}" install --no-install-recommends "$@" >>"$APT_LOG" 2>&1
}

main() {
  local here="${BASH_SOURCE[0]%/*}" tests=0 arg
  [ "$here" != "${BASH_SOURCE[0]}" ] || here=.
  for arg in "$@"; do
    case "$arg" in
      --tests) tests=1 ;;
      *) echo "usage: bash deploy/local/up.sh [--tests]" >&2; exit 2 ;;
    esac
  done
  local needed=(curl=curl git=git rabbitmq-server=rabbitmq-server rabbitmqctl=rabbitmq-server docker-registry=docker-registry)
  [ "$tests" = 0 ] || needed+=(htpasswd=apache2-utils)
  local packages
  read -r -a packages <<<"$(missing_packages "${needed[@]}")"
  if [ ${#packages[@]} -gt 0 ]; then
    require_apt "${packages[@]}"
    if ! apt_install "${packages[@]}"; then
      tail -n 20 "$APT_LOG" >&2
      echo "up: apt-get install ${packages[*]} failed (log: ${APT_LOG})" >&2
      exit 1
    fi
    read -r -a packages <<<"$(missing_packages "${needed[@]}")"
    if [ ${#packages[@]} -gt 0 ]; then
      echo "up: apt-get installed them, yet what ${packages[*]} provides is not on PATH (${PATH})" >&2
      exit 1
    fi
  fi
  # kubectl only serves tests that skip without it; its package may clash with another kubectl.
  if [ "$tests" = 1 ] && [ "$EUID" -eq 0 ] && ! command -v kubectl >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    apt_install kubernetes-client \
      || echo "up: kubectl did not install (log: ${APT_LOG}); the kubectl tests will be skipped" >&2
  fi
  # Debian's chromium: the status page's browser test drives it with playwright (no browser
  # download: playwright is pointed at /usr/bin/chromium). It skips without it, saying why.
  if [ "$tests" = 1 ] && [ "$EUID" -eq 0 ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
    apt_install chromium \
      || echo "up: chromium did not install (log: ${APT_LOG}); the status page's browser test will be skipped" >&2
  fi

  if [ "$EUID" -eq 0 ]; then
    bash "$here/start-rabbitmq.sh"
  elif (: </dev/tcp/127.0.0.1/5672) 2>/dev/null; then
    # rabbitmqctl runs only as root or rabbitmq: the plugin is checked by a root run of this script.
    echo "rabbitmq: already serving on 127.0.0.1:5672"
  else
    echo "up: RabbitMQ is not running and only root starts it: run 'sudo bash deploy/local/up.sh' once, ${COMPOSE_HINT}" >&2
    exit 1
  fi
  bash "$here/start-registry.sh"
}

# Run when executed; sourcing it only defines the functions.
[ "${BASH_SOURCE[0]}" != "$0" ] || main "$@"
