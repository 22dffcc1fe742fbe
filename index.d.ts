/* The shapes claude-mem-store's functions take and return. This header is written
 * by hand (src/types.d.ts) and prepended by `napi build` to the generated
 * declarations below it. */

/** Where the queue store comes from. */
export type Mode = 'managed' | 'external' | 'docker'

/**
 * Options every store function accepts. Every field is optional; each setting
 * resolves as: this option > environment variable > `<dataDir>/settings.json` >
 * default. Unknown keys are rejected with `E_BAD_OPTION`.
 */
export interface StoreOptions {
  /** `CLAUDE_MEM_DATA_DIR`; default `~/.claude-mem`. Must be absolute (`~/` is expanded). */
  dataDir?: string
  /** `CLAUDE_MEM_REDIS_MODE`; default `managed`. */
  mode?: Mode
  /**
   * `CLAUDE_MEM_REDIS_URL`: the server to use in `external` mode (empty: `host:port`
   * with no password, as claude-mem's runtime does). The URL a managed or docker
   * ensure saved for claude-mem is recognised as this data dir's own store.
   */
  url?: string
  /** `CLAUDE_MEM_REDIS_HOST`; default `127.0.0.1`. The managed store listens on loopback only. */
  host?: string
  /**
   * `CLAUDE_MEM_REDIS_PORT`. Managed: allocated once (never 6379, outside the
   * ephemeral range) and persisted to settings.json. An explicit port (this option
   * or the environment) held by another program is `E_PORT_IN_USE`; a persisted
   * one moves to a free port and the status says why (`portMoved`). A `6379` in
   * settings.json is claude-mem's seeded default for an external Redis, not a
   * choice: managed and docker mode then allocate a private port (with a notice).
   * External mode with an empty `url`: the server's port (default 6379).
   */
  port?: number
  /**
   * An explicit valkey-server / redis-server / redict-server to run instead of the
   * detected one. Another Redis-compatible server (KeyDB, say) is used only if its
   * `--version` names a server, it reads the store's redis.conf, and once started it
   * shows Lua with cjson and cmsgpack, AOF, noeviction and the Redis 6.2 commands;
   * otherwise it is stopped and ensure rejects with `E_BINARY_INCOMPATIBLE` naming
   * what it lacks.
   */
  binary?: string
  /** `CLAUDE_MEM_QUEUE_REDIS_PREFIX`: the key prefix of the smoke test's namespace. */
  prefix?: string
  /** How long to wait for a start, a stop or an answer, in ms. Default 15000. */
  timeoutMs?: number
  /**
   * `CLAUDE_MEM_REDIS_CA_FILE` (external mode, `rediss://`): a PEM file of the CA
   * certificate(s) to trust instead of the system's roots, for a server whose
   * certificate a private CA signed. Give ioredis the same CA
   * (`tls: { ca: fs.readFileSync(caFile) }`).
   */
  caFile?: string
}

/** One step of a health probe. */
export interface Check {
  /**
   * In order: `tcp`, `tls` (rediss:// only), `auth`, `select` (only when it fails),
   * `ping`, `server` (flavor and version), `maxmemory-policy`, `appendonly`, `lua`,
   * `cluster`, then the smoke test's `smoke:script`, `smoke:hash`, `smoke:zset`,
   * `smoke:list`, `smoke:stream`, `smoke:multi`, `smoke:cleanup` (or `smoke` when
   * the exchange itself failed). The managed store reports `process` too, and
   * skips `tcp`/`tls`/`auth`.
   */
  name: string
  ok: boolean
  detail: string
  /** The stable error code when the check failed as an error (absent for a warning). */
  code?: string
}

/** Options for ioredis / BullMQ's `connection`, password included. */
export interface ConnectionOptions {
  host: string
  port: number
  username?: string
  password?: string
  db?: number
  /** Present only for TLS (`rediss://`), in ioredis's shape. */
  tls?: { servername?: string }
}

