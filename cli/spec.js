'use strict'
// What each command accepts: its options (flag, value name, what it sets, help),
// the environment variables it honours and its exit codes. The parser and the
// help text are both generated from this table, so the help cannot drift from
// what the parser accepts.

const EXIT = {
  ok: 0,
  failed: 1, // an error: its code and message are printed
  usage: 2, // unknown command or option, a missing or malformed value
  notRunning: 3, // status/doctor: the store is not running
  unhealthy: 4, // status/probe/doctor: a check failed (each with its code)
}

const EXIT_HELP = {
  '…': 'run: the status COMMAND exited with (128 + N when signal N ended it)',
  0: 'success (status: running and healthy; doctor: nothing to fix)',
  1: 'failed: an error (its code, message and next step are printed)',
  2: 'usage error: unknown command or option, or a bad value',
  3: 'the store is not running',
  4: 'a check failed (the store or server is not fit for BullMQ)',
}

// Options every command accepts.
const COMMON = [
  { flag: '--json', key: 'json', bool: true, help: 'Print one JSON document on stdout (errors as {"error":{"code","message"}})' },
  { flag: '--debug', key: 'debug', bool: true, help: 'Print the stack trace of an error' },
  { flag: '--help', alias: '-h', key: 'help', bool: true, help: 'Show this help' },
]

const num = (name) => ({ value: name, number: true })

const DATA_DIR = { flag: '--data-dir', value: 'DIR', key: 'dataDir', env: 'CLAUDE_MEM_DATA_DIR', help: 'Data dir (default ~/.claude-mem)' }
const STORE = [
  DATA_DIR,
  { flag: '--mode', value: 'MODE', key: 'mode', env: 'CLAUDE_MEM_REDIS_MODE', help: 'managed | external | docker (default managed)' },
  { flag: '--url', value: 'URL', key: 'url', env: 'CLAUDE_MEM_REDIS_URL', help: 'redis:// or rediss:// URL of the server to use in external mode' },
  { flag: '--host', value: 'HOST', key: 'host', env: 'CLAUDE_MEM_REDIS_HOST', help: 'Host of the managed store (default 127.0.0.1, loopback only)' },
  { flag: '--port', ...num('PORT'), key: 'port', env: 'CLAUDE_MEM_REDIS_PORT', help: 'Port of the managed store (default: allocated once, then saved)' },
  { flag: '--binary', value: 'PATH', key: 'binary', help: 'The valkey-server / redis-server to run (another Redis-compatible server only if it has what BullMQ needs)' },
  { flag: '--prefix', value: 'PREFIX', key: 'prefix', env: 'CLAUDE_MEM_QUEUE_REDIS_PREFIX', help: 'BullMQ key prefix claude-mem uses (default claude-mem\'s: claude_mem_<worker port>; sanitised as claude-mem does)' },
  { flag: '--ca-file', value: 'FILE', key: 'caFile', env: 'CLAUDE_MEM_REDIS_CA_FILE', help: 'PEM CA file to trust for rediss:// (external mode)' },
  { flag: '--timeout', ...num('MS'), key: 'timeoutMs', help: 'How long to wait for a start, a stop or an answer (default 15000)' },
]

const INSTALL = [
  { flag: '--method', value: 'METHOD', key: 'method', help: 'auto | download | apt | dnf | yum | apk | pacman | brew (default auto)' },
  { flag: '--version', value: 'VERSION', key: 'version', help: 'download: the Valkey version (default the newest in the manifest)' },
  { flag: '--distro', value: 'DISTRO', key: 'distro', help: 'download: jammy | noble build (default the best fit)' },
  { flag: '--mirror', value: 'URL', key: 'mirror', env: 'CLAUDE_MEM_VALKEY_MIRROR', help: 'download: base URL replacing download.valkey.io' },
  { flag: '--allow-http', key: 'allowHttp', bool: true, env: 'CLAUDE_MEM_VALKEY_ALLOW_HTTP', help: 'download: allow a plain-http mirror that is not loopback' },
  { flag: '--sha256', value: 'HEX', key: 'sha256', help: 'download: pin the artifact\'s sha256 yourself' },
  { flag: '--allow-sudo', key: 'allowSudo', bool: true, help: 'package managers: allow running `sudo <command>` (never run otherwise)' },
]

