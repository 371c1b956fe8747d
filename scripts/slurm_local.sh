#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, so sweeps go through a real slurmctld (sbatch arrays,
# per-job logs, requeue) in the tests and when rehearsing `make ... LAUNCHER=slurm`. With
# ACDC_SLURM_NODES=N it has N nodes, one slurmd each, all on this host (multi-node DDP rehearsals).
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
# ACDC_SLURMD_PORT (6818; node i of N listens on 6818+i-1), ACDC_SLURM_NODES (1),
# ACDC_SLURM_START_TIMEOUT (seconds to wait for idle nodes, 60).
#
# Several nodes: one slurmd per node, started as `slurmd -N <node>`, each with its own port,
# spool dir, pid and log file (%n in slurm.conf); Debian's 22.05 build runs them side by side.
# The nodes are named <host>-n1..N and share NodeAddr=127.0.0.1 (their names do not resolve:
# acdc_bench.distributed asks scontrol for a node's NodeAddr then). Each node announces every
# CPU of the machine and 1/N of its memory, so N nodes oversubscribe the CPUs N times: for
# rehearsals, not speed.
set -euo pipefail

STATE="${ACDC_SLURM_DIR:-/tmp/acdc-slurm}"
CTLD_PORT="${ACDC_SLURMCTLD_PORT:-6817}"
SLURMD_PORT="${ACDC_SLURMD_PORT:-6818}"
START_TIMEOUT="${ACDC_SLURM_START_TIMEOUT:-60}"
CONF="$STATE/slurm.conf"
MUNGE_DIR="$STATE/munge"
MUNGE_SOCKET="$MUNGE_DIR/munge.socket.2"
PIDS="$STATE/pids"
HOST="$(hostname -s)"
NODES="${ACDC_SLURM_NODES:-1}"
# Debian package -> a program it must provide.
PACKAGES="munge:munged slurmctld:slurmctld slurmd:slurmd slurm-client:sinfo"
export SLURM_CONF="$CONF"

die() { echo "slurm_local: $*" >&2; exit 1; }
say() { echo "slurm_local: $*"; }
[[ "$NODES" =~ ^[1-9][0-9]*$ ]] || die "ACDC_SLURM_NODES=$NODES is not allowed; expected a whole number >= 1"
# One node keeps the host's name (what a user expects in sinfo); several are <host>-n1..N.
if [ "$NODES" = 1 ]; then NODE_NAMES="$HOST"; else NODE_NAMES=$(seq -f "$HOST-n%g" 1 "$NODES" | tr '\n' ' '); fi

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

# The pid recorded for a daemon (munged, slurmctld, slurmd@<node>), printed only if that process
# is still the daemon we started.
live_pid() {
  local name=$1 pid
  [ -f "$PIDS" ] || return 1
  pid=$(awk -v n="$name" '$1 == n { print $2 }' "$PIDS")
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "${name%%@*}" ] || return 1
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
  local cpus mem port=$SLURMD_PORT node
  cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)  # nproc obeys those (tests set them)
  mem=$(($(real_memory_mb) / NODES))
  mkdir -p "$STATE/ctld" "$STATE/slurmd" "$STATE/log" "$STATE/bin"
  cat >"$CONF.new" <<EOF
# Written by scripts/slurm_local.sh: a cluster of $NODES node(s) on $HOST, no systemd, no cgroups,
# no accounting storage (finished jobs: jobcomp/filetxt in $STATE/jobcomp.txt).
ClusterName=acdc
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd/%n
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd-%n.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd-%n.log
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
# SIGTERM to SIGKILL (scontrol requeue, scancel, preemption): the trainer checkpoints at the
# next step boundary on SIGTERM, which must fit in here (docs/robustness.md).
KillWait=10
Waittime=0
# Finished jobs stay visible to scontrol for an hour (submitit polls at most every 10 minutes).
MinJobAge=3600
EOF
  for node in $NODE_NAMES; do
    echo "NodeName=$node NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$port CPUs=$cpus RealMemory=$mem State=UNKNOWN"
    port=$((port + 1))
  done >>"$CONF.new"
  node=$(echo $NODE_NAMES | tr ' ' ',')  # one word per node: joined with commas
  echo "PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE DefMemPerCPU=$((mem / cpus)) State=UP" >>"$CONF.new"
  mv "$CONF.new" "$CONF"
}