export interface ServerDescription {
  /** `redict` is Redict (a Redis 7.2 fork), managed like Redis. */
  flavor: 'valkey' | 'redis' | 'redict' | 'dragonfly' | 'unknown'
  version: string
  /**
   * A server claude-mem-store does not know by name: the name it gives (the managed
   * store: its `--version`, e.g. `KeyDB`; external and docker: its INFO, e.g. `ember`).
   */
  name?: string
  /** The server binary (managed mode). */
  binary?: string
  /**
   * Managed mode: true when this is the Valkey bundled in claude-mem-store's own
   * platform package (verified against the sha256 it was built with).
   */
  bundled?: boolean
  /**
   * Managed mode: true when the running server is not the one
   * `ensureQueueStoreStarted` would start now — another build (its sha256
   * differs; where one side has no sha256, its path or version), e.g. an older
   * bundled Valkey after an upgrade. A notice says what runs, what would start and
   * how to move (`claude-mem-store up --restart`, or the next ensure once no other
   * client is connected). Absent when that cannot be told.
   */
  outdated?: boolean
}

/**
 * Where the store's files are. In `docker` mode the server's files live in the
 * container: `config` is the 0600 env file the container's password is read from,
 * `data` is the name of the Docker volume holding `/data`, and `pidFile` is empty.
 */
export interface StatusPaths {
  dataDir: string
  settings: string
  config: string
  data: string
  pidFile: string
  logFile?: string
}

/** `docker` mode: the store's container, found by its `com.claude-mem.*` labels. */
export interface DockerContainer {
  id: string
  name: string
  /** The pinned image, e.g. `valkey/valkey:8.1.11`. */
  image: string
  /** The named volume holding `/data` (AOF and RDB); kept unless uninstall purges data. */
  volume: string
  /** Docker's state: `running`, `exited`, `created`, `paused`, … */
  state: string
}

/** The persisted port was held by another program, so the managed store moved. */
export interface PortMove {
  from: number
  to: number
  /** Who held it, e.g. `pid 1234 (python3 -m http.server 23456)`, where the OS tells. */
  heldBy: string
  holderPid?: number
}

export interface QueueStoreStatus {
  mode: Mode
  running: boolean
  /** Whether claude-mem owns (started and may stop) this server. */
  owned: boolean
  /** Set by `ensureQueueStoreStarted`: true when this call started the server, false when it adopted one. */
  started?: boolean
  pid?: number
  /**
   * `redis://:<password>@127.0.0.1:<port>`: pass to ioredis/BullMQ as is. Secret: do not
   * log it. Managed and docker ensure also save it as `CLAUDE_MEM_REDIS_URL` in
   * settings.json (made 0600), which is where claude-mem's own runtime reads it.
   */
  url?: string
  /** The same URL with the password masked, for logs. */
  redactedUrl?: string
  /** The same as options for ioredis/BullMQ: `new Queue(name, { connection })`. */
  connection?: ConnectionOptions
  server?: ServerDescription
  /** e.g. `AOF everysec`. */
  persistence?: string
  /** The maxmemory policy, e.g. `noeviction`. */
  policy?: string
  paths: StatusPaths
  /** The last health probe's checks. */
  checks: Check[]
  portMoved?: PortMove
  /** Things worth telling that are not errors (a stale pid file set aside, a restart after a crash, …). */
  notices: string[]
  /** `docker` mode: the store's container (absent when there is none). */
  container?: DockerContainer
  /**
   * `external` mode: where the server's address came from: `url`
   * (`CLAUDE_MEM_REDIS_URL`), or `hostPort` — the URL is empty (claude-mem's
   * seeded default), so, as claude-mem's own runtime does,
   * `CLAUDE_MEM_REDIS_HOST:CLAUDE_MEM_REDIS_PORT` with no password.
   */
  addressFrom?: 'url' | 'hostPort'
  /** The BullMQ key prefix claude-mem's queues use with these settings (its default
   *  `claude_mem_<worker port>` and its sanitiser applied); the smoke test runs under it. */
  prefix?: string
  /** Our own store (managed, docker): clients connected other than this call's own
   *  connection. A stop leaves a store with other clients running unless forced. */
  clients?: number
}

