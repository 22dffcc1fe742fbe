// Upgrades reach running stores (issue 19, item 4). A store outlives the package
// that started it, so after an upgrade it still runs the old binary. `status` says
// so (`server.outdated`, a notice), and `ensure` moves it onto the binary it would
// start now — same port, same URL in settings.json, same data — when no other
// client is connected, or at once with `restart: true`; never onto an older server.
//
// Real servers only: the binary ensure "would start now" is made a different real
// valkey-server through the `binary` option (what the package would start is the
// option, else the server that last ran the data, else the bundled or best found).
// The last test is the bundled case itself: this package's bundled Valkey taking over
// from an earlier release's bundled build (weigh's rules are covered by cargo test).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { execFile, spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { FLAVORS, MATRIX, ROOT, Redis, addon, clientFor, isAlive, stopStoreAfter, tmpDataDir, track, waitFor } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Queue, Worker } = require('bullmq')
const execFileAsync = promisify(execFile)

const key = (v) => v.split('.').map((n) => n.padStart(4, '0')).join('.')
const valkeys = MATRIX.filter((s) => s.flavor === 'valkey').sort((a, b) => key(a.version).localeCompare(key(b.version)))
// The oldest Valkey, and the next newer one (8.1 reads 8.0's data and starts fast).
const older = valkeys[0]
const newer = valkeys.find((s) => older && key(s.version) > key(older.version))
const skip = (!older || !newer) && !process.env.CI ? 'needs two Valkey versions from the server matrix (scripts/matrix/install-servers.sh)' : false

const settingsUrl = (dataDir) => JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8')).CLAUDE_MEM_REDIS_URL

/** Runs `fn` on a connection made as claude-mem makes it (settings.json's URL), then quits. */
async function asClaudeMem(dataDir, fn) {
  const c = new Redis(settingsUrl(dataDir), { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  c.on('error', () => {})
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.quit()
  }
}

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
  await asClaudeMem(dataDir, (c) => c.lpush(`${first.prefix}:lane:wait`, 'job-1'))

  const moved = await addon.ensureQueueStoreStarted({ dataDir, binary: newer.bin })
  track(moved.pid)
  assert.notEqual(moved.pid, first.pid)
  assert.equal(moved.server.version, newer.version)
  assert.equal(moved.connection.port, first.connection.port)
  assert.equal(moved.server.outdated, false)
  assert.deepEqual(await asClaudeMem(dataDir, (c) => c.lrange(`${first.prefix}:lane:wait`, 0, -1)), ['job-1'], 'the data moved with it')
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
  await asClaudeMem(dataDir, (c) => c.lpush(`${first.prefix}:lane:wait`, 'job-1'))

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
  assert.deepEqual(await asClaudeMem(dataDir, (c) => c.lrange(`${first.prefix}:lane:wait`, 0, -1)), ['job-1'], 'the data is kept')

  // The failure is remembered: the next ensures leave the store where it is instead of
  // stopping it again for a server that will not start, until restart: true tries again.
  assert.equal(JSON.parse(fs.readFileSync(path.join(dataDir, 'redis', 'move-failed.json'), 'utf8')).binary, broken)
  const again = await addon.ensureQueueStoreStarted({ dataDir, binary: broken })
  assert.equal(again.pid, after.pid, 'not stopped again')
  assert.equal(again.server.outdated, true)
  assert.ok(again.notices.some((n) => /failed\s+before/.test(n) && /E_START_FAILED/.test(n) && /--restart/.test(n)), again.notices.join('\n'))
  const retried = await addon.ensureQueueStoreStarted({ dataDir, binary: broken, restart: true })
  track(retried.pid)
  assert.notEqual(retried.pid, after.pid, 'restart: true tries the move again')
  assert.equal(retried.server.binary, older.bin, 'and falls back again')
  assert.deepEqual(await asClaudeMem(dataDir, (c) => c.lrange(`${first.prefix}:lane:wait`, 0, -1)), ['job-1'], 'the data is kept')
})

