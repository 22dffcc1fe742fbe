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
