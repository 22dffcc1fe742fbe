#!/usr/bin/env bash
# Builds the valkey-server that the npm platform packages bundle: fully static
# (Linux, musl; the Lua engine found through a dlopen/dlsym wrap, scripts/build/valkey/static-dl.c)
# with jemalloc, no TLS, no RDMA, no systemd, Lua built in, compiled with
# zig cc from the source pinned in scripts/build/valkey/source.json (Debian's orig tarball,
# sha256-checked: Valkey 9.1.2 from sid, valkey_9.1.2.orig.tar.gz, upstream's archive of
# its 9.1.2 commit), with the patches in scripts/build/valkey/patches/ applied in the order of
# patches/series. For 9.1.2-1 that list is empty: Debian's debian/patches for it are
# packaging only and every security fix is upstream's own (see patches/README).
#
#   scripts/build/valkey/build-static.sh [options] [platform...]
#
# platforms: linux-x64 linux-arm64 darwin-x64 darwin-arm64   (default: all four)
# options:
#   --force        rebuild even if the output for this source + script already exists
#   --repro        build each platform twice in two different directories and
#                  fail unless both stripped binaries are bit-identical
#   --no-verify    skip the checks (file/readelf, --version, start + PING + INFO + Lua EVAL
#                  with cjson and cmsgpack)
#   --verify-only  only check what is already in $OUT
# environment:
#   OUT                      output root (default: <repo>/target/valkey)
#   CMS_VALKEY_BUILD_CACHE   download + build cache (default: ~/.cache/claude-mem-store/valkey-build)
#   JOBS                     make -j (default 2)
#   NICE                     nice level for the compiles (default 10)
#   CMS_VALKEY_KEEP_WORK=1   keep the build trees ($CACHE/work/<platform>) after a successful build
#   CMS_VALKEY_ALLOW_MISMATCH=1  do not fail when a binary's sha256 differs from
#                            the "expected" pin in source.json (e.g. another zig)
#
# Output per platform: $OUT/<platform>/{valkey-server, valkey-server.json, LICENSE, THIRD_PARTY_LICENSES}
# Needs: python3 with the pinned ziglang (pip install ziglang==<toolchain.zig>), curl, tar, xz,
# patch, make, sha256sum; for the checks: file, readelf, llvm-objdump (Mach-O), and qemu-aarch64-static
# to run the arm64 binary.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
MANIFEST="$HERE/source.json"
PATCHES="$HERE/patches"
SCRIPT="$HERE/$(basename "${BASH_SOURCE[0]}")"
CACHE=${CMS_VALKEY_BUILD_CACHE:-$HOME/.cache/claude-mem-store/valkey-build}
OUT=${OUT:-$ROOT/target/valkey}
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
JOBS=${JOBS:-2}
NICE=${NICE:-10}

FORCE=0 REPRO=0 VERIFY=1 VERIFY_ONLY=0
PLATFORMS=()
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    --repro) REPRO=1 ;;
    --no-verify) VERIFY=0 ;;
    --verify-only) VERIFY_ONLY=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    linux-x64|linux-arm64|darwin-x64|darwin-arm64) PLATFORMS+=("$a") ;;
    *) echo "build-static.sh: unknown argument '$a' (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#PLATFORMS[@]} -gt 0 ] || PLATFORMS=(linux-x64 linux-arm64 darwin-x64 darwin-arm64)

log() { printf '[valkey-build] %s\n' "$*" >&2; }
die() { printf '[valkey-build] error: %s\n' "$*" >&2; exit 1; }

