#!/usr/bin/env bash
# Stops the cluster started by start-local-cluster.sh (slurmd, slurmctld, munged) by their pid
# files. --purge also removes $PERFCAST_SLURM_DIR (state, logs, key). Idempotent.
set -uo pipefail

dir="${PERFCAST_SLURM_DIR:-/tmp/perfcast-slurm}"
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  exec sudo -n -E bash "$0" "$@"
fi

stop() {  # name: TERM, wait up to 10 s, then KILL
  local pidfile="$dir/run/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
  echo "stop-local-cluster: stopped $1 ($pid)"
}

stop slurmd
stop slurmctld
stop munged
if [ "${1:-}" = "--purge" ]; then
  rm -rf "$dir"
  echo "stop-local-cluster: removed $dir"
fi
