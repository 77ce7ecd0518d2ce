#!/usr/bin/env bash
# deps.sh -- install the Debian 12 packages pantau builds, runs and tests with. Idempotent: it
# installs only what is missing, and leaves no system service of PostgreSQL or mosquitto running
# (pantau's scripts and tests start their own servers, on their own ports and folders).
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang libclang-rt-14-dev
    mosquitto mosquitto-clients mosquitto-dev libmosquitto-dev libpaho-mqtt-dev
    libpq-dev libcjson-dev libsqlite3-dev libssl-dev libsystemd-dev
    postgresql-15 postgresql-client-15
    python3 python3-psycopg2 python3-paho-mqtt python3-jsonschema
    sqlite3 valgrind procps iproute2
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#packages[@]} Debian packages present"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
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
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# in case a service started anyway (no policy-rc.d honoured): stop it, ours use their own ports
if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name port st _; do
        if [ "$st" = "online" ]; then
            $sudo pg_ctlcluster "$ver" "$name" stop || true
        fi
    done
fi
if pgrep -x -u mosquitto mosquitto >/dev/null 2>&1; then
    $sudo pkill -x -u mosquitto mosquitto || true
fi
echo "deps: installed ${#missing[@]} packages"
