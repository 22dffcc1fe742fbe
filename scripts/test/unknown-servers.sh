#!/usr/bin/env bash
# Redis-compatible servers that claude-mem-store does not know by name, for the suite
# (__test__/unknown-servers.test.mjs): real servers, built from crates.io with cargo,
# pinned to one version each and to the sha256 of that version's .crate file:
#   feox-server 0.7.0   answers `--version` (`feox-server 0.7.0`) and names itself in
#                       INFO as `redis_version:feox-0.7.0`; no Lua, no AOF, takes
#                       flags, not a redis.conf; closes the connection at EVAL.
#   ember-server 0.4.9  does not answer `--version`; INFO says `ember_version:0.4.9`;
#                       AOF and noeviction (flags), no Lua, no redis.conf.
# They are what a user might point the store at; the suite checks that each is named
# and refused with what it lacks. (A server we do not know by name that *has*
# everything, KeyDB say, is in no registry this project can use: docs/testing.md.)
#
# Installs into $CMS_UNKNOWN_SERVERS_DIR/<crate>-<version>/bin/ (default
# ~/.cache/claude-mem-store/unknown-servers) and writes unknown-servers.json there:
#   [{ "id": "feox", "crate": "feox-server", "version": "0.7.0", "bin": "<path>" }, ...]
# listing only the servers verified just now.
#
# Every run, warm or cold, decides from the pins, not from the cache:
#   * a build is `cargo install --locked <crate>@<version>` (the crate's own
#     Cargo.lock); the .crate file cargo built from must hash to the pinned sha256
#     (crates.io's index checksum), or the build is thrown away;
#   * a cached build is reused only if its .source stamp names this pin;
#   * the binary is run (`--help`), and the suite asks each server what it is.
# A cold run builds both (~2 and ~4 minutes on 2 cores); a warm one takes a second.
#
# Usage: scripts/test/unknown-servers.sh [--refresh]
#   --refresh   build both again instead of reusing the cache
# Exit 0 iff every pinned server was built and verified.
# Needs: cargo (with crates.io), sha256sum, flock.
set -uo pipefail

DIR="${CMS_UNKNOWN_SERVERS_DIR:-$HOME/.cache/claude-mem-store/unknown-servers}"
REFRESH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --refresh) REFRESH=1 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# ------------------------------------------------------------------------- pins
# id  crate  version  sha256 of <crate>-<version>.crate (crates.io's index cksum)
PINS=(
  "feox feox-server 0.7.0 ecbcca10b69eee68c7f9474f0560022b9441bc062018600524abc1e360ca024a"
  "ember ember-server 0.4.9 1e136736ec0d7cc37b7ae3863feb30c7e9ec439fb9927ecbf5774ccbf4f0a7b6"
)

LOG_TAG=unknown-servers
# shellcheck source=../lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/log.sh"

need cargo sha256sum flock
mkdir -p "$DIR/logs" || die "cannot create $DIR"
DIR="$(cd "$DIR" && pwd)"
exec 9>"$DIR/.lock"
flock -w 1800 9 || die "another unknown-servers.sh holds $DIR/.lock"
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"

# build CRATE VERSION SHA256 OUT: cargo install into OUT.tmp, check the .crate, rename.
build() {
  local crate="$1" version="$2" want="$3" out="$4" log="$DIR/logs/$1.log" got
  log "$crate $version: building with cargo install --locked (a few minutes)"
  rm -rf "$out.tmp"
  cargo install --locked --quiet --root "$out.tmp" "$crate@$version" >"$log" 2>&1 ||
    { warn "$crate $version: cargo install failed (see $log)"; return 1; }
  got=$(sha256sum "$CARGO_HOME"/registry/cache/*/"$crate-$version.crate" 2>/dev/null | head -1 | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    rm -rf "$out.tmp"
    warn "$crate $version: the .crate built from hashes to ${got:-nothing}, pinned $want"; return 1
  fi
  rm -f "$out.tmp/.crates.toml" "$out.tmp/.crates2.json"
  printf '%s\n' "$crate@$version $want" >"$out.tmp/.source"
  rm -rf "$out" && mv "$out.tmp" "$out"
}

entries=() failed=()
for pin in "${PINS[@]}"; do
  read -r id crate version sha256 <<<"$pin"
  out="$DIR/$crate-$version"
  if [ "$REFRESH" = 1 ] || [ "$(cat "$out/.source" 2>/dev/null)" != "$crate@$version $sha256" ]; then
    build "$crate" "$version" "$sha256" "$out" || { failed+=("$crate"); continue; }
  fi
  if ! "$out/bin/$crate" --help >/dev/null 2>>"$DIR/logs/$crate.log"; then
    warn "$crate $version: $out/bin/$crate does not run (see $DIR/logs/$crate.log)"
    failed+=("$crate"); continue
  fi
  entries+=("{\"id\":\"$id\",\"crate\":\"$crate\",\"version\":\"$version\",\"bin\":\"$out/bin/$crate\"}")
  log "$crate $version: ready ($out/bin/$crate)"
done

json="[$(IFS=,; echo "${entries[*]}")]"
printf '%s\n' "$json" >"$DIR/unknown-servers.json.tmp" && mv "$DIR/unknown-servers.json.tmp" "$DIR/unknown-servers.json"
[ "${#failed[@]}" = 0 ] || die "not ready: ${failed[*]}"
