// The real bullmq package on the managed store: jobs are added, a Worker
// processes them, they complete, and BullMQ prints no eviction-policy warning.
// The managed store's health runs the same checks as probeRedisUrl, smoke test
// included.

import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

import { addon, Redis, startServer, tmpDataDir, stopStoreAfter, track } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Queue, Worker, QueueEvents } = require('bullmq')

const EVICTION_WARNING = /Eviction policy is/

/** Collects what BullMQ writes with console.warn while `fn` runs. */
async function capturingWarnings(fn) {
  const warnings = []
  const original = console.warn
  console.warn = (...args) => warnings.push(args.join(' '))
  try {
    await fn()
  } finally {
    console.warn = original
  }
  return warnings
}

/**
 * Connects to `url` the way claude-mem does (an ioredis client from the URL; BullMQ
 * duplicates it for its blocking connections), adds `count` jobs, processes them
 * with a Worker, and waits until all completed.
 */
async function runJobs(url, prefix, count) {
  const connection = new Redis(url, { maxRetriesPerRequest: null })
  const name = `cms-test-${process.pid}-${Date.now()}`
  const queue = new Queue(name, { connection, prefix })
  const events = new QueueEvents(name, { connection, prefix })
  const done = []
  const worker = new Worker(name, async (job) => ({ doubled: job.data.n * 2 }), { connection, prefix })
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()])
    const jobs = await queue.addBulk(Array.from({ length: count }, (_, n) => ({ name: 'double', data: { n } })))
    for (const job of jobs) done.push(await job.waitUntilFinished(events, 15000))
    const counts = await queue.getJobCounts('completed', 'failed', 'wait', 'active')
    await queue.obliterate({ force: true })
    return { done, counts }
  } finally {
    await worker.close()
    await events.close()
    await queue.close()
    connection.disconnect()
  }
}

test('BullMQ runs jobs on the managed store, with no eviction-policy warning', { timeout: 60000 }, async (t) => {
  const dataDir = tmpDataDir(t)
  stopStoreAfter(t, dataDir)
  const status = await addon.ensureQueueStoreStarted({ dataDir })
  track(status.pid)
  assert.equal(status.policy, 'noeviction')

  // The managed health runs the probe's checks, smoke test included.
  const names = status.checks.map((c) => c.name)
  for (const name of ['ping', 'server', 'maxmemory-policy', 'appendonly', 'lua', 'cluster', 'smoke:script', 'smoke:list', 'smoke:cleanup']) {
    assert.ok(names.includes(name), `${name} in ${names}`)
  }
  assert.ok(status.checks.every((c) => c.ok), JSON.stringify(status.checks, null, 2))

  let result
  const warnings = await capturingWarnings(async () => {
    result = await runJobs(status.url, 'claude-mem', 5)
  })
  assert.deepEqual(result.done.map((r) => r.doubled), [0, 2, 4, 6, 8])
  assert.deepEqual(result.counts, { completed: 5, failed: 0, wait: 0, active: 0 })
  assert.ok(!warnings.some((w) => EVICTION_WARNING.test(w)), `BullMQ warned: ${warnings}`)

  // Warm status/ensure report the same checks.
  const warm = await addon.queueStoreStatus({ dataDir })
  assert.deepEqual(warm.checks.map((c) => c.name), names)
  const again = await addon.ensureQueueStoreStarted({ dataDir })
  assert.equal(again.started, false)
  assert.deepEqual(again.checks.map((c) => c.name), names)
})

test('control: the warning capture sees BullMQ warn on an allkeys-lru server', { timeout: 60000 }, async (t) => {
  const server = await startServer(t, { args: ['--maxmemory-policy', 'allkeys-lru'] })
  const warnings = await capturingWarnings(async () => {
    await runJobs(`redis://127.0.0.1:${server.port}`, 'claude-mem', 1)
  })
  assert.ok(warnings.some((w) => EVICTION_WARNING.test(w)), `expected BullMQ's warning, got ${warnings}`)
})
