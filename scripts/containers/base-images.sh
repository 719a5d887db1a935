#!/usr/bin/env bash
# The base images the project's files name, under their exact tags: the Dockerfile's `FROM
# oven/bun:<version>-slim` and compose.yaml's `prom/prometheus:<tag>`. Each one the engine already has
# is kept; otherwise it is pulled, and when no registry answers a local stand-in is built:
#   oven/bun:<v>-slim   Debian slim (debootstrap minbase from the machine's Debian mirror, trimmed),
#                       the Bun binary from the npm package @oven/bun-linux-<arch>, user bun 1000:1000,
#                       Bun's entry point (scripts/containers/oven-bun/)
#   prom/prometheus:<t> Debian's prometheus package laid out as the upstream image
#                       (scripts/containers/prometheus/)
# Stand-ins carry the label cas-harness.stand-in. `--rebuild` replaces stand-ins the engine has.
# Needs a running engine (scripts/containers/engine.sh start), and for stand-ins: debootstrap, npm,
# apt-get (scripts/containers/install-tools.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=scripts/containers
REBUILD=${1:-}

say() { echo "base-images: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

BUN_TAG=$(awk 'toupper($1) == "FROM" { print $2; exit }' Dockerfile)
PROM_TAG=$(grep -Eo 'prom/prometheus:[^" ]+' compose.yaml | head -1)
BUN_VERSION=${BUN_TAG#oven/bun:}
BUN_VERSION=${BUN_VERSION%-slim}
DEBIAN_BASE=cas-harness/debian-slim:stand-in

have() { docker image inspect "$1" >/dev/null 2>&1; }
stand_in() { [ -n "$(docker image inspect -f '{{index .Config.Labels "cas-harness.stand-in"}}' "$1" 2>/dev/null)" ]; }

# A registry that cannot be reached fails at once (no name, no route); one that hangs is given a minute.
pull() {
  local out
  if out=$(timeout 60 docker pull -q "$1" 2>&1); then
    say "pulled $1"
    return 0
  fi
  say "cannot pull $1 (${out##*$'\n'}); building a local stand-in"
  return 1
}

mirror() {
  local uri
  uri=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -Eo 'https?://[^ ]*/debian/?' | grep -v security | head -1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

debian_base() {
  if have "$DEBIAN_BASE" && [ "$REBUILD" != --rebuild ]; then return; fi
  local t0 dir suite
  t0=$(now)
  suite=bookworm
  dir=$(mktemp -d /tmp/cas-debian-rootfs.XXXXXX)
  # ca-certificates as in Bun's own slim image: tools that verify TLS need a trust store.
  debootstrap --variant=minbase --include=ca-certificates "$suite" "$dir" "$(mirror)" >"$dir.log" 2>&1 || {
    tail -20 "$dir.log" >&2
    rm -rf "$dir" "$dir.log"
    say "debootstrap failed"
    return 1
  }
  # Trimmed as Debian's slim images are: no docs, man pages or locales, now or from later installs.
  cat >"$dir/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$dir"/usr/share/{man,info,locale}/* "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* \
    "$dir"/var/cache/debconf/*-old "$dir"/var/log/* "$dir"/tmp/* "$dir"/root/.bash_history
  tar -C "$dir" --numeric-owner -c . |
    docker import -c 'CMD ["bash"]' -c 'LABEL cas-harness.stand-in=debian:'"$suite"'-slim' - "$DEBIAN_BASE" >/dev/null
  rm -rf "$dir" "$dir.log"
  say "built $DEBIAN_BASE (Debian $suite minbase, $(size "$DEBIAN_BASE")) in $(since "$t0") s"
}

size() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }

bun_image() {
  local t0 ctx arch pkg
  t0=$(now)
  case "$(uname -m)" in
    x86_64) arch=x64-baseline ;; # the build upstream's image ships for amd64
    aarch64 | arm64) arch=aarch64 ;;
    *) say "no Bun build for $(uname -m)"; return 1 ;;
  esac
  pkg="@oven/bun-linux-$arch@$BUN_VERSION"
  ctx=$(mktemp -d /tmp/cas-bun-image.XXXXXX)
  cp "$HERE/oven-bun/Dockerfile" "$HERE/oven-bun/docker-entrypoint.sh" "$ctx/"
  (cd "$ctx" && npm pack --silent "$pkg" >/dev/null && tar -xzf ./*.tgz && mv package/bin/bun bun &&
    chmod 0755 bun docker-entrypoint.sh) || {
    rm -rf "$ctx"
    say "could not get $pkg from npm"
    return 1
  }
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca-certificates.crt"
  else
    : >"$ctx/host-ca-certificates.crt"
  fi
  docker build -q --build-arg BASE="$DEBIAN_BASE" --build-arg BUN_VERSION="$BUN_VERSION" \
    -t "$BUN_TAG" "$ctx" >/dev/null
  rm -rf "$ctx"
  say "built $BUN_TAG (Bun $(docker run --rm "$BUN_TAG" bun --version) from npm $pkg, $(size "$BUN_TAG")) in $(since "$t0") s"
}

prometheus_image() {
  local t0 ctx deb version
  t0=$(now)
  ctx=$(mktemp -d /tmp/cas-prometheus-image.XXXXXX)
  chmod 0777 "$ctx" # apt-get downloads as its sandbox user
  # A fresh machine may have no package lists yet: update them once and try again.
  (cd "$ctx" && apt-get download -qq prometheus >/dev/null 2>&1) ||
    { apt-get update -qq >/dev/null 2>&1 && (cd "$ctx" && apt-get download -qq prometheus >/dev/null 2>&1); } || {
    rm -rf "$ctx"
    say "could not download Debian's prometheus package"
    return 1
  }
  deb=$(ls "$ctx"/prometheus_*.deb)
  version=$(dpkg-deb -f "$deb" Version)
  dpkg-deb -x "$deb" "$ctx/root"
  cp "$HERE/prometheus/Dockerfile" "$ctx/"
  docker build -q --build-arg BASE="$DEBIAN_BASE" --build-arg TAG="${PROM_TAG#*:}" \
    --build-arg DEBIAN_VERSION="$version" -t "$PROM_TAG" "$ctx" >/dev/null
  rm -rf "$ctx"
  say "built $PROM_TAG (Debian prometheus $version, $(size "$PROM_TAG")) in $(since "$t0") s"
}

ensure() {
  local tag=$1 build=$2
  if have "$tag" && { [ "$REBUILD" != --rebuild ] || ! stand_in "$tag"; }; then
    say "$tag present$(stand_in "$tag" && echo " (local stand-in)")"
    return
  fi
  if [ "$REBUILD" != --rebuild ] && pull "$tag"; then return; fi
  debian_base
  "$build"
}

docker info >/dev/null 2>&1 || {
  say "no Docker engine answers (scripts/containers/engine.sh start)"
  exit 1
}
T0=$(now)
ensure "$BUN_TAG" bun_image
ensure "$PROM_TAG" prometheus_image
say "ready in $(since "$T0") s: $BUN_TAG, $PROM_TAG"