# ---- manifest -------------------------------------------------------------------------------
mf() { python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v=v.get(k) if isinstance(v,dict) else None
    if v is None: break
print("" if v is None else (" ".join(v) if isinstance(v,list) else v))' "$MANIFEST" "$1"; }
VERSION=$(mf version)
SRC_FILE=$(mf file)
SRC_SHA=$(mf sha256)
SRC_URLS=$(mf urls)
TOPDIR=$(mf topDir)
DEB_VER=$(mf debian.version)
DEB_SUITE=$(mf debian.suite)
ZIG_PIN=$(mf toolchain.zig)
PATCHES_DEB=$(mf patches.debian)
if [ -z "$VERSION" ] || [ -z "$SRC_SHA" ] || [ -z "$SRC_FILE" ]; then die "incomplete manifest $MANIFEST"; fi

# ---- patches -------------------------------------------------------------------------------
# patches/series: one file name a line, in apply order ('#' comments and blank lines ignored)
patch_list() { sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$PATCHES/series"; }
[ -f "$PATCHES/series" ] || die "no $PATCHES/series"
[ -n "$PATCHES_DEB" ] || die "source.json has no patches.debian (the Debian version the patches come from)"
for p in $(patch_list); do [ -f "$PATCHES/$p" ] || die "patches/series names $p, which is not in $PATCHES"; done

# ---- toolchain -----------------------------------------------------------------------------
ZIG=$(python3 -c 'import ziglang,os;print(os.path.join(os.path.dirname(ziglang.__file__),"zig"))' 2>/dev/null) \
  || die "python3 module 'ziglang' is missing: python3 -m pip install ziglang==$ZIG_PIN"
ZIG_LIB=$(dirname "$ZIG")/lib
ZIG_VER=$("$ZIG" version)
if [ "$ZIG_VER" != "$ZIG_PIN" ]; then
  [ "${CMS_VALKEY_ALLOW_MISMATCH:-}" = 1 ] || die "zig $ZIG_VER found, source.json pins $ZIG_PIN (pip install ziglang==$ZIG_PIN, or CMS_VALKEY_ALLOW_MISMATCH=1)"
  log "warning: zig $ZIG_VER instead of the pinned $ZIG_PIN: the binaries will not match the pins"
fi

# platform -> zig target, uname_S/uname_M that the Makefiles should see, jemalloc page sizes
target_of() {
  case "$1" in
    linux-x64)    echo x86_64-linux-musl ;;
    linux-arm64)  echo aarch64-linux-musl ;;
    darwin-x64)   echo x86_64-macos.11.0 ;;
    darwin-arm64) echo aarch64-macos.11.0 ;;
  esac
}

# ---- source --------------------------------------------------------------------------------
mkdir -p "$CACHE"
TARBALL="$CACHE/$SRC_FILE"
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
fetch_source() {
  if [ -f "$TARBALL" ] && [ "$(sha_of "$TARBALL")" = "$SRC_SHA" ]; then return 0; fi
  local u
  for u in $SRC_URLS; do
    log "downloading $u"
    if curl -fsSL --retry 3 -o "$TARBALL.part" "$u"; then
      if [ "$(sha_of "$TARBALL.part")" = "$SRC_SHA" ]; then mv "$TARBALL.part" "$TARBALL"; return 0; fi
      log "sha256 mismatch for $u ($(sha_of "$TARBALL.part")), expected $SRC_SHA"
    fi
    rm -f "$TARBALL.part"
  done
  die "could not download $SRC_FILE with sha256 $SRC_SHA"
}

# SOURCE_DATE_EPOCH: the newest mtime inside the tarball (Debian's repack keeps the release's date)
source_date_epoch() {
  python3 -c 'import tarfile,sys
print(max(int(m.mtime) for m in tarfile.open(sys.argv[1])))' "$TARBALL"
}

