#!/usr/bin/env bash
# package.sh -- pantau's Debian packages, built with Debian's own tooling (debhelper 13,
# dpkg-buildpackage) and checked with lintian, into build-deb/ (or --out DIR).
#
#   bash scripts/package.sh                  every package for this machine's architecture
#   bash scripts/package.sh --nocheck        without building and running the unit tests
#   bash scripts/package.sh --version 0.1.1  a changelog entry for that version first (dch),
#                                            in the build's copy of the tree only
#   bash scripts/package.sh --no-lintian     skip lintian (the test of the packages does)
#   bash scripts/package.sh --app            also pantau-app, the officers' web app: app/build.sh
#                                            first (mqtt.js from the npm registry, at the lock
#                                            file's version), then the build profile
#                                            pkg.pantau.app; without it the package is not built
#   bash scripts/package.sh --arch arm64     pantau-agent alone, cross-built for arm64 (or armhf)
#                                            with Debian's cross toolchain (crossbuild-essential-*
#                                            and the agent's -dev packages for that architecture:
#                                            tests/bench/packages/cross_agent.sh installs them)
#
# The tree is copied (the files git knows, and new ones it does not ignore) to DIR/src and
# built there, so dpkg-buildpackage writes nothing into the checkout and its parent; the .deb
# files, the .changes and lintian's report end up in DIR. Install them with
#   sudo apt install ./build-deb/pantau-collector_*.deb ...
# (docs/operations.md "Install"). Needs the packages of scripts/deps.sh (debhelper, lintian,
# devscripts, the -dev packages of debian/control).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build-deb
version=""
lintian=1
nocheck=0
arch=""
app=0
extra=()
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        --nocheck) nocheck=1; shift ;;
        --arch) arch=$2; shift 2 ;;
        --app) app=1; shift ;;
        --no-lintian) lintian=0; shift ;;
        --) shift; extra=("$@"); break ;;
        *) echo "package: unknown argument $1 (see the head of $0)" >&2; exit 2 ;;
    esac
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src/pantau
rm -rf "$out/src"
mkdir -p "$src"
# the source: what git tracks plus new files it does not ignore (build trees are ignored)
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$top" && git ls-files -z --cached --others --exclude-standard \
        | xargs -0 -r -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}" || true' \
        | tar --null -T - -cf -) | tar -xf - -C "$src"
else
    tar -C "$top" --exclude='./build*' --exclude='./.pantau' -cf - . | tar -xf - -C "$src"
fi

if [ -n "$version" ]; then
    (cd "$src" && DEBFULLNAME="pantau developers" DEBEMAIL="dev@pantau.invalid" \
        dch --newversion "$version" --distribution bookworm --force-distribution \
            "Rebuilt as $version by scripts/package.sh." >/dev/null 2>&1)
fi

opts=${DEB_BUILD_OPTIONS:-}
[ "$nocheck" -eq 1 ] && opts="$opts nocheck"
case " $opts " in *" parallel="*) ;; *) opts="$opts parallel=2" ;; esac
build=(-b)
if [ "$app" -eq 1 ]; then
    # npm's cache of the lock file's packages stays in DIR between runs
    PANTAU_APP_NODE_DIR=$out/node_modules-app bash "$src/app/build.sh" "$src/debian/app-web"
    build+=(-Ppkg.pantau.app)
fi
if [ -n "$arch" ]; then
    # the agent alone (build profile pkg.pantau.agentonly: CMake's PANTAU_AGENT_ONLY), and the
    # unit tests not at all: they could not run on this machine
    build=(-a "$arch" -B -Ppkg.pantau.agentonly)
    opts="$opts nocheck"
fi
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
echo "package: dpkg-buildpackage -us -uc ${build[*]} in $src (DEB_BUILD_OPTIONS=${opts# })"
(cd "$src" && DEB_BUILD_OPTIONS="${opts# }" dpkg-buildpackage -us -uc "${build[@]}" "${extra[@]}") \
    >"$out/build.log" 2>&1 || {
    tail -n 60 "$out/build.log"
    echo "package: failed ($out/build.log)" >&2
    exit 1
}
changes=$(ls "$out"/src/*.changes)
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/
changes=$out/$(basename "$changes")

if [ "$lintian" -eq 1 ]; then
    echo "package: lintian (fails on errors and warnings; answered ones are overridden in debian/)"
    lintian --fail-on error,warning --info --display-level ">=info" "$changes" \
        | tee "$out/lintian.log" || {
        echo "package: lintian failed ($out/lintian.log)" >&2
        exit 1
    }
fi
ls -l "$out"/*.deb | awk '{print "package: " $5 "\t" $NF}'
