#!/usr/bin/env bash
# The container tests in one command, as CI runs them: install what is missing (root on Debian only),
# use the engine that answers or start one of our own, get the base images (pulled, or local stand-ins
# when no registry answers), run test/deploy/containers/, and stop the engine only if this run started it.
#   scripts/containers/check.sh            # on a laptop with Docker: only the last two steps do anything
#   scripts/containers/check.sh faults     # arguments narrow `bun test` (a file name filter)
set -euo pipefail
cd "$(dirname "$0")/../.."

t0=$SECONDS
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  scripts/containers/install-tools.sh
else
  scripts/containers/install-tools.sh || echo "check: continuing without them (those tests are skipped)" >&2
fi
t1=$SECONDS
eval "$(scripts/containers/engine.sh start)"
if [ "${CAS_ENGINE_STARTED:-}" = 1 ]; then trap 'scripts/containers/engine.sh stop' EXIT; fi
t2=$SECONDS
scripts/containers/base-images.sh
t3=$SECONDS
echo "check: tools $((t1 - t0)) s, engine $((t2 - t1)) s, base images $((t3 - t2)) s" >&2
filters=("$@")
[ "${#filters[@]}" -gt 0 ] || filters=(test/deploy/containers)
bun test "${filters[@]}"
