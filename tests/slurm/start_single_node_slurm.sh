#!/usr/bin/env bash
# Start a single-node Slurm "cluster" on this machine (munged + slurmctld + slurmd, loopback only,
# no cgroups) for the slow executor test. Usage, as root:
#   tests/slurm/start_single_node_slurm.sh STATE_DIR
# Writes STATE_DIR/slurm.conf (export SLURM_CONF=STATE_DIR/slurm.conf for sbatch/squeue/scancel)
# and STATE_DIR/*.pid; stop with tests/slurm/stop_single_node_slurm.sh STATE_DIR.
# Installs Debian's slurm-wlm and munge when they are missing.
set -euo pipefail

STATE_DIR=${1:?usage: $0 STATE_DIR}
mkdir -p "$STATE_DIR"
STATE_DIR=$(cd "$STATE_DIR" && pwd)

if [[ $(id -u) -ne 0 ]]; then
    echo "needs root (starts munged, slurmctld and slurmd)" >&2
    exit 2
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

NODE=$(hostname -s)
CPUS=$(getconf _NPROCESSORS_ONLN)  # not nproc: it honours OMP_NUM_THREADS
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

# munge: key and daemon; its files live in a directory the munge user can reach (STATE_DIR may
# be private to root, as pytest's tmp dirs are).
if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create --force
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
MUNGE_DIR=$(mktemp -d /tmp/paper-artifact-munge.XXXXXX)
echo "$MUNGE_DIR" > "$STATE_DIR/munge_dir"
chown munge:munge "$MUNGE_DIR"
chmod 755 "$MUNGE_DIR"
MUNGE_SOCKET="$MUNGE_DIR/munge.socket"
runuser -u munge -- munged --socket="$MUNGE_SOCKET" \
    --pid-file="$MUNGE_DIR/munged.pid" --log-file="$MUNGE_DIR/munged.log" \
    --seed-file="$MUNGE_DIR/munged.seed"
cp "$MUNGE_DIR/munged.pid" "$STATE_DIR/munged.pid"

mkdir -p "$STATE_DIR/ctld" "$STATE_DIR/spool"
cat > "$STATE_DIR/slurm.conf" <<EOF
ClusterName=paper-artifact-test
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=${MUNGE_SOCKET}
CredType=cred/munge
StateSaveLocation=${STATE_DIR}/ctld
SlurmdSpoolDir=${STATE_DIR}/spool
SlurmctldPidFile=${STATE_DIR}/slurmctld.pid
SlurmdPidFile=${STATE_DIR}/slurmd.pid
SlurmctldLogFile=${STATE_DIR}/slurmctld.log
SlurmdLogFile=${STATE_DIR}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$STATE_DIR/slurm.conf"

slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"

# Wait for the node to register as idle.
for _ in $(seq 60); do
    if sinfo --noheader --nodes="$NODE" --format=%t 2>/dev/null | grep -qx idle; then
        echo "single-node slurm up: SLURM_CONF=$SLURM_CONF node=$NODE cpus=$CPUS"
        exit 0
    fi
    sleep 1
done
echo "slurm node $NODE did not become idle within 60 s; sinfo says:" >&2
sinfo -N -l >&2 || true
tail -n 20 "$STATE_DIR/slurmctld.log" "$STATE_DIR/slurmd.log" >&2 || true
exit 1
