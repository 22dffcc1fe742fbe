// External mode: ensure validates the URL with the probe (smoke test included)
// and returns the status; it never starts, stops or writes anything, and a URL
// that fails is an error naming the failing check and its fix (no fallback).

import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'

import { addon, Redis, startServer, freePort, tmpDataDir, rejectsWithCode } from './helpers.mjs'

const PASSWORD = 'ext3rnal-Secret'

function ping(port, password) {
  const c = new Redis({ port, host: '127.0.0.1', password, maxRetriesPerRequest: 1, retryStrategy: () => null })
  c.on('error', () => {})
  return c.ping().finally(() => c.disconnect())
}

test('ensure with a good URL returns the status and starts nothing', async (t) => {
  const server = await startServer(t, { password: PASSWORD })
  const dataDir = tmpDataDir(t)
  const url = `redis://:${PASSWORD}@127.0.0.1:${server.port}`
  const status = await addon.ensureQueueStoreStarted({ mode: 'external', url, dataDir })

  assert.equal(status.mode, 'external')
  assert.equal(status.running, true)
  assert.equal(status.owned, false)
  assert.equal(status.pid, undefined)
  assert.equal(status.url, url, 'url carries the credentials, for ioredis/BullMQ')
  assert.equal(status.redactedUrl, `redis://:***@127.0.0.1:${server.port}`)
  assert.deepEqual(status.connection, { host: '127.0.0.1', port: server.port, password: PASSWORD })
  assert.equal(status.server.flavor, 'redis')
  assert.equal(status.policy, 'noeviction')
  assert.ok(status.checks.some((c) => c.name === 'smoke:cleanup' && c.ok))
  assert.deepEqual(fs.readdirSync(dataDir), [], 'nothing is written to the data dir')

  const again = await addon.queueStoreStatus({ mode: 'external', url, dataDir })
  assert.equal(again.running, true)
  assert.deepEqual(again.checks.map((c) => c.name), status.checks.map((c) => c.name))

  const stop = await addon.stopQueueStore({ mode: 'external', url, dataDir })
  assert.equal(stop.stopped, false)
  assert.equal(stop.code, 'E_NOT_OWNED')
  assert.match(stop.message, /not run by claude-mem, so nothing was stopped/)
  assert.ok(!stop.message.includes(PASSWORD))
  assert.equal(await ping(server.port, PASSWORD), 'PONG', 'the server still runs')
})

test('a URL that fails rejects with the failing check and its fix, never a fallback', async (t) => {
  const dataDir = tmpDataDir(t)
  const lru = await startServer(t, { password: PASSWORD, args: ['--maxmemory-policy', 'allkeys-lru'] })
  let err = await rejectsWithCode(assert,
    addon.ensureQueueStoreStarted({ mode: 'external', url: `redis://:${PASSWORD}@127.0.0.1:${lru.port}`, dataDir }),
    'E_EVICTION_POLICY')
  assert.match(err.message, /failed its maxmemory-policy check/)
  assert.match(err.message, /CONFIG SET maxmemory-policy noeviction/)
  assert.match(err.message, /does not fall back to a managed store/)
  assert.ok(!err.message.includes(PASSWORD))

  err = await rejectsWithCode(assert,
    addon.ensureQueueStoreStarted({ mode: 'external', url: `redis://:wrong-Password@127.0.0.1:${lru.port}`, dataDir }),
    'E_AUTH')
  assert.match(err.message, /failed its auth check/)
  assert.ok(!err.message.includes('wrong-Password'))

  const closed = await freePort()
  err = await rejectsWithCode(assert,
    addon.ensureQueueStoreStarted({ mode: 'external', url: `redis://127.0.0.1:${closed}`, dataDir }),
    'E_UNREACHABLE')
  assert.match(err.message, /failed its tcp check: nothing listens/)
  assert.deepEqual(fs.readdirSync(dataDir), [], 'no managed store was set up instead')

  // status reports the same problem without rejecting.
  const status = await addon.queueStoreStatus({ mode: 'external', url: `redis://127.0.0.1:${closed}`, dataDir })
  assert.equal(status.running, false)
  assert.equal(status.checks[0].code, 'E_UNREACHABLE')
})

test('a cluster prefix that is not hash-tagged is named in the error', async (t) => {
  // A standalone server passes whatever the prefix; the cluster case is in
  // probe-cluster.test.mjs. Here: the prefix option reaches the checks.
  const server = await startServer(t)
  const dataDir = tmpDataDir(t)
  const status = await addon.ensureQueueStoreStarted({ mode: 'external', url: `redis://127.0.0.1:${server.port}`, dataDir, prefix: 'my-queues' })
  assert.match(status.checks.find((c) => c.name === 'smoke:cleanup').detail, /\{my-queues:smoke\}/)
})

test('missing and malformed URLs', async (t) => {
  const dataDir = tmpDataDir(t)
  const env = process.env.CLAUDE_MEM_REDIS_URL
  delete process.env.CLAUDE_MEM_REDIS_URL
  t.after(() => { if (env !== undefined) process.env.CLAUDE_MEM_REDIS_URL = env })
  // No URL means what it means to claude-mem: HOST:PORT, no password. Nothing
  // listens there: E_UNREACHABLE, saying what to run next.
  const port = await freePort()
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ mode: 'external', dataDir, port }), 'E_UNREACHABLE')
  assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`))
  assert.match(err.message, /npx claude-mem install/)
  assert.match(err.message, /mode: 'managed'/)
  await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ mode: 'external', dataDir, url: 'redis://:pw@host:99999' }), 'E_BAD_URL')
  await rejectsWithCode(assert, addon.queueStoreStatus({ mode: 'external', dataDir, url: 'http://x' }), 'E_BAD_URL')
  // stop never fails for a bad URL: it does nothing either way.
  const stop = await addon.stopQueueStore({ mode: 'external', dataDir, url: 'http://x' })
  assert.equal(stop.stopped, false)
  assert.deepEqual(fs.readdirSync(dataDir), [])
})