export interface StopResult {
  /** Whether this call stopped a running server. */
  stopped: boolean
  /** Whether a server of ours was running when the call began. */
  wasRunning: boolean
  pid?: number
  /** How it stopped (`docker-stop` in docker mode: the container and its volume are kept). */
  method?: 'shutdown' | 'sigterm' | 'sigkill' | 'docker-stop'
  /**
   * `E_NOT_OWNED` when the pid file named another program's process (left alone);
   * `E_DOCKER_UNAVAILABLE` when docker mode could not reach Docker (nothing stopped).
   */
  code?: string
  message: string
  /** Where a stale or foreign pid file was moved. */
  stalePidFile?: string
  /** Not stopped because other clients use the store (`code` `E_STORE_IN_USE`):
   *  how many. `force: true` stops it anyway. */
  clients?: number
}

/** Options of `probeRedisUrl`. */
export interface ProbeOptions {
  /** The whole probe's deadline, in ms (default 5000): an address that never answers costs this long, never more. */
  timeoutMs?: number
  /**
   * Also run the BullMQ smoke test (default false): in its own hash-tagged namespace
   * (`{<prefix>:smoke}:<unique>:…`) it runs SCRIPT LOAD + EVALSHA with cjson and
   * cmsgpack, hashes, sorted sets, LMOVE, XADD/XTRIM and MULTI/EXEC, then deletes
   * every key it made, also when a step fails.
   */
  smoke?: boolean
  /**
   * The BullMQ queue prefix you will use; on a Redis Cluster it must be hash-tagged
   * (`{claude-mem}`) or the `cluster` check fails with `E_CLUSTER_PREFIX`.
   * Default: `CLAUDE_MEM_QUEUE_REDIS_PREFIX`, else `claude-mem`.
   */
  prefix?: string
  /** A PEM file of the CA(s) to trust for `rediss://` instead of the system's roots. Default: `CLAUDE_MEM_REDIS_CA_FILE`. */
  caFile?: string
}

/**
 * What `probeRedisUrl` found. Never carries the password: `url` is redacted and
 * `connection` has no `password`.
 */
export interface ProbeReport {
  /** No check failed with an error code (warnings, `ok: false` without `code`, are allowed). */
  ok: boolean
  /** The URL with the password masked (the same as `redactedUrl`). */
  url: string
  redactedUrl: string
  flavor?: 'valkey' | 'redis' | 'redict' | 'dragonfly' | 'unknown'
  version?: string
  /**
   * A server claude-mem-store does not know by name (`flavor: 'unknown'`): the
   * name its INFO gives (`ember`, `feox`). Such a server passes only if it has
   * what BullMQ needs (Lua with cjson and cmsgpack, AOF, noeviction, the Redis 6.2
   * commands); the `server` check says what it lacks.
   */
  name?: string
  /** Whether the server runs in cluster mode (`cluster_enabled:1`). */
  cluster: boolean
  /** e.g. `AOF everysec`, `RDB only`. */
  persistence?: string
  /** The maxmemory policy, from CONFIG GET or, where CONFIG is disabled, INFO memory. */
  policy?: string
  /** One per step, in order; the first failing one with a `code` is the root cause. */
  checks: Check[]
  /** Host, port, username, db and tls of the URL, for ioredis; without the password. */
  connection: ConnectionOptions
}

export interface ServerBinary {
  path: string
  /**
   * `unknown`: a server claude-mem-store does not know by name, given as the
   * `binary` option (`KeyDB server v=6.3.4 …`, `feox-server 0.7.0`). It is used
   * only if it reads the store's redis.conf and, once started, shows what BullMQ
   * needs; otherwise it is stopped and ensure fails with `E_BINARY_INCOMPATIBLE`
   * naming what it lacks.
   */
  flavor: 'valkey' | 'redis' | 'redict' | 'unknown'
  /** From `--version`, e.g. `8.0.1`. */
  version: string
  /** With `flavor: 'unknown'`: the name its `--version` gives, e.g. `KeyDB`. */
  name?: string
  /**
   * Where it was found. `bundled`: the static Valkey in this addon's platform
   * package, verified against the sha256 it was built with before its first use.
   */
  source: 'option' | 'path' | 'homebrew' | 'system' | 'download' | 'bundled'
}

