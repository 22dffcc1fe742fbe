# Logging for the install scripts under scripts/test/, sourced after setting LOG_TAG:
#   LOG_TAG=node-lines; . scripts/lib/log.sh
# log/warn/die print "[<tag>] …" to stderr (die exits 1); `need cmd…` dies naming the
# first command not on PATH; now/since time steps:
#   t0=$(now); …; log "done ($(since "$t0") s)"
log()  { printf '[%s] %s\n' "${LOG_TAG:?set LOG_TAG before sourcing log.sh}" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "${LOG_TAG:?}" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "${LOG_TAG:?}" "$*" >&2; exit 1; }
need() { local c; for c; do command -v "$c" >/dev/null || die "$c not found"; done; }
now()  { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
