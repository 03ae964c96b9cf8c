#!/usr/bin/env bash
# A real single-node SLURM cluster with accounting on localhost, for the farm-path test
# (tests/test_pipeline_slurm.py) and for trying workflow/profiles/slurm by hand.
#
#   scripts/slurm_local.sh install       apt-get Debian's slurmctld, slurmd, slurmdbd,
#                                        slurm-client, munge, mariadb-server (root only;
#                                        .ci/run calls it)
#   scripts/slurm_local.sh start DIR     start munged, mariadbd, slurmdbd, slurmctld and
#                                        slurmd with every file (config, state, pid, log,
#                                        database) under DIR; register the cluster, the
#                                        account and the user in accounting; wait until
#                                        each daemon answers and the node is idle.
#                                        Idempotent: what already runs is left running;
#                                        a cluster left under another DIR is stopped.
#                                        Prints `export SLURM_CONF=...` (also in DIR/env.sh).
#   scripts/slurm_local.sh stop DIR      cancel this cluster's jobs, stop its daemons
#   scripts/slurm_local.sh status DIR    scontrol ping, sinfo, the daemons' pids
#
# Client commands (sbatch, sacct, snakemake's slurm executor) find this cluster through
# SLURM_CONF=DIR/etc/slurm.conf and, because the executor's job step drops SLURM_* from
# the environment of the `srun` it runs inside each job, through the default path
# /etc/slurm/slurm.conf too: `start` makes that a symlink to DIR/etc/slurm.conf (and
# refuses, exit code 3, when a real one is there), `stop` removes it. munged answers on
# its default socket. Nothing else outside DIR is touched and no system service started. Settings (environment): SLURM_LOCAL_CPUS (default: nproc), SLURM_LOCAL_MEM_MB
# (default: MemTotal minus 10 %), SLURM_LOCAL_PORT (first of five consecutive ports,
# default 26817), SLURM_LOCAL_ACCOUNT (default ciasa), SLURM_LOCAL_TIMEOUT (seconds to
# wait for each daemon, default 60). The daemons run as the invoking user; slurmd must be
# root to start jobs, so `start` needs root.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
TEMPLATES=$HERE/tests/slurm
PACKAGES="slurmctld slurmd slurmdbd slurm-client munge mariadb-server"
NEEDED="munged mungekey munge unmunge mariadbd mariadb-install-db mariadb slurmdbd slurmctld slurmd sacctmgr scontrol sinfo sbatch sacct squeue scancel srun"

log() { echo "[slurm_local] $*" >&2; }
die() { log "error: $*"; exit 1; }

# Debian puts the daemons in /usr/sbin, which a non-login PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

missing() {
    local m=""
    for b in $NEEDED; do command -v "$b" >/dev/null 2>&1 || m="$m $b"; done
    echo "${m# }"
}

cmd_install() {
    if [ -z "$(missing)" ]; then log "SLURM, munge and MariaDB are installed"; return 0; fi
    [ "$(id -u)" = 0 ] || die "install needs root (apt-get)"
    command -v apt-get >/dev/null || die "install needs apt-get (Debian/Ubuntu)"
    log "installing $PACKAGES"
    # Install only: no service is started (no systemd in CI containers anyway); the test
    # starts its own daemons under a temporary directory.
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
    [ "$created" = 1 ] && rm -f "$policy"
    [ -z "$(missing)" ] || die "still missing after apt-get: $(missing)"
}

# ---------------------------------------------------------------------------------------
setup_vars() {
    DIR=$(mkdir -p "$1" && cd "$1" && pwd)
    PORT=${SLURM_LOCAL_PORT:-26817}
    CTLD_PORT=$PORT SLURMD_PORT=$((PORT + 1)) DBD_PORT=$((PORT + 2)) DB_PORT=$((PORT + 3))
    ACCOUNT=${SLURM_LOCAL_ACCOUNT:-ciasa}
    CLUSTER=ciasa-local
    TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}
    USER_NAME=$(id -un)
    HOST=$(hostname -s)
    export SLURM_CONF=$DIR/etc/slurm.conf
    SYSTEM_CONF=/etc/slurm/slurm.conf
    MUNGE_SOCKET=/run/munge/munge.socket.2
    DB_SOCKET=$DIR/mysql/mysqld.sock
}

