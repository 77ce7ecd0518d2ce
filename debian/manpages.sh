#!/bin/sh
# manpages.sh BINDIR OUTDIR [RUNNER] -- section 1 manual pages of pantau's programs in BINDIR,
# made by help2man from their --help and --version (so they cannot drift from the programs), for
# the programs that were built (an agent-only build has pantau-agent alone). A cross build
# passes RUNNER (qemu-aarch64-static, ...), through which the programs run; a cross build
# without one makes no pages.
set -eu
bin=$1
out=$2
runner=${3:-}
build=$(dpkg-architecture -qDEB_BUILD_GNU_TYPE)
host=$(dpkg-architecture -qDEB_HOST_GNU_TYPE)
if [ "$build" != "$host" ] && [ -z "$runner" ]; then
    echo "manpages.sh: cross build without qemu-user-static: no manual pages" >&2
    exit 0
fi
mkdir -p "$out"
page() {   # page PROGRAM "what it is"
    [ -x "$bin/$1" ] || return 0
    prog=$bin/$1
    if [ -n "$runner" ]; then
        # help2man runs a program by its path: a wrapper of the same name runs it under qemu
        mkdir -p "$out/run"
        printf '#!/bin/sh\nexec %s %s "$@"\n' "$runner" "$bin/$1" > "$out/run/$1"
        chmod +x "$out/run/$1"
        prog=$out/run/$1
    fi
    help2man --no-info --section 1 --source "pantau" --name "$2" --output "$out/$1.1" "$prog"
}
page pantau-agent "durable store-and-forward of a device's readings over MQTT 5"
page pantau-collector "store device readings from MQTT in PostgreSQL exactly once"
page pantau-alertd "evaluate pantau's alert rules and deliver the alerts"
page pantau-console "the operation center's console over HTTP"
page pantau-admin "manage pantau's accounts, registry, certificates and maintenance"
page pantau-msgcheck "validate one pantau message against the protocol"
rm -rf "$out/run"
