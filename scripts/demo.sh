#!/usr/bin/env bash
# demo.sh -- run the whole pantau pipeline on this machine until Ctrl-C.
#
# Installs what is missing, builds build/, starts a private PostgreSQL and mosquitto under
# .pantau/demo/ (no system service is touched), applies the migrations and the demo registry,
# enrols the demo's devices and the collector with pantau-admin (their secrets in
# .pantau/demo/secrets/, mode 0600), and runs mosquitto with pantau's broker plugin (only
# enrolled clients connect, each only on its own topics, payloads validated at the door), the
# collector, and one pantau-agent per demo device (flood gauges, traffic cameras, Jumantik
# handhelds; the simulator source), and pantau-alertd (issue 11: the alert rules in PostgreSQL,
# delivered on MQTT to the units: flood to BPBD, larva to Dinkes, traffic to Dishub, all to the
# operation center). The simulated devices raise real alerts: gauge sim-gauge-01 runs a flood
# wave through Siaga 3, 2, 1 and back every 8 minutes, the handhelds report larva-positive
# houses, camera sim-cam-01 reports an accident after a minute. It prints what flows: the
# messages on the broker, the alerts as they are raised, acknowledged and resolved (the demo
# acknowledges the first Siaga 1 alert with pantau-admin alert-ack) and, every 10 s, what the
# database holds. It also starts pantau-console (issue 12) and prints its address and login.
# Ctrl-C stops everything it started. Safe to run twice, and after a killed run.
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

/usr/bin/python3 scripts/servers.py start --root "$root/servers" --no-mosquitto || exit 1
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

# Who may connect: the demo registry's devices and the collector get accounts (pantau-admin),
# whose secrets stay in $secrets; a run after the first keeps them.
admin() { build/broker-plugins/pantau-admin --db "$dsn" "$@"; }
secrets=$root/secrets
mkdir -p "$secrets" && chmod 700 "$secrets"
[ -f "$secrets/device.key" ] || admin key-new "$secrets/device.key" >/dev/null || exit 1
psql -X -q "$dsn" -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles
    WHERE rolname = 'pantau_broker_demo') THEN CREATE ROLE pantau_broker_demo LOGIN; END IF;
    END \$\$; GRANT pantau_broker TO pantau_broker_demo" >/dev/null || exit 1
has_account() {
    [ "$(psql -X -t -A "$dsn" -c "SELECT count(*) FROM pantau_ops.account
        WHERE username = '$1'")" = 1 ]
}
enrol_device() {   # enrol_device ID KIND: its secret in $secrets/ID.secret
    local dev=$1 kind=$2
    (
        umask 077
        if ! has_account "$dev"; then
            admin device-add "$dev" --kind "$kind" --key-file "$secrets/device.key" \
                >"$secrets/$dev.secret" 2>"$root/admin.log"
        elif [ ! -s "$secrets/$dev.secret" ]; then
            admin device-rotate "$dev" --key-file "$secrets/device.key" \
                >"$secrets/$dev.secret" 2>"$root/admin.log"
        fi
    ) || { say "cannot enrol $dev: $(cat "$root/admin.log")"; exit 1; }
}
enrol_user() {   # enrol_user NAME ROLE: a random password in $secrets/NAME.password
    local name=$1 role=$2
    (
        umask 077
        if [ -s "$secrets/$name.password" ] && has_account "$name"; then
            exit 0
        fi
        /usr/bin/python3 -c 'import secrets; print(secrets.token_hex(16))' \
            >"$secrets/$name.password"
        if has_account "$name"; then
            admin user-password "$name" --password-file "$secrets/$name.password" \
                2>"$root/admin.log"
        else
            admin user-add "$name" --role "$role" --password-file "$secrets/$name.password" \
                2>"$root/admin.log"
        fi
    ) || { say "cannot enrol $name: $(cat "$root/admin.log")"; exit 1; }
}
devices="gw-sim-flood-01:flood_gateway gw-sim-flood-02:flood_gateway
gw-sim-flood-03:flood_gateway gw-sim-traffic-01:traffic_gateway
gw-sim-traffic-02:traffic_gateway hh-sim-01:handheld hh-sim-02:handheld"
for d in $devices; do
    enrol_device "${d%%:*}" "${d##*:}"
done
enrol_user demo-collector collector
enrol_user demo-watch collector
enrol_user demo-alertd collector   # pantau-alertd publishes the alert tree (alertd/README.md)
enrol_user demo-console dashboard  # the console reads the alerts (docs/protocol.md 12)
say "accounts enrolled (pantau-admin; secrets in $secrets)"

start() {   # start NAME ARGV...: runs in the background, stderr to $root/NAME.log
    local name=$1
    shift
    setsid "$@" >"$root/$name.log" 2>&1 </dev/null &
    echo $! >>"$pids_file"
    say "started $name (pid $!, log $root/$name.log)"
}

