// SIGKILL of the managed store under BullMQ load: producers keep adding and a worker
// keeps processing while the server is killed. After the next ensure, every job whose
// add was acknowledged at least 2 s (server time) before the kill must still exist —
// waiting, active, delayed, completed or failed — because appendfsync everysec can
// lose at most the last ~2 s of acknowledged writes, never older ones.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { addon, FLAVORS, clientFor, isAlive, recordOutcome, tmpDataDir, waitFor } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Queue, Worker } = require('bullmq')

for (const { flavor, bin } of FLAVORS) {
  test(`${flavor}: SIGKILL under BullMQ load loses no job acknowledged ≥ 2 s before the kill`, { skip: !bin && `${flavor}-server is not installed`, timeout: 120000 }, async (t) => {
    const dataDir = tmpDataDir(t)
    const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
    const clock = clientFor(t, s)
    const serverSeconds = async () => Number((await clock.time())[0])
    const connection = { ...s.connection, maxRetriesPerRequest: null, retryStrategy: () => null, enableOfflineQueue: false }
    const queue = new Queue('crash', { connection })
    queue.on('error', () => {})
    const worker = new Worker('crash', async () => 'ok', { connection, concurrency: 20 })
    worker.on('error', () => {})
    t.after(async () => {
      await worker.close(true).catch(() => {})
      await queue.close().catch(() => {})
    })

    // Acknowledged adds, each stamped with the server's clock when the ack came back.
    const acked = [] // { id, at }
    let adding = true
    const producer = (async () => {
      let i = 0
      while (adding) {
        try {
          const jobs = await queue.addBulk(Array.from({ length: 50 }, () => ({ name: 'j', data: { i: i++ } })))
          const at = await serverSeconds()
          for (const j of jobs) acked.push({ id: j.id, at })
        } catch {
          break // the server is gone
        }
      }
    })()

    // Load for long enough that ≥ 1000 jobs are ≥ 2 s old when the kill comes.
    await waitFor(async () => {
      const nowS = await serverSeconds()
      return acked.filter((a) => a.at <= nowS - 2).length >= 1000
    }, '1000 acknowledged jobs at least 2 s old', 60000)
    const killAt = await serverSeconds()
    process.kill(s.pid, 'SIGKILL')
    adding = false
    await producer
    await waitFor(() => !isAlive(s.pid), 'the killed server to be gone')
    await worker.close(true).catch(() => {})
    await queue.close().catch(() => {})

    const old = acked.filter((a) => a.at <= killAt - 2)
    assert.ok(old.length >= 1000, `${old.length} old acknowledged jobs`)
    const r = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
    assert.equal(r.connection.port, s.connection.port)
    const c = clientFor(t, r)
    const pipeline = c.pipeline()
    for (const a of old) pipeline.exists(`bull:crash:${a.id}`)
    const exists = (await pipeline.exec()).map(([, v]) => v)
    const lost = old.filter((_, i) => exists[i] !== 1)
    assert.equal(lost.length, 0, `lost ${lost.length} of ${old.length}: ${JSON.stringify(lost.slice(0, 5))}`)
    recordOutcome('Faults', `${flavor}: SIGKILL under BullMQ load (producer + worker running)`,
      `after the next ensure, ${old.length - lost.length} of ${old.length} jobs acknowledged ≥ 2 s before the kill were present (0 lost); ${acked.length} acknowledged in all`)
  })
}
