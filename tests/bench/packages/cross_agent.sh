#!/usr/bin/env bash
# cross_agent.sh -- pantau-agent's package cross-built for arm64 and armhf with Debian's cross
# toolchains, run under qemu-user-static beside the amd64 build; package sizes and the agent's
# memory. A benchmark (docs/benchmarks.md "Packages: sizes, the agent on arm64 and armhf"),
# not a CI test: it adds foreign architectures to dpkg and installs their -dev packages.
#
#   sudo bash tests/bench/packages/cross_agent.sh [--seconds 20] [--out build-deb/cross]
#
# For each architecture (amd64 native, arm64, armhf): scripts/package.sh builds the package
# (the cross ones with `dpkg-buildpackage -a ARCH -B -Ppkg.pantau.agentonly`); the .deb is
# unpacked into a scratch root (dpkg-deb -x: the files as installed, without touching this
# machine's /usr) and its /usr/bin/pantau-agent is run, under qemu-ARCH-static for the arm
# ones (the arm libraries from the multiarch packages under /usr/lib/<triplet>):
#   1. --version;
#   2. --check of the shipped /etc/pantau/agent.conf, its three TLS paths pointed at files this
#      script makes (the shipped ones name /etc/pantau/ca.pem, which only a gateway has);
#   3. the simulator publishing to a mosquitto on loopback (anonymous, plain TCP), the store
#      written, then read back with sqlite3 (the readings held: nobody acknowledges them) and
#      the broker's messages counted with mosquitto_sub;
#   4. VmRSS and VmHWM of the agent process (for qemu: the emulator's process, which holds the
#      guest's pages and qemu's own translation cache) after --seconds, beside the floor: a
#      program that only waits (int main(void) { pause(); }), built with the same
#      architecture's gcc and run the same way, so that agent minus floor is what the agent
#      adds (under qemu, the emulator's own memory is in both).
# --reuse takes the .deb files a previous run left in --out instead of building again.
# Prints one table of sizes and memory at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
seconds=20
out=$top/build-deb/cross
reuse=0
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --reuse) reuse=1; shift ;;
        *) echo "cross_agent: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "cross_agent: run as root (dpkg --add-architecture, apt)" >&2; exit 2; }

archs=(amd64 arm64 armhf)
declare -A qemu=([amd64]="" [arm64]=qemu-aarch64-static [armhf]=qemu-arm-static)

# ---- the toolchains and the agent's -dev packages for each foreign architecture: apt's
# build-dep from debian/control with the agent-only profile (crossbuild-essential-ARCH,
# pkgconf:ARCH for the <triplet>-pkg-config wrapper, libcjson-dev:ARCH, ...) ----
need=(qemu-user-static mosquitto mosquitto-clients sqlite3 openssl file)
missing=()
for p in "${need[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] \
        || missing+=("$p")
done
for a in arm64 armhf; do
    dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a"
