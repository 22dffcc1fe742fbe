# shellcheck shell=bash
# A private apt root: its own sources, index lists, empty dpkg status and cache under
# one directory, so that apt can resolve and download Debian packages from any suite
# (trixie, sid, bullseye-security, …) and any architecture without reading or
# changing the machine's own apt sources, preferences or dpkg state. Packages are
# only downloaded and unpacked (dpkg-deb -x) by the callers, never installed.
# Sourced by scripts/test/matrix/install-servers.sh and scripts/test/platforms/runtimes.sh.

# private_apt_root ROOT "ARCH…" "ARCHIVE SUITE"…
#   e.g. private_apt_root "$dir" "amd64 arm64" "debian bookworm" "debian trixie"
#   ARCHIVE is the path on deb.debian.org: debian, debian-security.
private_apt_root() {
  local r=$1 archs=$2 kr=/usr/share/keyrings/debian-archive-keyring.gpg e a
  shift 2
  mkdir -p "$r"/{etc/apt.conf.d,etc/preferences.d,etc/sources.list.d,state/lists/partial,cache}
  : >"$r/state/status"
  for e in "$@"; do
    echo "deb [signed-by=$kr] http://deb.debian.org/${e%% *} ${e#* } main"
  done >"$r/etc/sources.list.tmp"
  mv "$r/etc/sources.list.tmp" "$r/etc/sources.list"
  local arch_list="" first=""
  for a in $archs; do
    arch_list="$arch_list \"$a\";"
    [ -n "$first" ] || first=$a
  done
  # Carried over from the machine's apt: its proxies, and its Check-Valid-Until /
  # Check-Date (a machine whose mirror or clock is off sets them to false; the
  # signatures are checked all the same).
  local http_proxy_cfg="" https_proxy_cfg="" valid_until_cfg="" check_date_cfg=""
  eval "$(apt-config shell http_proxy_cfg Acquire::http::Proxy https_proxy_cfg Acquire::https::Proxy \
    valid_until_cfg Acquire::Check-Valid-Until check_date_cfg Acquire::Check-Date 2>/dev/null)"
  cat >"$r/apt.conf" <<CONF
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
APT::Architecture "$first";
APT::Architectures {$arch_list };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::Retries "3";
${http_proxy_cfg:+Acquire::http::Proxy "$http_proxy_cfg";}
${https_proxy_cfg:+Acquire::https::Proxy "$https_proxy_cfg";}
${valid_until_cfg:+Acquire::Check-Valid-Until "$valid_until_cfg";}
${check_date_cfg:+Acquire::Check-Date "$check_date_cfg";}
CONF
}
