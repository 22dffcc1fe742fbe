// SIGKILL of the managed store under BullMQ load: producers keep adding and a worker
// keeps processing while the server is killed. After the next ensure, every job whose
// add was acknowledged at least 2 s (server time) before the kill must still exist —
// waiting, active, delayed, completed or failed — because appendfsync everysec can
// lose at most the last ~2 s of acknowledged writes, never older ones.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { addon, FLAVORS, SERVERS, ROOT, clientFor, isAlive, killAndWait, recordOutcome, tmpDataDir, track, waitFor } from './helpers.mjs'

for (const { id, flavor, bin } of SERVERS) {
  test(`${id}: SIGKILL under BullMQ load loses no job acknowledged ≥ 2 s before the kill`, { skip: !bin && `${flavor}-server is not installed`, timeout: 120000 }, async (t) => {
    const dataDir = tmpDataDir(t)
    const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
    const clock = clientFor(t, s)
    const serverSeconds = async () => Number((await clock.time())[0])

    // The load runs in its own process (a BullMQ client whose server dies may never
    // settle its pending commands); it is killed by pid once the server is.
    const load = spawn(process.execPath, [path.join(ROOT, '__test__', 'fixtures', 'bullmq-load.cjs'), JSON.stringify(s.connection)], { stdio: ['ignore', 'pipe', 'inherit'] })
    track(load.pid)
    t.after(() => killAndWait(load.pid))
    const acked = [] // { id, at }: acknowledged adds, stamped with the server's clock
    let buffered = ''
    load.stdout.on('data', (d) => {
      buffered += d
      let nl
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const { ids, at } = JSON.parse(buffered.slice(0, nl))
        buffered = buffered.slice(nl + 1)
        for (const id of ids) acked.push({ id, at })
      }
    })

    // Load for long enough that ≥ 1000 jobs are ≥ 2 s old when the kill comes.
    await waitFor(async () => {
      const nowS = await serverSeconds()
      return acked.filter((a) => a.at <= nowS - 2).length >= 1000
    }, '1000 acknowledged jobs at least 2 s old', 60000)
    const killAt = await serverSeconds()
    process.kill(s.pid, 'SIGKILL')
    await waitFor(() => !isAlive(s.pid), 'the killed server to be gone')
    await killAndWait(load.pid)
    clock.disconnect()

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
    recordOutcome('Faults', `${id}: SIGKILL under BullMQ load (producer + worker running)`,
      `after the next ensure, ${old.length - lost.length} of ${old.length} jobs acknowledged ≥ 2 s before the kill were present (0 lost); ${acked.length} acknowledged in all`)
  })
}
