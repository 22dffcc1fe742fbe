// The published claude-mem (npm `claude-mem` 13.25.3, a devDependency), unchanged,
// on the store. Its queue lives in its server runtime
// (plugin/scripts/server-service.cjs): Postgres for events, jobs and API keys
// (a private cluster here, lib/postgres.mjs), BullMQ lanes
// `server_beta_generate_event` / `_summary` under the prefix claude-mem's own
// first boot wrote to settings.json. Everything is claude-mem's own code: its
// settings seeding (`worker-service.cjs status`), its API keys
// (`server api-key create`), its HTTP API (`POST /v1/events`), its generation
// worker (`server-service.cjs worker start`, what `claude-mem server worker
// start` runs), its job listing (`server jobs inspect`). The only stand-in is
// the LLM: an OpenAI-compatible endpoint on loopback that claude-mem's
// OpenRouter provider is pointed at (CLAUDE_MEM_OPENROUTER_BASE_URL), so that a
// job really completes, with no network. docs/notes/claude-mem-13.25.3.md has
// the measurements behind each step.
//
// The runtime is launched through `claude-mem-store run --data-dir D -- <cmd…>`,
// which ensures the store, hands the child CLAUDE_MEM_QUEUE_ENGINE=bullmq and
// CLAUDE_MEM_REDIS_MODE/_URL/_HOST/_PORT, supervises the store while the child
// lives, forwards signals, exits with the child's status, and stops the store at
// exit only when no other client (no other `run`) is left.
//
// Every process started here is stopped by its pid after the test (claude-mem's
// own processes too: a `run` killed with SIGKILL would leave its child behind).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, execFile } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { addon, FLAVORS, ROOT, Redis, freePort, isAlive, killAndWait, readPid, tmpDataDir, track, waitFor } from './helpers.mjs'
import { postgresMissing, startPostgres } from './lib/postgres.mjs'

const VERSION = '13.25.3'
const CLI = path.join(ROOT, 'cli.js')
const BUN = path.join(ROOT, 'node_modules', '.bin', 'bun')
const LANES = { event: 'server_beta_generate_event', summary: 'server_beta_generate_summary' }

// claude-mem's package: `exports` only maps ./modes/*, so it is found on disk,
// the way Node's resolver would walk up from here.
const CLAUDE_MEM = (() => {
  for (let dir = ROOT; ; dir = path.dirname(dir)) {
    const p = path.join(dir, 'node_modules', 'claude-mem')
    if (fs.existsSync(path.join(p, 'package.json'))) return p
    if (path.dirname(dir) === dir) return null
  }
})()
const SERVER = CLAUDE_MEM && path.join(CLAUDE_MEM, 'plugin', 'scripts', 'server-service.cjs')
const WORKER = CLAUDE_MEM && path.join(CLAUDE_MEM, 'plugin', 'scripts', 'worker-service.cjs')
const installedVersion = CLAUDE_MEM && JSON.parse(fs.readFileSync(path.join(CLAUDE_MEM, 'package.json'), 'utf8')).version

const isRoot = process.getuid?.() === 0
// A private mount namespace whose / mirrors the host's, with or without
// /.dockerenv (what claude-mem checks to know it is in a container): root only.
const FAKE_ROOT = isRoot && spawnSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'ignore' }).status === 0
const HOST_DOCKERENV = fs.existsSync('/.dockerenv')

// Skipped only outside CI, where a prerequisite is missing; CI installs them all
// (npm ci, scripts/test/install-test-servers.sh), so there a missing one fails the test.
const missing = !process.env.CI && (
  (!CLAUDE_MEM && 'claude-mem is not installed (a devDependency: npm ci)') ||
  (installedVersion !== VERSION && `claude-mem ${installedVersion} is installed; these tests measure ${VERSION}`) ||
  (!fs.existsSync(BUN) && 'bun (a devDependency) is not installed') ||
  postgresMissing() ||
  (!FLAVORS.some((f) => f.bin) && 'no valkey-server / redis-server installed'))

const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'))
const defaultPrefix = () => `claude_mem_${37700 + ((process.getuid?.() ?? 77) % 100)}`
const runtimeBin = (runtime) => (runtime === 'bun' ? BUN : process.execPath)

// ---------------------------------------------------------------------------
// The fixture: one data dir, claude-mem's settings, the store, Postgres, a fake LLM.

/**
 * A data dir seeded by claude-mem's own first boot, the store started by the
 * installer sequence (README "Using it from claude-mem"), a private Postgres and
 * an OpenAI-compatible endpoint on loopback. Returns the context every helper
 * below takes.
 */