# mosquitto with pantau's broker plugin, on a free loopback port: deploy/mosquitto.conf itself
# (every limit and plugin option as shipped), only its places changed (servers.py broker-conf)
MQTT_PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0));
print(s.getsockname()[1])')
mq=$root/mosquitto
mkdir -p "$mq"
/usr/bin/python3 scripts/servers.py broker-conf --root "$mq" --mqtt-port "$MQTT_PORT" \
    --plugin "$top/build/broker-plugins/pantau_broker.so" \
    --place "db_conninfo=host=127.0.0.1 port=$PGPORT dbname=$db user=pantau_broker_demo" \
    --place "snapshot_file=$mq/registry.snapshot" --place "key_file=$secrets/device.key" \
    >/dev/null || exit 1
start mosquitto mosquitto -c "$mq/mosquitto.conf"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$MQTT_PORT") 2>/dev/null; }
for _ in $(seq 100); do
    port_open && break
    sleep 0.1
done
port_open || { say "mosquitto did not start:"; tail -20 "$root/mosquitto.log" "$mq/mosquitto.log"; exit 1; }

cat >"$root/collector.conf" <<EOF
collector_id       demo-collector
mqtt_host          127.0.0.1
mqtt_port          $MQTT_PORT
mqtt_username      demo-collector
mqtt_password_file $secrets/demo-collector.password
db_conninfo        $dsn
metrics_address    127.0.0.1
metrics_port       0
log_level          info
EOF
start collector build/collector/pantau-collector -c "$root/collector.conf"

# pantau-alertd: evaluates the alert rules (in PostgreSQL), delivers the alerts on MQTT, escalates.
# Its database login is in the group role pantau_alertd (what it may do, nothing more).
psql -X -q "$dsn" -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles
    WHERE rolname = 'pantau_alertd_demo') THEN CREATE ROLE pantau_alertd_demo LOGIN; END IF;
    END \$\$; GRANT pantau_alertd TO pantau_alertd_demo" >/dev/null || exit 1
cat >"$root/alertd.conf" <<EOF
alertd_id           demo-alertd
db_conninfo         host=127.0.0.1 port=$PGPORT dbname=$db user=pantau_alertd_demo
mqtt_host           127.0.0.1
mqtt_port           $MQTT_PORT
mqtt_username       demo-alertd
mqtt_password_file  $secrets/demo-alertd.password
poll_interval       1s
time_rules_interval 30s
metrics_port        0
log_level           info
EOF
build/alertd/pantau-alertd -c "$root/alertd.conf" --check >/dev/null \
    || { build/alertd/pantau-alertd -c "$root/alertd.conf" --check; exit 1; }
start alertd build/alertd/pantau-alertd -c "$root/alertd.conf"

# pantau-console (issue 12): the operation center's console in a browser, on a free loopback
# port. It logs in to PostgreSQL in the group role pantau_console; people log in with console
# accounts (demo-operator, a dashboard: its password is in $secrets/demo-operator.password).
psql -X -q "$dsn" -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles
    WHERE rolname = 'pantau_console_demo') THEN CREATE ROLE pantau_console_demo LOGIN; END IF;
    END \$\$; GRANT pantau_console TO pantau_console_demo" >/dev/null || exit 1
enrol_user demo-operator dashboard
CONSOLE_PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0));
print(s.getsockname()[1])')
cat >"$root/console.conf" <<EOF
listen_address      127.0.0.1
listen_port         $CONSOLE_PORT
web_dir             $(pwd)/console/web
js_lib_dir          /usr/share/javascript
db_conninfo         host=127.0.0.1 port=$PGPORT dbname=$db user=pantau_console_demo
log_level           info
EOF
build/console/pantau-console -c "$root/console.conf" --check >/dev/null \
    || { build/console/pantau-console -c "$root/console.conf" --check; exit 1; }
start console build/console/pantau-console -c "$root/console.conf"
say "console: http://127.0.0.1:$CONSOLE_PORT/ (log in as demo-operator; password in $secrets/demo-operator.password)"

# The demo registry's devices (schema/seed/demo.sql), each a real pantau-agent with its own
# store under $root/<device>/, its device secret, and the simulator source (deterministic per
# seed), at a pace that makes the demo lively: a reading every few seconds per device.
agent_conf() {   # agent_conf DEVICE KIND SIMULATOR-LINE...: writes $root/DEVICE/agent.conf
    local dev=$1 kind=$2
    shift 2
    mkdir -p "$root/$dev"
    {
        printf '# generated by scripts/demo.sh\n'
        printf 'device_id %s\ndevice_kind %s\n' "$dev" "$kind"   # paces under its kind's limit
        printf 'mqtt_host 127.0.0.1\nmqtt_port %s\n' "$MQTT_PORT"
        printf 'mqtt_password_file %s/%s.secret\n' "$secrets" "$dev"
        printf 'store_path %s/agent.db\nlog_level info\nsummary_interval_ms 60s\n' "$root/$dev"
        printf '\n[source simulator]\n'
        printf '%s\n' "$@"
    } >"$root/$dev/agent.conf"
}
# sim-gauge-01: the demo's flood wave, 60 -> 240 cm and back every 8 minutes (its thresholds:
# Siaga 3 from 81, 2 from 151, 1 from 201 cm; schema/seed/demo.sql)
agent_conf gw-sim-flood-01 flood_gateway "seed 1" "flood_stations sim-gauge-01" "flood_offset_cm 800" \
    "flood_baseline_cm 60" "rate 0.2" "flood_wave_period 8m" "flood_wave_peak_cm 240"
