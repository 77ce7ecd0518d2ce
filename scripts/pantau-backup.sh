#!/usr/bin/env bash
# pantau-backup.sh -- backups and point-in-time restore of pantau's PostgreSQL with pgBackRest
# (Debian 12's `pgbackrest`): continuous archiving of the WAL plus base backups, in the
# repository that the pgBackRest config names (deploy/backup/pgbackrest.conf, installed as
# /etc/pantau/pgbackrest.conf). docs/operations.md, "Backups and restore", is the runbook.
#
# Usage: pantau-backup.sh [--config FILE] [--stanza NAME] COMMAND [OPTIONS]
#
#   setup [--restart-command CMD]
#       Turns on WAL archiving into the repository (ALTER SYSTEM: wal_level replica,
#       archive_mode on, archive_command through pgBackRest, archive_timeout), restarts
#       PostgreSQL if archive_mode was off (CMD; default `pg_ctlcluster 15 main restart`),
#       creates the stanza and checks that a WAL segment reaches the repository. Idempotent.
#   backup [--type full|diff|incr]
#       A base backup (incr by default; pgBackRest makes a full one when none exists).
#   check
#       Switches to a new WAL segment and waits until it is archived: after it, every commit
#       made before it can be restored.
#   info
#       The backups in the repository and the WAL range archived.
#   restore --to TIME [--database NAME] [--start-command CMD] [--timeout SECONDS]
#       Restores the cluster to TIME (a PostgreSQL timestamptz, e.g. '2026-12-07 21:40:00+00';
#       every transaction committed at or before TIME, none after), then starts it (CMD;
#       default `pg_ctlcluster 15 main start`), waits until recovery has ended and it takes
#       writes, and records the restore in pantau_ops.restore of database NAME (default
#       pantau; schema/028), from which the collector announces it to the devices
#       (protocol.md 6.3). PostgreSQL must be stopped; a data directory that is still there
#       is restored over in place (pgBackRest's --delta), a missing one is created. Stop the
#       collector first and start it after (docs/operations.md).
#
# Runs pgBackRest and psql as the `postgres` user (through runuser when started as root).
# Exit codes: 0 done, 1 a step failed, 2 bad usage or configuration.
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
config=${PANTAU_BACKUP_CONFIG:-/etc/pantau/pgbackrest.conf}
stanza=pantau

usage() {
    sed -n '/^# Usage:/,/^# Exit codes/p' "$0" | sed 's/^# \{0,1\}//'
}

die() {      # die CODE MESSAGE
    echo "pantau-backup: $2" >&2
    exit "$1"
}

as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    elif [ "$(id -un)" = postgres ]; then
        "$@"
    else
        die 2 "run as root or as postgres"
    fi
}

# conf_get KEY: the value of KEY in the config (the first line that sets it), or empty
conf_get() {
    sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$config" | head -n 1
}

pgbr() {
    as_postgres pgbackrest --config="$config" --stanza="$stanza" "$@"
}

psql_admin() {   # psql_admin SQL: one value, as the superuser, through the config's socket
    as_postgres psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$socket" -p "$port" -d postgres \
        -c "$1"
}

load_config() {
    command -v pgbackrest >/dev/null 2>&1 || die 2 "pgbackrest is not installed (apt-get install pgbackrest)"
    [ -r "$config" ] || die 2 "config $config: not readable"
    datadir=$(conf_get pg1-path)
    port=$(conf_get pg1-port)
    socket=$(conf_get pg1-socket-path)
    repo=$(conf_get repo1-path)
    port=${port:-5432}
    socket=${socket:-/var/run/postgresql}
    [ -n "$datadir" ] || die 2 "config $config: no pg1-path"
    [ -n "$repo" ] || die 2 "config $config: no repo1-path"
    # the config must be readable by postgres (archive_command runs as the server)
    as_postgres test -r "$config" || die 2 "config $config: not readable by postgres"
}

# folders pgBackRest writes: the repository, its log and lock folders, owned by postgres
make_dirs() {
    local d
    for d in "$repo" "$(conf_get log-path)" "$(conf_get lock-path)"; do
        [ -n "$d" ] || continue
        if [ ! -d "$d" ]; then
            mkdir -p "$d"
            chmod 0750 "$d"
        fi
        if [ "$(id -u)" -eq 0 ]; then
            chown postgres:postgres "$d"
        fi
    done
}

pg_running() {
    as_postgres "$PGBIN/pg_ctl" status -D "$datadir" >/dev/null 2>&1
}

