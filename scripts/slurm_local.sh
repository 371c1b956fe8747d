#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, so sweeps go through a real slurmctld (sbatch arrays,
# per-job logs, requeue) in the tests and when rehearsing `make ... LAUNCHER=slurm`.
#
#   scripts/slurm_local.sh start    install the Debian packages if missing, write slurm.conf,
#                                   start munged, slurmctld and slurmd, wait for the node to be idle
#   scripts/slurm_local.sh stop     cancel this cluster's jobs, then stop exactly the daemons start began
#   scripts/slurm_local.sh status   say whether the node is up (exit 0) or not (exit 1)
#   scripts/slurm_local.sh env      print the exports that point SLURM's commands at this cluster
#
# Needs root (slurmd runs jobs as their user; munged runs as the munge user). No systemd, no
# cgroups: proctrack/linuxproc and task/none. There is no accounting storage (slurmdbd): finished
# jobs are written by jobcomp/filetxt to $ACDC_SLURM_DIR/jobcomp.txt, and $ACDC_SLURM_DIR/bin/sacct
# answers submitit's status polls from scontrol and that file (see write_sacct_shim).
#
# Environment: ACDC_SLURM_DIR (state dir, default /tmp/acdc-slurm), ACDC_SLURMCTLD_PORT (6817),
# ACDC_SLURMD_PORT (6818), ACDC_SLURM_START_TIMEOUT (seconds to wait for the idle node, 60).
set -euo pipefail

STATE="${ACDC_SLURM_DIR:-/tmp/acdc-slurm}"
CTLD_PORT="${ACDC_SLURMCTLD_PORT:-6817}"
SLURMD_PORT="${ACDC_SLURMD_PORT:-6818}"
START_TIMEOUT="${ACDC_SLURM_START_TIMEOUT:-60}"
CONF="$STATE/slurm.conf"
MUNGE_DIR="$STATE/munge"
MUNGE_SOCKET="$MUNGE_DIR/munge.socket.2"
PIDS="$STATE/pids"
NODE="$(hostname -s)"
# Debian package -> a program it must provide.
PACKAGES="munge:munged slurmctld:slurmctld slurmd:slurmd slurm-client:sinfo"
export SLURM_CONF="$CONF"

die() { echo "slurm_local: $*" >&2; exit 1; }
say() { echo "slurm_local: $*"; }

install_packages() {
  local missing="" entry
  for entry in $PACKAGES; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "${entry#*:}" >/dev/null 2>&1 || missing="$missing ${entry%%:*}"
  done
  [ -z "$missing" ] && return 0
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing Debian packages:$missing"
    apt-get update -qq >/dev/null 2>&1 || true
    # The packages' maintainer scripts may try to start their services; without systemd they
    # cannot, and this cluster starts its own daemons anyway.
    # shellcheck disable=SC2086  # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
      >"/tmp/acdc-slurm-apt.log" 2>&1 || true
  fi
  for entry in $PACKAGES; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "${entry#*:}" >/dev/null 2>&1 || die "Debian package" \
      "${entry%%:*} is missing and could not be installed (needs root and apt-get;" \
      "see /tmp/acdc-slurm-apt.log)"
  done
}

# Is a TCP port listened on? Read from /proc so no extra package (iproute2) is needed.
port_taken() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
                   END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# The pid recorded for a daemon, printed only if that process is still the daemon we started.
live_pid() {
  local name=$1 pid
  [ -f "$PIDS" ] || return 1
  pid=$(awk -v n="$name" '$1 == n { print $2 }' "$PIDS")
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ] || return 1
  echo "$pid"
}

record_pid() {
  local name=$1 pidfile=$2 pid=""
  for _ in $(seq 50); do
    [ -s "$pidfile" ] && pid=$(tr -d ' \n' <"$pidfile") && [ -d "/proc/$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || die "$name did not start (log: $STATE/log/$name.log)"
  touch "$PIDS"
  { grep -v "^$name " "$PIDS" || true; echo "$name $pid"; } >"$PIDS.new"
  mv "$PIDS.new" "$PIDS"
}

# Memory for RealMemory: what the machine (or its cgroup limit) has, less 5% so slurmd, which
# measures it itself, never finds less than configured (that would drain the node).
real_memory_mb() {
  local mem limit
  mem=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
  limit=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || echo max)
  [[ "$limit" =~ ^[0-9]+$ ]] && [ $((limit / 1048576)) -lt "$mem" ] && mem=$((limit / 1048576))
  echo $((mem * 95 / 100))
}

write_conf() {
  local cpus mem
  cpus=$(nproc)
  mem=$(real_memory_mb)
  mkdir -p "$STATE/ctld" "$STATE/slurmd" "$STATE/log" "$STATE/bin"
  cat >"$CONF.new" <<EOF
# Written by scripts/slurm_local.sh: a one-node cluster on $NODE, no systemd, no cgroups,
# no accounting storage (finished jobs: jobcomp/filetxt in $STATE/jobcomp.txt).
ClusterName=acdc
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.txt
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10
InactiveLimit=0
KillWait=10
Waittime=0
# Finished jobs stay visible to scontrol for an hour (submitit polls at most every 10 minutes).
MinJobAge=3600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE DefMemPerCPU=$((mem / cpus)) State=UP
EOF
  mv "$CONF.new" "$CONF"
}

