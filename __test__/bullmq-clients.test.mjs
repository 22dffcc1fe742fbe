// BullMQ 5 (claude-mem's range) and BullMQ 6 (current), through every client
// docs/claude-mem.md ("Every client") shows, under Node and under Bun, on one
// managed store: add, process, a retry with backoff, QueueEvents, and a
// deterministic job id added twice
// (fixtures/bullmq-jobs.mjs does the work in a child process per combination).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { addon, assertJobsFixtureOutcome, FLAVORS, ROOT, tmpDataDir, track } from './helpers.mjs'

const bin = FLAVORS.find((f) => f.bin)?.bin
const bun = path.join(ROOT, 'node_modules', '.bin', 'bun')
const script = path.join(ROOT, '__test__', 'fixtures', 'bullmq-jobs.mjs')

const COMBINATIONS = [
  ['node', 'bullmq', 'ioredis'],
  ['node', 'bullmq6', 'ioredis'],
  ['node', 'bullmq6', 'node-redis'],
  ['bun', 'bullmq', 'ioredis'],
  ['bun', 'bullmq6', 'ioredis'],
  ['bun', 'bullmq6', 'node-redis'],
  ['bun', 'bullmq6', 'bun'],
]

test('BullMQ 5 and 6 run real jobs through ioredis, node-redis and Bun\'s client, under Node and Bun', { skip: !bin && 'no server installed', timeout: 600000 }, async (t) => {
  assert.ok(fs.existsSync(bun), 'bun (a devDependency) is installed')
  const dataDir = tmpDataDir(t)
  const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
  track(s.pid)
  for (const [runtime, pkg, client] of COMBINATIONS) {
    await t.test(`${runtime}, ${pkg}, ${client}`, () => {
      const cmd = runtime === 'bun' ? bun : process.execPath
      const r = spawnSync(cmd, [script, dataDir, pkg, client], { encoding: 'utf8', timeout: 90000 })
      assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`)
      const out = JSON.parse(r.stdout.trim().split('\n').pop())
      assert.match(out.runtime, new RegExp(`^${runtime} `))
      assertJobsFixtureOutcome(assert, out, pkg)
    })
  }
  // The store is still the one the test started: nobody restarted it.
  assert.equal((await addon.queueStoreStatus({ dataDir })).pid, s.pid)
})
