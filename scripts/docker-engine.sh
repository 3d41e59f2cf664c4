#!/usr/bin/env bash
# A private Docker engine for the docker replica runtime and the requires_docker tests.
#
#   scripts/docker-engine.sh start    # start (idempotent), wait until `docker info` answers
#   scripts/docker-engine.sh stop     # stop it (SIGTERM, then SIGKILL after a grace period)
#   scripts/docker-engine.sh status   # exit 0 when it answers, 1 otherwise
#   scripts/docker-engine.sh env      # print only the DOCKER_HOST=... line
#
# start and status print the line to use:  DOCKER_HOST=unix:///run/fake-azure-docker/docker.sock
# (`eval "export $(scripts/docker-engine.sh env)"` sets it in the calling shell.)
#
# It runs its own dockerd (and the containerd that dockerd manages) with private paths, so it does
# not touch a system engine at /var/run/docker.sock. Needs root.
#
# Environment (all optional):
#   FAKE_AZURE_DOCKER_DATA_ROOT   --data-root   (default /var/lib/fake-azure-docker)
#   FAKE_AZURE_DOCKER_EXEC_ROOT   --exec-root   (default /run/fake-azure-docker)
#   FAKE_AZURE_DOCKER_SOCK        socket path   (default $FAKE_AZURE_DOCKER_EXEC_ROOT/docker.sock)
#   FAKE_AZURE_DOCKER_PIDFILE     --pidfile     (default /run/fake-azure-docker.pid)
#   FAKE_AZURE_DOCKER_LOG         dockerd log   (default /var/log/fake-azure-docker.log)
#   FAKE_AZURE_DOCKER_STORAGE_DRIVER  overlay2|vfs|... (default: try overlay2, fall back to vfs)
#   FAKE_AZURE_DOCKER_NETWORK     bridge|none   (default: try bridge, fall back to none, i.e.
#                                 --iptables=false --bridge=none: host networking only)
#   FAKE_AZURE_DOCKER_BRIDGE      Linux bridge for the default network (default fa-docker0); created
#                                 here, so this engine never shares docker0 with another dockerd
#                                 (two engines on one bridge hand out the same container IPs)
#   FAKE_AZURE_DOCKER_BRIDGE_CIDR its address (default 172.30.231.1/24)
#   FAKE_AZURE_DOCKER_TIMEOUT     seconds to wait for the engine to answer (default 60)
#   FAKE_AZURE_DOCKERD_ARGS       extra dockerd arguments (word-split)
set -euo pipefail

DATA_ROOT="${FAKE_AZURE_DOCKER_DATA_ROOT:-/var/lib/fake-azure-docker}"
EXEC_ROOT="${FAKE_AZURE_DOCKER_EXEC_ROOT:-/run/fake-azure-docker}"
SOCK="${FAKE_AZURE_DOCKER_SOCK:-$EXEC_ROOT/docker.sock}"
PIDFILE="${FAKE_AZURE_DOCKER_PIDFILE:-/run/fake-azure-docker.pid}"
LOG="${FAKE_AZURE_DOCKER_LOG:-/var/log/fake-azure-docker.log}"
TIMEOUT="${FAKE_AZURE_DOCKER_TIMEOUT:-60}"
HOST="unix://$SOCK"
BRIDGE="${FAKE_AZURE_DOCKER_BRIDGE:-fa-docker0}"
BRIDGE_CIDR="${FAKE_AZURE_DOCKER_BRIDGE_CIDR:-172.30.231.1/24}"
STATE="$DATA_ROOT/fake-azure-engine.conf"   # which storage driver / network mode the last start chose

log() { echo "docker-engine: $*" >&2; }
die() { log "error: $*"; exit 1; }

answers() { DOCKER_HOST="$HOST" timeout 10 docker info >/dev/null 2>&1; }

daemon_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Only our dockerd: the pid must be a dockerd listening on our socket.
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "dockerd.*$SOCK" || return 1
  echo "$pid"
}

print_host() { echo "DOCKER_HOST=$HOST"; }

describe() {
  local driver
  driver=$(DOCKER_HOST="$HOST" docker info --format '{{.Driver}}' 2>/dev/null || echo '?')
  log "running (pid $(daemon_pid || echo '?'), storage driver $driver, $(cat "$STATE" 2>/dev/null || echo 'network ?'), log $LOG)"
}

# Our own bridge (dockerd's --bridge must exist beforehand; it takes the bridge's address as gateway).
ensure_bridge() {
  command -v ip >/dev/null || return 1
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add name "$BRIDGE" type bridge || return 1
  fi
  ip -4 addr show dev "$BRIDGE" | grep -q "inet ${BRIDGE_CIDR%/*}/" \
    || ip addr add "$BRIDGE_CIDR" dev "$BRIDGE" || return 1
  ip link set "$BRIDGE" up
}