async function setup(t) {
  // Registered first so that it runs first: claude-mem's processes go before the
  // store and Postgres they use (after-hooks run in the order they were added).
  const procs = []
  t.after(async () => {
    for (const p of procs.reverse()) {
      for (const pid of [p.pid, ...p.children]) await killAndWait(pid, 20000).catch(() => {})
    }
  })
  const dataDir = tmpDataDir(t)
  const home = path.join(dataDir, 'home') // HOME, CLAUDE_CONFIG_DIR: nothing goes to the real ~
  const logDir = path.join(dataDir, 'test-logs')
  fs.mkdirSync(home, { recursive: true })
  fs.mkdirSync(logDir, { recursive: true })
  const pg = await startPostgres(t)
  const llm = await fakeLlm(t)
  const ctx = { t, dataDir, home, logDir, pg, llm, procs, serverPort: await freePort(), settingsFile: path.join(dataDir, 'settings.json') }

  // 1. claude-mem's own code writes settings.json, every default (its worker CLI
  //    needs Bun: it loads bun:sqlite).
  await runClaudeMem(ctx, [BUN, WORKER, 'status'])
  const seeded = readJson(ctx.settingsFile)
  assert.ok(Object.keys(seeded).length >= 100, `claude-mem ${VERSION} writes every default (${Object.keys(seeded).length} keys)`)
  assert.equal(seeded.CLAUDE_MEM_QUEUE_ENGINE, 'sqlite')
  assert.equal(seeded.CLAUDE_MEM_REDIS_MODE, 'external')
  assert.equal(seeded.CLAUDE_MEM_REDIS_URL, '')
  assert.equal(seeded.CLAUDE_MEM_REDIS_PORT, '6379')
  assert.equal(seeded.CLAUDE_MEM_QUEUE_REDIS_PREFIX, defaultPrefix())
  ctx.prefix = seeded.CLAUDE_MEM_QUEUE_REDIS_PREFIX

  // 2. The installer sequence, through the addon.
  const r = await addon.resolveQueueStore({ dataDir })
  assert.equal(r.decision, 'managed', r.reason)
  const store = await addon.ensureQueueStoreStarted({ dataDir, mode: r.mode })
  track(store.pid)
  assert.equal(store.running && store.owned, true)
  const after = readJson(ctx.settingsFile)
  assert.equal(after.CLAUDE_MEM_REDIS_MODE, 'managed')
  assert.equal(after.CLAUDE_MEM_REDIS_URL, store.url)
  assert.equal(after.CLAUDE_MEM_QUEUE_ENGINE, 'sqlite', 'the queue engine is claude-mem\'s')
  assert.equal(after.CLAUDE_MEM_QUEUE_REDIS_PREFIX, ctx.prefix)
  ctx.store = store
  // A fresh ensure keeps no connection in this process (a status call would): so
  // nothing here counts as a client of the store when a run asks at its exit.
  assert.equal((await storeStatus(ctx)).clients, 0, 'no other client of the store')
  return ctx
}

/** The environment claude-mem's processes get: nothing inherited but PATH. */
function claudeMemEnv(ctx, extra = {}) {
  return {
    PATH: `${path.dirname(BUN)}${path.delimiter}${process.env.PATH}`, // `bun` for claude-mem's own spawns
    HOME: ctx.home,
    CLAUDE_CONFIG_DIR: path.join(ctx.home, '.claude'),
    CLAUDE_MEM_DATA_DIR: ctx.dataDir,
    CLAUDE_MEM_SERVER_DATABASE_URL: ctx.pg.url,
    CLAUDE_MEM_SERVER_HOST: '127.0.0.1',
    CLAUDE_MEM_SERVER_PORT: String(ctx.serverPort),
    // Its pg pool keeps idle clients 30 s, which keeps one-shot CLI commands alive that long.
    CLAUDE_MEM_POSTGRES_IDLE_TIMEOUT_MS: '200',
    // Generation: claude-mem's OpenRouter provider, pointed at the loopback LLM.
    CLAUDE_MEM_SERVER_PROVIDER: 'openrouter',
    OPENROUTER_API_KEY: 'cms-test-key',
    CLAUDE_MEM_OPENROUTER_BASE_URL: ctx.llm.url,
    ...extra,
  }
}