# ---- build ---------------------------------------------------------------------------------
# build_one PLATFORM WORKDIR  ->  $WORKDIR/valkey-server (stripped)
# shellcheck disable=SC2016  # (the wrappers' own "$@" and "$1" expand when they run)
build_one() {
  local plat=$1 work=$2 zt m s lgpage ldflags host
  zt=$(target_of "$plat")
  case "$plat" in
    linux-x64)    s=Linux  m=x86_64  host=x86_64-linux-musl   lgpage=12 ldflags="-static" ;;
    # 64 KiB pages: runs on 4K, 16K and 64K page kernels (as Debian's own arm64 jemalloc).
    # (-funwind-tables: the Makefile adds it for aarch64 itself.)
    linux-arm64)  s=Linux  m=aarch64 host=aarch64-linux-musl  lgpage=16 ldflags="-static" ;;
    darwin-x64)   s=Darwin m=x86_64  host=x86_64-apple-darwin  lgpage=12 ldflags="" ;;
    darwin-arm64) s=Darwin m=arm64   host=aarch64-apple-darwin lgpage=14 ldflags="" ;;
  esac
  rm -rf "$work"
  mkdir -p "$work/bin" "$work/tmp"
  tar -xf "$TARBALL" -C "$work"
  local src="$work/$TOPDIR"
  [ -f "$src/src/version.h" ] || die "unexpected tarball layout (no $TOPDIR/src/version.h)"
  grep -q "VALKEY_VERSION \"$VERSION\"" "$src/src/version.h" || die "tarball is not valkey $VERSION"
  # Patches from Debian, if any: exactly as vendored (-F0: no fuzz; -N: one already applied
  # is an error too), in series order; any failure stops the build. (None for 9.1.2-1.)
  command -v patch >/dev/null || die "'patch' is missing (apt-get install patch)"
  local p n=0
  for p in $(patch_list); do
    patch -d "$src" -p1 -N -F0 --batch --no-backup-if-mismatch -r - < "$PATCHES/$p" > "$work/patch.log" 2>&1 \
      || { cat "$work/patch.log" >&2; die "$plat: patches/$p does not apply to $SRC_FILE"; }
    n=$((n + 1))
  done
  if [ "$n" = 0 ]; then
    log "$plat: no patches to apply (scripts/build/valkey/patches/series is empty; see patches/README for $PATCHES_DEB)"
  else
    log "$plat: applied $n patches from $PATCHES_DEB (scripts/build/valkey/patches/series)"
  fi

  # zig wrappers: one target, baseline CPU (never the build machine's). (-fno-sanitize=undefined
  # below: zig cc turns UBSan traps on in any compile without -O, such as configure's tests.)
  printf '#!/bin/sh\nexec "%s" cc -target %s -mcpu=baseline "$@"\n' "$ZIG" "$zt" > "$work/bin/cc"
  printf '#!/bin/sh\nexec "%s" ar "$@"\n' "$ZIG" > "$work/bin/ar"
  printf '#!/bin/sh\nexec "%s" ranlib "$@"\n' "$ZIG" > "$work/bin/ranlib"
  # mkreleasehdr.sh asks git for the commit and the "dirty" line count; outside a checkout
  # `git diff` would diff ../src against ../deps. Answer clean, with the upstream commit if
  # source.json pins one, else as no git (the header then says 00000000, as Debian's build).
  local commit; commit=$(mf upstream.commit | cut -c1-8)
  if [ -n "$commit" ]; then
    printf '#!/bin/sh\ncase "$1" in show-ref) echo %s ;; esac\nexit 0\n' "$commit" > "$work/bin/git"
  else
    printf '#!/bin/sh\ncase "$1" in show-ref) exit 1 ;; esac\nexit 0\n' > "$work/bin/git"
  fi
  chmod +x "$work/bin/"*

  local opt="-O3 -flto -fno-omit-frame-pointer"   # what the Makefile makes of its default -O3
  # Strip at link time (zig's linker, -s): the same bytes wherever the pinned zig runs.
  local server_ldflags="-s"
  if [ "$s" = Darwin ]; then
    # zig's Mach-O linker is not LLD: no LTO. And zig's macOS libc headers have no
    # <sys/syscall.h>, which jemalloc includes for SYS_* numbers it uses only on Linux
    # (JEMALLOC_USE_SYSCALL is left undefined on Darwin): an empty one stands in
    # (in the compiler wrapper, as jemalloc's `cc -MM` dependency step gets no CFLAGS).
    opt="-O3 -fno-omit-frame-pointer"
    mkdir -p "$work/include/sys"; : > "$work/include/sys/syscall.h"
    # Valkey 9 links its Lua engine in statically (BUILD_LUA's default) but finds it with
    # dlopen(NULL)+dlsym("ValkeyModule_OnLoad_lua"). zig's Mach-O linker rejects
    # -Wl,-export_dynamic, which the Makefile adds on Darwin so that the force-loaded engine
    # (reached only through dlsym) survives; and at -O3 zig dead-strips it. The wrapper turns
    # it into -Wl,--no-gc-sections: as Apple's ld without -dead_strip, every global stays,
    # exported (verify checks the export trie for ValkeyModule_OnLoad_lua).
    printf '#!/bin/sh\nfor a; do shift; if [ "$a" = -Wl,-export_dynamic ]; then set -- "$@" -Wl,--no-gc-sections; else set -- "$@" "$a"; fi; done\nexec "%s" cc -target %s -mcpu=baseline -idirafter "%s" "$@"\n' "$ZIG" "$zt" "$work/include" > "$work/bin/cc"
  else
    # A static musl binary has no dynamic loader: musl's dlopen() says "Dynamic loading not
    # supported" and Valkey 9 panics at startup ("Lua engine initialization failed") when it
    # looks its static Lua engine up with dlopen(NULL)+dlsym(). static-dl.c answers those
    # two from a table (see the file).
    server_ldflags="-s $work/static-dl.o -Wl,--wrap=dlopen,--wrap=dlsym,--wrap=dlclose"
  fi
  local cflags="-fno-sanitize=undefined -ffile-prefix-map=$src=/usr/src/valkey-$VERSION -ffile-prefix-map=$ZIG_LIB=/usr/lib/zig -ffile-prefix-map=$work=/build"
  # Valkey 9.1 reads its monotonic clock from the processor by default. On x86-64 Linux it
  # first calibrates the TSC against CLOCK_MONOTONIC with three 10 ms sleeps (monotonic.c),
  # which put 30 ms into every start (~35 ms to the first PONG instead of ~5). Upstream's
  # switch NO_PROCESSOR_CLOCK keeps clock_gettime (vDSO), the clock Valkey 8 used by default.
  # (aarch64 reads the counter's frequency from a register: no calibration, left as is.)
  local server_cflags=""
  [ "$plat" = linux-x64 ] && server_cflags="-DNO_PROCESSOR_CLOCK"
  local jeopts="--host=$host --with-lg-page=$lgpage --with-lg-hugepage=21"
  [ "$m" = x86_64 ] && jeopts="$jeopts --with-lg-vaddr=48"

  log "$plat: building valkey-server $VERSION for $zt in $work (log: $work/build.log)"
  (
    cd "$src/src"
    export SOURCE_DATE_EPOCH="$SDE" ZERO_AR_DATE=1 TZ=UTC LC_ALL=C
    export PATH="$work/bin:$PATH"
    export ZIG_GLOBAL_CACHE_DIR="$work/zig-cache" ZIG_LOCAL_CACHE_DIR="$work/zig-cache" TMPDIR="$work/tmp"
    export CC="$work/bin/cc" AR="$work/bin/ar" RANLIB="$work/bin/ranlib"
    unset CPPFLAGS MAKEFLAGS MFLAGS
    # CFLAGS and LDFLAGS go in the ENVIRONMENT, not on make's command line: a command-line
    # variable is passed down to every sub-make and overrides their own assignments, and
    # jemalloc's Makefile sets CFLAGS := <configure's -O3 -std=gnu11 ...> <ours>. Given on the
    # command line, jemalloc was compiled with no -O at all (zig cc's default: -O0), which
    # made Valkey 9.1.2's static build 2.3x slower than Debian's under BullMQ.
    export CFLAGS="$cflags" LDFLAGS="$ldflags"
    if [ "$s" = Linux ]; then
      echo "+ $CC -O2 $cflags -Wall -Werror -c static-dl.c"
      # shellcheck disable=SC2086  # (cflags: several flags)
      nice -n "$NICE" "$CC" -O2 $cflags -Wall -Werror -c "$HERE/static-dl.c" -o "$work/static-dl.o"
    fi
    # (Lua: BUILD_LUA unset = built in, as src/modules/lua/libvalkeylua.a linked whole.)
    nice -n "$NICE" make -j"$JOBS" valkey-server V=1 \
      CC="$CC" AR="$AR" RANLIB="$RANLIB" PKG_CONFIG=false \
      uname_S="$s" uname_M="$m" \
      MALLOC=jemalloc BUILD_TLS=no USE_SYSTEMD=no BUILD_RDMA=no USE_LIBBACKTRACE=no \
      OPTIMIZATION="$opt" DEBUG="" SERVER_CFLAGS="$server_cflags" SERVER_LDFLAGS="$server_ldflags" \
      JEMALLOC_CONFIGURE_OPTS="$jeopts"
  ) > "$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; die "$plat: build failed (full log: $work/build.log)"; }
  check_optimized "$plat" "$work"

  cp "$src/src/valkey-server" "$work/valkey-server"
  check_stripped "$plat" "$work/valkey-server"
}

