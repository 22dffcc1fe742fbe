// Races (issue 6, item 2): 16 processes racing ensure / stop / uninstall on one
// data dir end with no orphan server, no lost data and no torn file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { addon, FLAVORS, ROOT, clientFor, isAlive, killAndWait, readPid, recordOutcome, tmpDataDir, track } from './helpers.mjs'

const bin = FLAVORS.find((f) => f.bin)?.bin
const RACERS = 16
const OPS_PER_RACER = 4
const KEYS = 200
// Under contention a caller may give up waiting for the lock; that is the one
// failure the contract allows here. Anything else (E_START_FAILED, E_NOT_OWNED,
// E_IO, …) would be a bug.
const ALLOWED_FAILURES = new Set(['E_LOCK_TIMEOUT'])
const WORKER = path.join(ROOT, '__test__', 'fixtures', 'race-worker.mjs')

/**
 * Pids of the server processes working in `dataDir` (their cwd is `redis/data`,
 * or was: a removed dir reads as "<path> (deleted)").
 */
function serversOf(realDataDir) {
  const dataPath = path.join(realDataDir, 'redis', 'data')
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const cwd = fs.readlinkSync(`/proc/${p}/cwd`)
      return cwd === dataPath || cwd === `${dataPath} (deleted)`
    } catch { return false }
  }).map(Number).filter(isAlive)
}

function racer(dataDir, seed) {
  const child = spawn(process.execPath, [WORKER, dataDir, bin, String(seed), String(OPS_PER_RACER)], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { err += d })
  const done = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, err,
    results: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) })))
  return { child, done }
}

test(`${RACERS} processes racing ensure/stop/uninstall: no orphan server, no lost data, no torn file`, { skip: !bin && 'no server binary', timeout: 240000 }, async (t) => {
  const dataDir = tmpDataDir(t)
  // An orphan (the bug this test looks for) has no pid file for tmpDataDir's
  // cleanup to find: stop whatever still works in the data dir, by pid.
  const realDataDir = fs.realpathSync(dataDir)
  t.after(async () => {
    for (const pid of serversOf(realDataDir)) await killAndWait(pid)
  })
  const settingsPath = path.join(dataDir, 'settings.json')
  fs.writeFileSync(settingsPath, JSON.stringify({ CLAUDE_MEM_MODEL: 'keep-me', CLAUDE_MEM_WORKER_PORT: 37777 }, null, 2))

  // Known keys, written through a first ensure.
  const first = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
  const c = clientFor(t, first)
  const pipeline = c.pipeline()
  for (let i = 0; i < KEYS; i++) pipeline.set(`race:key:${i}`, `value-${i}`)
  await pipeline.exec()
  c.disconnect()

  // Every racer is spawned and loaded before any starts: "go" goes to all at once.
  const seedBase = Number(process.env.CMS_RACE_SEED ?? 0x5eed)
  const racers = Array.from({ length: RACERS }, (_, i) => racer(dataDir, seedBase + i))
  for (const r of racers) track(r.child.pid)
  for (const r of racers) r.child.stdin.end('go\n')
  const outcomes = await Promise.all(racers.map((r) => r.done))

  const all = outcomes.flatMap((o) => o.results)
  for (const [i, o] of outcomes.entries()) {
    assert.equal(o.signal, null, `racer ${i} was killed by ${o.signal}: ${o.err}`)
    assert.equal(o.code, 0, `racer ${i} exited ${o.code}: ${o.err}`)
    assert.equal(o.results.length, OPS_PER_RACER, `racer ${i} finished every operation`)
  }
  const failures = all.filter((r) => !r.ok)
  for (const f of failures) {
    assert.ok(ALLOWED_FAILURES.has(f.code), `${f.op} failed with ${f.code}: ${f.message}`)
  }
  const counts = Object.fromEntries(['ensure', 'stop', 'uninstall'].map((op) => [op, all.filter((r) => r.op === op).length]))

  // No orphan: at most one server, and a running one is named by the pid file and ours.
  const servers = serversOf(realDataDir)
  assert.ok(servers.length <= 1, `at most one server works in the data dir, found pids ${servers}`)
  const pidFile = path.join(dataDir, 'redis', 'redis.pid')
  if (servers.length === 1) {
    assert.equal(readPid(dataDir), servers[0], 'the pid file names the running server')
    const st = await addon.queueStoreStatus({ dataDir })
    assert.equal(st.running, true)
    assert.equal(st.owned, true, 'status reports it as ours')
    assert.equal(st.pid, servers[0])
  } else {
    assert.ok(!fs.existsSync(pidFile), 'no pid file names a server that is not running')
  }

  // No torn or stray file.
  const pidText = fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : null
  if (pidText !== null) assert.doesNotThrow(() => JSON.parse(pidText), `pid file parses: ${pidText}`)
  const settings = JSON.parse(fs.readFileSync(settingsPath, 'utf8'))
  assert.equal(settings.CLAUDE_MEM_MODEL, 'keep-me', "settings.json keeps claude-mem's own keys")
  assert.equal(settings.CLAUDE_MEM_WORKER_PORT, 37777)
  const configPath = path.join(dataDir, 'redis', 'redis.conf')
  if (fs.existsSync(configPath)) {
    const lines = fs.readFileSync(configPath, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))
    for (const l of lines) assert.match(l, /^[a-z-]+ \S/, `config line is whole: ${l}`)
    assert.ok(lines.some((l) => l.startsWith('port ')), 'config names its port')
  }
  const strays = [dataDir, path.join(dataDir, 'redis')].flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d) : []))
    .filter((n) => /\.tmp-|\.stale-/.test(n))
  assert.deepEqual(strays, [], 'no temp file left half-written and no pid file set aside')

  // No lost data: a final ensure finds every key written before the race.
  const last = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
  const c2 = clientFor(t, last, { admin: dataDir }) // MGET: not in the client user's allow-list
  const values = await c2.mget(Array.from({ length: KEYS }, (_, i) => `race:key:${i}`))
  const missing = values.filter((v, i) => v !== `value-${i}`).length
  assert.equal(missing, 0, `${missing} of ${KEYS} keys lost`)
  assert.deepEqual(serversOf(realDataDir), [last.pid], 'one server after the final ensure')

  const failed = failures.length ? `; ${failures.length} gave up with ${[...new Set(failures.map((f) => f.code))].join(', ')}` : ''
  recordOutcome('Races', `${RACERS} processes racing ensure/stop/uninstall (${counts.ensure}/${counts.stop}/${counts.uninstall} calls) on one data dir`,
    `${servers.length} server afterwards${servers.length ? ', named by the pid file and reported owned' : ''}; no torn or stray file; settings.json kept its other keys; all ${KEYS} keys written before the race present after a final ensure${failed}`)
})
