#!/bin/sh
# manpages.sh BINDIR OUTDIR -- section 1 manual pages of pantau's programs in BINDIR, made by
# help2man from their --help and --version (so they cannot drift from the programs), for the
# programs that were built (an agent-only build has pantau-agent alone).
set -eu
bin=$1
out=$2
mkdir -p "$out"
page() {   # page PROGRAM "what it is"
    [ -x "$bin/$1" ] || return 0
    help2man --no-info --section 1 --source "pantau" --name "$2" \
        --output "$out/$1.1" "$bin/$1"
}
page pantau-agent "durable store-and-forward of a device's readings over MQTT 5"
page pantau-collector "store device readings from MQTT in PostgreSQL exactly once"
page pantau-alertd "evaluate pantau's alert rules and deliver the alerts"
page pantau-console "the operation center's console over HTTP"
page pantau-admin "manage pantau's accounts, registry, certificates and maintenance"
page pantau-msgcheck "validate one pantau message against the protocol"
