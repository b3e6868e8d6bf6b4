#!/usr/bin/env bash
# A real single-node Slurm cluster on localhost, for the SlurmExecutor tests and CI.
#
#   scripts/slurm-local.sh start  [BASE]   start it (installing slurm-wlm with apt-get if needed)
#   scripts/slurm-local.sh stop   [BASE]   stop it (only the daemons whose pid files are in BASE)
#   scripts/slurm-local.sh status [BASE]   say what runs; exit 0 when the cluster answers
#
# BASE (default $AUTORESEARCH_SLURM_BASE or /tmp/autoresearch-slurm) holds everything: slurm.conf,
# gres.conf, cgroup.conf, the munge key and socket, state, spool, logs, pid files and two fake
# GPUs (character devices cloned from /dev/null). `start` prints the environment to use on stdout,
# so `eval "$(scripts/slurm-local.sh start)"` works; progress goes to stderr. It is idempotent:
# when the cluster already runs it only prints the environment.
#
# Needs root (the daemons run as root, as SlurmUser). Containment uses proctrack/cgroup +
# task/cgroup when the cgroup v1 memory and freezer hierarchies are writable, else
# proctrack/linuxproc (no memory enforcement, no OOM state); SLURM_LOCAL_CGROUP=yes|no forces it.
# Ports: SLURM_LOCAL_CTLD_PORT (16817) and SLURM_LOCAL_SLURMD_PORT (16818), on 127.0.0.1 only.
set -euo pipefail

export PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
export LC_ALL=C

usage() {
  echo "usage: $0 start|stop|status [BASE]" >&2
  exit 2
}

