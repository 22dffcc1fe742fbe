// Servers claude-mem-store does not know by name: real ones, built from crates.io by
// scripts/test/unknown-servers.sh (feox-server 0.7.0, ember-server 0.4.9). Each is
// named from what it answers (`--version`, INFO) and refused with what it lacks,
// as an external URL and as the managed store's `binary`; a refused binary leaves
// no process behind and the store's data and settings as they were.

import test from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { addon, Redis, freePort, tmpDataDir, track, waitForPong, killAndWait, rejectsWithCode, FLAVORS } from './helpers.mjs'

const DIR = process.env.CMS_UNKNOWN_SERVERS_DIR || path.join(os.homedir(), '.cache', 'claude-mem-store', 'unknown-servers')
const SERVERS = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.join(DIR, 'unknown-servers.json'), 'utf8'))
  } catch {
    return []
  }
})()
const server = (id) => {
  const s = SERVERS.find((x) => x.id === id)
  if (!s) throw new Error(`${id} is not installed: run scripts/test/unknown-servers.sh (npm test does)`)
  return s
}
const PASSWORD = 'unkn0wn-Secret'

/** Starts `bin` with `args(port, dir)` on loopback; stopped by its pid after the test. */
async function start(t, bin, args) {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-unknown-'))
  const child = spawn(bin, args(port, dir), { stdio: 'ignore' })
  track(child.pid)
  t.after(async () => {
    await killAndWait(child.pid)
    fs.rmSync(dir, { recursive: true, force: true })
  })
  await waitForPong({ port, password: PASSWORD }, `${path.basename(bin)} on port ${port}`)
  return { pid: child.pid, url: `redis://:${PASSWORD}@127.0.0.1:${port}` }
}

const startEmber = (t, extra = []) =>
  start(t, server('ember').bin, (port, dir) => [
    '--host', '127.0.0.1', '--port', String(port), '--requirepass', PASSWORD, '--data-dir', dir, '--metrics-port', '0', ...extra,
  ])
const startFeox = (t) =>
  start(t, server('feox').bin, (port) => ['--bind', '127.0.0.1', '--port', String(port), '--requirepass', PASSWORD])

const serverCheck = (report) => report.checks.find((c) => c.name === 'server')

test('ember (AOF and noeviction on) is named from INFO and refused for exactly what it lacks', async (t) => {
  const ember = await startEmber(t, ['--appendonly', '--eviction-policy', 'noeviction'])
  const report = await addon.probeRedisUrl(ember.url, { smoke: true, timeoutMs: 5000 })
  assert.equal(report.ok, false)
  assert.equal(report.flavor, 'unknown')
  assert.equal(report.name, 'ember')
  assert.equal(report.version, '0.4.9')
  assert.equal(report.policy, 'noeviction')
  assert.match(report.persistence, /^AOF/)
  const check = serverCheck(report)
  assert.equal(check.code, 'E_SERVER_UNSUPPORTED')
  assert.match(check.detail, /^ember 0\.4\.9 is not a server claude-mem-store knows by name, and it lacks what BullMQ's queues need: /)
  assert.match(check.detail, /Lua scripting with cjson and cmsgpack/)
  // What it has is not listed as lacking.
  assert.doesNotMatch(check.detail, /AOF persistence|maxmemory-policy/)
  // The root cause comes first: no smoke test is run against a server already refused.
  assert.equal(report.checks.findIndex((c) => !c.ok && c.code), report.checks.indexOf(check))
  assert.ok(!report.checks.some((c) => c.name.startsWith('smoke')), 'no smoke test on a refused server')
})

test('ember without AOF and with LRU eviction lacks those too', async (t) => {
  const ember = await startEmber(t, ['--eviction-policy', 'allkeys-lru'])
  const report = await addon.probeRedisUrl(ember.url, { timeoutMs: 5000 })
  const check = serverCheck(report)
  assert.equal(check.code, 'E_SERVER_UNSUPPORTED')
  assert.match(check.detail, /AOF persistence \(it runs RDB only; appendonly yes\)/)
  assert.match(check.detail, /maxmemory-policy noeviction \(it reports allkeys-lru\)/)
})

test('an external URL to an unknown server is refused by ensure, naming it', async (t) => {
  const ember = await startEmber(t, ['--appendonly', '--eviction-policy', 'noeviction'])
  const dataDir = tmpDataDir(t)
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ mode: 'external', url: ember.url, dataDir }), 'E_SERVER_UNSUPPORTED')
  assert.match(err.message, /ember 0\.4\.9 is not a server claude-mem-store knows by name/)
  assert.ok(!err.message.includes(PASSWORD))
  assert.deepEqual(fs.readdirSync(dataDir), [], 'nothing is written to the data dir')
})