cmd_setup() {
    local restart_cmd="pg_ctlcluster 15 main restart"
    while [ $# -gt 0 ]; do
        case "$1" in
            --restart-command) [ $# -ge 2 ] || die 2 "--restart-command needs a value"
                               restart_cmd=$2; shift 2 ;;
            *) die 2 "setup: unknown option '$1'" ;;
        esac
    done
    make_dirs
    pg_running || die 1 "setup: PostgreSQL does not run in $datadir"
    local archive="pgbackrest --config=$config --stanza=$stanza archive-push %p"
    psql_admin "ALTER SYSTEM SET wal_level = 'replica'" >/dev/null
    psql_admin "ALTER SYSTEM SET archive_mode = 'on'" >/dev/null
    psql_admin "ALTER SYSTEM SET archive_command = '$archive'" >/dev/null
    # a quiet database still closes a WAL segment a minute: the most a lost disk can take
    psql_admin "ALTER SYSTEM SET archive_timeout = '60s'" >/dev/null
    psql_admin "SELECT pg_reload_conf()" >/dev/null
    local pending
    pending=$(psql_admin "SELECT count(*) FROM pg_settings WHERE pending_restart
                          AND name IN ('archive_mode', 'wal_level')")
    if [ "$pending" != 0 ]; then
        echo "pantau-backup: restarting PostgreSQL for archive_mode: $restart_cmd"
        sh -c "$restart_cmd" || die 1 "setup: the restart command failed"
        local i
        for i in $(seq 1 120); do
            psql_admin "SELECT 1" >/dev/null 2>&1 && break
            sleep 0.5
        done
    fi
    [ "$(psql_admin "SHOW archive_mode")" = on ] || die 1 "setup: archive_mode is still off"
    pgbr stanza-create
    pgbr check
    echo "pantau-backup: archiving on; now take a first backup: pantau-backup.sh backup --type full"
}

cmd_backup() {
    local type=incr
    while [ $# -gt 0 ]; do
        case "$1" in
            --type) [ $# -ge 2 ] || die 2 "--type needs a value"
                    type=$2; shift 2 ;;
            *) die 2 "backup: unknown option '$1'" ;;
        esac
    done
    case "$type" in
        full|diff|incr) ;;
        *) die 2 "backup: --type is full, diff or incr, not '$type'" ;;
    esac
    pgbr backup --type="$type"
}

cmd_restore() {
    local target="" start_cmd="pg_ctlcluster 15 main start" timeout=600 dbname=pantau
    while [ $# -gt 0 ]; do
        case "$1" in
            --to) [ $# -ge 2 ] || die 2 "--to needs a time"
                  target=$2; shift 2 ;;
            --database) [ $# -ge 2 ] || die 2 "--database needs a name"
                        dbname=$2; shift 2 ;;
            --start-command) [ $# -ge 2 ] || die 2 "--start-command needs a value"
                             start_cmd=$2; shift 2 ;;
            --timeout) [ $# -ge 2 ] || die 2 "--timeout needs a number"
                       timeout=$2; shift 2 ;;
            *) die 2 "restore: unknown option '$1'" ;;
        esac
    done
    [ -n "$target" ] || die 2 "restore: --to TIME is required"
    [[ "$timeout" =~ ^[0-9]+$ ]] || die 2 "restore: --timeout is a number of seconds"
    if [ -e "$datadir/PG_VERSION" ] && pg_running; then
        die 1 "restore: PostgreSQL runs in $datadir: stop it (and the collector) first"
    fi
    # a server whose data directory was deleted under it still runs, and still answers
    if as_postgres pg_isready -q -h "$socket" -p "$port" >/dev/null 2>&1; then
        die 1 "restore: a PostgreSQL still answers on port $port ($socket): stop it first"
    fi
    local delta=()
    if [ -d "$datadir" ] && [ -n "$(ls -A "$datadir" 2>/dev/null)" ]; then
        delta=(--delta)   # restore over what is left, in place
        rm -f "$datadir/postmaster.pid"
    else
        mkdir -p "$datadir"
        [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$datadir"
        chmod 0700 "$datadir"
    fi
    echo "pantau-backup: restoring $datadir to $target"
    pgbr restore "${delta[@]}" --type=time --target="$target" --target-action=promote
    echo "pantau-backup: starting PostgreSQL: $start_cmd"
    sh -c "$start_cmd" || die 1 "restore: the start command failed"
    local waited=0 state=""
    while [ "$waited" -lt $((timeout * 2)) ]; do
        state=$(psql_admin "SELECT pg_is_in_recovery()" 2>/dev/null || true)
        [ "$state" = f ] && break
        sleep 0.5
        waited=$((waited + 1))
    done
    [ "$state" = f ] || die 1 "restore: PostgreSQL is still in recovery after ${timeout}s"
    # the restore's row (schema/028): the epoch is the new timeline, which every later restore
    # raises; the collector announces the newest row to the devices (protocol.md 6.3)
    local epoch
    epoch=$(printf '%s\n' "INSERT INTO pantau_ops.restore (epoch, target)
            SELECT timeline_id, :'target'::timestamptz FROM pg_control_checkpoint()
            ON CONFLICT (epoch) DO NOTHING RETURNING epoch;" |
        as_postgres psql -X -q -A -t -v ON_ERROR_STOP=1 -v target="$target" -h "$socket" \
            -p "$port" -d "$dbname") ||
        die 1 "restore: restored, but recording it in $dbname's pantau_ops.restore failed (docs/operations.md, Backups and restore)"
    echo "pantau-backup: restored to $target, epoch (timeline) $epoch; start the collector," \
        "then take a full backup: pantau-backup.sh backup --type full"
}

main() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --config) [ $# -ge 2 ] || die 2 "--config needs a file"
                      config=$2; shift 2 ;;
            --stanza) [ $# -ge 2 ] || die 2 "--stanza needs a name"
                      stanza=$2; shift 2 ;;
            -h|--help) usage; exit 0 ;;
            -*) die 2 "unknown option '$1' (--help)" ;;
            *) break ;;
        esac
    done
    [ $# -ge 1 ] || { usage >&2; exit 2; }
    local cmd=$1
    shift
    case "$cmd" in
        setup|backup|check|info|restore) ;;
        *) die 2 "unknown command '$cmd' (--help)" ;;
    esac
    load_config
    case "$cmd" in
        setup) cmd_setup "$@" ;;
        backup) cmd_backup "$@" ;;
        check) [ $# -eq 0 ] || die 2 "check takes no options"; pgbr check ;;
        info) [ $# -eq 0 ] || die 2 "info takes no options"; pgbr info ;;
        restore) cmd_restore "$@" ;;
    esac
}

main "$@"