ACTION=${1:-}
[ -n "$ACTION" ] || usage
BASE=${2:-${AUTORESEARCH_SLURM_BASE:-/tmp/autoresearch-slurm}}
case $BASE in
  /*) ;;
  *) BASE="$(pwd)/$BASE" ;;
esac
BASE=${BASE%/}
CONF=$BASE/slurm.conf
CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-16817}
SLURMD_PORT=${SLURM_LOCAL_SLURMD_PORT:-16818}
MUNGE_PID=$BASE/munge/munged.pid
CTLD_PID=$BASE/slurmctld.pid
SLURMD_PID=$BASE/slurmd.pid

log() { echo "slurm-local: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

print_env() {
  printf 'export SLURM_CONF=%q\n' "$CONF"
}

# The pid in pid file $1 when that process is alive (not a zombie) and its name is $2.
live_pid() {
  local file=$1 name=$2 pid stat state
  [ -r "$file" ] || return 1
  pid=$(tr -cd '0-9' 2> /dev/null < "$file") || return 1
  [ -n "$pid" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  state=${stat##*) }
  state=${state%% *}
  case $state in Z | X | x) return 1 ;; esac
  echo "$pid"
}

running() { live_pid "$1" "$2" > /dev/null; }

# Waits up to $1 tenths of a second for pid file $2 / name $3 to be dead.
wait_dead() {
  local n=$1 file=$2 name=$3 i
  for ((i = 0; i < n; i++)); do
    running "$file" "$name" || return 0
    sleep 0.1
  done
  ! running "$file" "$name"
}

# Ends one of our daemons by its pid file: TERM, then KILL after $3 tenths of a second.
stop_daemon() {
  local file=$1 name=$2 wait=${3:-50} pid
  if pid=$(live_pid "$file" "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_dead "$wait" "$file" "$name"; then
      log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_dead 50 "$file" "$name" || log "warning: $name (pid $pid) is still alive"
    fi
  fi
  rm -f "$file"
}

node_state() {
  SLURM_CONF=$CONF sinfo -h -n localhost -o %T 2>/dev/null | head -n 1
}

cluster_answers() {
  case $(node_state) in
    idle | mixed | allocated | completing) return 0 ;;
    *) return 1 ;;
  esac
}

all_running() {
  running "$MUNGE_PID" munged && running "$CTLD_PID" slurmctld && running "$SLURMD_PID" slurmd
}

install_slurm() {
  local missing=''
  for tool in slurmctld slurmd munged sbatch sinfo scontrol; do
    command -v "$tool" > /dev/null 2>&1 || missing="$missing $tool"
  done
  [ -z "$missing" ] && return 0
  [ "$(id -u)" = 0 ] || die "missing:$missing; installing slurm-wlm needs root"
  command -v apt-get > /dev/null 2>&1 || die "missing:$missing and no apt-get to install slurm-wlm"
  log "installing slurm-wlm (missing:$missing)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >&2 || die "apt-get install slurm-wlm failed"
  for tool in slurmctld slurmd munged sbatch; do
    command -v "$tool" > /dev/null 2>&1 || die "$tool still missing after installing slurm-wlm"
  done
}

# True when cgroup v1 memory + freezer hierarchies exist and we can create groups in them.
cgroup_v1_usable() {
  case ${SLURM_LOCAL_CGROUP:-auto} in
    yes) return 0 ;;
    no) return 1 ;;
  esac
  local ctl probe
  for ctl in memory freezer; do
    [ -d "/sys/fs/cgroup/$ctl" ] && [ -w "/sys/fs/cgroup/$ctl" ] || return 1
    [ -e "/sys/fs/cgroup/$ctl/cgroup.procs" ] || return 1
    probe="/sys/fs/cgroup/$ctl/slurm-local-probe.$$"
    mkdir "$probe" 2> /dev/null || return 1
    rmdir "$probe" 2> /dev/null || true
  done
  return 0
}

write_config() {
  local cpus mem_mb real_mem def_mem gpus=0 cgroup=no first_id
  cpus=$(nproc 2> /dev/null || echo 2)
  [ "$cpus" -ge 2 ] || cpus=2
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo 2> /dev/null || echo 4000)
  real_mem=$((mem_mb - 512))
  [ "$real_mem" -ge 1000 ] || real_mem=1000
  # A job without --mem gets an even share of the node (DefMemPerCPU is required with
  # CR_Core_Memory, else one job takes all the memory and jobs run one at a time).
  def_mem=$((real_mem / cpus))
  # Fresh job ids on every start (the state is wiped), so stale job ids rarely match a new job.
  first_id=$(($(date +%s) % 50000000 + 1000))

  # Fake GPUs: Slurm wants character devices; these are /dev/null clones.
  mkdir -p "$BASE/dev"
  for i in 0 1; do
    if [ ! -c "$BASE/dev/gpu$i" ]; then
      rm -f "$BASE/dev/gpu$i"
      mknod "$BASE/dev/gpu$i" c 1 3 2> /dev/null || true
    fi
  done
  if [ -c "$BASE/dev/gpu0" ] && [ -c "$BASE/dev/gpu1" ]; then
    gpus=2
  else
    log "warning: cannot create fake GPU devices (mknod failed); the cluster has no gres/gpu"
  fi

  if cgroup_v1_usable; then cgroup=yes; fi

  {
    echo "# Generated by scripts/slurm-local.sh: a single-node test cluster on localhost."
    echo "ClusterName=autoresearch-local"
    echo "SlurmctldHost=localhost(127.0.0.1)"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "AuthType=auth/munge"
    echo "CredType=cred/munge"
    echo "AuthInfo=socket=$BASE/munge/munge.socket"
    echo "SlurmctldPort=$CTLD_PORT"
    echo "SlurmdPort=$SLURMD_PORT"
    echo "StateSaveLocation=$BASE/state"
    echo "SlurmdSpoolDir=$BASE/spool"
    echo "SlurmctldPidFile=$CTLD_PID"
    echo "SlurmdPidFile=$SLURMD_PID"
    echo "SlurmctldLogFile=$BASE/log/slurmctld.log"
    echo "SlurmdLogFile=$BASE/log/slurmd.log"
    echo "SlurmdParameters=config_overrides"
    if [ $cgroup = yes ]; then
      echo "ProctrackType=proctrack/cgroup"
      echo "TaskPlugin=task/cgroup"
      echo "JobAcctGatherType=jobacct_gather/cgroup"
    else
      echo "ProctrackType=proctrack/linuxproc"
      echo "TaskPlugin=task/none"
      echo "JobAcctGatherType=jobacct_gather/linux"
    fi
    echo "JobAcctGatherFrequency=1"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core_Memory"
    echo "DefMemPerCPU=$def_mem"
    echo "SchedulerType=sched/backfill"
    echo "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=100"
    echo "AccountingStorageType=accounting_storage/none"
    echo "JobCompType=jobcomp/filetxt"
    echo "JobCompLoc=$BASE/log/jobcomp.txt"
    echo "FirstJobId=$first_id"
    echo "MpiDefault=none"
    echo "MailProg=/bin/true"
    echo "ReturnToService=2"
    echo "KillWait=5"
    echo "MinJobAge=300"
    echo "InactiveLimit=0"
    echo "SlurmctldTimeout=30"
    echo "SlurmdTimeout=60"
    if [ $gpus -gt 0 ]; then
      echo "GresTypes=gpu"
      echo "NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$real_mem Gres=gpu:$gpus State=UNKNOWN"
    else
      echo "NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$real_mem State=UNKNOWN"
    fi
    echo "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP"
  } > "$CONF"

  if [ $gpus -gt 0 ]; then
    printf 'AutoDetect=off\nNodeName=localhost Name=gpu File=%s/dev/gpu[0-1]\n' "$BASE" > "$BASE/gres.conf"
  else
    rm -f "$BASE/gres.conf"
  fi
  if [ $cgroup = yes ]; then
    printf 'CgroupPlugin=cgroup/v1\nCgroupMountpoint=/sys/fs/cgroup\nConstrainCores=no\nConstrainRAMSpace=yes\nConstrainSwapSpace=no\nConstrainDevices=no\n' > "$BASE/cgroup.conf"
  else
    rm -f "$BASE/cgroup.conf"
  fi
  log "config: $cpus CPUs, ${real_mem} MB, $gpus fake GPUs, containment $([ $cgroup = yes ] && echo proctrack/cgroup || echo proctrack/linuxproc)"
}

start_munge() {
  local i
  if running "$MUNGE_PID" munged; then return 0; fi
  mkdir -p "$BASE/munge"
  chmod 700 "$BASE/munge"
  if [ ! -s "$BASE/munge/munge.key" ]; then
    dd if=/dev/urandom of="$BASE/munge/munge.key" bs=1024 count=1 status=none
  fi
  chmod 400 "$BASE/munge/munge.key"
  rm -f "$BASE/munge/munge.socket" "$BASE/munge/munge.socket.lock" "$MUNGE_PID"
  munged -f --key-file="$BASE/munge/munge.key" --socket="$BASE/munge/munge.socket" \
    --pid-file="$MUNGE_PID" --log-file="$BASE/munge/munged.log" \
    --seed-file="$BASE/munge/munged.seed" >&2 || die "munged failed to start (see $BASE/munge/munged.log)"
  for ((i = 0; i < 100; i++)); do
    [ -S "$BASE/munge/munge.socket" ] && running "$MUNGE_PID" munged && return 0
    sleep 0.1
  done
  die "munged did not come up (see $BASE/munge/munged.log)"
}

start_cluster() {
  local i state
  install_slurm
  mkdir -p "$BASE" "$BASE/log"
  # A partial cluster (one daemon died) is restarted from scratch.
  stop_daemon "$SLURMD_PID" slurmd 50
  stop_daemon "$CTLD_PID" slurmctld 50
  # Fresh state each start: no drained node or stale jobs carried over.
  rm -rf "$BASE/state" "$BASE/spool"
  mkdir -p "$BASE/state" "$BASE/spool"
  rm -f "$BASE/log/jobcomp.txt"
  write_config
  start_munge
  export SLURM_CONF=$CONF
  slurmctld -i >&2 || die "slurmctld failed to start (see $BASE/log/slurmctld.log)"
  for ((i = 0; i < 100; i++)); do
    running "$CTLD_PID" slurmctld && scontrol ping > /dev/null 2>&1 && break
    sleep 0.1
  done
  running "$CTLD_PID" slurmctld || die "slurmctld died at start (see $BASE/log/slurmctld.log)"
  slurmd -N localhost >&2 || die "slurmd failed to start (see $BASE/log/slurmd.log)"
  for ((i = 0; i < 300; i++)); do
    state=$(node_state)
    case $state in
      idle | mixed | allocated)
        log "node localhost is $state"
        return 0
        ;;
      drain* | down* | fail*)
        scontrol update nodename=localhost state=resume > /dev/null 2>&1 || true
        ;;
    esac
    if ! running "$SLURMD_PID" slurmd && [ "$i" -gt 20 ]; then
      die "slurmd died at start (see $BASE/log/slurmd.log)"
    fi
    sleep 0.1
  done
  die "node did not become idle (state '$state'; see $BASE/log/slurmctld.log and slurmd.log)"
}

case $ACTION in
  start)
    if all_running && cluster_answers; then
      log "already running in $BASE"
    else
      start_cluster
    fi
    print_env
    ;;
  stop)
    if running "$CTLD_PID" slurmctld; then
      export SLURM_CONF=$CONF
      # The jobs of this private cluster go first, so no job process outlives it.
      jobs=$(squeue -h -o %A 2> /dev/null | tr '\n' ' ' || true)
      if [ -n "${jobs// /}" ]; then
        # shellcheck disable=SC2086
        scancel $jobs 2> /dev/null || true
        for ((i = 0; i < 100; i++)); do
          [ -z "$(squeue -h -o %A 2> /dev/null)" ] && break
          sleep 0.1
        done
      fi
      scontrol shutdown > /dev/null 2>&1 || true
      wait_dead 150 "$CTLD_PID" slurmctld || true
      wait_dead 50 "$SLURMD_PID" slurmd || true
    fi
    stop_daemon "$SLURMD_PID" slurmd 50
    stop_daemon "$CTLD_PID" slurmctld 50
    stop_daemon "$MUNGE_PID" munged 50
    log "stopped ($BASE)"
    ;;
  status)
    rc=0
    for d in "munged:$MUNGE_PID" "slurmctld:$CTLD_PID" "slurmd:$SLURMD_PID"; do
      name=${d%%:*}
      if pid=$(live_pid "${d#*:}" "$name"); then echo "$name: running (pid $pid)"; else
        echo "$name: stopped"
        rc=3
      fi
    done
    if [ $rc = 0 ]; then
      echo "node: $(node_state)"
      cluster_answers || rc=3
      print_env
    fi
    exit $rc
    ;;
  *) usage ;;
esac