/** How installQueueStore installs: `auto` follows planInstall(). */
export type InstallMethod = 'auto' | 'download' | 'apt' | 'dnf' | 'yum' | 'apk' | 'pacman' | 'brew'

/** What planInstall() found on this machine. */
export interface InstallPlatform {
  /** `linux`, `macos`, `windows`, … */
  os: string
  /** `x86_64`, `aarch64`, … */
  arch: string
  /** `/etc/os-release` ID, e.g. `debian`, `ubuntu`. */
  distro?: string
  distroVersion?: string
  /** e.g. `bookworm`, `noble`. */
  codename?: string
  distroLike?: string[]
  /** Linux: `gnu` or `musl` (Valkey's downloads are glibc builds). */
  libc?: 'gnu' | 'musl'
  isRoot: boolean
  /** Present package managers, preferred first. */
  packageManagers: Array<'apt' | 'dnf' | 'yum' | 'apk' | 'pacman' | 'brew'>
  /** Whether `docker` is on PATH (not whether its daemon runs). */
  docker: boolean
}

/** The Valkey build the download method would fetch. */
export interface DownloadPlan {
  version: string
  /** Ubuntu release it was built on: `jammy` or `noble`. */
  distro: string
  /** `x86_64` or `arm64`. */
  arch: string
  /** e.g. `valkey-9.0.3-jammy-x86_64.tar.gz`. */
  file: string
  /** Whether the built-in manifest pins its sha256 (else the published `.sha256` is used). */
  hashPinned: boolean
}

export interface InstallPlan {
  method: 'apt' | 'dnf' | 'yum' | 'apk' | 'pacman' | 'brew' | 'download' | 'docker' | 'external'
  flavor?: 'valkey' | 'redis'
  /** The package, e.g. `valkey-server` (apt) or `valkey`. */
  package?: string
  /** The exact program and arguments installQueueStore() runs, without sudo. Empty when there is nothing to run. */
  command: string[]
  /** What to type in a shell, with `sudo` when needed. */
  shellCommand?: string
  /** Whether the command needs root and this process is not root. */
  needsSudo: boolean
  /** Why this method (and what to do when there is nothing to install). */
  reason: string
  /** The download alternative on glibc Linux (x86_64/arm64). */
  download?: DownloadPlan
  platform: InstallPlatform
}

/** One progress report from installQueueStore / resolveQueueStore. */
export interface ProgressEvent {
  phase: 'lock' | 'checksum' | 'download' | 'retry' | 'verify' | 'unpack' | 'test-run' | 'install' | 'package' | 'done'
  /** Bytes received so far (phase `download`). */
  bytes?: number
  /** Total bytes, when the server sent Content-Length. */
  total?: number
  message?: string
}

export interface InstallOptions {
  /** Default `auto` (what planInstall() recommends). */
  method?: InstallMethod
  /** Download: a Valkey version from the built-in manifest; default its newest. */
  version?: string
  /** Download: `jammy` or `noble` build; default the best fit for this system. */
  distro?: 'jammy' | 'noble'
  /** Package managers: allow running `sudo <command>` (sudo may prompt on the terminal). Never needed as root or for brew. */
  allowSudo?: boolean
  /** Download: a base URL replacing download.valkey.io (`CLAUDE_MEM_VALKEY_MIRROR`), serving `<file>` and `<file>.sha256`. */
  mirror?: string
  /** Allow a plain-http mirror that is not loopback (`CLAUDE_MEM_VALKEY_ALLOW_HTTP=1`). */
  allowHttp?: boolean
  /** Download: pin the artifact's sha256 yourself (e.g. for your own mirror). */
  sha256?: string
  /** `CLAUDE_MEM_DATA_DIR`; downloads go to `<dataDir>/bin/valkey/<version>/`. */
  dataDir?: string
  /** How long a package manager may run, or to wait for another installer. Default 600000. */
  timeoutMs?: number
  /** Called with progress; its return value is ignored and what it throws is caught. */
  onProgress?: (event: ProgressEvent) => void
}

