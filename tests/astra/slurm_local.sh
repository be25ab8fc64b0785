#!/usr/bin/env bash
# A single-node Slurm on this machine for the opt-in test `pytest -m slurm` (root needed).
#
#   apt-get install -y slurm-wlm munge        # Debian 12: Slurm 22.05, MUNGE 0.5
#   tests/astra/slurm_local.sh start /tmp/zp-slurm
#   export SLURM_CONF=/tmp/zp-slurm/slurm.conf
#   pytest -m slurm tests/astra/test_slurm.py    # with ZETA_PAYNE_TEST_POSTGRES_URL set
#   tests/astra/slurm_local.sh stop /tmp/zp-slurm
#
# Everything but MUNGE's key (made by the package) lives under DIR; /etc/slurm is not touched.
set -euo pipefail
action=${1:?start or stop}
dir=$(realpath -m "${2:?folder}")
host=$(hostname)
cpus=$(nproc)

case "$action" in
start)
  mkdir -p "$dir"/{state,spool,log}
  cat >"$dir/slurm.conf" <<EOF
ClusterName=zetapayne
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6917
SlurmdPort=6918
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    su munge -s /bin/bash -c /usr/sbin/munged
  fi
  /usr/sbin/slurmctld -f "$dir/slurm.conf"
  /usr/sbin/slurmd -f "$dir/slurm.conf"
  for _ in $(seq 30); do
    if SLURM_CONF="$dir/slurm.conf" sinfo -h -o %T 2>/dev/null | grep -q idle; then
      echo "Slurm is up: export SLURM_CONF=$dir/slurm.conf"
      exit 0
    fi
    sleep 1
  done
  echo "Slurm did not come up; see $dir/log" >&2
  exit 1
  ;;
stop)
  for daemon in slurmd slurmctld; do
    if [ -f "$dir/$daemon.pid" ]; then kill "$(cat "$dir/$daemon.pid")" 2>/dev/null || true; fi
  done
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