/** Runs a one-shot claude-mem command; resolves { stdout, stderr }, rejects on a non-zero exit. */
function runClaudeMem(ctx, argv, extra = {}) {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { cwd: ctx.home, env: claudeMemEnv(ctx, extra), encoding: 'utf8', timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.slice(1).join(' ')} failed (${err.code ?? err.signal}): ${stderr || stdout}`))
      else resolve({ stdout, stderr })
    })
  })
}

/**
 * Starts a long-running process (`prefix` lets it run in a fake root); its output
 * is kept for failure messages. `p.exited` resolves { code, signal }.
 */
function launch(ctx, name, argv, { env = {}, prefix = [] } = {}) {
  const full = [...prefix, ...argv]
  const child = spawn(full[0], full.slice(1), { cwd: ctx.home, env: claudeMemEnv(ctx, env), stdio: ['ignore', 'pipe', 'pipe'] })
  track(child.pid)
  const p = { name, pid: child.pid, children: [], output: '', exit: null }
  const log = fs.createWriteStream(path.join(ctx.logDir, `${name}.log`))
  for (const s of [child.stdout, child.stderr]) {
    s.setEncoding('utf8')
    s.on('data', (d) => { p.output += d; log.write(d) })
  }
  p.exited = new Promise((resolve) => child.once('exit', (code, signal) => { p.exit = { code, signal }; log.end(); resolve(p.exit) }))
  p.tail = () => `--- ${name} (pid ${p.pid}) ---\n${p.output.split('\n').slice(-30).join('\n')}`
  ctx.procs.push(p)
  return p
}

/** `claude-mem-store run --data-dir D [runArgs…] -- <argv…>`. */
function launchRun(ctx, name, argv, { runArgs = [], ...options } = {}) {
  return launch(ctx, name, [process.execPath, CLI, 'run', '--data-dir', ctx.dataDir, ...runArgs, '--', ...argv], options)
}

/** Sends `signal` (none: null) and waits for the exit; returns { code, signal }. */
async function stop(p, signal = 'SIGTERM', timeoutMs = 30000) {
  if (!p.exit && signal) process.kill(p.pid, signal)
  let timer
  const exit = await Promise.race([p.exited, new Promise((r) => { timer = setTimeout(r, timeoutMs, null) })])
  clearTimeout(timer)
  if (!exit) throw new Error(`${p.name} did not exit within ${timeoutMs} ms${signal ? ` of ${signal}` : ''}\n${p.tail()}`)
  return exit
}

/** Polls like helpers' waitFor; on timeout the error carries the processes' output. */
async function until(ctx, cond, what, timeoutMs = 30000) {
  try {
    await waitFor(cond, what, timeoutMs)
  } catch (e) {
    e.message += '\n' + ctx.procs.map((p) => p.tail()).join('\n')
    throw e
  }
}

async function getJson(ctx, route) {
  const res = await fetch(`http://127.0.0.1:${ctx.serverPort}${route}`, { signal: AbortSignal.timeout(10000) })
  assert.equal(res.status, 200, `${route}: HTTP ${res.status}`)
  return res.json()
}

const ppid = (pid) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return null
  }
}

/**
 * Waits until claude-mem's HTTP server (started by `p`, itself or its child)
 * answers /healthz, and records its pid from claude-mem's own pid file. Nothing
 * here touches its queue: /api/health and /v1/info would make it connect.
 */
async function serverUp(ctx, p) {
  let pid = null
  await until(ctx, async () => {
    if (p.exit) throw new Error(`${p.name} exited (${JSON.stringify(p.exit)}) before its HTTP server was up\n${p.tail()}`)
    try {
      const file = JSON.parse(fs.readFileSync(path.join(ctx.dataDir, '.server-beta.pid'), 'utf8'))
      if (file.port !== ctx.serverPort || !isAlive(file.pid) || (file.pid !== p.pid && ppid(file.pid) !== p.pid)) return false
      pid = file.pid
      return (await fetch(`http://127.0.0.1:${ctx.serverPort}/healthz`, { signal: AbortSignal.timeout(2000) })).ok
    } catch {
      return false
    }
  }, `claude-mem's server on 127.0.0.1:${ctx.serverPort}`, 60000)
  if (pid !== p.pid) { p.children.push(pid); track(pid) }
  return pid
}

/** Waits for `worker start`'s ready line; records the worker's pid on `p`. */
async function workerUp(ctx, p) {
  let line
  await until(ctx, () => {
    if (p.exit) throw new Error(`${p.name} exited (${JSON.stringify(p.exit)}) before the worker was up\n${p.tail()}`)
    line = p.output.split('\n').map((l) => { try { return JSON.parse(l) } catch { return null } }).find((j) => j?.status === 'worker-running')
    return Boolean(line)
  }, 'claude-mem\'s generation worker', 60000)
  if (line.pid !== p.pid) { p.children.push(line.pid); track(line.pid) }
  return line
}

/** An API key from claude-mem's own CLI (the server runtime's, in Postgres). */
async function createApiKey(ctx) {
  const { stdout } = await runClaudeMem(ctx, [BUN, SERVER, 'server', 'api-key', 'create', '--scope', 'memories:read,memories:write'])
  const key = JSON.parse(stdout)
  assert.match(key.key, /^cmem_[0-9a-f]{48}$/)
  assert.ok(key.projectId && key.teamId, stdout)
  return key
}

