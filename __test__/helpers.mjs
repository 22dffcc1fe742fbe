// Shared helpers for the Node test suite. Tests talk to real servers only:
// redis-server (Debian bookworm, 7.0) and valkey-server (bookworm-backports, 8.0).
// Every server a test starts is stopped by its pid in `t.after`, and, as a last
// resort, when the test process exits. Nothing is ever killed by name.

import { spawn, spawnSync, execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort } from '../scripts/lib/free-port.mjs'
import { track, isAlive, waitFor, killAndWait } from './lib/processes.mjs'

const require = createRequire(import.meta.url)
export const addon = require('../index.js')
export const Redis = require('ioredis')
export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')

/** The two servers on PATH (Debian's valkey-server 8.0 and redis-server 7.0 in CI);
 *  `bin` is null where one is missing. Most tests need just one server: the first. */
export const FLAVORS = ['valkey', 'redis'].map((flavor) => ({
  id: flavor,
  flavor,
  bin: which(`${flavor}-server`),
}))

/**
 * The server matrix that scripts/test/matrix/install-servers.sh makes runnable (redis
 * 7.0–8.6, valkey 8.0–9.1, redict 7.3): `[{ id, flavor, version, bin, source }]`,
 * or [] where it has not been run.
 */
export const MATRIX = (() => {
  const dir = process.env.CMS_MATRIX_DIR || path.join(os.homedir(), '.cache', 'claude-mem-store', 'matrix')
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'servers.json'), 'utf8'))
  } catch {
    return []
  }
})()

/**
 * The servers the heavy server-facing tests (managed store, ownership and races,
 * faults, crash under load, probes, CLI round trip, zombies) run on: the oldest
 * and the newest of each flavor in the matrix — the whole matrix gets the lighter
 * lifecycle test (matrix.test.mjs). Without a matrix, the PATH servers.
 */
export const SERVERS = (() => {
  const key = (v) => v.split('.').map((n) => n.padStart(4, '0')).join('.')
  const picked = []
  for (const flavor of ['valkey', 'redis', 'redict']) {
    const all = MATRIX.filter((s) => s.flavor === flavor).sort((a, b) => key(a.version).localeCompare(key(b.version)))
    for (const s of new Set([all[0], all[all.length - 1]])) if (s) picked.push({ id: `${s.flavor}-${s.version}`, ...s })
  }
  return picked.length ? picked : FLAVORS
})()

export function which(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const p = path.join(dir, name)
    try {
      fs.accessSync(p, fs.constants.X_OK)
      return p
    } catch {}
  }
  return null
}

// Remembering, checking, waiting for and stopping processes: one home, lib/processes.mjs.
export { track, isAlive, waitFor, killAndWait }

/**
 * A fresh data dir under the OS temp dir. After the test, any managed store in it
 * is stopped (by the addon, else by its pid) and only then is the dir removed, so
 * that a failing test never leaves a server behind.
 */