# Try one configuration. Returns 0 when the engine answers, 1 when dockerd exited (try the next
# configuration), 2 when it neither answers nor exits within TIMEOUT.
try_start() {
  local driver=$1 network=$2 pid deadline
  local args=(--data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE"
              -H "$HOST" --storage-driver "$driver")
  if [[ "$network" == none ]]; then
    args+=(--iptables=false --bridge=none)
  else
    ensure_bridge || { log "cannot create bridge $BRIDGE"; return 1; }
    args+=(--bridge="$BRIDGE")
  fi
  # shellcheck disable=SC2206
  [[ -n "${FAKE_AZURE_DOCKERD_ARGS:-}" ]] && args+=($FAKE_AZURE_DOCKERD_ARGS)
  log "starting dockerd (storage driver $driver, network $network)"
  echo "=== $(date -u +%FT%TZ) dockerd ${args[*]}" >> "$LOG"
  # setsid: the engine outlives this shell and the CI step that started it.
  setsid dockerd "${args[@]}" >> "$LOG" 2>&1 < /dev/null &
  pid=$!
  deadline=$(( $(date +%s) + TIMEOUT ))
  while (( $(date +%s) < deadline )); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "dockerd exited with storage driver $driver, network $network; last log lines:"
      tail -n 5 "$LOG" >&2
      return 1
    fi
    if answers; then
      echo "storage=$driver network=$network" > "$STATE"
      return 0
    fi
    sleep 1
  done
  return 2
}

start() {
  command -v dockerd >/dev/null || die "dockerd not found (apt-get install docker.io)"
  command -v docker >/dev/null || die "docker CLI not found (apt-get install docker.io)"
  if daemon_pid >/dev/null; then
    if answers; then describe; print_host; return 0; fi
    log "dockerd (pid $(daemon_pid)) is starting; waiting"
    local deadline=$(( $(date +%s) + TIMEOUT ))
    while (( $(date +%s) < deadline )); do
      if answers; then describe; print_host; return 0; fi
      sleep 1
    done
    tail -n 20 "$LOG" >&2 || true
    die "dockerd (pid $(daemon_pid || echo '?')) does not answer at $HOST after ${TIMEOUT}s; see $LOG"
  fi
  [[ $(id -u) == 0 ]] || die "dockerd needs root"
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT" "$(dirname "$SOCK")" "$(dirname "$PIDFILE")" "$(dirname "$LOG")"
  rm -f "$PIDFILE" "$SOCK"   # stale, from a dockerd that is gone

  local drivers networks d n rc
  if [[ -n "${FAKE_AZURE_DOCKER_STORAGE_DRIVER:-}" ]]; then drivers=("$FAKE_AZURE_DOCKER_STORAGE_DRIVER")
  else drivers=(overlay2 vfs); fi
  if [[ -n "${FAKE_AZURE_DOCKER_NETWORK:-}" ]]; then networks=("$FAKE_AZURE_DOCKER_NETWORK")
  else networks=(bridge none); fi
  for d in "${drivers[@]}"; do
    for n in "${networks[@]}"; do
      rc=0; try_start "$d" "$n" || rc=$?
      case $rc in
        0) describe; print_host; return 0 ;;
        1) rm -f "$PIDFILE" "$SOCK"; continue ;;
        2) log "last log lines ($LOG):"; tail -n 20 "$LOG" >&2 || true
           die "dockerd started but does not answer at $HOST after ${TIMEOUT}s (left running: pid $(daemon_pid || echo '?'); '$0 stop' to stop it)" ;;
      esac
    done
  done
  log "last log lines ($LOG):"; tail -n 20 "$LOG" >&2 || true
  die "dockerd did not start with any of: storage ${drivers[*]} x network ${networks[*]}"
}

stop() {
  local pid i
  if ! pid=$(daemon_pid); then log "not running"; rm -f "$PIDFILE"; return 0; fi
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || { unmount_leftovers; log "stopped"; return 0; }
    sleep 1
  done
  log "dockerd (pid $pid) ignored SIGTERM for 30s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 1
  # Its managed containerd, if it was left behind (its pid is in the exec-root).
  local cpid
  cpid=$(cat "$EXEC_ROOT/containerd/containerd.pid" 2>/dev/null || true)
  [[ "$cpid" =~ ^[0-9]+$ ]] && kill -KILL "$cpid" 2>/dev/null || true
  rm -f "$PIDFILE"
  unmount_leftovers
}

# dockerd may leave a bind mount of its data root behind (and the netns mount in the exec root).
unmount_leftovers() {
  local m
  for m in "$EXEC_ROOT/netns" "$DATA_ROOT"; do
    mountpoint -q "$m" 2>/dev/null && umount -l "$m" 2>/dev/null || true
  done
}

status() {
  if daemon_pid >/dev/null && answers; then describe; print_host; return 0; fi
  if daemon_pid >/dev/null; then log "dockerd (pid $(daemon_pid)) is running but does not answer at $HOST"
  else log "not running"; fi
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) print_host ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