# Every C compile in the log must carry an -O flag (see the CFLAGS note in build_one).
check_optimized() {
  local unopt; unopt=$(grep -F "$2/bin/cc " "$2/build.log" | grep -E ' -c( |$)' | grep -vE ' -O[1-3sz]( |$)' || true)
  [ -z "$unopt" ] || { head -3 <<<"$unopt" >&2; die "$1: $(wc -l <<<"$unopt") compiles without optimization (log: $2/build.log)"; }
}

STRIPPED_WITH="zig cc -s (linker --strip-all)"
check_stripped() {
  if [ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
    local sections; sections=$(readelf -S -W "$2")
    if grep -Eq ' \.(symtab|debug_[a-z]+) ' <<<"$sections"; then die "$1: not stripped"; fi
  fi
  return 0
}

# ---- licences ------------------------------------------------------------------------------
write_licences() {
  local src=$1 dir=$2 plat=$3
  cp "$src/$(mf licenseFile)" "$dir/LICENSE"
  python3 - "$MANIFEST" "$src" "$dir/THIRD_PARTY_LICENSES" "$plat" "$ZIG_LIB" "$(dirname "$ZIG")" <<'PY'
import json, re, sys, os
manifest, src, out, plat, ziglib, zigroot = sys.argv[1:]
m = json.load(open(manifest))
parts = [f"Third-party components linked into valkey-server {m['version']} ({plat}).\n"
         f"Valkey itself: see LICENSE (BSD-3-Clause). Source: {m['file']} (sha256 {m['sha256']}).\n"]
if m.get("patches"):
    series = os.path.join(os.path.dirname(manifest), "patches", "series")
    applied = [l.split("#")[0].strip() for l in open(series)] if os.path.exists(series) else []
    if any(applied):
        parts[0] += f"With Debian's security patches from valkey {m['patches']['debian']} applied (scripts/build/valkey/patches).\n"
    else:
        parts[0] += f"As Debian's valkey {m['patches']['debian']} source, with none of its patches applied (they are packaging only; scripts/build/valkey/patches/README).\n"
def header(text):
    for mm in re.finditer(r'/\*.*?\*/', text, re.S):
        if re.search(r'copyright|licen[cs]e|public domain|permission', mm.group(0), re.I):
            return mm.group(0)
    lines = []
    for line in text.splitlines():
        if not line.startswith('//'): break
        lines.append(line)
    return '\n'.join(lines)
entries = list(m['thirdPartyLicenses'])
if plat.startswith('linux'):
    entries.append({"component": "musl libc (statically linked, from zig's lib/libc/musl)", "abs": os.path.join(ziglib, "libc/musl/COPYRIGHT")})
entries.append({"component": "zig compiler-rt / runtime (statically linked)", "abs": os.path.join(zigroot, "LICENSE")})
for e in entries:
    path = e.get("abs") or os.path.join(src, e["file"])
    text = open(path, encoding="utf-8", errors="replace").read()
    if e.get("header"): text = header(text)
    name = e.get("file") or os.path.relpath(path, zigroot).replace(os.sep, "/")
    parts.append("=" * 78 + f"\n{e['component']}  ({name})\n" + "=" * 78 + "\n" + text.rstrip() + "\n")
open(out, "w", encoding="utf-8").write("\n".join(parts))
PY
}

# ---- output --------------------------------------------------------------------------------
# what the output depends on: the manifest (less its "expected" pins), this script, the
# dlopen shim, the patches (series and files), zig
build_key() {
  local p
  { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m.pop("expected",None); print(json.dumps(m,sort_keys=True))' "$MANIFEST"
    cat "$SCRIPT" "$HERE/static-dl.c"
    for p in $(patch_list); do echo "patch $p $(sha_of "$PATCHES/$p")"; done
    echo "zig $ZIG_VER $1"; } | sha256sum | cut -d' ' -f1
}

out_is_current() {
  local dir="$OUT/$1" key=$2
  [ -f "$dir/valkey-server" ] && [ -f "$dir/valkey-server.json" ] || return 1
  python3 - "$dir/valkey-server.json" "$key" "$(sha_of "$dir/valkey-server")" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j.get("buildKey") == sys.argv[2] and j.get("sha256") == sys.argv[3] else 1)
PY
}