done
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
for a in arm64 armhf; do
    DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq -a "$a" -P pkg.pantau.agentonly \
        "$top" >/dev/null
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/pantau-cross.XXXXXX)
broker_pid=""
agent_pid=""
cleanup() {
    [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# ---- the builds ----
declare -A build_s deb
for a in "${archs[@]}"; do
    t0=$(date +%s%N)
    if [ "$reuse" -eq 1 ] && ls "$out/$a"/pantau-agent_*_"$a".deb >/dev/null 2>&1; then
        build_s[$a]="(reused)"
    elif [ "$a" = amd64 ]; then
        bash "$top/scripts/package.sh" --nocheck --no-lintian --out "$out/$a" >/dev/null
    else
        bash "$top/scripts/package.sh" --arch "$a" --no-lintian --out "$out/$a" >/dev/null
    fi
    [ "$reuse" -eq 1 ] && [ "${build_s[$a]:-}" = "(reused)" ] \
        || build_s[$a]=$(( ($(date +%s%N) - t0) / 1000000000 ))
    deb[$a]=$(ls "$out/$a"/pantau-agent_*_"$a".deb)
    echo "cross_agent: $a built in ${build_s[$a]} s: ${deb[$a]}"
done

# ---- a broker on loopback, TLS files for --check ----
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser root\npersistence false\n' "$port" \
    > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
broker_pid=$!
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench \
    -keyout "$work/agent.key" -out "$work/agent.crt" >/dev/null 2>&1
cp "$work/agent.crt" "$work/ca.pem"
sleep 0.5

declare -A version check held published rss hwm deb_kb inst_kb floor
declare -A cc=([amd64]=gcc [arm64]=aarch64-linux-gnu-gcc [armhf]=arm-linux-gnueabihf-gcc)
printf '#include <unistd.h>\nint main(void) { pause(); return 0; }\n' > "$work/idle.c"
for a in "${archs[@]}"; do
    root=$work/root-$a
    dpkg-deb -x "${deb[$a]}" "$root"
    agent=("$root/usr/bin/pantau-agent")
    [ -n "${qemu[$a]}" ] && agent=("${qemu[$a]}" "$root/usr/bin/pantau-agent")
    file "$root/usr/bin/pantau-agent" | sed 's/^/cross_agent: /'
    # the floor: an idle program of this architecture, run the same way
    "${cc[$a]}" -O2 -o "$work/idle-$a" "$work/idle.c"
    idle=("$work/idle-$a")
    [ -n "${qemu[$a]}" ] && idle=("${qemu[$a]}" "$work/idle-$a")
    "${idle[@]}" &
    idle_pid=$!
    sleep 2
    floor[$a]=$(awk '/^VmRSS/ {print $2}' "/proc/$idle_pid/status")
    kill "$idle_pid"
    wait "$idle_pid" 2>/dev/null || true
    version[$a]=$("${agent[@]}" --version)
    # the shipped config, its TLS files made here
    sed -e "s|/etc/pantau/ca.pem|$work/ca.pem|" -e "s|/etc/pantau/agent.crt|$work/agent.crt|" \
        -e "s|/etc/pantau/agent.key|$work/agent.key|" "$root/etc/pantau/agent.conf" \
        > "$work/shipped-$a.conf"
    if "${agent[@]}" -c "$work/shipped-$a.conf" --check >"$work/check-$a.log" 2>&1; then
        check[$a]="valid"
    else
        check[$a]="REFUSED: $(tail -n 1 "$work/check-$a.log")"
    fi
    # the simulator to the loopback broker, its own store
    cat > "$work/run-$a.conf" <<EOF
device_id               gw-cross-$a
store_path              $work/store-$a.db
mqtt_host               127.0.0.1
mqtt_port               $port
tls                     false
clock_sync              synced
device_kind             flood_gateway
stations                st-cross
log_level               notice

[source simulator]
seed                    7
flood_stations          st-cross
rate                    10
EOF
    mosquitto_sub -p "$port" -t "pantau/v1/gw-cross-$a/flood" -v -W $((seconds + 5)) \
        >"$work/sub-$a.log" 2>/dev/null &
    sub_pid=$!
    sleep 0.3
    "${agent[@]}" -c "$work/run-$a.conf" >"$work/agent-$a.log" 2>&1 &
    agent_pid=$!
    sleep "$seconds"
    rss[$a]=$(awk '/^VmRSS/ {print $2}' "/proc/$agent_pid/status")
    hwm[$a]=$(awk '/^VmHWM/ {print $2}' "/proc/$agent_pid/status")
    kill "$agent_pid"
    wait "$agent_pid" || true
    agent_pid=""
    wait "$sub_pid" || true
    held[$a]=$(sqlite3 "file:$work/store-$a.db?mode=ro" 'SELECT count(*) FROM reading')
    published[$a]=$(grep -c . "$work/sub-$a.log" || true)
    deb_kb[$a]=$(( $(stat -c %s "${deb[$a]}") / 1024 ))
    inst_kb[$a]=$(dpkg-deb -f "${deb[$a]}" Installed-Size)
    echo "cross_agent: $a: ${version[$a]}; check ${check[$a]}; ${published[$a]} published," \
         "${held[$a]} held in the store; VmRSS ${rss[$a]} kB, VmHWM ${hwm[$a]} kB"
done

echo
echo "| arch | build s | .deb KiB | installed KiB | --version | --check (shipped config) | published in ${seconds} s | held in store | VmRSS KiB | VmHWM KiB | idle floor VmRSS KiB | agent minus floor KiB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for a in "${archs[@]}"; do
    printf '| %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$a" \
        "${qemu[$a]:+ (${qemu[$a]})}" "${build_s[$a]}" "${deb_kb[$a]}" "${inst_kb[$a]}" \
        "${version[$a]}" "${check[$a]}" "${published[$a]}" "${held[$a]}" "${rss[$a]}" \
        "${hwm[$a]}" "${floor[$a]}" "$(( rss[$a] - floor[$a] ))"
done
fail=0
for a in "${archs[@]}"; do
    { [ "${check[$a]}" = valid ] && [ "${published[$a]}" -gt 0 ] && [ "${held[$a]}" -gt 0 ]; } \
        || { echo "cross_agent: $a did not pass" >&2; fail=1; }
done
exit "$fail"