/** A server on 6379 after a package install: not claude-mem's, never touched. */
export interface ForeignService {
  port: number
  heldBy: string
  pid?: number
  /** True when it was not listening before the install (the package started it). */
  startedByInstall: boolean
}

export interface DownloadedValkey {
  version: string
  distro: string
  arch: string
  /** The artifact's URL (host or mirror), password masked. */
  url: string
  /** `<dataDir>/bin/valkey/<version>/bin/valkey-server`. */
  binary: string
  dir: string
  /** The sha256 the download was checked against. */
  sha256?: string
  hashPinned: boolean
  /** `manifest` / `option`: pinned; `published`: the `.sha256` beside the artifact. */
  hashSource: 'manifest' | 'option' | 'published'
  bytes?: number
  alreadyInstalled: boolean
  /** Links in the archive that were not created (only files and directories are unpacked). */
  skippedLinks: string[]
}

export interface InstallResult {
  method: 'apt' | 'dnf' | 'yum' | 'apk' | 'pacman' | 'brew' | 'download'
  flavor: 'valkey' | 'redis'
  version?: string
  /** The server binary now available. */
  binary?: string
  alreadyInstalled: boolean
  /** Package method: what ran (sudo included) and the last lines it printed. */
  command?: string[]
  outputTail?: string
  serviceOn6379?: ForeignService
  download?: DownloadedValkey
  /** Download method: false means "hash not pinned" — checked against the published `.sha256`. */
  hashPinned?: boolean
  reason: string
  notices: string[]
}

export interface ResolveOptions extends StoreOptions {
  /** Allow installing a server when none is found (as installQueueStore with method auto). */
  installRedis?: boolean
  /** Decide nothing; return the choices for claude-mem's prompt. */
  interactive?: boolean
  /** With installRedis: as installQueueStore's options. */
  method?: InstallMethod
  version?: string
  distro?: 'jammy' | 'noble'
  allowSudo?: boolean
  mirror?: string
  allowHttp?: boolean
  sha256?: string
  onProgress?: (event: ProgressEvent) => void
}

export interface ResolutionStep {
  /** `url`, `binary`, `install`. */
  name: string
  ok: boolean
  detail: string
}

export interface ResolutionChoice {
  id: 'managed' | 'external' | 'sqlite'
  label: string
  recommended: boolean
  detail: string
}

export interface Resolution {
  decision: 'external' | 'managed' | 'install' | 'fail' | 'prompt'
  /**
   * The mode to start the store in: call `ensureQueueStoreStarted({ mode })` with it
   * (`managed` after a managed or install decision). claude-mem's first boot writes
   * `CLAUDE_MEM_REDIS_MODE=external` to settings.json as a default, so a bare ensure
   * would not follow the decision until one ensure has saved the mode.
   */
  mode?: 'managed' | 'external'
  reason: string
  steps: ResolutionStep[]
  /** external: the working URL (credentials included: do not log it). */
  url?: string
  redactedUrl?: string
  /** managed / install: the binary ensureQueueStoreStarted() will run. */
  binary?: ServerBinary
  install?: InstallResult
  plan?: InstallPlan
  /** fail: the precise command to run. */
  command?: string
  /** prompt: the choices, recommended first. */
  choices?: ResolutionChoice[]
}

export interface UninstallResult {
  stop: StopResult
  removed: string[]
  /** What was kept on purpose, each with why. */
  kept: string[]
  settingsKeysRemoved: string[]
  dataPurged: boolean
  notices: string[]
}

/**
 * Every rejection is an `Error` with one of these stable codes in `err.code`, and a
 * message that says what to do next.
 */
