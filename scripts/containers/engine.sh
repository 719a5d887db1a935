#!/usr/bin/env bash
# A Docker engine for the container tests when none is running: Debian's dockerd with its own data and
# exec roots, socket, bridge and address pools, started in the background (there is no systemd here)
# and stopped again by its pid file, leaving the machine's forwarding as it was for everything else.
# An engine that already answers (a laptop's) is used as it is.
#
#   eval "$(scripts/containers/engine.sh start)"   # exports DOCKER_HOST while its own engine runs, and
#                                                  # CAS_ENGINE_STARTED=1 when this call started it
#   scripts/containers/engine.sh stop    # stops only the engine that `start` started
#   scripts/containers/engine.sh env     # the same export line while that engine runs
#
# Images stay in the data root between runs (stand-in base images are not rebuilt every time);
# `stop --purge` removes it too.
set -euo pipefail

STATE_DIR=${CAS_ENGINE_STATE:-/var/lib/cas-harness/engine}
RUN_DIR=${CAS_ENGINE_RUN:-/run/cas-harness/engine}
SOCKET="$RUN_DIR/docker.sock"
PIDFILE="$RUN_DIR/dockerd.pid"
MARK="$RUN_DIR/started-by-cas-harness"
LOG="$RUN_DIR/dockerd.log"
BRIDGE=cas-docker0

say() { echo "engine: $*" >&2; }

# An engine the docker client reaches with the caller's own settings (DOCKER_HOST, context, default socket).
existing_engine() { command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; }

