#!/usr/bin/env bash
# deps.sh -- install the Debian 12 packages pantau builds, runs and tests with. Idempotent: it
# installs only what is missing, and leaves no system service of PostgreSQL or mosquitto running
# (pantau's scripts and tests start their own servers, on their own ports and folders).
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
    mosquitto mosquitto-clients mosquitto-dev libmosquitto-dev libpaho-mqtt-dev
    libpq-dev libcjson-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev
    postgresql-15 postgresql-client-15 pgbackrest   # pgbackrest: scripts/pantau-backup.sh
    python3 python3-psycopg2 python3-paho-mqtt python3-jsonschema
    sqlite3 valgrind procps iproute2
    prometheus prometheus-node-exporter
    libmicrohttpd-dev libjs-leaflet libjs-leaflet.markercluster libjs-chart.js
    nodejs chromium chromium-driver python3-selenium   # app/ (issue 13): build, browser tests
    dpkg-dev debhelper devscripts fakeroot help2man lintian   # scripts/package.sh (debian/)
    nginx-light   # deploy/nginx/ in front of the console (test_console_nginx.py)
)
# app/build.sh's npm: Debian's package, unless the installed nodejs brings its own (NodeSource)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
arch=$(dpkg --print-architecture)
for p in "${packages[@]}"; do
    # this machine's architecture first: with a cross-build's libmosquitto-dev:arm64 beside
    # the native one, the bare name matches both (and Architecture: all packages neither)
    status=$(dpkg-query -W -f='${Status}' "$p:$arch" 2>/dev/null ||
             dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#packages[@]} Debian packages present"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: not root and no sudo" >&2; exit 1; }
    sudo="sudo"
fi
echo "deps: missing ${#missing[@]} of ${#packages[@]}: ${missing[*]}"
# policy-rc.d 101 keeps the packages' postinst from starting system services at all
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    made_policy=1
fi
cleanup() { [ "$made_policy" -eq 1 ] && $sudo rm -f "$policy"; return 0; }
trap cleanup EXIT
echo "deps: apt-get update"
$sudo apt-get update -qq
echo "deps: apt-get install"
# (sudo resets the environment: DEBIAN_FRONTEND goes through env)
$sudo env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# In case a service started anyway (a policy-rc.d that was there already, or one not
# honoured): stop what the install started. pantau's servers run on their own ports.
stop_service() {   # stop_service NAME: through systemd where it runs, else the init script
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        $sudo systemctl stop "$1" >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
        $sudo service "$1" stop >/dev/null 2>&1 || true
    fi
}
if command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | grep -qw online; then
    echo "deps: stopping the PostgreSQL system service the install started"
    stop_service postgresql
    pg_lsclusters -h 2>/dev/null | while read -r ver name _port st _; do
        if [ "$st" = "online" ]; then
            $sudo pg_ctlcluster "$ver" "$name" stop || true
        fi
    done
fi
# the system broker runs as user mosquitto; ours run as root or as the caller
if pgrep -x -u mosquitto mosquitto >/dev/null 2>&1; then
    echo "deps: stopping the mosquitto system service the install started"
    stop_service mosquitto
    $sudo pkill -x -u mosquitto mosquitto || true
fi
# Prometheus and node_exporter: the tests start their own, on free ports
for svc in prometheus prometheus-node-exporter; do
    if pgrep -x -u prometheus "${svc#prometheus-}" >/dev/null 2>&1 || pgrep -x -u prometheus "$svc" >/dev/null 2>&1; then
        echo "deps: stopping the $svc system service the install started"
        stop_service "$svc"
    fi
done
echo "deps: installed ${#missing[@]} packages"