write_json() {
  local plat=$1 dir=$2 key=$3 malloc
  malloc="jemalloc-$(cut -d- -f1 < "$4/deps/jemalloc/VERSION")"
  local plist; mapfile -t plist < <(patch_list)
  python3 - "$dir/valkey-server.json" "$PATCHES" "${plist[@]}" <<PY
import hashlib, json, os, sys
pdir, names = sys.argv[2], sys.argv[3:]
j = {
  "name": "valkey",
  "version": "$VERSION",
  "source": {
    "file": "$SRC_FILE",
    "sha256": "$SRC_SHA",
    "url": "$(echo "$SRC_URLS" | cut -d' ' -f1)",
    "debian": "$DEB_VER, $DEB_SUITE",
    "upstream": "$(mf upstream.repository) $(mf upstream.tag)",
    "upstreamCommit": "$(mf upstream.commit)" or None,
    "patches": {
      "debian": "$PATCHES_DEB",
      "from": "$(mf patches.from)",
      "applied": [{"file": n, "sha256": hashlib.sha256(open(os.path.join(pdir, n), "rb").read()).hexdigest()} for n in names]
    }
  },
  "target": "$(target_of "$plat")",
  "platform": "$plat",
  "sha256": "$(sha_of "$dir/valkey-server")",
  "size": $(stat -c %s "$dir/valkey-server"),
  "malloc": "$malloc",
  "builtWith": "zig $ZIG_VER",
  "strippedWith": "$STRIPPED_WITH",
  "build": "make valkey-server MALLOC=jemalloc BUILD_TLS=no BUILD_RDMA=no USE_SYSTEMD=no, Lua built in (scripts/build/valkey/build-static.sh)",
  "sourceDateEpoch": $SDE,
  "buildKey": "$key"
}
open("$dir/valkey-server.json", "w").write(json.dumps(j, indent=2) + "\n")
PY
}