ours_running() {
  [ -f "$PIDFILE" ] && [ -f "$MARK" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null &&
    DOCKER_HOST="unix://$SOCKET" timeout 10 docker info >/dev/null 2>&1
}

# 10.X.0.0/16 for the first X whose range no route or address on the machine touches: the default
# bridge takes X.0/24, the networks compose creates come from X.128.0/17.
pick_prefix() {
  local x taken
  taken=$( (ip -4 -o addr show; ip -4 route show table all) 2>/dev/null | grep -Eo '\b10\.[0-9]+\.[0-9]+\.[0-9]+(/[0-9]+)?' || true)
  for x in 213 214 215 216 217 218 219 220; do
    if ! overlaps "10.$x.0.0/16" "$taken"; then
      echo "10.$x"
      return
    fi
  done
  say "no free 10.X.0.0/16 between 10.213 and 10.220"
  return 1
}

ip2int() {
  local IFS=.
  # shellcheck disable=SC2206 # splitting on dots is the point
  local o=($1)
  echo $(((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]))
}

# Does CIDR $1 overlap any of the CIDRs (or bare addresses) listed in $2?
overlaps() {
  local net=${1%/*} len=${1#*/} other onet olen a b span
  a=$(ip2int "$net")
  for other in $2; do
    onet=${other%/*}
    olen=32
    [[ $other == */* ]] && olen=${other#*/}
    b=$(ip2int "$onet")
    span=$((len < olen ? len : olen))
    if (((a >> (32 - span)) == (b >> (32 - span)))); then return 0; fi
  done
  return 1
}

start() {
  if ours_running; then
    say "already running (pid $(cat "$PIDFILE"))"
    echo "export DOCKER_HOST=unix://$SOCKET"
    return
  fi
  if existing_engine; then
    say "using the engine that is already running ($(docker info -f '{{.ServerVersion}}' 2>/dev/null))"
    return
  fi
  command -v dockerd >/dev/null || {
    say "no dockerd: install Debian's docker.io (scripts/containers/install-tools.sh)"
    return 1
  }
  [ "$(id -u)" = 0 ] || {
    say "starting an engine needs root"
    return 1
  }
  mkdir -p "$STATE_DIR/data" "$RUN_DIR/exec"
  local prefix
  prefix=$(pick_prefix)
  # Put back only what this start changes on the machine: ip_forward, dockerd's iptables chains if
  # there were none before it, and the FORWARD policy. dockerd would set that policy to DROP when it
  # turns forwarding on itself, which cuts off any other bridge or network namespace on the machine
  # (br_netfilter sends bridged traffic through iptables too): so forwarding is turned on here, and
  # dockerd told to leave it (--ip-forward=false).
  {
    echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
    if iptables -S DOCKER >/dev/null 2>&1; then echo "chains=kept"; else echo "chains=ours"; fi
    echo "forward_policy=$(iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" {print $3}')"
    echo "prefix=$prefix"
    # dockerd loads br_netfilter and sets this to 1; absent before means bridged traffic skipped iptables.
    echo "bridge_nf=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo 0)"
  } >"$MARK"
  echo 1 >/proc/sys/net/ipv4/ip_forward
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    echo "bridge=ours" >>"$MARK"
  fi
  ip addr replace "$prefix.0.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # The sandbox lacks CAP_SYS_RESOURCE: containers only start with explicit default ulimits.
  setsid dockerd \
    --data-root "$STATE_DIR/data" \
    --exec-root "$RUN_DIR/exec" \
    --pidfile "$PIDFILE" \
    -H "unix://$SOCKET" \
    --bridge "$BRIDGE" \
    --ip-forward=false \
    --default-address-pool "base=$prefix.128.0/17,size=24" \
    --storage-driver overlay2 \
    --exec-opt native.cgroupdriver=cgroupfs \
    --default-ulimit nofile=20000:20000 \
    --default-ulimit nproc=32768:32768 \
    </dev/null >"$LOG" 2>&1 &
  local i
  for i in $(seq 1 300); do
    if DOCKER_HOST="unix://$SOCKET" docker info >/dev/null 2>&1; then
      say "started dockerd $(dockerd --version | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' | head -1) (pid $(cat "$PIDFILE"), $prefix.0.0/16, socket $SOCKET) in $((i / 10)).$((i % 10)) s"
      echo "export DOCKER_HOST=unix://$SOCKET CAS_ENGINE_STARTED=1"
      return
    fi
    sleep 0.1
  done
  say "dockerd did not answer within 30 s; its log:"
  tail -20 "$LOG" >&2
  stop
  return 1
}

# iptables rules dockerd added: every rule naming one of its chains or one of its bridges.
drop_docker_rules() {
  local table rule
  for table in filter nat; do
    iptables -t "$table" -S 2>/dev/null | grep -E '^-A ' | grep -E 'DOCKER|cas-docker0|br-[0-9a-f]{12}' |
      while read -r rule; do
        # shellcheck disable=SC2086 # the rule is iptables' own words, split as it printed them
        iptables -t "$table" ${rule/#-A/-D} 2>/dev/null || true
      done || true
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}

stop() {
  if [ ! -f "$MARK" ]; then
    say "no engine started by this script; nothing to stop"
  else
    local ip_forward="" chains="" bridge="" prefix="" forward_policy="" bridge_nf=""
    while IFS='=' read -r k v; do
      case $k in
        ip_forward) ip_forward=$v ;; chains) chains=$v ;; bridge) bridge=$v ;; prefix) prefix=$v ;;
        forward_policy) forward_policy=$v ;; bridge_nf) bridge_nf=$v ;;
      esac
    done <"$MARK"
    # The bridges of the networks this engine made, to remove if dockerd leaves them behind.
    local nets=""
    nets=$(DOCKER_HOST="unix://$SOCKET" timeout 10 docker network ls -q --filter driver=bridge 2>/dev/null || true)
    if [ -f "$PIDFILE" ]; then
      local pid
      pid=$(cat "$PIDFILE")
      if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        # dockerd stops its containers (10 s each at most) and its containerd before it exits.
        for _ in $(seq 1 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
          say "dockerd (pid $pid) still running after 40 s; killing it"
          kill -KILL "$pid" 2>/dev/null || true
        fi
      fi
    fi
    for id in $nets; do ip link delete "br-${id:0:12}" 2>/dev/null || true; done
    if [ "$bridge" = ours ]; then ip link delete "$BRIDGE" 2>/dev/null || true; fi
    if [ "$chains" = ours ]; then
      drop_docker_rules
      if [ -n "$forward_policy" ]; then iptables -P FORWARD "$forward_policy" 2>/dev/null || true; fi
    fi
    if [ -n "$ip_forward" ]; then echo "$ip_forward" >/proc/sys/net/ipv4/ip_forward; fi
    if [ -n "$bridge_nf" ] && [ -w /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
      echo "$bridge_nf" >/proc/sys/net/bridge/bridge-nf-call-iptables
    fi
    # Mounts dockerd may leave under its exec root if it was killed.
    { grep -o " $RUN_DIR[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
    rm -rf "$RUN_DIR"
    say "stopped${prefix:+ (was on $prefix.0.0/16)}"
  fi
  if [ "${1:-}" = "--purge" ]; then
    { grep -o " $STATE_DIR[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
    rm -rf "$STATE_DIR"
    say "removed $STATE_DIR"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  env) if ours_running; then echo "export DOCKER_HOST=unix://$SOCKET"; fi ;;
  *)
    echo "usage: $0 start|stop [--purge]|env" >&2
    exit 2
    ;;
esac