export type ErrorCode =
  | 'E_BAD_URL' | 'E_BAD_SETTINGS' | 'E_BAD_OPTION' | 'E_NO_SERVER_BINARY' | 'E_PORT_IN_USE'
  | 'E_START_FAILED' | 'E_TIMEOUT' | 'E_UNREACHABLE' | 'E_AUTH' | 'E_VERSION_TOO_OLD'
  | 'E_EVICTION_POLICY' | 'E_LUA_UNAVAILABLE' | 'E_CLUSTER_PREFIX' | 'E_CHECKSUM'
  | 'E_UNSAFE_ARCHIVE' | 'E_BINARY_INCOMPATIBLE' | 'E_NEEDS_SUDO' | 'E_NOT_OWNED'
  | 'E_DOCKER_UNAVAILABLE' | 'E_LOCK_TIMEOUT' | 'E_DOWNLOAD_FAILED' | 'E_INSTALL_FAILED'
  | 'E_UNSUPPORTED' | 'E_TLS' | 'E_SMOKE_FAILED' | 'E_IO' | 'E_INTERNAL'
  /** The store's data was written by a server (newer, or another fork) the chosen one cannot read. */
  | 'E_DATA_INCOMPATIBLE'
  | 'E_STORE_IN_USE'
  /** A server claude-mem-store does not know by name lacks what BullMQ needs; the message lists what. */
  | 'E_SERVER_UNSUPPORTED'
  | 'E_SPAWN_FAILED'
  /** Thrown by `require('claude-mem-store')` itself: no native addon for this machine loaded. */
  | 'E_ADDON_UNAVAILABLE'

/** Options of `watchQueueStore`: the store's options plus the callback. */
export interface WatchOptions extends StoreOptions {
  /** How often to check that the store's process lives, in ms (10–3600000). Default 1000. */
  intervalMs?: number
  /** Called for every event. Keep it quick; an exception thrown here is not caught by the watcher. */
  onEvent: (event: WatchEvent) => void
}

/** What the watcher saw or did. */
export type WatchEvent =
  | { type: 'watching'; pid?: number }
  | { type: 'died'; pid: number }
  | { type: 'restarting'; attempt: number; delayMs: number }
  | { type: 'restarted'; pid: number; port: number }
  | { type: 'restartFailed'; attempt: number; code: string; message: string }
  | { type: 'stopped' }

/** A running watch. `close()` ends it; the store keeps running. */
export declare class QueueStoreWatcher {
  /** Stops watching. The store is left as it is (running or not). Safe to call twice. */
  close(): void
  /** Whether `close()` has been called. */
  get closed(): boolean
}

/**
 * Lists the `valkey-server` / `redis-server` / `redict-server` binaries on this
 * machine, best first (Valkey, then Redis, then Redict; newer first): on PATH, in /opt/homebrew/bin,
 * /usr/local/bin, /usr/bin and under `<dataDir>/bin/valkey/<version>/`.
 */
export declare function detectServerBinaries(options?: { dataDir?: string }): Promise<ServerBinary[]>