// The case the issue names: "the running server is not the one this package would start
// now (older bundled build)". A store was started by an EARLIER release's bundled Valkey,
// from a plugin dir that is still on disk; the user upgrades, and this package
// (npm/linux-x64-gnu, with its bundled Valkey at the pin) takes the store over.
//
// The earlier release's package is made of real parts, laid out as npm installs a
// platform package: its package.json and .node, and at valkey/valkey-server a real
// older Valkey (a Valkey 8 of the server matrix, copied as npm copies files) with a
// valkey-server.json beside it describing it. Its .node is this build's (the only one
// there is): it pins the bundled 9.1.2's sha256, so it would refuse the 8.x beside it
// as its bundled server (E_CHECKSUM), where the real earlier release pinned its own
// build and ran it. So the old package's addon is given its own valkey/valkey-server
// as the binary option: the same binary, from the same place, with the same data dir,
// port and passwords as that release ran it. What it records (redis/data/
// claude-mem-server.json: that path, its flavor and version, `bundled` false) reads as
// what an addon from before the `bundled` flag wrote (no such field), so the new
// package can tell the earlier bundled build only by its place (LastServer::was_bundled:
// valkey/valkey-server, valkey-server.json beside it, the addon's .node in the package
// folder; without the valkey-server.json the store is not outdated and is not moved).
// Nothing in the record is written by the test. Each package's addon runs in a child
// process, loaded through NAPI_RS_NATIVE_LIBRARY_PATH, as bundled.test.mjs loads one.
const PIN = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'build', 'valkey', 'source.json'), 'utf8')).version
const thisPackage = path.join(ROOT, 'npm', 'linux-x64-gnu')
const thisNode = path.join(thisPackage, 'claude-mem-store.linux-x64-gnu.node')
const thisBundled = path.join(thisPackage, 'valkey', 'valkey-server')
const isElf = (p) => {
  try {
    const fd = fs.openSync(fs.realpathSync(p), 'r')
    const head = Buffer.alloc(4)
    fs.readSync(fd, head, 0, 4, 0)
    fs.closeSync(fd)
    return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))
  } catch {
    return false
  }
}
// The newest real Valkey older than the pin that is a program of its own (not one of the
// matrix's wrapper scripts), as an earlier bundled build was.
// Without a matrix, the Valkey on PATH.
const earlier = (valkeys.length ? valkeys : FLAVORS.filter((f) => f.flavor === 'valkey' && f.bin)
  .map((f) => ({ ...f, version: spawnSync(f.bin, ['--version'], { encoding: 'utf8' }).stdout.match(/v=([\d.]+)/)?.[1] })))
  .filter((s) => s.version && key(s.version) < key(PIN) && isElf(s.bin))
  .sort((a, b) => key(b.version).localeCompare(key(a.version)))[0]
const skipBundled = (!fs.existsSync(thisBundled) && 'npm/linux-x64-gnu has no bundled valkey (npm run build:all)') ||
  (!earlier && `needs a Valkey older than ${PIN} (scripts/matrix/install-servers.sh)`)

/** `fn(options)` of the addon at `nodeFile`, in a child process (as that package's users load it). */
async function withPackage(nodeFile, fn, options) {
  const code = `require(${JSON.stringify(path.join(ROOT, 'index.js'))}).${fn}(${JSON.stringify(options)})
    .then((r) => ({ ok: r }), (e) => ({ error: { code: e.code, message: e.message } }))
    .then((r) => process.stdout.write(JSON.stringify(r)))`
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CLAUDE_MEM_')))
  const { stdout } = await execFileAsync(process.execPath, ['-e', code], { env: { ...env, NAPI_RS_NATIVE_LIBRARY_PATH: nodeFile }, timeout: 60000 })
  const r = JSON.parse(stdout)
  assert.equal(r.error, undefined, `${fn} with ${nodeFile}: ${JSON.stringify(r.error)}`)
  return r.ok
}

