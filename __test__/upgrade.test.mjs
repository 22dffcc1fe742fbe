// Upgrades reach running stores (issue 19, item 4). A store outlives the package
// that started it, so after an upgrade it still runs the old binary. `status` says
// so (`server.outdated`, a notice), and `ensure` moves it onto the binary it would
// start now — same port, same URL in settings.json, same data — when no other
// client is connected, or at once with `restart: true`; never onto an older server.
//
// Real servers only: the binary ensure "would start now" is made a different real
// valkey-server through the `binary` option (what the package would start is the
// option, else the server that last ran the data, else the bundled or best found;
// the bundled-build preference itself is covered by cargo test).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { MATRIX, ROOT, Redis, addon, clientFor, isAlive, stopStoreAfter, tmpDataDir, track, waitFor } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Queue, Worker } = require('bullmq')

const key = (v) => v.split('.').map((n) => n.padStart(4, '0')).join('.')
const valkeys = MATRIX.filter((s) => s.flavor === 'valkey').sort((a, b) => key(a.version).localeCompare(key(b.version)))
// The oldest Valkey, and the next newer one (8.1 reads 8.0's data and starts fast).
const older = valkeys[0]
const newer = valkeys.find((s) => older && key(s.version) > key(older.version))
const skip = (!older || !newer) && !process.env.CI ? 'needs two Valkey versions from the server matrix (scripts/matrix/install-servers.sh)' : false

const settingsUrl = (dataDir) => JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8')).CLAUDE_MEM_REDIS_URL

async function infoServer(t, dataDir, status) {
  const admin = clientFor(t, status, { admin: dataDir })
  await admin.connect()
  const fields = Object.fromEntries((await admin.info('server')).split(/\r?\n/).filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]))
  admin.disconnect()
  return fields
}

test('an outdated store: status says so; ensure leaves it while a client is connected, and moves it with restart: true (same port and URL, the queued job kept and processed)', { skip, timeout: 120000 }, async (t) => {
  const dataDir = tmpDataDir(t)
  stopStoreAfter(t, dataDir)
  const first = await addon.ensureQueueStoreStarted({ dataDir, binary: older.bin })
  track(first.pid)
  assert.equal(first.started, true)
  assert.equal(first.server.outdated, false, 'a store this call started runs what it would start')
  const url = settingsUrl(dataDir)
  const oldInfo = await infoServer(t, dataDir, first)

  // Without a binary option ensure would start the server that last ran the data: not outdated.
  const same = await addon.queueStoreStatus({ dataDir })
  assert.equal(same.server.outdated, false, JSON.stringify(same.server))
  assert.ok(!same.notices.some((n) => /would start now/.test(n)), same.notices.join('\n'))

  // Another binary is what would start now: status says so, and how to move.
  const outdated = await addon.queueStoreStatus({ dataDir, binary: newer.bin })
  assert.equal(outdated.server.outdated, true)
  const notice = outdated.notices.find((n) => /would start now/.test(n))
  assert.ok(notice, outdated.notices.join('\n'))
  assert.ok(notice.includes(`valkey ${older.version} (${older.bin}`), notice)
  assert.ok(notice.includes(`valkey ${newer.version} (${newer.bin}`), notice)
  assert.match(notice, /up --restart/)
  assert.equal(outdated.pid, first.pid, 'status moved nothing')

  // A job is queued, and BullMQ stays connected (as claude-mem's processes do).
  const connection = new Redis(url, { maxRetriesPerRequest: null })
  connection.on('error', () => {})
  const name = `cms-upgrade-${process.pid}`
  const queue = new Queue(name, { connection, prefix: first.prefix })
  let worker, moved
  // Closed in this order before the test's end (its after hooks stop the store, and a
  // BullMQ client closing against a stopped store waits for it forever).
  const closeBullmq = async () => {
    await worker?.close().catch(() => {})
    await queue.close().catch(() => {})
    connection.disconnect()
  }
  try {
    const job = await queue.add('keep-me', { n: 21 })

    // Another client is connected: ensure does not move the store, and says why.
    const kept = await addon.ensureQueueStoreStarted({ dataDir, binary: newer.bin })
    assert.equal(kept.pid, first.pid, 'the same server')
    assert.equal(kept.started, false)
    assert.equal(kept.server.outdated, true)
    assert.ok(kept.notices.some((n) => /other clients? (is|are) connected/.test(n) && n.includes('--restart')), kept.notices.join('\n'))

    // restart: true moves it at once: a new server from the new binary, same port and URL.
    moved = await addon.ensureQueueStoreStarted({ dataDir, binary: newer.bin, restart: true })
    track(moved.pid)
    assert.notEqual(moved.pid, first.pid, 'a new server')
    assert.equal(moved.started, true)
    assert.equal(moved.server.outdated, false)
    assert.equal(moved.server.version, newer.version)
    assert.equal(moved.server.binary, newer.bin)
    assert.equal(moved.connection.port, first.connection.port, 'the same port')
    assert.equal(settingsUrl(dataDir), url, 'the same URL in settings.json: claude-mem\'s connection stays right')
    assert.deepEqual(moved.checks.filter((c) => !c.ok && c.code), [], 'every check passes')
    assert.ok(moved.notices.some((n) => /moved from/.test(n)), moved.notices.join('\n'))
    await waitFor(() => !isAlive(first.pid), 'the old server to have exited')
    const newInfo = await infoServer(t, dataDir, moved)
    assert.equal(Number(newInfo.process_id), moved.pid)
    assert.equal(newInfo.valkey_version ?? newInfo.redis_version, newer.version)
    assert.notEqual(newInfo.run_id, oldInfo.run_id)
    assert.notEqual(newInfo.executable, oldInfo.executable, `INFO server names the new executable (${newInfo.executable})`)
    assert.equal(fs.realpathSync(`/proc/${moved.pid}/cwd`).startsWith(fs.realpathSync(dataDir)), true)

    // The job queued before the move is there, and a Worker processes it after.
    const again = await queue.getJob(job.id)
    assert.ok(again, 'the job survived the move')
    assert.equal(await again.getState(), 'waiting')
    worker = new Worker(name, async (j) => j.data.n * 2, { connection, prefix: first.prefix })
    // Asked of the job itself: an event stream read from "now" could miss a job done at once.
    await waitFor(async () => (await queue.getJob(job.id))?.finishedOn, 'the job to be processed', 15000)
    const done = await queue.getJob(job.id)
    assert.equal(await done.getState(), 'completed')
    assert.equal(done.returnvalue, 42)
  } finally {
    await closeBullmq()
  }

  // What runs now is what would start: not outdated, with or without the option.
  for (const options of [{ dataDir, binary: newer.bin }, { dataDir }]) {
    const s = await addon.queueStoreStatus(options)
    assert.equal(s.server.outdated, false, JSON.stringify(options))
    assert.equal(s.pid, moved.pid)
  }
})