/**
 * Makes sure the queue store is running and healthy, and returns how to reach it.
 *
 * Managed mode (the default): takes the store lock, adopts our running sidecar if
 * there is one, else starts one (a private Valkey/Redis under `<dataDir>/redis`
 * on a private port) and waits until it has loaded its data and answers PING.
 * Idempotent: N callers in N processes end with one server.
 *
 * Docker mode: adopts, starts or runs this data dir's container from the pinned
 * `valkey/valkey` image (named volume for `/data`, published on 127.0.0.1 only),
 * found by its `com.claude-mem.*` labels; no `docker` on PATH or its engine down
 * is `E_DOCKER_UNAVAILABLE` with the next step. Docker is never installed.
 * External mode: probes `url` (`CLAUDE_MEM_REDIS_URL`; empty: `host:port` with no
 * password, as claude-mem's runtime connects) with every check and the
 * BullMQ smoke test, and returns its status; it never starts anything. A URL that
 * fails rejects with the failing check's code (`E_UNREACHABLE`, `E_AUTH`,
 * `E_EVICTION_POLICY`, `E_CLUSTER_PREFIX`, …) and its fix: there is no fallback
 * to a managed store.
 *
 * Managed and docker mode save `CLAUDE_MEM_REDIS_MODE`, `_HOST`, `_PORT` and
 * `_URL` (with the password: the file is made 0600) to settings.json, which is
 * where claude-mem's own runtime reads its connection. Without a `binary`, the
 * managed store runs the server that last ran its data.
 *
 * Upgrades reach running stores: when the managed store runs another binary than
 * the one this call would start (an older bundled build, another sha256), it is
 * moved onto it — stopped with `SHUTDOWN` (the AOF flushed), started again on the
 * same port with the same data and passwords, so the URL in settings.json stays
 * right and queued jobs are kept — when no other client is connected, or at once
 * with `restart: true` (their connections drop; BullMQ reconnects). Never onto an
 * older server or another kind; otherwise a notice says why it was left running,
 * and `server.outdated` stays true.
 *
 * Rejects with `E_BAD_SETTINGS`, `E_BAD_OPTION`, `E_NO_SERVER_BINARY`,
 * `E_PORT_IN_USE`, `E_START_FAILED`, `E_DATA_INCOMPATIBLE` (the server cannot read
 * data a newer one wrote: the message names that one), `E_TIMEOUT`,
 * `E_LOCK_TIMEOUT`, `E_NOT_OWNED`, `E_DOCKER_UNAVAILABLE`, …
 */
export declare function ensureQueueStoreStarted(options?: StoreOptions & { restart?: boolean }): Promise<QueueStoreStatus>

/**
 * Installs a server. `method` `auto` (default) follows planInstall(); a package
 * manager runs only when allowed — already root, or `allowSudo: true` — and never
 * `brew services`/`systemctl`; otherwise it rejects with `E_NEEDS_SUDO` and the
 * exact command. `download` fetches Valkey's Linux build named by the built-in
 * manifest (from `mirror` / `CLAUDE_MEM_VALKEY_MIRROR` when set), verifies its
 * sha256 (pinned, or the published `.sha256` — then the result says
 * `hashPinned: false`), unpacks it safely, test-runs it and renames it into
 * `<dataDir>/bin/valkey/<version>/`; nothing is left behind on failure.
 *
 * `onProgress(event)` is called with `{phase, bytes?, total?, message?}`. An
 * exception it throws is caught and ignored: it never reaches
 * `uncaughtException` and never fails the install. Events are queued, so the
 * last ones (`done`) may arrive just after the promise settles.
 *
 * Rejects with `E_NEEDS_SUDO`, `E_INSTALL_FAILED`, `E_DOWNLOAD_FAILED`,
 * `E_CHECKSUM`, `E_UNSAFE_ARCHIVE`, `E_BINARY_INCOMPATIBLE`, `E_UNSUPPORTED`,
 * `E_LOCK_TIMEOUT`, `E_BAD_OPTION`, …
 */
export declare function installQueueStore(options?: InstallOptions): Promise<InstallResult>

/**
 * Returns the install method this machine would use: the package manager (brew,
 * apt, dnf, yum, apk, pacman) with Valkey where it has a candidate, else Redis;
 * Valkey's own Linux build where no manager fits; Windows → Docker or an
 * existing server. Gives the exact command, whether it needs root, and why.
 * Runs nothing but local package-index queries.
 */
export declare function planInstall(options?: { method?: InstallMethod }): Promise<InstallPlan>

/**
 * Checks whether `url` (`redis://` or `rediss://`, with `user:password@` and
 * `/db` as needed) can serve as BullMQ's queue store, one check per step: TCP
 * connect, TLS, AUTH, PING, `INFO` (flavor, version), maxmemory policy, AOF,
 * Lua with cjson/cmsgpack, cluster mode and prefix, and with `smoke: true` the
 * BullMQ smoke test (it writes a few keys in its own namespace and deletes them).
 *
 * Server-side problems are failing checks in the report (`ok: false`, each with
 * its `code`); the promise rejects only for a malformed URL (`E_BAD_URL`) or a bad
 * option (`E_BAD_OPTION`). The whole probe keeps to `timeoutMs` (default 5000).
 * The password never appears in the report.
 */
