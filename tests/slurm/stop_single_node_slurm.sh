#!/usr/bin/env bash
# Stop the daemons started by start_single_node_slurm.sh STATE_DIR (by their pid files).
set -uo pipefail

STATE_DIR=${1:?usage: $0 STATE_DIR}
for daemon in slurmd slurmctld munged; do
    pid_file="$STATE_DIR/$daemon.pid"
    [[ -s $pid_file ]] || continue
    pid=$(cat "$pid_file")
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    rm -f "$pid_file"
done
if [[ -s $STATE_DIR/munge_dir ]]; then
    rm -rf "$(cat "$STATE_DIR/munge_dir")"
    rm -f "$STATE_DIR/munge_dir"
fi
exit 0