check_pin() {
  local plat=$1 sha=$2 want
  want=$(mf "expected.$plat")
  if [ -z "$want" ]; then log "$plat: no expected sha256 pinned in source.json (got $sha)"; return 0; fi
  if [ "$want" = "$sha" ]; then log "$plat: sha256 matches the pin in source.json"; return 0; fi
  if [ "${CMS_VALKEY_ALLOW_MISMATCH:-}" = 1 ]; then log "warning: $plat: sha256 $sha differs from the pin $want"; return 0; fi
  die "$plat: sha256 $sha differs from the pin $want in source.json (a toolchain or script change? set CMS_VALKEY_ALLOW_MISMATCH=1 to accept, then update the pin)"
}

# ---- verification --------------------------------------------------------------------------
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }

# resp CMD...: one inline command over RESP on 127.0.0.1:$PORT, prints the reply payload
resp() {
  python3 - "$PORT" "$@" <<'PY'
import socket, sys
port, args = int(sys.argv[1]), sys.argv[2:]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(("*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a.encode()), a) for a in args)).encode())
buf = b""
while True:
    chunk = s.recv(65536)
    if not chunk: break
    buf += chunk
    if buf[:1] in (b"+", b"-", b":") and buf.endswith(b"\r\n"): break
    if buf[:1] == b"$":
        n = int(buf[1:buf.index(b"\r\n")])
        if len(buf) >= buf.index(b"\r\n") + 2 + n + 2: break
s.close()
if buf[:1] == b"$": print(buf[buf.index(b"\r\n")+2:-2].decode())
else: print(buf.decode().strip())
PY
}

verify_one() {
  local plat=$1 dir="$OUT/$1" bin="$OUT/$1/valkey-server" runner=() fmt
  [ -f "$bin" ] || die "$plat: $bin is missing"
  log "$plat: checking $bin"
  if command -v file >/dev/null; then echo "  file:    $(file -b "$bin")"; fi
  echo "  sha256:  $(sha_of "$bin")  size: $(stat -c %s "$bin")"
  fmt=$(head -c 4 "$bin" | od -An -tx1 | tr -d ' ')
  if [ "$fmt" != 7f454c46 ]; then
    local od; od=$(command -v llvm-objdump || find /usr/bin -maxdepth 1 -name 'llvm-objdump-*' 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$od" ] || echo "  (no llvm-objdump: Mach-O load commands not checked; apt-get install llvm)"
    if [ -n "$od" ]; then
      local loads; loads=$("$od" --macho --dylibs-used "$bin" | tail -n +2 | sed 's/^[[:space:]]*//')
      echo "  dylibs:  $(echo "$loads" | tr '\n' ';')"
      local headers exports; headers=$("$od" --macho --private-headers "$bin"); exports=$("$od" --macho --exports-trie "$bin")
      sed -n 4p <<<"$headers" | grep -q ' EXECUTE ' || die "$plat: not a Mach-O executable"
      if echo "$loads" | grep -v '^/usr/lib/libSystem' | grep -q .; then die "$plat: loads more than libSystem"; fi
      grep -q ' _ValkeyModule_OnLoad_lua$' <<<"$exports" \
        || die "$plat: ValkeyModule_OnLoad_lua is not exported: the server could not start its Lua engine"
      echo "  macho:   MH_EXECUTE, only libSystem; exports _ValkeyModule_OnLoad_lua (found by dlopen(NULL)+dlsym at startup); $(grep -A4 LC_BUILD_VERSION <<<"$headers" | grep -o 'minos [0-9.]*')"
    fi
    echo "  (Mach-O: not runnable here)"
    return 0
  fi
  local dyn phdrs; dyn=$(readelf -d "$bin"); phdrs=$(readelf -l -W "$bin")
  if grep -q NEEDED <<<"$dyn"; then die "$plat: has NEEDED entries"; fi
  if grep -q INTERP <<<"$phdrs"; then die "$plat: has a program interpreter"; fi
  echo "  readelf: $(tr -s '\n' ' ' <<<"$dyn") (no NEEDED, no INTERP; $(grep -c LOAD <<<"$phdrs") LOAD segments)"
  case "$plat" in
    linux-x64) [ "$(uname -m)" = x86_64 ] || { echo "  (not runnable on $(uname -m))"; return 0; } ;;
    linux-arm64)
      if [ "$(uname -m)" != aarch64 ]; then
        # qemu-user from PATH, else the one scripts/test/platforms/runtimes.sh unpacked.
        local qemu; qemu=$(command -v qemu-aarch64-static || true)
        local cached="${CMS_RUNTIMES_DIR:-$HOME/.cache/claude-mem-store/runtimes}/debian/bin/qemu-aarch64-static"
        [ -n "$qemu" ] || { [ -x "$cached" ] && qemu=$cached; }
        [ -n "$qemu" ] || { echo "  (skipped running: no qemu-aarch64-static; scripts/test/platforms/runtimes.sh provides one)"; return 0; }
        runner=("$qemu")
      fi ;;
  esac
  local ver; ver=$("${runner[@]}" "$bin" --version)
  echo "  version: $ver"
  echo "$ver" | grep -q "v=$VERSION " || die "$plat: --version does not say $VERSION"
  local tmp pid i=0 info pong
  tmp=$(mktemp -d)
  PORT=$(free_port)
  "${runner[@]}" "$bin" --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" --logfile "$tmp/log" &
  pid=$!
  until pong=$(resp PING 2>/dev/null) && [ "$pong" = "+PONG" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true; cat "$tmp/log" >&2; rm -rf "$tmp"; die "$plat: server did not answer PING"
    fi
    sleep 0.1
  done
  info=$(resp INFO server | tr -d '\r')
  local iv ipid iexe imalloc iclock
  iv=$(echo "$info" | sed -n 's/^valkey_version://p')
  iclock=$(echo "$info" | sed -n 's/^monotonic_clock://p')
  ipid=$(echo "$info" | sed -n 's/^process_id://p')
  iexe=$(echo "$info" | sed -n 's/^executable://p')
  imalloc=$(resp INFO memory | tr -d '\r' | sed -n 's/^mem_allocator://p')
  # the Lua engine (BullMQ's queues are Lua scripts using cmsgpack and cjson)
  local lua1 lua2
  lua1=$(resp EVAL "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])" 1 build-check ok 2>&1 || true)
  lua2=$(resp EVAL "return cjson.encode(cmsgpack.unpack(cmsgpack.pack({1, 'two', {three = 3}})))" 0 2>&1 || true)
  echo "  started: pid $pid port $PORT: PING -> $pong; INFO: valkey_version=$iv process_id=$ipid executable=$iexe mem_allocator=$imalloc monotonic_clock=$iclock"
  echo "  lua:     EVAL redis.call SET/GET -> $lua1; cjson(cmsgpack) -> $lua2"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
  [ "$iv" = "$VERSION" ] || die "$plat: INFO valkey_version=$iv"
  [ "$ipid" = "$pid" ] || die "$plat: INFO process_id=$ipid is not the spawned pid $pid"
  case "$imalloc" in jemalloc-*) ;; *) die "$plat: mem_allocator=$imalloc" ;; esac
  # (no TSC calibration at startup: see NO_PROCESSOR_CLOCK in build_one)
  if [ "$plat" = linux-x64 ] && [ "$iclock" != "POSIX clock_gettime" ]; then die "$plat: monotonic_clock=$iclock (built without NO_PROCESSOR_CLOCK?)"; fi
  if [ "$lua1" != ok ] || [ "$lua2" != '[1,"two",{"three":3}]' ]; then die "$plat: Lua scripting does not work"; fi
  echo "  stopped pid $pid"
}