agent_conf gw-sim-flood-02 flood_gateway "seed 2" "flood_stations sim-gauge-02" "flood_offset_cm 800" \
    "flood_baseline_cm 60" "rate 0.2"
agent_conf gw-sim-flood-03 flood_gateway "seed 3" "flood_stations sim-gauge-03" "flood_offset_cm 900" \
    "flood_baseline_cm 60" "rate 0.2"
agent_conf gw-sim-traffic-01 traffic_gateway "seed 4" "traffic_stations sim-cam-01 sim-cam-02" \
    "traffic_interval_s 60" "rate 0.5" "traffic_crash_after 1m"
agent_conf gw-sim-traffic-02 traffic_gateway "seed 5" "traffic_stations sim-cam-03 sim-cam-04" \
    "traffic_interval_s 60" "rate 0.5"
agent_conf hh-sim-01 handheld "seed 6" "larva_kelurahan 32.75.01.1002 32.75.01.1003" "rate 0.1"
agent_conf hh-sim-02 handheld "seed 7" "larva_kelurahan 32.75.09.1002" "rate 0.1"
for d in $devices; do
    dev=${d%%:*}
    build/edge-agent/pantau-agent -c "$root/$dev/agent.conf" --check >/dev/null \
        || { build/edge-agent/pantau-agent -c "$root/$dev/agent.conf" --check; exit 1; }
    start "agent-$dev" build/edge-agent/pantau-agent -c "$root/$dev/agent.conf"
done

# What flows: every message on the broker, one line each (cut to 200 characters), as seen by
# an account of its own, and every alert delivered on MQTT, as a unit's console (a dashboard
# account) sees it (scripts/demo_watch.py).
setsid /usr/bin/python3 scripts/demo_watch.py --port "$MQTT_PORT" --user demo-watch \
    --password-file "$secrets/demo-watch.password" --alert-user demo-console \
    --alert-password-file "$secrets/demo-console.password" &
echo $! >>"$pids_file"

summary() {
    psql -X -q -t -A -F ' ' "$dsn" -c "
        SELECT 'database: '
            || (SELECT count(*) FROM pantau.flood_reading) || ' flood readings, '
            || (SELECT count(*) FROM pantau.traffic_count) || ' traffic counts, '
            || (SELECT count(*) FROM pantau.incident) || ' incidents, '
            || (SELECT count(*) FROM pantau_pii.larva_inspection) || ' larva reports, '
            || (SELECT count(*) FROM pantau_ops.dead_letter) || ' dead letters, '
            || (SELECT count(*) FROM pantau_alert.alert WHERE news) || ' alerts ('
            || (SELECT count(*) FROM pantau_alert.alert WHERE news AND state <> 'resolved')
            || ' open), '
            || (SELECT count(*) FROM pantau_alert.delivery WHERE status = 'delivered')
            || ' deliveries'" 2>/dev/null \
        || echo "database: (schema not ready)"
}

# A person's step, as an operator takes it: the first Siaga 1 alert is acknowledged with
# pantau-admin alert-ack (through PostgreSQL; alertd tells the units it reached).
acked=
acknowledge_one() {
    local id
    [ -z "$acked" ] || return 0
    id=$(psql -X -t -A "$dsn" -c "SELECT alert_id FROM pantau_alert.alert
        WHERE kind = 'flood_level' AND level = 1 AND state = 'open' AND news
        ORDER BY alert_id LIMIT 1" 2>/dev/null)
    [ -n "$id" ] || return 0
    say "\$ pantau-admin alert-ack $id --by 'Demo Operator (BPBD)' --note 'pompa dinyalakan'"
    admin alert-ack "$id" --by "Demo Operator (BPBD)" --note "pompa dinyalakan" \
        && acked=$id
}

say "running; Ctrl-C stops (PostgreSQL on $PGPORT: psql \"$dsn\"; MQTT on $MQTT_PORT)"
start_time=$(date +%s)
while :; do
    sleep 10 &
    wait $! || true   # (wait, unlike a foreground sleep, lets a trap run at once)
    summary
    acknowledge_one
    if [ "$seconds" -gt 0 ] && [ $(( $(date +%s) - start_time )) -ge "$seconds" ]; then
        break
    fi
done