/** POST /v1/events (`wait`: claude-mem answers once the job finished, up to its 30 s). */
async function postEvent(ctx, key, input, { wait = false } = {}) {
  const res = await fetch(`http://127.0.0.1:${ctx.serverPort}/v1/events${wait ? '?wait=true' : ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ projectId: key.projectId, sourceType: 'hook', eventType: 'PostToolUse', occurredAtEpoch: Date.now(), payload: { tool: 'Bash', input } }),
    signal: AbortSignal.timeout(60000),
  })
  const body = await res.json()
  assert.equal(res.status, 201, JSON.stringify(body))
  assert.ok(body.generationJob, JSON.stringify(body))
  return body
}

/** claude-mem's own view of a generation job (`server jobs inspect <id>`, from Postgres). */
async function inspectJob(ctx, id) {
  const { stdout } = await runClaudeMem(ctx, [BUN, SERVER, 'server', 'jobs', 'inspect', id])
  return JSON.parse(stdout)
}

/**
 * The store's status, asked by a short-lived `claude-mem-store status` process:
 * the addon keeps one connection to the store per process that asked it, and a
 * connection from this test process would count as another client of the store
 * (then no run would ever stop it). Not running, or not answering: `running: false`.
 */
function storeStatus(ctx) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'status', '--data-dir', ctx.dataDir, '--json'], { encoding: 'utf8', timeout: 30000 }, (err, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout))
      } catch {
        resolve({ running: false, error: stderr || err?.message })
      }
    })
  })
}

/**
 * Runs `fn(redis)` with an ioredis client on the store (claude-mem's URL, from the
 * settings.json the store wrote), closed with QUIT afterwards: it is never left
 * behind as a client of the store.
 */
async function withStore(ctx, fn) {
  const url = readJson(ctx.settingsFile).CLAUDE_MEM_REDIS_URL
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  redis.on('error', () => {})
  await redis.connect()
  try {
    return await fn(redis)
  } finally {
    await redis.quit().catch(() => redis.disconnect())
  }
}

/** Where a BullMQ job of claude-mem's event lane is, read from the store itself. */
async function jobInStore(ctx, jobId) {
  const key = (s) => `${ctx.prefix}:${LANES.event}:${s}`
  return withStore(ctx, async (r) => {
    const [hash, waiting, active, completed, failed, delayed] = await Promise.all([
      r.hgetall(key(jobId)), r.lrange(key('wait'), 0, -1), r.lrange(key('active'), 0, -1),
      r.zscore(key('completed'), jobId), r.zscore(key('failed'), jobId), r.zscore(key('delayed'), jobId),
    ])
    const state = waiting.includes(jobId) ? 'wait' : active.includes(jobId) ? 'active'
      : completed !== null ? 'completed' : failed !== null ? 'failed' : delayed !== null ? 'delayed' : 'none'
    return { state, hash, data: hash.data ? JSON.parse(hash.data) : null, attemptsMade: Number(hash.atm ?? hash.attemptsMade ?? 0) }
  })
}

/**
 * An OpenAI-compatible chat endpoint on loopback: claude-mem's OpenRouter
 * provider posts the observation prompt here and gets an observation back.
 */
async function fakeLlm(t) {
  const requests = []
  const srv = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      requests.push({ url: req.url, body })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({
        id: `cms-${requests.length}`,
        choices: [{ message: { role: 'assistant', content: '<observation><type>discovery</type><title>listed a directory</title><narrative>The store test ran ls.</narrative></observation>' } }],
        usage: { total_tokens: 42 },
      }))
    })
  })
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.after(() => { srv.closeAllConnections(); return new Promise((resolve) => srv.close(resolve)) })
  return { url: `http://127.0.0.1:${srv.address().port}/api/v1`, requests }
}

/**
 * argv prefix running a command in a private mount namespace whose / mirrors the
 * host's, with `/.dockerenv` present or absent (every top-level entry bind-mounted
 * onto a tmpfs, then chroot). Every step execs: the pid spawned is the command's.
 */
function fakeRoot(ctx, { dockerenv }) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-root-'))
  ctx.t.after(() => { try { fs.rmdirSync(root) } catch {} })
  const script = `set -e
root=$1; cwd=$2; de=$3; shift 3
mount -t tmpfs -o size=1m,mode=755 cms-root "$root"
for e in /* /.[!.]*; do
  n=\${e#/}
  [ "$n" = .dockerenv ] && continue
  { [ -e "$e" ] || [ -L "$e" ]; } || continue
  if [ -L "$e" ]; then ln -s "$(readlink "$e")" "$root/$n"
  elif [ -d "$e" ]; then mkdir "$root/$n"; mount --rbind "$e" "$root/$n"
  else : > "$root/$n"; mount --bind "$e" "$root/$n"; fi
done
if [ "$de" = 1 ]; then : > "$root/.dockerenv"; fi
cd "$root"
exec chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@"`
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', root, ctx.home, dockerenv ? '1' : '0']
}

// ---------------------------------------------------------------------------