export function tmpDataDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-test-'))
  t.after(async () => {
    await stopStore(dir)
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

async function stopStore(dataDir) {
  try {
    // force: a test's other clients (its own connections, watchers in child processes,
    // whose after hooks run later) must not keep the store running; a store stopped
    // this way is stopped on purpose, so no watcher starts it again, where the SIGTERM
    // below would count as a crash and be restarted (leaking a server).
    await addon.stopQueueStore({ dataDir, timeoutMs: 5000, force: true })
  } catch {}
  const pid = readPid(dataDir)
  if (pid && isAlive(pid) && isOurServer(pid, dataDir)) await killAndWait(pid)
}

// A TCP port that was free a moment ago on 127.0.0.1 (one implementation for the
// tests and the release rehearsal).
export { freePort }

/**
 * Starts a throwaway server of `flavor` on a free loopback port with `args`
 * (extra `--name value` config), waits until it answers PING, and stops it by pid
 * after the test. Returns { pid, port, flavor, dir }.
 */
export async function startServer(t, { flavor = 'redis', bin: given, args = [], password } = {}) {
  const bin = given || FLAVORS.find((f) => f.flavor === flavor)?.bin
  if (!bin) throw new Error(`${flavor}-server is not installed (see .ci/run)`)
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cms-${flavor}-`))
  const argv = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...args]
  if (password) argv.push('--requirepass', password)
  const child = spawn(bin, argv, { stdio: 'ignore', detached: false })
  track(child.pid)
  t.after(async () => {
    await killAndWait(child.pid)
    fs.rmSync(dir, { recursive: true, force: true })
  })
  await waitForPong({ port, password }, `${flavor}-server on port ${port}`)
  return { pid: child.pid, port, flavor, dir }
}

/** Waits until a server on loopback answers PING with PONG (`options`: ioredis's, e.g.
 *  `{ port, password, tls }`), each try on a fresh connection. */
export async function waitForPong(options, what) {
  await waitFor(async () => {
    const c = new Redis({ host: '127.0.0.1', ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    c.on('error', () => {})
    try {
      await c.connect()
      return (await c.ping()) === 'PONG'
    } catch {
      return false
    } finally {
      c.disconnect()
    }
  }, what)
}

/**
 * An ioredis client for a test, disconnected after it (no retries; errors only
 * surface as rejected commands). `target` is a store's status, whose `connection`
 * carries the credentials of that store (the managed store's client user, a docker
 * store's password, an external server's URL's), or a redis:// URL with its own.
 * `{ admin: dataDir }` logs in as the addon's admin user of the managed store of
 * `dataDir` instead (redis/admin-secret), for what the client user may not do
 * (BGREWRITEAOF, CONFIG SET, DEBUG, MGET …). Not connected yet (lazyConnect): the
 * first command connects, or `await c.connect()`.
 */
export function clientFor(t, target, { admin } = {}) {
  const options = { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true }
  let c
  if (typeof target === 'string') {
    c = new Redis(target, options)
  } else if (admin) {
    const password = fs.readFileSync(path.join(admin, 'redis', 'admin-secret'), 'utf8').trim()
    c = new Redis({ host: '127.0.0.1', port: target.connection.port, username: 'claude-mem-store', password, ...options })
  } else {
    c = new Redis({ ...target.connection, ...options })
  }
  c.on('error', () => {})
  t.after(() => c.disconnect())
  return c
}

/** The container and volume names docker mode gives the store of `dataDir`. */
export function dockerNames(dataDir) {
  const short = crypto.createHash('sha256').update(dataDir).digest('hex').slice(0, 12)
  return { container: `claude-mem-valkey-${short}`, volume: `claude-mem-valkey-data-${short}` }
}

/**
 * Stops the managed store of `dataDir` after the test: through the addon first,
 * then, if a server is somehow still running, by the pid its pid file names.
 */
export function stopStoreAfter(t, dataDir) {
  t.after(() => stopStore(dataDir))
}

/** The pid the store's pid file names, or null. */
export function readPid(dataDir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8')).pid
  } catch {
    return null
  }
}

/** Whether `pid` is a server started for `dataDir` (its cwd or config is under it). */
function isOurServer(pid, dataDir) {
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(dataDir) ||
      fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir)
  } catch {
    return false
  }
}

/**
 * The environment for a child (the CLI, a fixture) without any CLAUDE_MEM_* setting
 * of the machine running the tests, with `extra` on top.
 */
export function cleanEnv(extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CLAUDE_MEM_')) env[k] = v
  return { ...env, ...extra }
}

/**
 * Runs `node -e <code>` synchronously in `cwd` with `env` merged into ours (`type:
 * 'module'` for ESM) and returns spawnSync's result (for child-process tests).
 */
export function nodeEval(code, { cwd = ROOT, env = {}, type = 'commonjs' } = {}) {
  const args = type === 'module' ? ['--input-type=module', '-e', code] : ['-e', code]
  return spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } })
}

/** Asserts that `promise` rejects with an Error whose code is `code`; returns it. */
export async function rejectsWithCode(assert, promise, code) {
  let err
  try {
    await promise
  } catch (e) {
    err = e
  }
  assert.ok(err, `expected a rejection with ${code}`)
  assert.ok(err instanceof Error, 'rejects with an Error')
  assert.equal(err.code, code, `code: ${err.code} — ${err.message}`)
  return err
}

/**
 * Records what a fault or bad-input test observed, for RELIABILITY.md
 * (scripts/test/reliability-report.mjs turns these lines into the document after the
 * suite ran). `outcome` must come from what the test saw, not be written ahead.
 */
export const RELIABILITY_LOG = path.join(ROOT, 'target', 'reliability.jsonl')
export function recordOutcome(section, scenario, outcome) {
  fs.mkdirSync(path.dirname(RELIABILITY_LOG), { recursive: true })
  fs.appendFileSync(RELIABILITY_LOG, JSON.stringify({ section, scenario, outcome }) + '\n')
}

/**
 * A fresh dir with a tmpfs mounted on it (root only), unmounted and removed after
 * the test; null where mounting is not possible.
 */
export function tmpfsDataDir(t, options) {
  if (process.getuid?.() !== 0) return null
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-tmpfs-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' })
  } catch {
    fs.rmdirSync(dir)
    return null
  }
  t.after(async () => {
    await stopStore(dir)
    try { execFileSync('umount', [dir], { stdio: 'ignore' }) } catch {}
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

/**
 * What __test__/fixtures/bullmq-jobs.mjs reports after its run, checked the same way
 * wherever it runs (every runtime, BullMQ 5 and 6, ioredis and node-redis).
 */
export function assertJobsFixtureOutcome(assert, out, pkg) {
  assert.match(out.bullmq, pkg === 'bullmq' ? /^5\./ : /^6\./)
  assert.equal(out.completed, 22, '20 jobs, the retried one and the deterministic one')
  assert.equal(out.failed, 0)
  assert.equal(out.pending, 0)
  assert.equal(out.completedEvents, 22, 'QueueEvents saw every completion')
  assert.equal(out.retriedAttemptsMade, 2, 'failed once, retried after its backoff, then completed')
  assert.deepEqual(out.retriedReturn, { n: 100, doubled: 200 })
  assert.deepEqual(out.sameIdTwice, { firstId: 'session-42-summary', secondId: 'session-42-summary', keptData: 200, runs: 1 },
    'a job id added twice is one job, run once, with the first data')
}