# ---- main ----------------------------------------------------------------------------------
if [ "$VERIFY_ONLY" = 1 ]; then
  for p in "${PLATFORMS[@]}"; do verify_one "$p"; done
  exit 0
fi

fetch_source
SDE=$(source_date_epoch)
for plat in "${PLATFORMS[@]}"; do
  key=$(build_key "$plat")
  dir="$OUT/$plat"
  if [ "$FORCE" = 0 ] && [ "$REPRO" = 0 ] && out_is_current "$plat" "$key"; then
    log "$plat: up to date ($dir, build key ${key:0:12})"
  else
    t0=$(date +%s)
    build_one "$plat" "$CACHE/work/$plat/a"
    sha_a=$(sha_of "$CACHE/work/$plat/a/valkey-server")
    log "$plat: built in $(( $(date +%s) - t0 ))s, sha256 $sha_a"
    if [ "$REPRO" = 1 ]; then
      t1=$(date +%s)
      build_one "$plat" "$CACHE/work/$plat/second-build"
      sha_b=$(sha_of "$CACHE/work/$plat/second-build/valkey-server")
      log "$plat: second build in $(( $(date +%s) - t1 ))s, sha256 $sha_b"
      [ "$sha_a" = "$sha_b" ] || die "$plat: NOT reproducible: $sha_a vs $sha_b (compare $CACHE/work/$plat/{a,second-build})"
      log "$plat: reproducible (two clean builds in different directories are bit-identical)"
    fi
    check_pin "$plat" "$sha_a"
    rm -rf "$dir"; mkdir -p "$dir"
    cp "$CACHE/work/$plat/a/valkey-server" "$dir/valkey-server"
    write_licences "$CACHE/work/$plat/a/$TOPDIR" "$dir" "$plat"
    write_json "$plat" "$dir" "$key" "$CACHE/work/$plat/a/$TOPDIR"
    touch -d "@$SDE" "$dir"/*
    [ "${CMS_VALKEY_KEEP_WORK:-}" = 1 ] || rm -rf "$CACHE/work/$plat"   # ~220 MB each; kept when a build fails
  fi
  if [ "$VERIFY" = 1 ]; then verify_one "$plat"; fi
done
