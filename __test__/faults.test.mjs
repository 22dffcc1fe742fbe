// Faults on real servers: a stopped (SIGSTOP) server, a truncated AOF, a data dir
// that cannot be written or is full, and what the store exposes to others.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {
  addon, FLAVORS, SERVERS, clientFor, isAlive, recordOutcome, rejectsWithCode, tmpDataDir, tmpfsDataDir,
} from './helpers.mjs'

for (const { id, flavor, bin } of SERVERS) {
  describe(`faults on ${id}`, { skip: !bin && `${flavor}-server is not installed` }, () => {
    test('a SIGSTOPped server: status and ensure fail with E_TIMEOUT, stop still stops it', { timeout: 30000 }, async (t) => {
      const dataDir = tmpDataDir(t)
      const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
      process.kill(s.pid, 'SIGSTOP')
      t.after(() => { try { process.kill(s.pid, 'SIGCONT') } catch {} })
      const e1 = await rejectsWithCode(assert, addon.queueStoreStatus({ dataDir, timeoutMs: 300 }), 'E_TIMEOUT')
      assert.match(e1.message, new RegExp(`pid ${s.pid}`))
      const e2 = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: bin, timeoutMs: 300 }), 'E_TIMEOUT')
      assert.match(e2.message, /kill -CONT/)
      const stop = await addon.stopQueueStore({ dataDir, timeoutMs: 4000, force: true })
      assert.equal(stop.stopped, true)
      assert.equal(isAlive(s.pid), false)
      recordOutcome('Faults', `${id}: server stopped with SIGSTOP`,
        `status and ensure rejected with ${e1.code} after their timeoutMs (300 ms); stopQueueStore stopped it (${stop.method})`)
    })

    test('an AOF truncated mid-record: the store starts, says what was cut, keeps every complete record', async (t) => {
      const dataDir = tmpDataDir(t)
      const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
      const c = clientFor(t, s)
      for (let i = 0; i < 100; i++) await c.set(`k${i}`, `value-${i}`)
      c.disconnect()
      assert.equal((await addon.stopQueueStore({ dataDir, force: true })).stopped, true)
      const aofDir = path.join(s.paths.data, 'appendonlydir')
      const incr = fs.readdirSync(aofDir).filter((f) => f.endsWith('.incr.aof')).sort().pop()
      assert.ok(incr, 'an incremental AOF file exists')
      const file = path.join(aofDir, incr)
      const size = fs.statSync(file).size
      fs.truncateSync(file, size - 5) // cuts into the last SET's value
      const r = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
      const note = r.notices.find((n) => n.includes('middle of a record'))
      assert.ok(note, JSON.stringify(r.notices))
      const c2 = clientFor(t, r, { admin: dataDir }) // MGET: not in the client user's allow-list
      const values = await c2.mget(...Array.from({ length: 100 }, (_, i) => `k${i}`))
      const kept = values.filter((v, i) => v === `value-${i}`).length
      assert.equal(kept, 99, 'every complete record kept')
      assert.equal(values[99], null, 'only the cut record is gone')
      recordOutcome('Faults', `${id}: AOF truncated 5 bytes into its last record`,
        `the store started again, kept ${kept} of 100 keys (all complete records) and reported: "${note}"`)
    })
  })
}

const bin = FLAVORS.find((f) => f.bin)?.bin

test('a read-only data dir → E_START_FAILED naming the cause', async (t) => {
  const dataDir = tmpfsDataDir(t, 'ro,size=1m')
  if (!dataDir) return t.skip('needs root to mount a read-only tmpfs')
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: bin }), 'E_START_FAILED')
  assert.match(err.message, /Read-only file system/)
  assert.deepEqual(fs.readdirSync(dataDir), [])
  recordOutcome('Faults', 'data dir on a read-only file system', `rejected with ${err.code}: "${err.message.replaceAll(dataDir, '<dataDir>').split('. ')[0]}"; nothing written`)
})

test('a full data dir → E_START_FAILED naming the cause, settings.json intact', async (t) => {
  const dataDir = tmpfsDataDir(t, 'size=64k')
  if (!dataDir) return t.skip('needs root to mount a small tmpfs')
  const settings = '{\n  "CLAUDE_MEM_MODEL": "keep-me"\n}\n'
  fs.writeFileSync(path.join(dataDir, 'settings.json'), settings)
  // Fill the file system to the last byte.
  const filler = fs.openSync(path.join(dataDir, 'filler'), 'w')
  const chunk = Buffer.alloc(4096, 1)
  try { for (;;) fs.writeSync(filler, chunk) } catch (e) { assert.equal(e.code, 'ENOSPC') }
  try { for (;;) fs.writeSync(filler, Buffer.alloc(1)) } catch (e) { assert.equal(e.code, 'ENOSPC') }
  fs.closeSync(filler)
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: bin }), 'E_START_FAILED')
  assert.match(err.message, /No space left on device/)
  assert.equal(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8'), settings)
  assert.equal(fs.existsSync(path.join(dataDir, 'redis', 'redis.pid')), false)
  recordOutcome('Faults', 'data dir on a full file system', `rejected with ${err.code} ("No space left on device"); settings.json byte-for-byte intact, no server left running`)
})

test('the store listens on loopback only, and its password is in no log or argv', async (t) => {
  const dataDir = tmpDataDir(t)
  const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
  // Every listening socket of the server's process, from the kernel's tables.
  const inodes = new Set(fs.readdirSync(`/proc/${s.pid}/fd`).map((fd) => {
    try { return fs.readlinkSync(`/proc/${s.pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/)?.[1] } catch { return undefined }
  }).filter(Boolean))
  const listening = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f[3] === '0A' && inodes.has(f[9])) listening.push(f[1].split(':')[0])
    }
  }
  const loopback = new Set(['0100007F', '00000000000000000000000001000000'])
  assert.ok(listening.length >= 1, 'found its listening sockets')
  assert.ok(listening.every((a) => loopback.has(a)), `listens on ${listening}`)
  const log = fs.readFileSync(s.paths.logFile, 'utf8')
  assert.ok(!log.includes(s.connection.password), 'password not in the log')
  assert.ok(!fs.readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').includes(s.connection.password), 'password not in argv')
  const st = await addon.queueStoreStatus({ dataDir })
  const shown = JSON.stringify({ ...st, url: undefined, connection: undefined })
  assert.ok(!shown.includes(s.connection.password), 'only url and connection carry the password')
  recordOutcome('Security', 'who can reach the managed store', `listening sockets: ${listening.length}, all on 127.0.0.1/::1; password absent from the server log, its argv and every status field but url/connection`)
})
