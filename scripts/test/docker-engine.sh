#!/usr/bin/env bash
# A PRIVATE Docker engine for the Docker-mode tests (__test__/docker-engine.test.mjs).
#
#   scripts/test/docker-engine.sh start   install docker.io if missing (apt, as root or with
#                                         sudo), start a private dockerd, wait until it
#                                         answers, build the pinned image if missing
#                                         (scripts/test/docker-image.sh); prints DOCKER_HOST=unix://…
#                                         as its last stdout line. Idempotent.
#   scripts/test/docker-engine.sh stop    stop that dockerd by the pid in its pidfile (SIGTERM,
#                                         bounded wait, SIGKILL), then what it left behind
#                                         (its containerd and shims, by their pid files), its
#                                         mounts and its bridge. Idempotent.
#   scripts/test/docker-engine.sh status  exit 0 and print DOCKER_HOST if it answers, else 1.
#
# Private means: its own socket, data-root, exec-root, pidfile and daemon.json under
# $CMS_DOCKER_DIR (default target/docker/ in this checkout), its own bridge (never
# docker0), its own containerd namespace, published ports bound to 127.0.0.1 by
# default, no iptables rules. It never uses or touches /var/run/docker.sock, a system
# dockerd or a system containerd's "moby" namespace. Nothing is ever stopped by name.
#
# Environment: CMS_DOCKER_DIR (state dir), CMS_DOCKER_STORAGE_DRIVER (overlay2),
# CMS_DOCKER_START_TIMEOUT (s, 60), CMS_DOCKER_STOP_TIMEOUT (s, 40).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${CMS_DOCKER_DIR:-$ROOT/target/docker}"
SOCK="$STATE/docker.sock"
PIDFILE="$STATE/dockerd.pid"
LOG="$STATE/dockerd.log"
DATA_ROOT="$STATE/data"
EXEC_ROOT="$STATE/exec"
START_TIMEOUT="${CMS_DOCKER_START_TIMEOUT:-60}"
STOP_TIMEOUT="${CMS_DOCKER_STOP_TIMEOUT:-40}"