test('with no other client connected, the next ensure moves an outdated store by itself, with its data', { skip, timeout: 60000 }, async (t) => {
  const dataDir = tmpDataDir(t)
  stopStoreAfter(t, dataDir)
  const first = await addon.ensureQueueStoreStarted({ dataDir, binary: older.bin })
  track(first.pid)
  const writer = new Redis(settingsUrl(dataDir), { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  writer.on('error', () => {})
  await writer.connect()
  await writer.lpush(`${first.prefix}:lane:wait`, 'job-1')
  await writer.quit()

  const moved = await addon.ensureQueueStoreStarted({ dataDir, binary: newer.bin })
  track(moved.pid)
  assert.notEqual(moved.pid, first.pid)
  assert.equal(moved.server.version, newer.version)
  assert.equal(moved.connection.port, first.connection.port)
  assert.equal(moved.server.outdated, false)
  const reader = new Redis(settingsUrl(dataDir), { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  reader.on('error', () => {})
  await reader.connect()
  assert.deepEqual(await reader.lrange(`${first.prefix}:lane:wait`, 0, -1), ['job-1'], 'the data moved with it')
  await reader.quit()
})

test('a store running a newer server than would start now is never moved onto the older one, not even with restart: true', { skip, timeout: 60000 }, async (t) => {
  const dataDir = tmpDataDir(t)
  stopStoreAfter(t, dataDir)
  const first = await addon.ensureQueueStoreStarted({ dataDir, binary: newer.bin })
  track(first.pid)

  const status = await addon.queueStoreStatus({ dataDir, binary: older.bin })
  assert.equal(status.server.outdated, true)
  const notice = status.notices.find((n) => /would start now/.test(n))
  assert.match(notice, /not moved: that server is older/)
  assert.doesNotMatch(notice, /--restart/)

  const kept = await addon.ensureQueueStoreStarted({ dataDir, binary: older.bin, restart: true })
  assert.equal(kept.pid, first.pid, 'the same server')
  assert.equal(kept.started, false)
  assert.equal(kept.server.version, newer.version, 'still the newer server')
  assert.equal(kept.server.outdated, true)
  assert.ok(kept.notices.some((n) => /not moved: that server is older/.test(n)), kept.notices.join('\n'))
  assert.ok(isAlive(first.pid))
})

test('the CLI: status marks an outdated store and says how to move it; up --restart moves it', { skip, timeout: 60000 }, async (t) => {
  const dataDir = tmpDataDir(t)
  stopStoreAfter(t, dataDir)
  const first = await addon.ensureQueueStoreStarted({ dataDir, binary: older.bin })
  track(first.pid)
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CLAUDE_MEM_')))
  const cli = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'cli.js'), ...args, '--data-dir', dataDir, '--binary', newer.bin], { env, encoding: 'utf8', timeout: 30000 })

  const status = cli('status')
  assert.equal(status.status, 0, status.stderr)
  assert.match(status.stdout, /^Store: managed Valkey .* \(outdated: see the note\)$/m)
  assert.match(status.stdout, /^Note: the store runs valkey .*up --restart/m)

  const up = cli('up', '--restart', '--json')
  assert.equal(up.status, 0, up.stderr)
  const moved = JSON.parse(up.stdout).status
  track(moved.pid)
  assert.notEqual(moved.pid, first.pid)
  assert.equal(moved.started, true)
  assert.equal(moved.server.version, newer.version)
  assert.equal(moved.server.outdated, false)
  assert.equal(moved.connection.port, first.connection.port)
})

test('a binary replaced in place (same path, as npm updates a package) is told by its sha256; a pid record from before the sha256 was kept, by the running image\'s deleted file', { skip, timeout: 60000 }, async (t) => {
  const dataDir = tmpDataDir(t)
  stopStoreAfter(t, dataDir)
  const bin = path.join(dataDir, 'plugin', 'valkey-server')
  fs.mkdirSync(path.dirname(bin))
  // A new file at the path, as npm installs one (it replaces files; it does not write into them).
  const install = (from) => {
    fs.rmSync(bin, { force: true })
    fs.copyFileSync(from, bin)
    fs.chmodSync(bin, 0o755)
  }
  install(older.bin)
  const first = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
  track(first.pid)
  const pidFile = path.join(dataDir, 'redis', 'redis.pid')
  const record = JSON.parse(fs.readFileSync(pidFile, 'utf8'))
  assert.match(record.sha256, /^[0-9a-f]{64}$/, 'the pid record keeps the started binary\'s sha256')

  // The same content again: not outdated (the sha256 is the same; only the file is new).
  install(older.bin)
  assert.equal((await addon.queueStoreStatus({ dataDir })).server.outdated, false)

  // A record written before the sha256 was kept: the running image's file was replaced, so it is outdated.
  const { sha256, ...old } = record
  fs.writeFileSync(pidFile, JSON.stringify(old))
  const legacy = await addon.queueStoreStatus({ dataDir })
  assert.equal(legacy.server.outdated, true, legacy.notices.join('\n'))

  // Another build at the same path: the next ensure (nobody else connected) moves the store onto it.
  install(newer.bin)
  const moved = await addon.ensureQueueStoreStarted({ dataDir })
  track(moved.pid)
  assert.notEqual(moved.pid, first.pid)
  assert.equal(moved.server.binary, bin)
  assert.equal(moved.server.version, newer.version)
  assert.equal(moved.server.outdated, false)
  assert.equal(moved.connection.port, first.connection.port)
  assert.notEqual(JSON.parse(fs.readFileSync(pidFile, 'utf8')).sha256, sha256)
})

test('a new server that fails to start: the store is started again on its old binary, with its data, and a notice says why', { skip, timeout: 60000 }, async (t) => {
  const dataDir = tmpDataDir(t)
  stopStoreAfter(t, dataDir)
  const first = await addon.ensureQueueStoreStarted({ dataDir, binary: older.bin })
  track(first.pid)
  const writer = new Redis(settingsUrl(dataDir), { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  writer.on('error', () => {})
  await writer.connect()
  await writer.lpush(`${first.prefix}:lane:wait`, 'job-1')
  await writer.quit()

  // Says it is a newer Valkey, but cannot run as a server.
  const broken = path.join(dataDir, 'broken-valkey-server')
  fs.writeFileSync(broken, '#!/bin/sh\nif [ "$1" = --version ]; then echo "Valkey server v=99.0.0 sha=0:0 malloc=libc"; exit 0; fi\necho "cannot start" >&2\nexit 1\n')
  fs.chmodSync(broken, 0o755)
  const after = await addon.ensureQueueStoreStarted({ dataDir, binary: broken, restart: true })
  track(after.pid)
  assert.equal(after.server.version, older.version, 'the old server runs again')
  assert.equal(after.server.binary, older.bin)
  assert.equal(after.server.outdated, true)
  assert.equal(after.connection.port, first.connection.port)
  assert.ok(after.notices.some((n) => /could not move/.test(n) && /E_START_FAILED/.test(n)), after.notices.join('\n'))
  assert.deepEqual(after.checks.filter((c) => !c.ok && c.code), [])
  const reader = new Redis(settingsUrl(dataDir), { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  reader.on('error', () => {})
  await reader.connect()
  assert.deepEqual(await reader.lrange(`${first.prefix}:lane:wait`, 0, -1), ['job-1'], 'the data is kept')
  await reader.quit()
})