test('feox closes the connection at EVAL; it is still named and its lacks listed', async (t) => {
  const feox = await startFeox(t)
  const report = await addon.probeRedisUrl(feox.url, { smoke: true, timeoutMs: 5000 })
  assert.equal(report.ok, false)
  assert.equal(report.flavor, 'unknown')
  assert.equal(report.name, 'feox')
  assert.equal(report.version, '0.7.0')
  const check = serverCheck(report)
  assert.equal(check.code, 'E_SERVER_UNSUPPORTED')
  assert.match(check.detail, /^feox 0\.7\.0 is not a server claude-mem-store knows by name/)
  assert.match(check.detail, /Lua scripting/)
  assert.match(check.detail, /the Redis 6\.2 commands BullMQ sends/)
  const lua = report.checks.find((c) => c.name === 'lua')
  assert.match(lua.detail, /closed the connection at this command/)
})

/** The files under `dir`, each with its sha256: what "left as it was" means. */
function snapshot(dir) {
  const out = {}
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) out[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')
    }
  }
  walk(dir)
  return out
}

/** Pids of running processes whose executable is `bin`. */
function processesOf(bin) {
  const real = fs.realpathSync(bin)
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((pid) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/exe`) === real
    } catch {
      return false
    }
  })
}

test('as the binary of a new store, unknown servers are refused and leave nothing running', async (t) => {
  const dataDir = tmpDataDir(t)
  const feox = server('feox')
  let err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: feox.bin, timeoutMs: 10000 }), 'E_BINARY_INCOMPATIBLE')
  assert.match(err.message, /^feox-server 0\.7\.0 \(.*\) is not a server claude-mem-store knows by name, and it exited when started with the store's configuration file: it does not read a redis\.conf/)
  assert.match(err.message, /Use Valkey or Redis/)
  assert.match(err.message, /Last lines of .*redis-\d{4}-\d\d-\d\d\.log:\nerror: unexpected argument/)
  assert.deepEqual(processesOf(feox.bin), [], 'no feox-server left running')

  const ember = server('ember')
  err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: ember.bin }), 'E_BINARY_INCOMPATIBLE')
  assert.match(err.message, /ember-server --version did not answer like a server/)
  assert.match(err.message, /unexpected argument '--version'/)
  assert.deepEqual(processesOf(ember.bin), [], 'no ember-server left running')
  const status = await addon.queueStoreStatus({ dataDir })
  assert.equal(status.running, false)
  assert.equal(fs.existsSync(status.paths.pidFile), false, 'no pid file left')
})

test('an unknown server is never started on another server\'s data: the data, settings and jobs stay', async (t) => {
  const valkey = FLAVORS.find((f) => f.bin)
  const dataDir = tmpDataDir(t)
  // A store with a job in it, stopped: the data the refused binaries must not touch.
  const first = await addon.ensureQueueStoreStarted({ dataDir, binary: valkey.bin })
  const c = new Redis({ ...first.connection, maxRetriesPerRequest: 1, retryStrategy: () => null })
  await c.rpush('bull:q:wait', 'job-1')
  c.disconnect()
  await addon.stopQueueStore({ dataDir, force: true })
  // The user's data and settings (the config file and the binary cache are the
  // addon's own, rewritten at every start).
  const state = () => ({ data: snapshot(first.paths.data), settings: fs.readFileSync(first.paths.settings, 'utf8') })
  const before = state()

  const feox = server('feox')
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: feox.bin }), 'E_DATA_INCOMPATIBLE')
  assert.match(err.message, /^feox-server 0\.7\.0 \(.*\) cannot read this store's data/)
  assert.match(err.message, new RegExp(`was last run by ${first.server.flavor} ${first.server.version.replace(/\./g, '\\.')}`))
  assert.match(err.message, /runs one only on data that same server \(or an older version of it\) wrote/)
  assert.deepEqual(processesOf(feox.bin), [], 'no feox-server running')
  const logs = fs.readdirSync(path.join(dataDir, 'logs')).map((f) => fs.readFileSync(path.join(dataDir, 'logs', f), 'utf8')).join('')
  assert.doesNotMatch(logs, /unexpected argument/, 'feox-server was never started (its usage error is not in the log)')

  assert.deepEqual(state(), before, 'data and settings unchanged')
  assert.equal(fs.existsSync(first.paths.pidFile), false, 'no pid file left')
  // And the store starts again on its own server, job kept.
  const again = await addon.ensureQueueStoreStarted({ dataDir, binary: valkey.bin })
  const c2 = new Redis({ ...again.connection, maxRetriesPerRequest: 1, retryStrategy: () => null })
  assert.deepEqual(await c2.lrange('bull:q:wait', 0, -1), ['job-1'])
  c2.disconnect()
})