test(`claude-mem ${VERSION} launched directly with the store's env (what run provides): an event becomes a job under claude-mem's prefix, claude-mem's worker completes it`, { skip: missing, timeout: 240000 }, async (t) => {
  const ctx = await setup(t)
  const s = ctx.store
  // The variables `run` gives its child, set by hand here.
  const storeEnv = {
    CLAUDE_MEM_QUEUE_ENGINE: 'bullmq',
    CLAUDE_MEM_REDIS_MODE: s.mode,
    CLAUDE_MEM_REDIS_URL: s.url,
    CLAUDE_MEM_REDIS_HOST: s.connection.host,
    CLAUDE_MEM_REDIS_PORT: String(s.connection.port),
  }
  const server = launch(ctx, 'server-bun', [BUN, SERVER, 'start'], { env: { ...storeEnv, CLAUDE_MEM_GENERATION_DISABLED: '1' } })
  await serverUp(ctx, server)
  const info = await getJson(ctx, '/v1/info')
  assert.equal(info.postgres.initialized, true, 'claude-mem created its schema at start')
  assert.equal(info.boundaries.queueManager.status, 'active', JSON.stringify(info.boundaries))
  assert.deepEqual(
    { engine: info.boundaries.queueManager.details.engine, port: info.boundaries.queueManager.details.port, prefix: info.boundaries.queueManager.details.prefix },
    { engine: 'bullmq', port: s.connection.port, prefix: ctx.prefix },
  )
  assert.equal(info.boundaries.generationWorkerManager.status, 'disabled', 'HTTP only: a separate worker consumes')

  const key = await createApiKey(ctx)
  const ev = await postEvent(ctx, key, 'ls')
  assert.equal(ev.generationJob.transport, 'enqueued')
  const jobId = ev.generationJob.bullmqJobId
  let job = await jobInStore(ctx, jobId)
  assert.equal(job.state, 'wait', 'the job waits in the store under claude-mem\'s prefix')
  assert.equal(job.data.generation_job_id, ev.generationJob.id)
  assert.equal(job.hash.name, LANES.event)

  // claude-mem's generation worker, a second process on the same store (under Node).
  const worker = launch(ctx, 'worker-node', [process.execPath, SERVER, 'worker', 'start'], { env: storeEnv })
  await workerUp(ctx, worker)
  await until(ctx, async () => (await jobInStore(ctx, jobId)).state === 'completed', 'the job completed in the store', 60000)
  assert.ok(ctx.llm.requests.length >= 1, 'claude-mem\'s provider called the LLM')
  assert.match(ctx.llm.requests[0].body, /server_beta_observation_request/)
  assert.equal((await inspectJob(ctx, ev.generationJob.id)).status, 'completed')

  // Both exit 0 on SIGTERM.
  assert.deepEqual(await stop(worker), { code: 0, signal: null })
  assert.deepEqual(await stop(server), { code: 0, signal: null })
})

test(`claude-mem ${VERSION} launched directly without the store's URL: its validation refuses (container case) or its queue stays off`, { skip: missing, timeout: 240000 }, async (t) => {
  const ctx = await setup(t)
  // Container (/.dockerenv present, or CLAUDE_MEM_DOCKER=1): the engine and the URL
  // must be in the environment; settings.json is not enough.
  const docker = HOST_DOCKERENV ? {} : { CLAUDE_MEM_DOCKER: '1' }
  const bare = launch(ctx, 'bare-docker', [BUN, SERVER, 'start'], { env: docker })
  assert.equal((await stop(bare, null)).code, 1, bare.tail())
  assert.match(bare.output, /CLAUDE_MEM_QUEUE_ENGINE is required in Docker/)
  const engineOnly = launch(ctx, 'engine-only', [BUN, SERVER, 'start'], { env: { ...docker, CLAUDE_MEM_QUEUE_ENGINE: 'bullmq' } })
  assert.equal((await stop(engineOnly, null)).code, 1, engineOnly.tail())
  assert.match(engineOnly.output, /CLAUDE_MEM_REDIS_URL is required when CLAUDE_MEM_QUEUE_ENGINE=bullmq/)
  const emptyUrl = launch(ctx, 'empty-url', [BUN, SERVER, 'start'], { env: { ...docker, CLAUDE_MEM_QUEUE_ENGINE: 'bullmq', CLAUDE_MEM_REDIS_URL: '' } })
  assert.equal((await stop(emptyUrl, null)).code, 1, 'an exported empty URL counts as unset')
  assert.match(emptyUrl.output, /CLAUDE_MEM_REDIS_URL is required/)

  // Outside a container, with nothing exported, it starts on settings.json's
  // engine (sqlite): the queue manager is off, the store unused.
  if (!HOST_DOCKERENV || FAKE_ROOT) {
    const plain = launch(ctx, 'bare-host', [BUN, SERVER, 'start'], { prefix: HOST_DOCKERENV ? fakeRoot(ctx, { dockerenv: false }) : [] })
    await serverUp(ctx, plain)
    const info = await getJson(ctx, '/v1/info')
    assert.equal(info.boundaries.queueManager.status, 'disabled', JSON.stringify(info.boundaries))
    assert.deepEqual(await stop(plain), { code: 0, signal: null })
  } else {
    t.diagnostic('not root (or no unshare): the no-/.dockerenv case was not run')
  }
})

