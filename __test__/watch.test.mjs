// Supervision: the watcher restarts a store that died, leaves a stopped one
// stopped, and closing it never stops the store.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { addon, FLAVORS, ROOT, clientFor, isAlive, recordOutcome, tmpDataDir, track, waitFor } from './helpers.mjs'

const bin = FLAVORS.find((f) => f.bin)?.bin

function watchInto(t, options) {
  const events = []
  const watcher = addon.watchQueueStore({ intervalMs: 20, ...options, onEvent: (e) => events.push(e) })
  t.after(() => watcher.close())
  return { watcher, events }
}

test('a store killed with SIGKILL is restarted on the same port with its data', async (t) => {
  const dataDir = tmpDataDir(t)
  const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
  const c = clientFor(t, s)
  await c.set('survives', 'yes')
  const { watcher, events } = watchInto(t, { dataDir, binary: bin })
  await waitFor(() => events.some((e) => e.type === 'watching'), 'the watching event')
  assert.equal(events[0].pid, s.pid)

  process.kill(s.pid, 'SIGKILL')
  await waitFor(() => events.some((e) => e.type === 'restarted'), 'a restart', 15000)
  const died = events.find((e) => e.type === 'died')
  assert.equal(died.pid, s.pid)
  const restarted = events.find((e) => e.type === 'restarted')
  assert.notEqual(restarted.pid, s.pid)
  assert.equal(restarted.port, s.connection.port)
  assert.ok(isAlive(restarted.pid))
  track(restarted.pid)
  const st = await addon.queueStoreStatus({ dataDir })
  assert.equal(st.pid, restarted.pid)
  const c2 = clientFor(t, st)
  assert.equal(await c2.get('survives'), 'yes')

  // Closing the watcher stops watching, never the store.
  watcher.close()
  assert.equal(watcher.closed, true)
  watcher.close()
  assert.ok(isAlive(restarted.pid))
  recordOutcome('Faults', 'watcher running, server killed with SIGKILL', `events: ${[...new Set(events.map((e) => e.type))].join(' → ')}; same port, data kept; closing the watcher left the store running`)
})

test('a store stopped on purpose stays stopped', async (t) => {
  const dataDir = tmpDataDir(t)
  const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
  const { events } = watchInto(t, { dataDir, binary: bin })
  await waitFor(() => events.length > 0, 'the watching event')
  const stop = await addon.stopQueueStore({ dataDir })
  assert.equal(stop.stopped, true)
  await waitFor(() => events.some((e) => e.type === 'stopped'), 'the stopped event')
  assert.ok(!events.some((e) => e.type === 'restarted'), JSON.stringify(events))
  assert.equal(isAlive(s.pid), false)
  assert.equal((await addon.queueStoreStatus({ dataDir })).running, false)
})

test('two watchers in two processes restart one server', async (t) => {
  const dataDir = tmpDataDir(t)
  const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
  // Each child watches and prints its events as JSON lines.
  const code = `const w = require(${JSON.stringify(ROOT)}).watchQueueStore({ dataDir: ${JSON.stringify(dataDir)}, binary: ${JSON.stringify(bin)}, intervalMs: 20,
    onEvent: (e) => console.log(JSON.stringify(e)) }); process.stdin.on('end', () => { w.close(); process.exit(0) }); process.stdin.resume()`
  const children = [0, 1].map(() => {
    const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] })
    const events = []
    let buf = ''
    child.stdout.on('data', (d) => {
      buf += d
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buf.slice(0, i)))
        buf = buf.slice(i + 1)
      }
    })
    t.after(() => { child.stdin.end(); child.kill() })
    return { child, events }
  })
  await waitFor(() => children.every((c) => c.events.length > 0), 'both watchers to start')
  process.kill(s.pid, 'SIGKILL')
  // Whichever watcher notices first restarts it; the other either adopts the same
  // server under the lock or never sees the death at all.
  const restarts = () => children.flatMap((c) => c.events.filter((e) => e.type === 'restarted'))
  await waitFor(() => restarts().length > 0, 'a watcher to bring the store back', 15000)
  const st = await addon.queueStoreStatus({ dataDir })
  track(st.pid)
  assert.equal(st.running, true)
  assert.ok(restarts().every((e) => e.pid === st.pid), JSON.stringify(restarts()))
  const pids = [st.pid]
  const dataPath = path.join(dataDir, 'redis', 'data')
  const servers = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return fs.readlinkSync(`/proc/${p}/cwd`) === dataPath } catch { return false }
  })
  assert.deepEqual(servers.map(Number), [pids[0]], 'exactly one server process')
  recordOutcome('Races', 'two watchers in two processes, server killed', `${servers.length} server process afterwards; every restart reported named it`)
})

test('bad watcher options throw coded errors', (t) => {
  const dataDir = tmpDataDir(t)
  for (const [options, code] of [
    [{ dataDir }, 'E_BAD_OPTION'],
    [{ dataDir, onEvent: 'nope' }, 'E_BAD_OPTION'],
    [{ dataDir, onEvent() {}, intervalMs: 0 }, 'E_BAD_OPTION'],
    [{ dataDir, onEvent() {}, intervalMs: 'fast' }, 'E_BAD_OPTION'],
    [{ dataDir, onEvent() {}, nope: 1 }, 'E_BAD_OPTION'],
    [{ dataDir, onEvent() {}, mode: 'cloud' }, 'E_BAD_SETTINGS'],
  ]) {
    assert.throws(() => addon.watchQueueStore(options), (e) => e instanceof Error && e.code === code, JSON.stringify(options))
  }
})