test('an earlier release\'s bundled Valkey (its plugin dir still on disk): status says outdated; ensure with no binary moves the store onto this package\'s bundled Valkey, same port and URL, the queued job kept; never back', { skip: skipBundled && !process.env.CI ? skipBundled : false, timeout: 120000 }, async (t) => {
  assert.ok(!skipBundled, skipBundled)
  // The earlier release's platform package, in a plugin dir still on disk.
  const oldPackage = path.join(tmpDataDir(t), 'plugins', 'claude-mem', '0.9.0', 'node_modules', 'claude-mem-store-linux-x64-gnu')
  fs.mkdirSync(path.join(oldPackage, 'valkey'), { recursive: true })
  fs.copyFileSync(path.join(thisPackage, 'package.json'), path.join(oldPackage, 'package.json'))
  const oldNode = path.join(oldPackage, path.basename(thisNode))
  fs.copyFileSync(thisNode, oldNode)
  const oldBundled = path.join(oldPackage, 'valkey', 'valkey-server')
  fs.copyFileSync(fs.realpathSync(earlier.bin), oldBundled)
  fs.chmodSync(oldBundled, 0o755)
  const oldSha = crypto.createHash('sha256').update(fs.readFileSync(oldBundled)).digest('hex')
  fs.writeFileSync(path.join(oldPackage, 'valkey', 'valkey-server.json'), JSON.stringify({
    name: 'valkey', version: earlier.version, platform: 'linux-x64', sha256: oldSha, size: fs.statSync(oldBundled).size,
    source: { upstream: `valkey-io/valkey ${earlier.version}`, from: earlier.source ?? earlier.bin },
    build: 'a stand-in for an earlier release\'s bundled build (__test__/upgrade.test.mjs)',
  }, null, 2))

  const dataDir = tmpDataDir(t)
  stopStoreAfter(t, dataDir)
  const first = await withPackage(oldNode, 'ensureQueueStoreStarted', { dataDir, binary: oldBundled })
  track(first.pid)
  assert.equal(first.started, true)
  assert.equal(first.server.binary, oldBundled)
  assert.equal(first.server.version, earlier.version)
  assert.equal(first.server.bundled, true, 'the old package\'s addon reports the server beside its .node as its bundled one')
  const recorded = JSON.parse(fs.readFileSync(path.join(dataDir, 'redis', 'data', 'claude-mem-server.json'), 'utf8'))
  assert.deepEqual({ ...recorded, bundled: recorded.bundled ?? false }, { binary: oldBundled, flavor: 'valkey', version: earlier.version, bundled: false },
    'a record as an addon from before the bundled flag wrote it: only the place says it is a bundled build')
  const url = settingsUrl(dataDir)
  const oldInfo = await infoServer(t, dataDir, first)
  assert.equal(oldInfo.executable, oldBundled)

  // Keys and a BullMQ job written as the client user (claude-mem's URL) before the upgrade;
  // then every client goes, as when claude-mem's worker is restarted by its own upgrade.
  const name = `cms-upgrade-bundled-${process.pid}`
  {
    const connection = new Redis(url, { maxRetriesPerRequest: null })
    connection.on('error', () => {})
    const queue = new Queue(name, { connection, prefix: first.prefix })
    try {
      await queue.add('keep-me', { n: 21 }, { jobId: 'keep-me' })
      await connection.set(`${first.prefix}:marker`, 'written-by-the-old-server')
    } finally {
      await queue.close().catch(() => {})
      connection.disconnect()
    }
  }

  // After the upgrade: this package would start its own bundled Valkey, so status says the store is outdated.
  const status = await withPackage(thisNode, 'queueStoreStatus', { dataDir })
  assert.equal(status.pid, first.pid)
  assert.equal(status.server.outdated, true, JSON.stringify(status.server))
  assert.ok(!status.server.bundled, 'not this package\'s bundled server')
  const notice = status.notices.find((n) => /would start now/.test(n))
  assert.ok(notice, status.notices.join('\n'))
  assert.ok(notice.includes(`valkey ${earlier.version} (${oldBundled}, sha256 ${oldSha.slice(0, 12)}`), notice)
  assert.ok(notice.includes(`valkey ${PIN} (${thisBundled}`), notice)
  assert.match(notice, /up --restart/)
  assert.doesNotMatch(notice, /not moved/)

  // ensure, no binary option, no other client: the store moves onto this package's bundled Valkey.
  await waitFor(async () => (await withPackage(thisNode, 'queueStoreStatus', { dataDir })).clients === 0, 'the test\'s BullMQ clients to be gone', 15000)
  const moved = await withPackage(thisNode, 'ensureQueueStoreStarted', { dataDir })
  track(moved.pid)
  assert.notEqual(moved.pid, first.pid, 'a new server')
  assert.equal(moved.started, true)
  assert.equal(moved.server.binary, thisBundled)
  assert.equal(moved.server.version, PIN)
  assert.equal(moved.server.bundled, true)
  assert.equal(moved.server.outdated, false)
  assert.equal(moved.connection.port, first.connection.port, 'the same port')
  assert.equal(settingsUrl(dataDir), url, 'the same URL in settings.json')
  assert.deepEqual(moved.checks.filter((c) => !c.ok && c.code), [], 'every check passes')
  assert.ok(moved.notices.some((n) => /moved from/.test(n) && n.includes(oldBundled) && n.includes(thisBundled)), moved.notices.join('\n'))
  await waitFor(() => !isAlive(first.pid), 'the old server to have exited')
  const newInfo = await infoServer(t, dataDir, moved)
  assert.equal(Number(newInfo.process_id), moved.pid)
  assert.equal(newInfo.executable, thisBundled, 'INFO server names this package\'s valkey-server')
  assert.equal(newInfo.valkey_version ?? newInfo.redis_version, PIN)
  assert.notEqual(newInfo.run_id, oldInfo.run_id)
  assert.equal(JSON.parse(fs.readFileSync(path.join(dataDir, 'redis', 'data', 'claude-mem-server.json'), 'utf8')).bundled, true)

  // What was written before the move is there, and a Worker processes the job after it.
  const connection = new Redis(url, { maxRetriesPerRequest: null })
  connection.on('error', () => {})
  const queue = new Queue(name, { connection, prefix: first.prefix })
  let worker
  try {
    assert.equal(await connection.get(`${first.prefix}:marker`), 'written-by-the-old-server')
    const job = await queue.getJob('keep-me')
    assert.ok(job, 'the job survived the move')
    assert.equal(await job.getState(), 'waiting')
    worker = new Worker(name, async (j) => j.data.n * 2, { connection, prefix: first.prefix })
    await waitFor(async () => (await queue.getJob('keep-me'))?.finishedOn, 'the job to be processed', 15000)
    const done = await queue.getJob('keep-me')
    assert.equal(await done.getState(), 'completed')
    assert.equal(done.returnvalue, 42)
  } finally {
    await worker?.close().catch(() => {})
    await queue.close().catch(() => {})
    connection.disconnect()
  }

  const after = await withPackage(thisNode, 'queueStoreStatus', { dataDir })
  assert.equal(after.pid, moved.pid)
  assert.equal(after.server.outdated, false, after.notices.join('\n'))
  assert.equal(after.server.bundled, true)

  // Never back. The old plugin dir is still there: its addon, still loaded by some old
  // process, keeps the store on the newer server that last ran the data (its own 8.x is
  // never run: a real earlier release would pass it over as older; this build's copy
  // also refuses it by its pin) …
  const fromOld = await withPackage(oldNode, 'ensureQueueStoreStarted', { dataDir })
  assert.equal(fromOld.pid, moved.pid, 'the same server')
  assert.equal(fromOld.started, false)
  assert.equal(fromOld.server.binary, thisBundled)
  assert.equal(fromOld.server.version, PIN)
  // … and this package, asked outright to run the old bundled build, even with restart: true,
  // says it is older and leaves the store where it is.
  const toOld = await withPackage(thisNode, 'queueStoreStatus', { dataDir, binary: oldBundled })
  assert.equal(toOld.server.outdated, true)
  assert.ok(toOld.notices.some((n) => /not moved: that server is older/.test(n)), toOld.notices.join('\n'))
  const kept = await withPackage(thisNode, 'ensureQueueStoreStarted', { dataDir, binary: oldBundled, restart: true })
  assert.equal(kept.pid, moved.pid, 'the same server')
  assert.equal(kept.started, false)
  assert.equal(kept.server.version, PIN)
  assert.equal(kept.server.binary, thisBundled)
  assert.ok(kept.notices.some((n) => /not moved: that server is older/.test(n)), kept.notices.join('\n'))
  assert.equal((await infoServer(t, dataDir, kept)).executable, thisBundled)
  assert.equal(JSON.parse(fs.readFileSync(path.join(dataDir, 'redis', 'data', 'claude-mem-server.json'), 'utf8')).binary, thisBundled)
})
