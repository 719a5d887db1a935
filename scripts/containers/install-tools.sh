#!/usr/bin/env bash
# What the container tests need, installed from Debian only when missing (needs root and apt-get):
#   docker.io       dockerd and the docker client, unless an engine already answers
#   docker-compose  Compose 1.29 (Debian bookworm's), which compose.yaml must also run under
#   debootstrap     for the stand-in base images when no registry answers
#   Compose v2      the `docker compose` CLI plugin, from Debian trixie's docker-compose package
#                   (bookworm has only 1.29), unpacked into /usr/local/lib/docker/cli-plugins; its
#                   apt lists live in a temp dir, the machine's sources are left alone
# A laptop with Docker (and Compose v2) needs none of this; the 1.29 run is then skipped outside CI.
set -euo pipefail

say() { echo "install-tools: $*" >&2; }
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins

engine_answers() { command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; }
compose_v1() { command -v docker-compose >/dev/null 2>&1 && docker-compose version --short 2>/dev/null | grep -q '^1\.'; }
compose_v2() { command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; }

missing=()
if ! engine_answers && ! command -v dockerd >/dev/null 2>&1; then missing+=(docker.io); fi
if ! command -v docker >/dev/null 2>&1 && [[ " ${missing[*]} " != *" docker.io "* ]]; then missing+=(docker.io); fi
if ! compose_v1; then missing+=(docker-compose); fi
if ! command -v debootstrap >/dev/null 2>&1; then missing+=(debootstrap); fi

if [ "${#missing[@]}" -eq 0 ] && compose_v2; then
  say "nothing missing"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "missing ${missing[*]} $(compose_v2 || echo "Compose v2"); installing needs root and apt-get"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" docker.io "* ]]; then
    # The package may start its own engine on /var/run/docker.sock; the tests start theirs (engine.sh).
    # Stop only that service, which this script just installed.
    (systemctl stop docker.service docker.socket || service docker stop) >/dev/null 2>&1 || true
  fi
fi

if ! compose_v2; then
  say "installing Compose v2 from Debian trixie's docker-compose package into $PLUGIN_DIR"
  apt_dir=$(mktemp -d /tmp/cas-compose-v2.XXXXXX)
  trap 'rm -rf "$apt_dir"' EXIT
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/deb"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    >"$apt_dir/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  (cd "$apt_dir/deb" && apt-get "${apt_opts[@]}" download -qq docker-compose >/dev/null)
  dpkg-deb -x "$apt_dir"/deb/docker-compose_*.deb "$apt_dir/root"
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$apt_dir/root/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN_DIR/docker-compose"
  say "$(docker compose version)"
fi