# submitit polls `sacct -o JobID,State,NodeList --parsable2 -j ID ...`, which fails (and warns on
# every poll) without accounting storage. This sacct, first on PATH, answers that one question
# from the jobcomp file (finished jobs) and then scontrol (jobs slurmctld still holds, which win
# in submitit's parser because they come later); any other use goes to the real sacct.
write_sacct_shim() {
  cat >"$STATE/bin/sacct.new" <<'EOF'
#!/usr/bin/env bash
# Written by scripts/slurm_local.sh: job states for submitit on a cluster without accounting storage.
set -uo pipefail
self_dir=$(cd "$(dirname "$0")" && pwd)
real=$(PATH=$(echo "$PATH" | tr ':' '\n' | grep -vx "$self_dir" | paste -sd:) command -v sacct)
ids=() format=""
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    -j|--jobs) ids+=("$2"); shift 2 ;;
    --jobs=*) ids+=("${1#--jobs=}"); shift ;;
    -o|--format) format=$2; shift 2 ;;
    --format=*) format=${1#--format=}; shift ;;
    --parsable2|-P) shift ;;
    *) exec "$real" "${args[@]}" ;;
  esac
done
[ "$format" = "JobID,State,NodeList" ] && [ ${#ids[@]} -gt 0 ] || exec "$real" "${args[@]}"
jobcomp=$(scontrol show config 2>/dev/null | awk '$1 == "JobCompLoc" { print $3 }')
echo "JobID|State|NodeList"
{
  [ -r "$jobcomp" ] && cat "$jobcomp"
  for id in "${ids[@]}"; do scontrol -o show job "$id" 2>/dev/null; done
} | awk -v want=" ${ids[*]} " '
  {
    delete f
    for (i = 1; i <= NF; i++) { k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v); f[k] = v }
    id = f["JobId"]; state = f["JobState"]; nodes = f["NodeList"]
    if (f["ArrayJobId"] != "" && f["ArrayTaskId"] != "") {
      main = f["ArrayJobId"]
      task = f["ArrayTaskId"]
      id = (task ~ /^[0-9]+$/) ? main "_" task : main "_[" task "]"
    } else main = id
    if (index(want, " " main " ") && state != "") print id "|" state "|" (nodes == "(null)" ? "" : nodes)
  }'
EOF
  chmod +x "$STATE/bin/sacct.new"
  mv "$STATE/bin/sacct.new" "$STATE/bin/sacct"
}

start_munged() {
  live_pid munged >/dev/null && return 0
  install -d -m 0755 -o munge -g munge "$MUNGE_DIR"
  [ -s "$MUNGE_DIR/munge.key" ] || runuser -u munge -- mungekey --create --keyfile="$MUNGE_DIR/munge.key"
  rm -f "$MUNGE_DIR/munged.pid"
  runuser -u munge -- munged --socket="$MUNGE_SOCKET" --key-file="$MUNGE_DIR/munge.key" \
    --pid-file="$MUNGE_DIR/munged.pid" --log-file="$MUNGE_DIR/munged.log" \
    --seed-file="$MUNGE_DIR/munged.seed" || die "munged did not start (log: $MUNGE_DIR/munged.log)"
  record_pid munged "$MUNGE_DIR/munged.pid"
}

# Checked before anything starts, so a failed start leaves nothing running.
check_port() {
  local name=$1 port=$2
  live_pid "$name" >/dev/null && return 0
  port_taken "$port" && die "port $port ($name) is already in use by another process;" \
    "stop it or choose another port (ACDC_SLURMCTLD_PORT / ACDC_SLURMD_PORT)"
  return 0
}

start_daemon() {
  local name=$1
  live_pid "$name" >/dev/null && return 0
  rm -f "$STATE/$name.pid"
  "$name" -f "$CONF" || die "$name did not start (log: $STATE/log/$name.log)"
  record_pid "$name" "$STATE/$name.pid"
}

wait_idle() {
  local state="" deadline=$((SECONDS + START_TIMEOUT))
  while [ $SECONDS -lt "$deadline" ]; do
    state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1 || true)
    case "$state" in idle|mixed|allocated|completing) return 0 ;; esac
    sleep 0.5
  done
  die "node $NODE not idle after ${START_TIMEOUT}s (state: ${state:-no answer}; logs: $STATE/log/)"
}

print_env() {
  echo "export SLURM_CONF=$CONF PATH=$STATE/bin:\$PATH"
}

cmd_start() {
  [ "$(id -u)" = 0 ] || die "needs root (slurmd runs jobs as their users, munged as munge)"
  install_packages
  PATH="$PATH:/usr/sbin:/sbin"
  mkdir -p "$STATE"
  # Rewrite the configuration only while slurmctld is down: a running cluster keeps its own.
  live_pid slurmctld >/dev/null || write_conf
  write_sacct_shim
  check_port slurmctld "$CTLD_PORT"
  check_port slurmd "$SLURMD_PORT"
  start_munged
  start_daemon slurmctld
  start_daemon slurmd
  wait_idle
  say "node $NODE is $(sinfo -h -n "$NODE" -o %T | head -1); for SLURM's commands and submitit:"
  print_env
}

cmd_stop() {
  local name pid jobs
  if live_pid slurmctld >/dev/null; then
    jobs=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
      say "cancelling jobs still on the cluster: $jobs"
      # shellcheck disable=SC2086  # one word per job
      scancel $jobs 2>/dev/null || true
      for _ in $(seq 20); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.5; done
    fi
  fi
  for name in slurmd slurmctld munged; do
    pid=$(live_pid "$name") || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    [ -d "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null
    say "stopped $name (pid $pid)"
  done
  rm -f "$PIDS" "$STATE/slurmctld.pid" "$STATE/slurmd.pid" "$MUNGE_DIR/munged.pid"
}

cmd_status() {
  local name state up=1
  for name in munged slurmctld slurmd; do
    live_pid "$name" >/dev/null || up=0
  done
  state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1 || true)
  if [ "$up" = 1 ] && [ -n "$state" ]; then
    say "up: node $NODE is $state (conf $CONF)"
  else
    say "down (state dir $STATE)"
    return 1
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
