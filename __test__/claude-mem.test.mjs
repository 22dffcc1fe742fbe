// The addon inside claude-mem as it really is (v13.15): a data dir seeded with
// every default claude-mem's first boot writes, and claude-mem's own settings
// reader (getRedisQueueConfig) connecting to the store the addon started.
// fixtures/claude-mem.mjs transcribes both from claude-mem's source.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import {
  addon, FLAVORS, ROOT, Redis, freePort, nodeEval, recordOutcome, rejectsWithCode, startServer, tmpDataDir, track,
} from './helpers.mjs'
import { CLAUDE_MEM_QUEUES, claudeMemDefaults, getRedisQueueConfig, seedClaudeMemSettings } from './fixtures/claude-mem.mjs'

const require = createRequire(import.meta.url)
const bin = FLAVORS.find((f) => f.bin)?.bin
const fileMode = (p) => fs.statSync(p).mode & 0o777
const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'))

/** INFO commandstats calls of `cmd` (0 when never called). */
async function calls(client, cmd) {
  const m = (await client.info('commandstats')).match(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm'))
  return m ? Number(m[1]) : 0
}

test('seeded by claude-mem: resolve decides managed, ensure saves what claude-mem\'s own reader needs', { skip: !bin && 'no server installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const { file, settings: seeded } = seedClaudeMemSettings(dataDir)
  assert.equal(Object.keys(seeded).length, 84)
  // Before: claude-mem's reader, on its own defaults, would go to 127.0.0.1:6379 without a password.
  assert.deepEqual(getRedisQueueConfig(file, {}).connection.port, 6379)

  const resolution = await addon.resolveQueueStore({ dataDir, binary: bin })
  assert.equal(resolution.decision, 'managed', resolution.reason)
  assert.equal(resolution.mode, 'managed')
  assert.equal(resolution.steps.find((s) => s.name === 'url').detail, 'CLAUDE_MEM_REDIS_URL is not set', 'the seeded "" is not a URL')
  assert.deepEqual(readJson(file), seeded, 'resolve changes nothing')

  const s = await addon.ensureQueueStoreStarted({ dataDir, mode: resolution.mode, binary: bin })
  track(s.pid)
  assert.equal(s.running && s.owned && s.started, true)
  assert.ok(s.checks.every((c) => c.ok), JSON.stringify(s.checks))
  assert.notEqual(s.connection.port, 6379)
  assert.ok(s.notices.some((n) => n.includes('6379') && n.includes(String(s.connection.port))), JSON.stringify(s.notices))

  // settings.json: our four keys; every other key exactly as claude-mem wrote it, in its place.
  const after = readJson(file)
  assert.deepEqual(Object.keys(after), Object.keys(seeded), 'same keys, same order')
  for (const [k, v] of Object.entries(seeded)) {
    if (!['CLAUDE_MEM_REDIS_MODE', 'CLAUDE_MEM_REDIS_PORT', 'CLAUDE_MEM_REDIS_HOST', 'CLAUDE_MEM_REDIS_URL'].includes(k)) assert.equal(after[k], v, k)
  }
  assert.equal(after.CLAUDE_MEM_QUEUE_ENGINE, 'sqlite', 'the addon never flips the queue engine')
  assert.equal(after.CLAUDE_MEM_REDIS_MODE, 'managed')
  assert.equal(after.CLAUDE_MEM_REDIS_HOST, '127.0.0.1')
  assert.equal(after.CLAUDE_MEM_REDIS_PORT, String(s.connection.port))
  assert.equal(after.CLAUDE_MEM_REDIS_URL, s.url)
  assert.equal(fileMode(file), 0o600, 'settings.json holds the password now: 0600')

  // claude-mem's own reader (env first, then settings.json, URL preferred) authenticates.
  const config = getRedisQueueConfig(file, {})
  assert.equal(config.mode, 'managed')
  assert.equal(config.port, s.connection.port)
  assert.equal(config.connection.password, s.connection.password)
  const redis = new Redis({ ...config.connection, lazyConnect: true })
  redis.on('error', () => {})
  t.after(() => redis.disconnect())
  await redis.connect()
  assert.equal(await redis.ping(), 'PONG')
  // …and BullMQ 5 (claude-mem's range) runs a job on claude-mem's queue with it.
  const { Queue, Worker } = require('bullmq')
  const queue = new Queue(CLAUDE_MEM_QUEUES[0], { connection: config.connection, prefix: config.prefix })
  const done = new Promise((resolve, reject) => {
    const worker = new Worker(CLAUDE_MEM_QUEUES[0], async (job) => job.data.n + 1, { connection: config.connection, prefix: config.prefix })
    worker.on('completed', (job, value) => { worker.close().then(() => resolve(value), reject) })
    worker.on('failed', (job, err) => reject(err))
  })
  await queue.add('generate', { n: 41 })
  assert.equal(await done, 42)
  await queue.obliterate({ force: true })
  await queue.close()

  // The secret is nowhere a user or another program would see it.
  const secret = s.connection.password
  assert.ok(!fs.readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').includes(secret), 'not in the server\'s argv')
  assert.ok(!fs.readFileSync(s.paths.logFile, 'utf8').includes(secret), 'not in the server\'s log')
  const cliStatus = execFileSync(process.execPath, [path.join(ROOT, 'cli.js'), 'status', '--json', '--data-dir', dataDir], { encoding: 'utf8' })
  assert.ok(!cliStatus.includes(secret), 'not in status --json')
  assert.ok(!JSON.stringify(s.notices).includes(secret) && !s.redactedUrl.includes(secret))
  // An error about this store (another data dir asking for its port) names it, not its password.
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir: tmpDataDir(t), port: s.connection.port, binary: bin }), 'E_PORT_IN_USE')
  assert.match(err.message, new RegExp(`pid ${s.pid}`))
  assert.ok(!err.message.includes(secret), 'not in errors')

  // Its own URL in settings.json is its own store: never re-probed or taken for an external server.
  const before = await calls(redis, 'evalsha')
  const again = await addon.resolveQueueStore({ dataDir, binary: bin })
  assert.equal(again.decision, 'managed')
  assert.match(again.steps.find((st) => st.name === 'url').detail, /own managed store/)
  assert.equal(await calls(redis, 'evalsha'), before, 'resolve ran no smoke test against it')
  // A bare ensure (mode now from settings.json) adopts it; status reports it as managed.
  const adopted = await addon.ensureQueueStoreStarted({ dataDir })
  assert.equal(adopted.mode, 'managed')
  assert.equal(adopted.pid, s.pid)
  assert.equal(adopted.started, false)
  assert.deepEqual(adopted.notices, [])
  const st = await addon.queueStoreStatus({ dataDir })
  assert.equal(st.mode, 'managed')
  assert.equal(st.owned, true)
  assert.equal(fileMode(file), 0o600)

  // claude-mem's client is still connected: uninstall leaves the store alone…
  assert.equal(st.clients, 1, 'the test\'s redis client')
  await rejectsWithCode(assert, addon.uninstallQueueStore({ dataDir }), 'E_STORE_IN_USE')
  assert.equal(readJson(file).CLAUDE_MEM_REDIS_URL, s.url, 'nothing was removed')
  redis.disconnect()
  // The server drops the connection a moment later: wait until its client list says so.
  for (let i = 0; (await addon.queueStoreStatus({ dataDir })).clients !== 0; i++) assert.ok(i < 1000, 'the client never left')
  // …and once it has gone, takes its own keys back (the URL too: it is ours) and keeps claude-mem's.
  const u = await addon.uninstallQueueStore({ dataDir })
  assert.ok(u.settingsKeysRemoved.includes('CLAUDE_MEM_REDIS_URL'))
  const left = readJson(file)
  assert.equal(left.CLAUDE_MEM_MODEL, seeded.CLAUDE_MEM_MODEL)
  assert.equal(left.CLAUDE_MEM_REDIS_URL, undefined)
  recordOutcome('claude-mem', 'data dir seeded with claude-mem 13.15\'s 84 defaults', `resolve → ${resolution.decision}; ensure started a private store on ${s.connection.port} (not 6379) and saved mode/host/port/URL, settings.json 0600, 80 other keys unchanged; claude-mem's getRedisQueueConfig() authenticated and BullMQ 5 ran a job; the secret appeared in no argv, log, error or status --json`)
})

