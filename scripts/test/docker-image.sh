#!/usr/bin/env bash
# Builds the image Docker mode pins (valkey/valkey:8.1.11, src/docker/commands.rs) in
# the engine $DOCKER_HOST points at, if that engine does not have it yet. For tests
# on machines that cannot reach Docker Hub: it is NOT the official image, but is
# shaped like it where the addon relies on it:
#   - valkey-server (Debian's, bookworm-backports 8.0) and valkey-cli in
#     /usr/local/bin, with the shared libraries `ldd` lists;
#   - a `valkey` user and group (uid/gid 999), /data owned by it, WORKDIR /data,
#     VOLUME /data, EXPOSE 6379, CMD ["valkey-server"];
#   - ENTRYPOINT ["docker-entrypoint.sh"], which behaves like the official one: a
#     first argument starting with `-` or ending in `.conf` gets valkey-server
#     prepended; as root with valkey-server it chowns /data to valkey and re-execs
#     itself as valkey with setpriv; umask 0077 if it is 0022; then exec "$@";
#   - /bin/sh (dash): the addon runs `sh -c <script>` in the container.
# The server inside reports version 8.0.x, not 8.1.11. Labelled
# com.claude-mem.test-image=1 so it is never mistaken for the real one.
# Loaded with `docker import` (no registry, no build kit needed). Idempotent.
set -euo pipefail

IMAGE="valkey/valkey:8.1.11"
say() { echo "docker-image: $*" >&2; }
die() { say "$*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

if docker image inspect --format '{{.Id}}' "$IMAGE" >/dev/null 2>&1; then
  say "$IMAGE is present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"

if ! have valkey-server; then
  have apt-get || die "valkey-server is needed to build the test image: install it, then run this again"
  say "installing valkey-server (apt, bookworm-backports where available)"
  export DEBIAN_FRONTEND=noninteractive
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  if [ "$codename" = bookworm ]; then
    $SUDO apt-get install -y -qq -t bookworm-backports valkey-server >&2
  else
    $SUDO apt-get install -y -qq valkey-server >&2
  fi
fi
for tool in setpriv find chown id dash ldd tar; do
  have "$tool" || die "$tool is needed to build the test image"
done

start=$(date +%s%N)
rootfs="$(mktemp -d "${TMPDIR:-/tmp}/cms-valkey-rootfs.XXXXXX")"
trap '$SUDO rm -rf "$rootfs"' EXIT

# Copies a binary and every shared library it loads (at the same paths as here).
copy_with_libs() {
  local src dest="$2" lib
  src="$(readlink -f "$(command -v "$1")")"
  install -D -m 0755 "$src" "$rootfs$dest"
  for lib in $(ldd "$src" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    [ -e "$rootfs$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
  done
}

copy_with_libs valkey-server /usr/local/bin/valkey-server
have valkey-cli && copy_with_libs valkey-cli /usr/local/bin/valkey-cli
copy_with_libs dash /bin/sh
for tool in setpriv find chown id; do
  copy_with_libs "$tool" "/usr/bin/$tool"
done

mkdir -p "$rootfs/etc" "$rootfs/data" "$rootfs/tmp" "$rootfs/root" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
chmod 1777 "$rootfs/tmp"
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
valkey:x:999:999::/home/valkey:/usr/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
valkey:x:999:
EOF
printf 'passwd: files\ngroup: files\n' >"$rootfs/etc/nsswitch.conf"

cat >"$rootfs/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e

# first arg is `-f` or `--some-option`
# or first arg is `something.conf`
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- valkey-server "$@"
fi

# allow the container to be started with `--user`
if [ "$1" = 'valkey-server' ] && [ "$(id -u)" = '0' ]; then
	find . \! -user valkey -exec chown valkey '{}' +
	exec setpriv --reuid=valkey --regid=valkey --clear-groups -- "$0" "$@"
fi

# set an appropriate umask (if one isn't set already)
um="$(umask)"
if [ "$um" = '0022' ]; then
	umask 0077
fi

exec "$@"
EOF
chmod 0755 "$rootfs/usr/local/bin/docker-entrypoint.sh"
chmod 0755 "$rootfs/data"
$SUDO chown -R 0:0 "$rootfs"
$SUDO chown 999:999 "$rootfs/data"

# Sanity: the copied server runs inside the rootfs (its libraries are all there).
if have chroot && [ "$(id -u)" -eq 0 ]; then
  chroot "$rootfs" /usr/local/bin/valkey-server --version >/dev/null ||
    die "valkey-server does not run inside the image's root filesystem"
fi

$SUDO tar --numeric-owner -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'WORKDIR /data' \
  --change 'VOLUME /data' \
  --change 'EXPOSE 6379' \
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
  --change 'CMD ["valkey-server"]' \
  --change 'LABEL com.claude-mem.test-image=1' \
  - "$IMAGE" >/dev/null
say "built $IMAGE from $(valkey-server --version | cut -d' ' -f1-3) in $(( ($(date +%s%N) - start) / 1000000 )) ms"