say() { echo "docker-engine: $*" >&2; }
die() { say "$*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if have sudo && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    die "a Docker engine needs root: run this as root, or as a user with passwordless sudo."
  fi
fi

# The docker CLI to talk to the engine with: the one first on PATH (as the addon does).
docker_cli() { DOCKER_HOST="unix://$SOCK" DOCKER_CONTEXT= command docker "$@"; }

# One bridge per state dir (interface names are at most 15 characters), on a /24 of
# 10.213.0.0/16 derived from the same hash, so two checkouts can run engines at once.
hash8="$(printf '%s' "$STATE" | sha256sum | cut -c1-8)"
BRIDGE="${CMS_DOCKER_BRIDGE:-cmsd$hash8}"
BRIDGE_CIDR="${CMS_DOCKER_BRIDGE_CIDR:-10.213.$(( 16#${hash8:0:2} )).1/24}"

# Alive and not a zombie (read from /proc, so it also works for root's processes
# when run as a user with sudo).
pid_alive() {
  local s
  [ -n "${1:-}" ] && s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  s="${s##*) }"
  [ "${s:0:1}" != Z ]
}

# The pid in a pid file, if that process is alive and its command line names $2
# (so a recycled pid is never signalled).
pid_from() {
  local file="$1" needle="$2" pid
  [ -r "$file" ] || return 1
  pid="$(tr -dc 0-9 <"$file")"
  pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$needle" || return 1
  echo "$pid"
}

dockerd_pid() { pid_from "$PIDFILE" "$SOCK"; }

answers() { docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# SIGTERM, wait up to $2 seconds, then SIGKILL and wait again (bounded).
stop_pid() {
  local pid="$1" grace="$2" what="$3" i
  pid_alive "$pid" || return 0
  say "stopping $what (pid $pid)"
  $SUDO kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  say "$what (pid $pid) did not exit within ${grace}s; SIGKILL"
  $SUDO kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  die "$what (pid $pid) is still alive after SIGKILL"
}

# Every mount under the state dir, deepest first; lazily if busy.
unmount_all() {
  local mounts m
  mounts="$(awk -v p="$STATE" '{ gsub(/\\040/, " ", $5); if ($5 == p || index($5, p "/") == 1) print $5 }' /proc/self/mountinfo | sort -r)"
  [ -n "$mounts" ] || return 0
  while IFS= read -r m; do
    $SUDO umount "$m" 2>/dev/null || $SUDO umount -l "$m" 2>/dev/null || say "could not unmount $m"
  done <<<"$mounts"
}

# Whether /proc/<pid>/cmdline holds every one of the given strings.
cmdline_has() {
  local pid="$1" line
  shift
  line="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  for needle in "$@"; do
    [[ "$line" == *"$needle"* ]] || return 1
  done
}

# What a dockerd that died (or was SIGKILLed) can leave running: its containerd (by
# its pid file), and per container the container's init process (by the task's
# init.pid, checked against the container's cgroup) and its containerd shim (which
# outlives containerd; found as the init's parent, or by its exact command line:
# this container's 64-hex id and our containerd's socket under our exec-root).
stop_leftovers() {
  local pid task id shim cand
  local sock="$EXEC_ROOT/containerd/containerd.sock"
  if pid="$(pid_from "$EXEC_ROOT/containerd/containerd.pid" "$EXEC_ROOT")"; then
    stop_pid "$pid" 10 "containerd"
  fi
  for task in "$EXEC_ROOT"/containerd/daemon/io.containerd.runtime.v2.task/*/*/; do
    [ -d "$task" ] || continue
    id="$(basename "$task")"
    shim=""
    pid="$(tr -dc 0-9 <"$task/init.pid" 2>/dev/null || true)"
    if pid_alive "$pid" && grep -qF "$id" "/proc/$pid/cgroup" 2>/dev/null; then
      shim="$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
      # SIGTERM first: Valkey flushes its AOF and exits.
      stop_pid "$pid" 10 "container ${id:0:12}'s process"
    fi
    for cand in $shim $(grep -lsF -- "$id" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
      if pid_alive "$cand" && cmdline_has "$cand" "containerd-shim" "-id $id" "-address $sock"; then
        stop_pid "$cand" 5 "container ${id:0:12}'s containerd shim"
      fi
    done
  done
}

install_docker() {
  have dockerd && return 0
  have apt-get || die "dockerd is missing and this is not a Debian/Ubuntu machine: install Docker Engine, then run this again."
  say "installing docker.io (apt)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq docker.io >&2 || { $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq docker.io >&2; }
  have dockerd || die "apt-get installed docker.io but dockerd is not on PATH"
}

make_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    $SUDO ip link add name "$BRIDGE" type bridge
    $SUDO ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  fi
  $SUDO ip link set "$BRIDGE" up
}

remove_bridge() {
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    $SUDO ip link del "$BRIDGE" 2>/dev/null || say "could not remove bridge $BRIDGE"
  fi
}

cmd_start() {
  [ "${#SOCK}" -lt 100 ] || die "the socket path $SOCK is too long for a unix socket; set CMS_DOCKER_DIR to a shorter dir"
  install_docker
  have docker || die "no docker CLI on PATH"
  have ip || die "the ip command (iproute2) is needed for the engine's private bridge"
  mkdir -p "$STATE"
  local pid launcher=""
  if pid="$(dockerd_pid)" && answers; then
    say "already running (pid $pid)"
  else
    if [ -z "${pid:-}" ]; then
      # Whatever a previous dockerd left behind goes first.
      stop_leftovers
      unmount_all
      $SUDO rm -f "$PIDFILE" "$SOCK"
      mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
      printf '{}\n' >"$STATE/daemon.json"
      make_bridge
      local group
      group="$(id -gn)"
      say "starting dockerd (socket $SOCK, log $LOG)"
      # setsid + nohup: the engine outlives this script; stdin closed, output to its log.
      $SUDO setsid nohup dockerd \
        --host "unix://$SOCK" \
        --group "$group" \
        --data-root "$DATA_ROOT" \
        --exec-root "$EXEC_ROOT" \
        --pidfile "$PIDFILE" \
        --config-file "$STATE/daemon.json" \
        --storage-driver "${CMS_DOCKER_STORAGE_DRIVER:-overlay2}" \
        --bridge "$BRIDGE" \
        --ip 127.0.0.1 \
        --iptables=false --ip6tables=false --ip-masq=false \
        --containerd-namespace cms-moby \
        --containerd-plugins-namespace cms-plugins \
        </dev/null >>"$LOG" 2>&1 &
      launcher=$!
    fi
    # Bounded readiness poll: the engine answers `docker version`.
    local deadline=$((SECONDS + START_TIMEOUT))
    until answers; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        tail -n 20 "$LOG" >&2 || true
        die "dockerd did not answer within ${START_TIMEOUT}s (log: $LOG)"
      fi
      if ! dockerd_pid >/dev/null && { [ -z "$launcher" ] || ! pid_alive "$launcher"; }; then
        tail -n 20 "$LOG" >&2 || true
        die "dockerd exited while starting (log: $LOG)"
      fi
      sleep 0.05
    done
    say "dockerd $(docker_cli version --format '{{.Server.Version}}') answers (pid $(dockerd_pid || echo '?'))"
  fi
  DOCKER_HOST="unix://$SOCK" bash "$ROOT/scripts/test/docker-image.sh" >&2
  echo "DOCKER_HOST=unix://$SOCK"
}

cmd_stop() {
  local pid
  if pid="$(dockerd_pid)"; then
    # dockerd stops its running containers first (SIGTERM, up to 15 s each), then exits.
    stop_pid "$pid" "$STOP_TIMEOUT" "dockerd"
  else
    say "no dockerd of ours is running"
  fi
  stop_leftovers
  unmount_all
  remove_bridge
  $SUDO rm -f "$PIDFILE" "$SOCK"
}

cmd_status() {
  if dockerd_pid >/dev/null && answers; then
    echo "DOCKER_HOST=unix://$SOCK"
  else
    say "not running"
    return 1
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