test('seeded external mode means HOST:PORT with no password, as it does to claude-mem', { skip: !bin && 'no server installed' }, async (t) => {
  // Nothing listens there: E_UNREACHABLE with the next step, not E_BAD_SETTINGS; nothing written.
  const dataDir = tmpDataDir(t)
  const free = await freePort()
  const { file } = seedClaudeMemSettings(dataDir, { CLAUDE_MEM_REDIS_PORT: String(free) })
  const text = fs.readFileSync(file, 'utf8')
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir }), 'E_UNREACHABLE')
  assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${free}`))
  assert.match(err.message, /npx claude-mem install/)
  assert.equal(fs.readFileSync(file, 'utf8'), text)
  const down = await addon.queueStoreStatus({ dataDir })
  assert.equal(down.running, false)
  assert.equal(down.addressFrom, 'hostPort')

  // A real Redis listens there (no password): it is used as is, as claude-mem would.
  const server = await startServer(t, { flavor: FLAVORS.find((f) => f.bin).flavor })
  const dataDir2 = tmpDataDir(t)
  seedClaudeMemSettings(dataDir2, { CLAUDE_MEM_REDIS_PORT: String(server.port) })
  const s = await addon.ensureQueueStoreStarted({ dataDir: dataDir2 })
  assert.equal(s.mode, 'external')
  assert.equal(s.owned, false)
  assert.equal(s.addressFrom, 'hostPort')
  assert.deepEqual(s.connection, { host: '127.0.0.1', port: server.port })
  assert.equal(s.url, `redis://127.0.0.1:${server.port}`)
  const stop = await addon.stopQueueStore({ dataDir: dataDir2 })
  assert.equal(stop.stopped, false)
  assert.equal(stop.code, 'E_NOT_OWNED')
})