for (const runtime of ['bun', 'node']) {
  test(`through run, under ${runtime === 'bun' ? 'Bun' : 'Node'}: an event becomes a job in the store, claude-mem's worker completes it; the worker's run stops, the server's keeps the store`, { skip: missing, timeout: 300000 }, async (t) => {
    const ctx = await setup(t)
    const rt = runtimeBin(runtime)
    const http1 = launchRun(ctx, `run-server-${runtime}`, [rt, SERVER, 'start'], { env: { CLAUDE_MEM_GENERATION_DISABLED: '1' } })
    await serverUp(ctx, http1)
    const info = await getJson(ctx, '/v1/info')
    const q = info.boundaries.queueManager
    assert.equal(q.status, 'active', JSON.stringify(info.boundaries))
    assert.equal(q.details.engine, 'bullmq', 'run exported CLAUDE_MEM_QUEUE_ENGINE=bullmq')
    assert.equal(q.details.mode, 'managed')
    assert.equal(q.details.port, ctx.store.connection.port)
    assert.equal(q.details.prefix, ctx.prefix)
    assert.ok(info.queueLanes.every((l) => l.unavailable === false), JSON.stringify(info.queueLanes))

    const key = await createApiKey(ctx)
    const ev = await postEvent(ctx, key, `ls (${runtime})`)
    const jobId = ev.generationJob.bullmqJobId
    const job = await jobInStore(ctx, jobId)
    assert.equal(job.state, 'wait')
    assert.equal(job.data.generation_job_id, ev.generationJob.id)

    // A second claude-mem process on the store: its generation worker, through its own run.
    const worker = launchRun(ctx, `run-worker-${runtime}`, [rt, SERVER, 'worker', 'start'])
    await workerUp(ctx, worker)
    await until(ctx, async () => (await jobInStore(ctx, jobId)).state === 'completed', 'the job completed', 60000)
    assert.equal((await inspectJob(ctx, ev.generationJob.id)).status, 'completed')

    // The worker's run stops (SIGINT forwarded; claude-mem exits 0): the store stays for the server's.
    const storePid = readPid(ctx.dataDir)
    assert.deepEqual(await stop(worker, 'SIGINT'), { code: 0, signal: null })
    assert.ok(isAlive(storePid), 'the store keeps running while the other run lives')
    const ev2 = await postEvent(ctx, key, `pwd (${runtime})`)
    assert.equal((await jobInStore(ctx, ev2.generationJob.bullmqJobId)).state, 'wait', 'the server keeps enqueueing; no worker now')

    // The last run stops: it exits with claude-mem's status and stops the store.
    assert.deepEqual(await stop(http1, 'SIGTERM'), { code: 0, signal: null })
    await until(ctx, () => !isAlive(storePid), 'the store to stop with the last run', 20000)
    assert.equal((await storeStatus(ctx)).running, false)
  })
}

test('through run: jobs stay in the store when claude-mem and the store are stopped and started again', { skip: missing, timeout: 300000 }, async (t) => {
  const ctx = await setup(t)
  const first = launchRun(ctx, 'run-server-1', [BUN, SERVER, 'start'], { env: { CLAUDE_MEM_GENERATION_DISABLED: '1' } })
  await serverUp(ctx, first)
  const key = await createApiKey(ctx)
  const ev = await postEvent(ctx, key, 'before the restart')
  const jobId = ev.generationJob.bullmqJobId
  const before = await jobInStore(ctx, jobId)
  assert.equal(before.state, 'wait')
  const oldStore = await storeStatus(ctx)

  assert.deepEqual(await stop(first), { code: 0, signal: null })
  await until(ctx, () => !isAlive(oldStore.pid), 'the store to stop with its only run', 20000)

  const second = launchRun(ctx, 'run-server-2', [BUN, SERVER, 'start'], { env: { CLAUDE_MEM_GENERATION_DISABLED: '1' } })
  await serverUp(ctx, second)
  const newStore = await storeStatus(ctx)
  track(newStore.pid)
  assert.notEqual(newStore.pid, oldStore.pid, 'a new server process')
  assert.equal(newStore.connection.port, oldStore.connection.port, 'on the same port')
  const after = await jobInStore(ctx, jobId)
  assert.equal(after.state, 'wait', 'the job is still waiting')
  assert.deepEqual(after.data, before.data)
  const lanes = (await getJson(ctx, '/v1/info')).queueLanes
  assert.equal(lanes.find((l) => l.name === LANES.event).waiting, 1, JSON.stringify(lanes))
  assert.equal((await inspectJob(ctx, ev.generationJob.id)).status, 'queued')

  // The job kept across the restart is the one claude-mem's worker completes.
  const worker = launchRun(ctx, 'run-worker', [BUN, SERVER, 'worker', 'start'])
  await workerUp(ctx, worker)
  await until(ctx, async () => (await jobInStore(ctx, jobId)).state === 'completed', 'the kept job completed', 60000)
  assert.equal((await inspectJob(ctx, ev.generationJob.id)).status, 'completed')
})

