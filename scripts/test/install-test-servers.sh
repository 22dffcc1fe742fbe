#!/usr/bin/env bash
# Installs the real servers the test suite runs against, if they are missing:
#   Debian/Ubuntu: redis-server (bookworm: 7.0), valkey-server (bookworm-backports: 8.0)
#                  and PostgreSQL (claude-mem's server runtime keeps its events there)
#   macOS:         brew install redis valkey postgresql
# Used by `npm test` (scripts/dev.mjs) and by .ci/run. It installs packages only;
# it never starts or enables their services (claude-mem-store never uses them; the
# claude-mem tests run a private Postgres cluster of their own, __test__/lib/postgres.mjs).
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
have_postgres() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || have initdb; }
if have redis-server && have valkey-server && have_postgres; then
  exit 0
fi

case "$(uname -s)" in
  Darwin)
    have brew || { echo "Install Homebrew, then: brew install redis valkey" >&2; exit 1; }
    brew install redis valkey postgresql
    ;;
  Linux)
    have apt-get || { echo "Install redis-server and valkey-server with your package manager, then run npm test again." >&2; exit 1; }
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
      have sudo || { echo "Run as root, or install sudo, to install redis-server and valkey-server." >&2; exit 1; }
      SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [ "$codename" = "bookworm" ] && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo 'deb http://deb.debian.org/debian bookworm-backports main' | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
    fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq redis-server redis-tools
    if [ "$codename" = "bookworm" ]; then
      $SUDO apt-get install -y -qq -t bookworm-backports valkey-server valkey-tools
    else
      $SUDO apt-get install -y -qq valkey-server valkey-tools
    fi
    if ! have_postgres; then
      # Debian's postgresql-common creates and starts a "main" cluster on port 5432
      # at install unless told not to: the tests want the binaries only.
      $SUDO mkdir -p /etc/postgresql-common/createcluster.d
      echo 'create_main_cluster = false' | $SUDO tee /etc/postgresql-common/createcluster.d/claude-mem-store.conf >/dev/null
      $SUDO apt-get install -y -qq --no-install-recommends postgresql
    fi
    ;;
  *)
    echo "The test suite needs redis-server and valkey-server on PATH." >&2
    exit 1
    ;;
esac