test('6379: seeded is "no port chosen yet"; explicit is refused; garbage is E_BAD_SETTINGS and untouched', async (t) => {
  const dataDir = tmpDataDir(t)
  seedClaudeMemSettings(dataDir)
  await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, mode: 'managed', port: 6379 }), 'E_BAD_SETTINGS')
  const r = nodeEval(`require(${JSON.stringify(path.join(ROOT, 'index.js'))}).ensureQueueStoreStarted({ dataDir: ${JSON.stringify(dataDir)}, mode: 'managed' })
    .then(() => console.log('started'), (e) => console.log(e.code + ' ' + e.message))`, { env: { CLAUDE_MEM_REDIS_PORT: '6379' } })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^E_BAD_SETTINGS CLAUDE_MEM_REDIS_PORT \(environment\)/)
  for (const bad of ['abc', '70000', '80', '']) {
    const dir = tmpDataDir(t)
    const { file } = seedClaudeMemSettings(dir, { CLAUDE_MEM_REDIS_PORT: bad, CLAUDE_MEM_REDIS_MODE: 'managed' })
    const text = fs.readFileSync(file, 'utf8')
    if (bad === '') {
      // claude-mem's reader would throw on an empty port; for us it is simply unset.
      const st = await addon.queueStoreStatus({ dataDir: dir })
      assert.equal(st.running, false)
      continue
    }
    const e = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir: dir }), 'E_BAD_SETTINGS')
    assert.match(e.message, /CLAUDE_MEM_REDIS_PORT in .*settings\.json/)
    assert.equal(fs.readFileSync(file, 'utf8'), text, 'the file is never touched')
    assert.ok(!fs.existsSync(path.join(dir, 'redis')), 'nothing started or created')
  }
})

test('a user\'s own URL in settings.json is never overwritten by the managed store', { skip: !bin && 'no server installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const theirs = 'redis://:their-password@10.1.2.3:6380/2'
  const { file } = seedClaudeMemSettings(dataDir, { CLAUDE_MEM_REDIS_URL: theirs })
  const s = await addon.ensureQueueStoreStarted({ dataDir, mode: 'managed', binary: bin })
  track(s.pid)
  assert.equal(readJson(file).CLAUDE_MEM_REDIS_URL, theirs)
  assert.ok(s.notices.some((n) => n.includes('another server')), JSON.stringify(s.notices))
  assert.ok(!JSON.stringify(s.notices).includes('their-password'))
})

test('claude-mem\'s settings.json quirks: a BOM, the legacy {"env": …} layout, a symlink', { skip: !bin && 'no server installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const real = path.join(dataDir, 'real-settings.json')
  fs.writeFileSync(real, '\uFEFF' + JSON.stringify({ env: { ...claudeMemDefaults(), CLAUDE_MEM_REDIS_MODE: 'managed' } }, null, 2) + '\n')
  fs.symlinkSync(real, path.join(dataDir, 'settings.json'))
  const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
  track(s.pid)
  assert.equal(s.mode, 'managed')
  assert.ok(fs.lstatSync(path.join(dataDir, 'settings.json')).isSymbolicLink(), 'the link survives')
  const written = readJson(real)
  assert.equal(written.env.CLAUDE_MEM_REDIS_URL, s.url)
  assert.equal(written.env.CLAUDE_MEM_MODEL, claudeMemDefaults().CLAUDE_MEM_MODEL)
  assert.equal(getRedisQueueConfig(path.join(dataDir, 'settings.json'), {}).connection.port, s.connection.port)
})

test('`claude-mem-store up` on a claude-mem-seeded data dir starts the managed store, as the installer would', { skip: !bin && 'no server installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const free = await freePort()
  // The seeded port is taken by a free one so that the test never probes a real 6379.
  const { file } = seedClaudeMemSettings(dataDir, { CLAUDE_MEM_REDIS_PORT: String(free) })
  const cli = (args) => execFileSync(process.execPath, [path.join(ROOT, 'cli.js'), ...args, '--data-dir', dataDir], { encoding: 'utf8' })
  const up = JSON.parse(cli(['up', '--binary', bin, '--json']))
  track(up.status.pid)
  assert.equal(up.resolution.decision, 'managed')
  assert.equal(up.status.mode, 'managed')
  assert.equal(up.status.running, true)
  assert.equal(readJson(file).CLAUDE_MEM_REDIS_MODE, 'managed')
  assert.equal(getRedisQueueConfig(file, {}).connection.port, up.status.connection.port)
  assert.match(cli(['down']), /stopped the store/)
})