test('through run: the store killed with SIGKILL under claude-mem is restarted by run; claude-mem takes new jobs', { skip: missing, timeout: 300000 }, async (t) => {
  const ctx = await setup(t)
  // One process: HTTP server and generation worker.
  const server = launchRun(ctx, 'run-server', [BUN, SERVER, 'start'])
  const claudeMemPid = await serverUp(ctx, server)
  const key = await createApiKey(ctx)
  // claude-mem's producer connects lazily, at its first enqueue; a first enqueue
  // while the store is down closes that connection for good (every later event is
  // `queued_only`, never in BullMQ, until claude-mem restarts: see the notes). So
  // the lane is used once before the kill, as a running claude-mem's would be.
  const ev1 = await postEvent(ctx, key, 'before the kill', { wait: true })
  assert.equal(ev1.generationJob.status, 'completed', JSON.stringify(ev1.generationJob))

  const killed = readPid(ctx.dataDir)
  process.kill(killed, 'SIGKILL')
  await until(ctx, async () => {
    const pid = readPid(ctx.dataDir)
    if (!pid || pid === killed || !isAlive(pid)) return false
    return (await storeStatus(ctx)).running === true // a store still starting is not running yet
  }, 'run to restart the store', 30000)
  const restarted = readPid(ctx.dataDir)
  track(restarted)
  assert.ok(isAlive(claudeMemPid), 'claude-mem itself kept running')
  assert.equal(server.exit, null, 'so did its run')
  assert.equal((await storeStatus(ctx)).connection.port, ctx.store.connection.port)

  // claude-mem's ioredis reconnects to the restarted store: a new event is enqueued and completed.
  const ev2 = await postEvent(ctx, key, 'after the kill', { wait: true })
  assert.equal(ev2.generationJob.status, 'completed', JSON.stringify(ev2.generationJob))
  assert.equal((await jobInStore(ctx, ev2.generationJob.bullmqJobId)).state, 'completed')
  assert.deepEqual(await stop(server), { code: 0, signal: null })
})

for (const inContainer of [true, false]) {
  const where = inContainer ? 'in a container (/.dockerenv present)' : 'outside a container (no /.dockerenv)'
  // Where the host is not the case: a fake root with(out) /.dockerenv (root); else,
  // for the container, claude-mem's own switch CLAUDE_MEM_DOCKER=1 (the same check).
  const fake = inContainer !== HOST_DOCKERENV
  const skip = missing || (fake && !inContainer && !FAKE_ROOT && 'hiding /.dockerenv needs root and unshare')
  test(`through run, ${where}: claude-mem's validation passes and its queue runs on the store`, { skip, timeout: 300000 }, async (t) => {
    const ctx = await setup(t)
    const prefix = fake && FAKE_ROOT ? fakeRoot(ctx, { dockerenv: inContainer }) : []
    const env = fake && !FAKE_ROOT ? { CLAUDE_MEM_DOCKER: '1' } : {}
    // With --prefix, run passes CLAUDE_MEM_QUEUE_REDIS_PREFIX on: claude-mem's lanes move there.
    ctx.prefix = `cms_run_${inContainer ? 'container' : 'host'}`
    const server = launchRun(ctx, 'run-server', [BUN, SERVER, 'start'], { prefix, env, runArgs: ['--prefix', ctx.prefix] })
    await serverUp(ctx, server)
    const info = await getJson(ctx, '/v1/info')
    assert.equal(info.boundaries.queueManager.status, 'active', JSON.stringify(info.boundaries))
    assert.equal(info.boundaries.queueManager.details.prefix, ctx.prefix)
    assert.equal(info.boundaries.generationWorkerManager.status, 'active', JSON.stringify(info.boundaries))
    const key = await createApiKey(ctx)
    const ev = await postEvent(ctx, key, where, { wait: true })
    assert.equal(ev.generationJob.status, 'completed', JSON.stringify(ev.generationJob))
    assert.equal((await jobInStore(ctx, ev.generationJob.bullmqJobId)).state, 'completed', 'under the given prefix')
    assert.deepEqual(await stop(server), { code: 0, signal: null })
  })
}

test('through run: two runs on one store, one whose claude-mem never touched the queue yet; the other stops, the store stays', { skip: missing, timeout: 300000 }, async (t) => {
  const ctx = await setup(t)
  // claude-mem connects lazily (lazyConnect): an idle HTTP-only server holds no
  // connection to the store at all, so "another client is connected" cannot be read
  // from the store's CLIENT LIST; the run itself is what is alive.
  const idle = launchRun(ctx, 'run-idle-server', [BUN, SERVER, 'start'], { env: { CLAUDE_MEM_GENERATION_DISABLED: '1' } })
  await serverUp(ctx, idle)
  const worker = launchRun(ctx, 'run-worker', [process.execPath, SERVER, 'worker', 'start'])
  await workerUp(ctx, worker)
  const storePid = readPid(ctx.dataDir)

  assert.deepEqual(await stop(worker), { code: 0, signal: null })
  assert.ok(isAlive(storePid), 'the store keeps running for the idle run')
  // The idle claude-mem now uses the queue for the first time: the store is there.
  const key = await createApiKey(ctx)
  const ev = await postEvent(ctx, key, 'first use')
  assert.equal(ev.generationJob.transport, 'enqueued')
  assert.equal((await jobInStore(ctx, ev.generationJob.bullmqJobId)).state, 'wait')
  assert.deepEqual(await stop(idle), { code: 0, signal: null })
  await until(ctx, () => !isAlive(storePid), 'the store to stop with the last run', 20000)
})