# The nodes of the slurm.conf in use (a running cluster keeps its own), as "name port" lines.
conf_nodes() {
  awk '$1 ~ /^NodeName=/ { n = substr($1, 10); p = ""
         for (i = 2; i <= NF; i++) if ($i ~ /^Port=/) p = substr($i, 6)
         print n, p }' "$CONF"
}

# Node states, one per line.
node_states() {
  sinfo -h -N -p debug -o %T 2>/dev/null || true
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

start_slurmctld() {
  live_pid slurmctld >/dev/null && return 0
  rm -f "$STATE/slurmctld.pid"
  slurmctld -f "$CONF" || die "slurmctld did not start (log: $STATE/log/slurmctld.log)"
  record_pid slurmctld "$STATE/slurmctld.pid"
}

start_slurmd() {
  local node=$1
  live_pid "slurmd@$node" >/dev/null && return 0
  mkdir -p "$STATE/slurmd/$node"
  rm -f "$STATE/slurmd-$node.pid"
  slurmd -f "$CONF" -N "$node" || die "slurmd for $node did not start (log: $STATE/log/slurmd-$node.log)"
  record_pid "slurmd@$node" "$STATE/slurmd-$node.pid"
}

wait_idle() {
  local states="" deadline=$((SECONDS + START_TIMEOUT))
  while [ $SECONDS -lt "$deadline" ]; do
    states=$(node_states)
    [ -n "$states" ] && ! grep -qvE '^(idle|mixed|allocated|completing)$' <<<"$states" && return 0
    sleep 0.5
  done
  die "nodes not idle after ${START_TIMEOUT}s (states: $(echo ${states:-no answer}); logs: $STATE/log/)"
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
  local node port
  check_port slurmctld "$CTLD_PORT"
  while read -r node port; do check_port "slurmd@$node" "$port"; done < <(conf_nodes)
  start_munged
  start_slurmctld
  while read -r node port; do start_slurmd "$node"; done < <(conf_nodes)
  wait_idle
  say "$(node_summary); for SLURM's commands and submitit:"
  print_env
}

# "node vm is idle", "nodes vm-n1 vm-n2 are idle"
node_summary() {
  local names states
  names=$(conf_nodes | awk '{ print $1 }' | paste -sd' ')
  states=$(node_states | sort -u | paste -sd/)
  if [[ "$names" == *" "* ]]; then echo "nodes $names are $states"; else echo "node $names is $states"; fi
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
  # slurmd: a pid file written before clusters had several nodes
  for name in $(awk '$1 ~ /^slurmd(@|$)/ { print $1 }' "$PIDS" 2>/dev/null) slurmctld munged; do
    pid=$(live_pid "$name") || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    [ -d "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null
    say "stopped $name (pid $pid)"
  done
  rm -f "$PIDS" "$STATE/slurmctld.pid" "$STATE"/slurmd-*.pid "$MUNGE_DIR/munged.pid"
}

cmd_status() {
  local name node port up=1
  [ -f "$CONF" ] || up=0
  for name in munged slurmctld; do
    live_pid "$name" >/dev/null || up=0
  done
  if [ "$up" = 1 ]; then
    while read -r node port; do live_pid "slurmd@$node" >/dev/null || up=0; done < <(conf_nodes)
  fi
  if [ "$up" = 1 ] && [ -n "$(node_states)" ]; then
    say "up: $(node_summary) (conf $CONF)"
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
