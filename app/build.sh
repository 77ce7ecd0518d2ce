#!/bin/bash
# app/build.sh OUT -- assembles the officers' web app (app/README.md) into the folder OUT, ready
# to be served as static files: app/web/ as it is, plus what it takes from elsewhere at build
# time, never at run time:
#   vendor/mqtt.esm.js   mqtt.js's browser ESM build, from npm at the version of
#                        app/package-lock.json (`npm ci --ignore-scripts` into NODE_DIR,
#                        default OUT/../node_modules-app; nothing of it runs at build time)
#   schema/larva.json, schema/defs.json   the contract, from schema/json/ (not retyped)
#   data/bekasi_wilayah.csv               the 56 kelurahan, from schema/data/
# and stamps sw.js with a hash of the whole, so that a new build replaces the cached shell.
# npm is asked again only when the lock file changed. Exit 0, or 1 with the step that failed.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: app/build.sh OUT" >&2
    exit 2
fi
SRC=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$SRC")
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
NODE_DIR=${PANTAU_APP_NODE_DIR:-$(dirname "$OUT")/node_modules-app}

mkdir -p "$NODE_DIR"
if ! cmp -s "$SRC/package-lock.json" "$NODE_DIR/package-lock.json" ||
   [ ! -f "$NODE_DIR/node_modules/mqtt/dist/mqtt.esm.js" ]; then
    cp "$SRC/package.json" "$SRC/package-lock.json" "$NODE_DIR/"
    (cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2 ||
        { echo "app/build.sh: npm ci in $NODE_DIR failed" >&2; exit 1; }
fi

TMP=$(mktemp -d "$OUT.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cp -r "$SRC/web/." "$TMP/"
mkdir -p "$TMP/vendor" "$TMP/schema" "$TMP/data"
cp "$NODE_DIR/node_modules/mqtt/dist/mqtt.esm.js" "$TMP/vendor/mqtt.esm.js"
cp "$NODE_DIR/node_modules/mqtt/LICENSE.md" "$TMP/vendor/mqtt.LICENSE.md"
cp "$ROOT/schema/json/larva.json" "$ROOT/schema/json/defs.json" "$TMP/schema/"
cp "$ROOT/schema/data/bekasi_wilayah.csv" "$TMP/data/"
BUILD=$(cd "$TMP" && find . -type f ! -name sw.js -print0 | sort -z | xargs -0 sha256sum |
        sha256sum | cut -c1-16)
sed -i "s/@BUILD@/$BUILD/" "$TMP/sw.js"
rm -rf "$OUT.old"
mv "$OUT" "$OUT.old"
mv "$TMP" "$OUT"
rm -rf "$OUT.old"
trap - EXIT
echo "app/build.sh: $OUT (build $BUILD)" >&2