export declare function probeRedisUrl(url: string, options?: ProbeOptions): Promise<ProbeReport>

/**
 * Reports whether the store is running, whose it is and how healthy it is.
 * Managed mode: `server.outdated` says whether the running server is another
 * binary than ensure would start now, with a notice on how to move it.
 * Never starts, stops or writes anything. Docker mode: Docker missing or down is
 * `running: false` with a failing `docker` check (`E_DOCKER_UNAVAILABLE`).
 * Never starts, stops or writes anything. External mode: probes the URL and
 * reports its checks (a failing server is a status, not a rejection).
 */
export declare function queueStoreStatus(options?: StoreOptions): Promise<QueueStoreStatus>

/**
 * The seed's decision tree. Non-interactive: a working `CLAUDE_MEM_REDIS_URL` →
 * `external`; else a local valkey-server/redis-server → `managed`; else, only
 * with `installRedis: true`, install one (as installQueueStore) → `install`;
 * else `fail` with the precise command. With `interactive: true` nothing is
 * decided: `decision: 'prompt'` and `choices` for claude-mem's prompt.
 * Starts nothing: call ensureQueueStoreStarted() for managed/install.
 */
export declare function resolveQueueStore(options?: ResolveOptions): Promise<Resolution>

/**
 * Stops the managed store, but only a server proved to be ours (live pid, matching
 * start token, and the server's own `run_id`): `SHUTDOWN`, then SIGTERM, then
 * SIGKILL after `timeoutMs`. A pid file naming someone else's process is set aside
 * and that process is never signalled (the result's `code` is `E_NOT_OWNED`).
 * Nothing running is a result, not an error.
 *
 * Several claude-mem processes share one store: when other clients are connected
 * (the server's own client list, less this call's connection) the store is left
 * running and the result says so — `stopped: false`, `code: 'E_STORE_IN_USE'`,
 * `clients` = how many — unless `force: true`.
 *
 * Docker mode: `docker stop` of our labelled container only; the container and its
 * volume are kept. Docker missing or down: nothing can run, and the result's
 * `code` is `E_DOCKER_UNAVAILABLE`.
 * Nothing running is a result, not an error. External mode stops nothing (the
 * server is not claude-mem's) and says so, with `code` `E_NOT_OWNED`.
 */
export declare function stopQueueStore(options?: StoreOptions & { force?: boolean }): Promise<StopResult>

/**
 * Stops our store (only a server proved ours) and removes what claude-mem-store
 * wrote: config, pid file, secret, lock, its `logs/redis-*.log`, downloaded
 * binaries under `bin/valkey/`, and its keys in settings.json (every other key is
 * kept). `redis/data` is kept unless `purgeData: true`. Says what it removed and
 * what it kept. If the store cannot be stopped, nothing is removed; a store that
 * other clients still use is not stopped (`E_STORE_IN_USE`) unless `force: true`.
 */
export declare function uninstallQueueStore(options?: StoreOptions & { purgeData?: boolean; force?: boolean }): Promise<UninstallResult>

/**
 * Watches the managed store and starts it again, with backoff (100 ms doubling
 * to 30 s), when its process dies without having been stopped. Every check and
 * action is reported to `onEvent`: `watching`, `died`, `restarting`, `restarted`,
 * `restartFailed`, `stopped`. A store stopped on purpose (`stopQueueStore`) is
 * left stopped. Two watchers in two processes never start two servers: restarts
 * go through `ensureQueueStoreStarted`'s lock. Throws `E_BAD_OPTION` /
 * `E_BAD_SETTINGS` for bad options.
 */
export declare function watchQueueStore(options: WatchOptions): QueueStoreWatcher
