// Every current Redis-compatible server the matrix script makes runnable (redis
// 7.0–8.6, valkey 8.0–9.1, redict 7.3; scripts/test/matrix/install-servers.sh): the
// managed store's whole lifecycle on each — ensure with every check ok, real BullMQ
// jobs, stop, a restart that keeps the data, a SIGKILL and the recovery — and data
// written by one server then given to another that cannot read it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { addon, MATRIX, ROOT, clientFor, isAlive, recordOutcome, rejectsWithCode, tmpDataDir, track, waitFor } from './helpers.mjs'

const EXPECTED = ['redis-7.0', 'redis-7.2', 'redis-7.4', 'redis-8.0', 'redis-8.2', 'redis-8.6',
  'valkey-8.0', 'valkey-8.1', 'valkey-8.1-trixie', 'valkey-9.1', 'redict-7.3']
const jobs = path.join(ROOT, '__test__', 'fixtures', 'bullmq-jobs.mjs')

test('the server matrix is installed (CI installs it with scripts/test/matrix/install-servers.sh)', { skip: !process.env.CI && !MATRIX.length && 'no matrix here: run scripts/test/matrix/install-servers.sh' }, () => {
  assert.deepEqual(MATRIX.map((s) => s.id).sort(), [...EXPECTED].sort())
})

for (const server of MATRIX) {
  test(`${server.id} (${server.source}): ensure, BullMQ jobs, stop, restart with the data, crash recovery`, { timeout: 120000 }, async (t) => {
    const dataDir = tmpDataDir(t)
    const s = await addon.ensureQueueStoreStarted({ dataDir, binary: server.bin })
    track(s.pid)
    assert.equal(s.server.flavor, server.flavor, 'the flavor the server reports')
    assert.equal(s.server.version, server.version)
    assert.ok(s.checks.every((c) => c.ok), JSON.stringify(s.checks.filter((c) => !c.ok)))

    const bull = spawnSync(process.execPath, [jobs, dataDir, 'bullmq', 'ioredis'], { encoding: 'utf8', timeout: 90000 })
    assert.equal(bull.status, 0, bull.stderr)
    const r = JSON.parse(bull.stdout.trim().split('\n').pop())
    assert.deepEqual([r.completed, r.failed, r.retriedAttemptsMade], [22, 0, 2])

    await clientFor(t, s).set('kept', server.id)
    assert.equal((await addon.stopQueueStore({ dataDir, force: true })).stopped, true)
    const again = await addon.ensureQueueStoreStarted({ dataDir })
    track(again.pid)
    assert.equal(again.started, true)
    assert.equal(again.server.version, server.version, 'the server that last ran the data is chosen again')
    assert.equal(await clientFor(t, again).get('kept'), server.id, 'data kept across stop and start')

    process.kill(again.pid, 'SIGKILL')
    await waitFor(() => !isAlive(again.pid), `pid ${again.pid} to die`)
    const back = await addon.ensureQueueStoreStarted({ dataDir })
    track(back.pid)
    assert.ok(back.notices.some((n) => n.includes('had exited')), JSON.stringify(back.notices))
    assert.equal(await clientFor(t, back).get('kept'), server.id, 'data kept across a crash')
    assert.equal((await addon.stopQueueStore({ dataDir, force: true })).stopped, true)
    assert.ok(!isAlive(back.pid))
  })
}

/** sha256 of every file under `dir`, by relative path. */
function digest(dir) {
  const out = {}
  for (const name of fs.readdirSync(dir, { recursive: true })) {
    const p = path.join(dir, name)
    if (fs.statSync(p).isFile()) out[name] = createHash('sha256').update(fs.readFileSync(p)).digest('hex')
  }
  return out
}

const byId = (id) => MATRIX.find((s) => s.id === id)
const pairs = [
  // valkey 9 writes RDB 80, which no Redis reads; redis 7.0 calls it a "bad file format".
  { newer: 'valkey-9.1', older: 'redis-7.0' },
  // Redis 7.4+ writes RDB 12, which Valkey does not read.
  { newer: 'redis-8.6', older: 'valkey-8.0' },
]
for (const { newer, older } of pairs) {
  test(`data written by ${newer}, then given to ${older}: E_DATA_INCOMPATIBLE naming ${newer}, data untouched, ${newer} still starts it`, { skip: !(byId(newer) && byId(older)) && 'the matrix is not installed', timeout: 60000 }, async (t) => {
    const dataDir = tmpDataDir(t)
    const s = await addon.ensureQueueStoreStarted({ dataDir, binary: byId(newer).bin })
    track(s.pid)
    const c = clientFor(t, s, { admin: dataDir })
    await c.set('queue-data', 'precious')
    await c.bgrewriteaof() // the AOF's base becomes an RDB in the newer server's format
    await waitFor(async () => (await c.info('persistence')).includes('aof_rewrite_in_progress:0') &&
      (await c.info('persistence')).includes('aof_last_bgrewrite_status:ok'), 'the AOF rewrite')
    c.disconnect()
    await addon.stopQueueStore({ dataDir, force: true })
    const before = digest(s.paths.data)

    const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: byId(older).bin }), 'E_DATA_INCOMPATIBLE')
    assert.match(err.message, new RegExp(`it was last run by ${byId(newer).flavor} ${byId(newer).version.replace(/\./g, '\\.')}`))
    assert.ok(err.message.includes(`binary: '${byId(newer).bin}'`), err.message)
    assert.match(err.message, /The data was not changed/)
    assert.match(err.message, /Do not run redis-check-aof --fix/)
    assert.ok(!err.message.includes('Ready to accept'), 'only this start\'s log lines')
    assert.deepEqual(digest(s.paths.data), before, 'not one byte of the data changed')

    // Without the record of the last server (an older addon's data dir, a copied one),
    // the data's own header says who wrote it, and the older server is never started.
    const record = path.join(s.paths.data, 'claude-mem-server.json')
    fs.renameSync(record, `${record}.aside`)
    const withoutRecord = digest(s.paths.data)
    const logs = path.dirname(s.paths.logFile)
    const logSizes = () => fs.readdirSync(logs).map((f) => [f, fs.statSync(path.join(logs, f)).size])
    const logsBefore = logSizes()
    const err2 = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: byId(older).bin }), 'E_DATA_INCOMPATIBLE')
    const header = { 'valkey-9.1': /it was written by Valkey 9 \(VALKEY080 \(RDB 80\)\)/, 'redis-8.6': /it was written by a Redis newer than 8\.2 \(REDIS0013 \(RDB 13\)\)/ }[newer]
    assert.match(err2.message, header)
    assert.match(err2.message, /It was not started: .*appendonlydir/)
    assert.match(err2.message, /Do not run redis-check-aof --fix/)
    assert.deepEqual(digest(s.paths.data), withoutRecord, 'not one byte of the data changed')
    assert.deepEqual(logSizes(), logsBefore, 'no server was started: no log grew')
    fs.renameSync(`${record}.aside`, record)

    // Without a binary option the store goes back to the server that last ran it.
    const back = await addon.ensureQueueStoreStarted({ dataDir })
    track(back.pid)
    assert.equal(back.server.version, byId(newer).version)
    assert.equal(await clientFor(t, back).get('queue-data'), 'precious')
    recordOutcome('Faults', `data written by ${newer}, then started with ${older}`,
      `rejected with ${err.code} naming ${newer} and its binary; every data file byte-for-byte unchanged; a plain ensure started ${newer} again with the data`)
  })
}