/** `claude-mem-store status --json` for the data dir, with `env` exported as claude-mem would get it. */
function storeStatusWith(ctx, env) {
  const r = spawnSync(process.execPath, [CLI, 'status', '--data-dir', ctx.dataDir, '--json'], { encoding: 'utf8', timeout: 30000, env: { ...process.env, ...env } })
  return JSON.parse(r.stdout)
}

test('claude-mem reads the variables as the addon does: the prefix (sanitised per UTF-16 unit, empty), an exported empty URL (NOAUTH, and the addon says so)', { skip: missing, timeout: 300000 }, async (t) => {
  const ctx = await setup(t)
  const base = { CLAUDE_MEM_QUEUE_ENGINE: 'bullmq', CLAUDE_MEM_REDIS_URL: ctx.store.url, CLAUDE_MEM_GENERATION_DISABLED: '1' }
  /** claude-mem's queue manager as its server reports it, started with `env`. */
  const claudeMemSees = async (name, env, options = {}) => {
    const server = launch(ctx, name, [BUN, SERVER, 'start'], { env: Object.fromEntries(Object.entries({ ...base, ...env }).filter(([, v]) => v !== undefined)), ...options })
    await serverUp(ctx, server)
    const q = (await getJson(ctx, '/v1/info')).boundaries.queueManager
    return { q, server }
  }
  for (const [raw, expected] of [['team a{x}', 'team_a_x_'], ['', 'claude_mem'], ['q\u{1F600}é', 'q___']]) {
    const env = { CLAUDE_MEM_QUEUE_REDIS_PREFIX: raw }
    const { q, server } = await claudeMemSees(`prefix-${expected}`, env)
    assert.equal(q.details.prefix, expected, `claude-mem's prefix for ${JSON.stringify(raw)}`)
    assert.deepEqual(await stop(server), { code: 0, signal: null })
    const s = storeStatusWith(ctx, env)
    assert.equal(s.prefix, expected, `the addon's prefix for ${JSON.stringify(raw)}`)
    if (raw && raw !== expected) assert.ok(s.notices.some((n) => n.includes(`'${expected}'`)), JSON.stringify(s.notices))
  }

  // An exported empty URL: claude-mem goes to HOST:PORT without a password. With
  // the engine exported, or in a container, its validation refuses that (tested
  // above); with the engine set in settings.json, outside a container, it starts,
  // and the store refuses its commands.
  if (HOST_DOCKERENV && !FAKE_ROOT) return t.skip('hiding /.dockerenv needs root and unshare')
  const settings = readJson(ctx.settingsFile)
  fs.writeFileSync(ctx.settingsFile, JSON.stringify({ ...settings, CLAUDE_MEM_QUEUE_ENGINE: 'bullmq' }, null, 2))
  const env = { CLAUDE_MEM_REDIS_URL: '', CLAUDE_MEM_QUEUE_ENGINE: undefined }
  const { q, server } = await claudeMemSees('empty-url', env, { prefix: HOST_DOCKERENV ? fakeRoot(ctx, { dockerenv: false }) : [] })
  assert.equal(q.details.port, ctx.store.connection.port, JSON.stringify(q))
  const key = await createApiKey(ctx)
  const res = await fetch(`http://127.0.0.1:${ctx.serverPort}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ projectId: key.projectId, sourceType: 'hook', eventType: 'PostToolUse', occurredAtEpoch: Date.now(), payload: { tool: 'Bash', input: 'ls' } }),
    signal: AbortSignal.timeout(60000),
  })
  const body = await res.json()
  assert.equal(res.status, 201, JSON.stringify(body))
  // Its enqueue failed: the job is recorded in Postgres only, never in the store.
  assert.equal(body.generationJob.transport, 'queued_only', JSON.stringify(body.generationJob))
  assert.equal((await jobInStore(ctx, body.generationJob.bullmqJobId)).state, 'none')
  const noauth = await withStore(ctx, async (r) => Number(/errorstat_NOAUTH:count=(\d+)/.exec(await r.info('errorstats'))?.[1] ?? 0))
  assert.ok(noauth >= 1, 'the store refused claude-mem\'s commands with NOAUTH')
  assert.deepEqual(await stop(server), { code: 0, signal: null })
  const s = storeStatusWith(ctx, { CLAUDE_MEM_REDIS_URL: '' })
  assert.ok(s.notices.some((n) => /CLAUDE_MEM_REDIS_URL is exported but empty.*NOAUTH/.test(n)), JSON.stringify(s.notices))
})