# wait_for WHAT LOGFILE CMD...: retry CMD until it succeeds or TIMEOUT seconds pass.
wait_for() {
    local what=$1 logfile=$2; shift 2
    local deadline=$((SECONDS + TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            log "$what did not answer within ${TIMEOUT}s ($*); last lines of $logfile:"
            tail -n 30 "$logfile" >&2 2>/dev/null || true
            return 1
        fi
        sleep 1
    done
}

alive() {  # alive PIDFILE: the process named in it runs
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

fill() {  # fill TEMPLATE OUT: substitute the @NAME@ fields
    sed -e "s|@DIR@|$DIR|g" -e "s|@CLUSTER@|$CLUSTER|g" -e "s|@HOST@|$HOST|g" \
        -e "s|@USER@|$USER_NAME|g" -e "s|@CTLD_PORT@|$CTLD_PORT|g" -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" \
        -e "s|@DBD_PORT@|$DBD_PORT|g" -e "s|@DB_PORT@|$DB_PORT|g" -e "s|@DB_PASS@|$DB_PASS|g" \
        -e "s|@CPUS@|$CPUS|g" -e "s|@MEM_MB@|$MEM_MB|g" "$1" > "$2"
}

write_configs() {
    mkdir -p "$DIR"/{etc,state,spool,run,log,munge,mysql}
    chmod 700 "$DIR/munge"
    CPUS=${SLURM_LOCAL_CPUS:-$(nproc)}
    local total_mb
    total_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    MEM_MB=${SLURM_LOCAL_MEM_MB:-$((total_mb * 9 / 10))}
    [ -s "$DIR/etc/db.pass" ] || (umask 077; head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/etc/db.pass")
    DB_PASS=$(cat "$DIR/etc/db.pass")
    fill "$TEMPLATES/slurm.conf.in" "$DIR/etc/slurm.conf"
    (umask 077; fill "$TEMPLATES/slurmdbd.conf.in" "$DIR/etc/slurmdbd.conf")
    chmod 600 "$DIR/etc/slurmdbd.conf"
    echo "export SLURM_CONF=$SLURM_CONF" > "$DIR/env.sh"
}

start_munge() {
    # SLURM's clients reach munged only through its default socket (AuthInfo=socket= is
    # not honoured by every client in 22.05), so a munged already answering there (a
    # system one, or ours from an earlier start) is used as it is.
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
    [ -s "$DIR/munge/munge.key" ] || mungekey --create --keyfile="$DIR/munge/munge.key"
    chmod 600 "$DIR/munge/munge.key"
    mkdir -p "$(dirname "$MUNGE_SOCKET")" && chmod 755 "$(dirname "$MUNGE_SOCKET")"
    log "starting munged ($MUNGE_SOCKET)"
    munged --force --socket="$MUNGE_SOCKET" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed"
    wait_for munged "$DIR/log/munged.log" bash -c "munge -n | unmunge"
}

db() { mariadb --no-defaults --socket="$DB_SOCKET" -u root "$@"; }

start_mariadb() {
    if alive "$DIR/run/mariadbd.pid" && db -e 'select 1' >/dev/null 2>&1; then return 0; fi
    if [ ! -d "$DIR/mysql/data/mysql" ]; then
        log "initialising the accounting database"
        mariadb-install-db --no-defaults --datadir="$DIR/mysql/data" --user="$USER_NAME" \
            --auth-root-authentication-method=socket --skip-test-db > "$DIR/log/mariadb-install.log" 2>&1 \
            || { tail -n 30 "$DIR/log/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
    fi
    log "starting mariadbd on 127.0.0.1:$DB_PORT"
    setsid nohup mariadbd --no-defaults --datadir="$DIR/mysql/data" --user="$USER_NAME" \
        --socket="$DB_SOCKET" --port="$DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
        --pid-file="$DIR/run/mariadbd.pid" --log-error="$DIR/log/mariadbd.log" --skip-log-bin \
        --innodb-buffer-pool-size=64M --innodb-log-file-size=16M --innodb-lock-wait-timeout=900 \
        --performance-schema=OFF </dev/null >/dev/null 2>&1 &
    wait_for mariadbd "$DIR/log/mariadbd.log" db -e 'select 1'
    db -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
           CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
           GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
           GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
           FLUSH PRIVILEGES;"
}

start_slurmdbd() {
    if ! alive "$DIR/run/slurmdbd.pid"; then
        log "starting slurmdbd on port $DBD_PORT"
        slurmdbd  # reads slurmdbd.conf beside $SLURM_CONF; daemonises, writes its pid file
    fi
    wait_for slurmdbd "$DIR/log/slurmdbd.log" sacctmgr -n list cluster
    if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
        sacctmgr -i add cluster "$CLUSTER" >/dev/null
    fi
}

start_slurmctld() {
    if ! alive "$DIR/run/slurmctld.pid"; then
        log "starting slurmctld on port $CTLD_PORT"
        slurmctld -f "$SLURM_CONF"
    fi
    wait_for slurmctld "$DIR/log/slurmctld.log" scontrol ping
    # the association the jobs run under: account (with the executor plugin's account
    # check in mind) and the submitting user
    if ! sacctmgr -n -P list account format=account | grep -qx "$ACCOUNT"; then
        sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" description="ciasa test" organization=ciasa >/dev/null
    fi
    if ! sacctmgr -n -P list assoc cluster="$CLUSTER" account="$ACCOUNT" user="$USER_NAME" format=user | grep -qx "$USER_NAME"; then
        # (root has an association with the account root already; this adds the other)
        sacctmgr -i add user "$USER_NAME" account="$ACCOUNT" cluster="$CLUSTER" >/dev/null
    fi
    # slurmctld caches associations; wait until it has the user's
    wait_for "the association of $USER_NAME" "$DIR/log/slurmctld.log" \
        bash -c "scontrol show assoc_mgr users=$USER_NAME flags=assoc | grep -q 'Account=$ACCOUNT UserName=$USER_NAME('"
}

node_ready() {
    local state
    state=$(sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -n 1)
    case "$state" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac
}

start_slurmd() {
    if ! alive "$DIR/run/slurmd.pid"; then
        log "starting slurmd ($CPUS CPUs, ${MEM_MB} MB)"
        slurmd -f "$SLURM_CONF" -N "$HOST"
    fi
    if ! wait_for "slurmd (node $HOST idle)" "$DIR/log/slurmd.log" node_ready; then
        sinfo -N -l >&2 || true
        scontrol show node "$HOST" >&2 || true
        return 1
    fi
}

ours() {  # ours LINK: a symlink made by this script (to some DIR/etc/slurm.conf)
    [ -L "$1" ] && [ -e "$(dirname "$(readlink "$1")")/../.slurm_local" -o ! -e "$1" ]
}

link_system_conf() {
    if [ -e "$SYSTEM_CONF" ] || [ -L "$SYSTEM_CONF" ]; then
        if ! ours "$SYSTEM_CONF"; then
            log "error: $SYSTEM_CONF exists and is not this script's: a real SLURM is configured here"
            exit 3
        fi
        local target old_dir
        target=$(readlink "$SYSTEM_CONF")
        [ "$target" = "$SLURM_CONF" ] && return 0
        # a cluster of an earlier start (a test killed before its teardown) holds the
        # ports: stop it first
        old_dir=$(dirname "$(dirname "$target")")
        if [ -e "$old_dir/.slurm_local" ]; then
            log "stopping the earlier cluster under $old_dir"
            (cmd_stop "$old_dir") || true
        fi
        rm -f "$SYSTEM_CONF"
    fi
    mkdir -p "$(dirname "$SYSTEM_CONF")"
    ln -s "$SLURM_CONF" "$SYSTEM_CONF"
}

cmd_start() {
    [ -z "$(missing)" ] || die "not installed: $(missing) (scripts/slurm_local.sh install, as root)"
    [ "$(id -u)" = 0 ] || die "slurmd must run as root to start jobs"
    setup_vars "$1"
    touch "$DIR/.slurm_local"
    link_system_conf
    write_configs
    start_munge
    start_mariadb
    start_slurmdbd
    start_slurmctld
    start_slurmd
    log "cluster $CLUSTER up: partitions cpu (default) and gpu, account $ACCOUNT"
    echo "export SLURM_CONF=$SLURM_CONF"
}

stop_pidfile() {  # stop_pidfile NAME: TERM, wait, then KILL the process in run/NAME.pid
    local f=$DIR/run/$1.pid pid
    alive "$f" || { rm -f "$f"; return 0; }
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "$1 ($pid) ignores TERM, killing it"; kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$f"
}

cmd_stop() {
    setup_vars "$1"
    if alive "$DIR/run/slurmctld.pid"; then
        scancel --user="$USER_NAME" >/dev/null 2>&1 || true
        for _ in $(seq 1 30); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 1
        done
    fi
    for daemon in slurmd slurmctld slurmdbd mariadbd munged; do stop_pidfile "$daemon"; done
    if [ -L "$SYSTEM_CONF" ] && [ "$(readlink "$SYSTEM_CONF")" = "$SLURM_CONF" ]; then rm -f "$SYSTEM_CONF"; fi
    log "cluster under $DIR stopped"
}

cmd_status() {
    setup_vars "$1"
    for daemon in munged mariadbd slurmdbd slurmctld slurmd; do
        if alive "$DIR/run/$daemon.pid"; then echo "$daemon: $(cat "$DIR/run/$daemon.pid")"; else echo "$daemon: down"; fi
    done
    scontrol ping || true
    sinfo || true
}

case "${1:-}" in
    install) cmd_install ;;
    start|stop|status)
        [ $# -eq 2 ] || die "usage: $0 $1 DIR"
        "cmd_$1" "$2" ;;
    missing) missing ;;
    *) echo "usage: $0 install | start DIR | stop DIR | status DIR | missing" >&2; exit 2 ;;
esac
