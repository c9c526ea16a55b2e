#!/usr/bin/env bash
# README command 1 as a new user runs it: read from README.md's own text (readme_command.py
# extract), run with bash in a fresh clone of this checkout's committed HEAD in a temporary
# folder with no virtualenv active, and its output checked (readme_command.py check): two
# finished builds, build 2 a COMMIT build reading build 1's cache by digest. .ci/run calls this.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
helper="${repo}/deploy/local/readme_command.py"
command="$(python3 "$helper" extract "${repo}/README.md")"
work="$(mktemp -d /tmp/kiln-readme.XXXXXX)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "${work}/kiln"
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "readme: uncommitted changes are not in the clone; it runs $(git -C "$repo" rev-parse --short HEAD)"
fi
echo "readme: in a fresh clone: ${command}"
started=$SECONDS
if ! (cd "${work}/kiln" && env -u VIRTUAL_ENV -u PYTHONPATH -u PYTHONHOME bash -c "$command") \
  >"${work}/stdout" 2>"${work}/stderr" </dev/null; then
  echo "readme: command 1 failed; its output follows" >&2
  tail -n 40 "${work}/stdout" "${work}/stderr" >&2
  exit 1
fi
if ! python3 "$helper" check "${work}/stdout" "${work}/stderr"; then
  tail -n 40 "${work}/stdout" "${work}/stderr" >&2
  exit 1
fi
echo "readme: command 1 passed in $((SECONDS - started)) s: two builds, build 2 reads build 1's cache by digest"