const COMMANDS = {
  up: {
    summary: 'Find or install a server, start the store (or adopt the running one), print its status',
    usage: 'up [options]',
    description: `Resolves the store as claude-mem's non-interactive install does: a working
CLAUDE_MEM_REDIS_URL (or --url) is used as is (external); else a local
valkey-server/redis-server is run as claude-mem's private sidecar (managed);
else, only with --install-redis, one is installed first; else it fails with the
command to run. --mode external|docker (or a configured docker mode, or external
mode with a URL) skips the resolution and uses that mode. claude-mem's seeded
default, external with an empty URL, is no choice: it resolves. A managed or docker
store saves its mode, port and URL to settings.json for claude-mem's runtime.
A managed store that runs another server binary than up would start now (status
says outdated: an older bundled build, another sha256) is moved onto it, on the
same port with its data and passwords, when no other client is connected;
--restart moves it even then (their connections drop; BullMQ reconnects). It is
never moved onto an older server or another kind.`,
    options: [
      ...STORE,
      { flag: '--restart', key: 'restart', bool: true, help: 'Move an outdated managed store onto the current server binary even while other clients are connected' },
      { flag: '--install-redis', key: 'installRedis', bool: true, help: 'Install a server when none is found (see install\'s options)' },
      ...INSTALL.map((o) => ({ ...o, help: `${o.help} (with --install-redis)` })),
    ],
    exits: [0, 1, 2],
  },
  status: {
    summary: 'Print the store\'s status and health checks (starts nothing)',
    usage: 'status [options]',
    description: `Prints Queue, Store, Persistence and Policy, then one line per health check
(ok, warn, or FAIL with its code) and the notices. A managed store that runs
another server binary than up would start now is marked outdated, with a note
on how to move it (up --restart). Never starts, stops or writes anything. The JSON output never contains the password.`,
    options: STORE,
    exits: [0, 1, 2, 3, 4],
  },
  down: {
    summary: 'Stop the managed store (only a server claude-mem started, and nobody else uses)',
    usage: 'down [options]',
    description: `Stops the store only if it is proved to be claude-mem's (SHUTDOWN, then SIGTERM,
then SIGKILL). A store other clients are connected to (other claude-mem
processes, their workers) is left running, saying how many, unless --force.
Nothing running is not an error. Docker mode: docker stop (the container and its
volume are kept). External mode stops nothing.`,
    options: [...STORE, { flag: '--force', key: 'force', bool: true, help: 'Stop it even when other clients are connected' }],
    exits: [0, 1, 2],
  },
  run: {
    summary: 'Start the store, run a command with claude-mem\'s queue settings, supervise the store while it runs',
    usage: 'run [options] -- COMMAND [ARGS...]',
    description: `Ensures the store as up does, then runs COMMAND with what claude-mem reads in
its environment: CLAUDE_MEM_QUEUE_ENGINE=bullmq, CLAUDE_MEM_REDIS_MODE, _URL (with
the password), _HOST, _PORT, CLAUDE_MEM_DATA_DIR, and CLAUDE_MEM_QUEUE_REDIS_PREFIX
when --prefix is given. While COMMAND runs, a managed store that dies is started
again (with backoff, on the same port). SIGINT, SIGTERM and SIGHUP are passed to
COMMAND. When it exits, the store is stopped unless other clients still use it
(or --keep), and run exits with COMMAND's status (128 + the signal's number if a
signal ended it). For example:
  npx claude-mem-store run -- bun ~/.claude/plugins/.../plugin/scripts/server-service.cjs start`,
    options: [...STORE, { flag: '--keep', key: 'keep', bool: true, help: 'Leave the store running when COMMAND exits' }],
    positional: { name: 'COMMAND', max: Infinity, afterDashDash: true },
    exits: [0, 1, 2, '…'],
  },
  probe: {
    summary: 'Check whether a Redis/Valkey URL can serve as BullMQ\'s queue store',
    usage: 'probe [URL] [options]',
    description: `Runs every check (TCP, TLS, AUTH, PING, server version, maxmemory policy, AOF,
Lua, cluster) against URL, and with --smoke the BullMQ smoke test (it writes a
few keys in its own namespace and deletes them). Without URL it probes
CLAUDE_MEM_REDIS_URL. The password is never printed.`,
    options: [
      { flag: '--smoke', key: 'smoke', bool: true, help: 'Also run the BullMQ smoke test' },
      { flag: '--timeout', ...num('MS'), key: 'timeoutMs', help: 'The whole probe\'s deadline (default 5000)' },
      { flag: '--ca-file', value: 'FILE', key: 'caFile', env: 'CLAUDE_MEM_REDIS_CA_FILE', help: 'PEM CA file to trust for rediss://' },
      { flag: '--prefix', value: 'PREFIX', key: 'prefix', env: 'CLAUDE_MEM_QUEUE_REDIS_PREFIX', help: 'The BullMQ prefix you will use (default claude-mem\'s: claude_mem_<worker port>)' },
    ],
    env: ['CLAUDE_MEM_REDIS_URL (when no URL is given)'],
    positional: { name: 'URL', max: 1 },
    exits: [0, 1, 2, 4],
  },
  doctor: {
    summary: 'Check everything and print a concrete fix for each problem',
    usage: 'doctor [options]',
    description: `Runs status; probes the URL (with the smoke test) in external mode or when
--url is given; lists the server binaries and, when there is none, how this
machine would install one. Prints every check, and for each failing one what to
do (the port's owner, the install command, the CONFIG SET, …). Changes nothing.`,
    options: STORE,
    exits: [0, 1, 2, 3, 4],
  },
  detect: {
    summary: 'List the valkey-server / redis-server binaries on this machine',
    usage: 'detect [options]',
    description: 'Lists the server binaries found (PATH, Homebrew and system dirs, <data-dir>/bin/valkey), best first.',
    options: [DATA_DIR],
    exits: [0, 1, 2],
  },
  plan: {
    summary: 'Show how a server would be installed here (command, sudo or not, why)',
    usage: 'plan [options]',
    description: 'Shows the install method this machine would use, the exact command and whether it needs root. Runs nothing but package-index queries.',
    options: [INSTALL[0]],
    exits: [0, 1, 2],
  },
  install: {
    summary: 'Install a server (package manager or Valkey download), with progress',
    usage: 'install [options]',
    description: `Installs a server as planned (see plan). A package manager runs only as root or
with --allow-sudo. Downloads are verified (sha256), unpacked and test-run into
<data-dir>/bin/valkey/<version>/. Progress goes to stderr (a bar on a terminal).`,
    options: [DATA_DIR, ...INSTALL, { flag: '--timeout', ...num('MS'), key: 'timeoutMs', help: 'How long a package manager may run (default 600000)' }],
    exits: [0, 1, 2],
  },
  uninstall: {
    summary: 'Stop the store and remove what claude-mem-store wrote',
    usage: 'uninstall [options]',
    description: `Stops the store (only a server proved ours) and removes its config, pid file,
secret, lock, logs, downloaded binaries and settings keys. The queue's data
(redis/data) is kept unless --purge-data. If the store cannot be stopped,
nothing is removed.`,
    options: [
      ...STORE,
      { flag: '--purge-data', key: 'purgeData', bool: true, help: 'Also delete the queue\'s data' },
      { flag: '--force', key: 'force', bool: true, help: 'Stop the store even when other clients are connected' },
    ],
    exits: [0, 1, 2],
  },
  help: {
    summary: 'Show help for a command',
    usage: 'help [COMMAND]',
    description: 'Shows the help of COMMAND, or the list of commands.',
    options: [],
    positional: { name: 'COMMAND', max: 1 },
    exits: [0, 2],
  },
}

for (const c of Object.values(COMMANDS)) c.options = [...c.options, ...COMMON]

module.exports = { EXIT, EXIT_HELP, COMMANDS, COMMON }
