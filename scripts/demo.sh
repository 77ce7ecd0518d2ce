#!/usr/bin/env bash
# demo.sh -- run the whole pantau pipeline on this machine until Ctrl-C.
#
# Installs what is missing, builds build/, starts a private PostgreSQL and mosquitto under
# .pantau/demo/ (no system service is touched), applies the migrations and the demo registry,
# then runs the collector and simulated edge agents (flood gauges, traffic cameras, Jumantik
# handhelds) and prints what flows: the messages on the broker and, every 10 s, what the
# database holds. Ctrl-C stops everything it started. Safe to run twice, and after a killed run.
#
#   scripts/demo.sh              until Ctrl-C
#   scripts/demo.sh --seconds 60 stop by itself after 60 s
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
seconds=0
if [ "${1:-}" = "--seconds" ]; then
    seconds=${2:?--seconds needs a number}
fi

root=$top/.pantau/demo
pids_file=$root/pids
mkdir -p "$root"

say() { printf 'demo: %s\n' "$*"; }

# Every program runs in a process group of its own (setsid), whose id is in $pids_file.
stop_all() {
    [ -f "$pids_file" ] || return 0
    while read -r pid; do
        kill -- "-$pid" 2>/dev/null || true
    done <"$pids_file"
    while read -r pid; do
        for _ in $(seq 50); do
            kill -0 -- "-$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done <"$pids_file"
    rm -f "$pids_file"
}
# A killed run leaves its children behind: end them before starting new ones.
stop_all

bash scripts/deps.sh || exit 1
say "building build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$root/configure.log" 2>&1 \
    || { cat "$root/configure.log"; exit 1; }
cmake --build build -j 2 >"$root/build.log" 2>&1 || { tail -50 "$root/build.log"; exit 1; }

cleanup() {
    trap - INT TERM EXIT
    say "stopping"
    stop_all
    /usr/bin/python3 scripts/servers.py stop --root "$root/servers" >/dev/null
    say "stopped; logs are in $root"
}
# After Ctrl-C or SIGTERM the script ends (a trap alone would return into the loop below).
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

/usr/bin/python3 scripts/servers.py start --root "$root/servers" || exit 1
# shellcheck disable=SC1091
. "$root/servers/env"
db=pantau
dsn="host=127.0.0.1 port=$PGPORT user=postgres dbname=$db"
psql -X -q "host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres" \
    -c "SELECT 1 FROM pg_database WHERE datname = '$db'" -t | grep -q 1 \
    || psql -X -q "host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres" \
        -c "CREATE DATABASE $db"
if [ -f schema/migrate.sh ]; then
    bash schema/migrate.sh "$dsn" || exit 1
    if [ -f schema/seed/demo.sql ]; then
        psql -X -q -v ON_ERROR_STOP=1 "$dsn" -f schema/seed/demo.sql >/dev/null || exit 1
        say "demo registry loaded (schema/seed/demo.sql)"
    fi
else
    say "schema/migrate.sh is not there yet: no database schema"
fi

start() {   # start NAME ARGV...: runs in the background, stderr to $root/NAME.log
    local name=$1
    shift
    setsid "$@" >"$root/$name.log" 2>&1 </dev/null &
    echo $! >>"$pids_file"
    say "started $name (pid $!, log $root/$name.log)"
}

if [ -x build/collector/pantau-collector ]; then
    cat >"$root/collector.conf" <<EOF
collector_id    demo-collector
mqtt_host       127.0.0.1
mqtt_port       $MQTT_PORT
db_conninfo     $dsn
metrics_address 127.0.0.1
metrics_port    0
log_level       info
EOF
    start collector build/collector/pantau-collector -c "$root/collector.conf"
fi

if [ -x build/edge-agent/pantau-agent ] && [ -d deploy/demo ]; then
    for tmpl in deploy/demo/agent-*.conf; do
        name=$(basename "$tmpl" .conf)
        mkdir -p "$root/$name"
        sed -e "s|@MQTT_PORT@|$MQTT_PORT|g" -e "s|@STATE_DIR@|$root/$name|g" "$tmpl" \
            >"$root/$name/agent.conf"
        start "$name" build/edge-agent/pantau-agent -c "$root/$name/agent.conf"
    done
else
    # until the edge agent is built: protocol-following test devices (scripts/demo_devices.py)
    start devices /usr/bin/python3 scripts/demo_devices.py --port "$MQTT_PORT"
fi

# What flows: every message on the broker, one line each (cut to 200 characters).
setsid bash -c "mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -V mqttv5 -v -t 'pantau/#' \
    | stdbuf -oL cut -c1-200" &
echo $! >>"$pids_file"

summary() {
    psql -X -q -t -A -F ' ' "$dsn" -c "
        SELECT 'database: '
            || (SELECT count(*) FROM pantau.flood_reading) || ' flood readings, '
            || (SELECT count(*) FROM pantau.traffic_count) || ' traffic counts, '
            || (SELECT count(*) FROM pantau.incident) || ' incidents, '
            || (SELECT count(*) FROM pantau_pii.larva_inspection) || ' larva reports, '
            || (SELECT count(*) FROM pantau_ops.dead_letter) || ' dead letters'" 2>/dev/null \
        || echo "database: (schema not ready)"
}

say "running; Ctrl-C stops (PostgreSQL on $PGPORT: psql \"$dsn\"; MQTT on $MQTT_PORT)"
start_time=$(date +%s)
while :; do
    sleep 10 &
    wait $! || true   # (wait, unlike a foreground sleep, lets a trap run at once)
    summary
    if [ "$seconds" -gt 0 ] && [ $(( $(date +%s) - start_time )) -ge "$seconds" ]; then
        break
    fi
done
