// The store's two ACL users (src/server/acl.rs). The client password, the one in
// settings.json (claude-mem serves that file unauthenticated on loopback), may run
// only what BullMQ needs: on every server of the matrix, every command in the
// refused list answers NOPERM to it, while real BullMQ 5 and 6 jobs run through it.
// The addon's own password (redis/admin-secret, 0600) never leaves the data dir.
// A store an earlier version started with one password for everything is given
// its two users on adoption, live: its connected worker keeps its connection and
// its jobs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import { addon, FLAVORS, MATRIX, ROOT, clientFor, tmpDataDir, track } from './helpers.mjs'

const require = createRequire(import.meta.url)
const SERVERS = MATRIX.length ? MATRIX : FLAVORS.filter((f) => f.bin).map((f) => ({ id: f.id, flavor: f.flavor, bin: f.bin }))
const jobs = path.join(ROOT, '__test__', 'fixtures', 'bullmq-jobs.mjs')

// Each refused command with arguments of the right arity: the server checks the
// arity before the ACL, and a wrong one would answer ERR, not NOPERM.
const REFUSED = [
  ['RESTORE', 'k', '0', 'x'], ['MIGRATE', '127.0.0.1', '1', 'k', '0', '1000'], ['DEBUG', 'SLEEP', '0'],
  ['MODULE', 'LIST'], ['CONFIG', 'SET', 'maxmemory', '0'], ['CONFIG', 'REWRITE'], ['CONFIG', 'RESETSTAT'],
  ['CONFIG', 'GET', 'maxmemory'], ['REPLICAOF', 'NO', 'ONE'], ['SLAVEOF', 'NO', 'ONE'], ['SYNC'],
  ['PSYNC', '?', '-1'], ['SHUTDOWN', 'NOSAVE'], ['ACL', 'LIST'], ['ACL', 'SETUSER', 'x'], ['FLUSHALL'],
  ['FLUSHDB'], ['CLIENT', 'KILL', 'ID', '999999'], ['MONITOR'], ['SAVE'], ['BGSAVE'], ['BGREWRITEAOF'],
  ['SCRIPT', 'FLUSH'], ['SCRIPT', 'KILL'], ['FUNCTION', 'LIST'], ['SWAPDB', '0', '1'], ['FAILOVER'], ['KEYS', '*'],
]

const settingsUrl = (dataDir) => JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8')).CLAUDE_MEM_REDIS_URL

async function asClient(t, url) {
  const c = clientFor(t, url)
  await c.connect()
  return c
}

for (const server of SERVERS) {
  test(`${server.id}: the client password is refused every listed command (NOPERM) and runs BullMQ 5 and 6; the admin password stays in the data dir`, { timeout: 180000 }, async (t) => {
    const dataDir = tmpDataDir(t)
    const s = await addon.ensureQueueStoreStarted({ dataDir, binary: server.bin })
    track(s.pid)
    const url = settingsUrl(dataDir)
    assert.equal(url, s.url, 'status.url is the client password\'s URL')
    const client = await asClient(t, url)
    // DEBUG and MODULE are refused to every user before the ACL is asked (the
    // servers' enable-debug-command / enable-module-command default "no").
    const disabled = (argv, e) => ['DEBUG', 'MODULE'].includes(argv[0]) && /not allowed.*enable-(debug|module)-command/i.test(e.message)
    for (const argv of REFUSED) {
      await assert.rejects(client.call(...argv), (e) => /^NOPERM/.test(e.message) || disabled(argv, e), `${argv.join(' ')} must be refused`)
    }
    assert.equal(await client.ping(), 'PONG', 'the connection is still usable')

    const adminFile = path.join(dataDir, 'redis', 'admin-secret')
    assert.equal(fs.statSync(adminFile).mode & 0o777, 0o600)
    const admin = fs.readFileSync(adminFile, 'utf8').trim()
    const status = JSON.stringify(await addon.queueStoreStatus({ dataDir }))
    for (const text of [fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8'), status]) {
      assert.ok(!text.includes(admin), 'the admin password is in neither settings.json nor the status')
    }
    const adminClient = clientFor(t, s, { admin: dataDir })
    assert.equal(await adminClient.call('ACL', 'WHOAMI'), 'claude-mem-store')

    const noperm = async () => Number(/errorstat_NOPERM:count=(\d+)/.exec(await adminClient.info('errorstats'))?.[1] ?? 0)
    const refusedSoFar = await noperm()
    assert.ok(refusedSoFar >= REFUSED.length - 2, `the refusals are counted (${refusedSoFar})`)
    for (const [pkg, driver] of [['bullmq', 'ioredis'], ['bullmq6', 'ioredis'], ['bullmq6', 'node-redis']]) {
      const r = spawnSync(process.execPath, [jobs, dataDir, pkg, driver], { encoding: 'utf8', timeout: 90000 })
      assert.equal(r.status, 0, `${pkg} through ${driver}: ${r.stderr}`)
      const out = JSON.parse(r.stdout.trim().split('\n').pop())
      assert.deepEqual([out.completed, out.failed, out.completedEvents], [22, 0, 22], `${pkg} through ${driver}`)
    }
    assert.equal(await noperm(), refusedSoFar, 'BullMQ 5 and 6 met no NOPERM')
    await addon.stopQueueStore({ dataDir, force: true })
  })
}

test('a store with one password for everything (an earlier version\'s) gets its two users on adoption: its worker keeps its connection and jobs', { skip: !SERVERS.length && 'no server installed', timeout: 120000 }, async (t) => {
  const { Queue, Worker } = require('bullmq')
  const dataDir = tmpDataDir(t)
  const s = await addon.ensureQueueStoreStarted({ dataDir, binary: SERVERS[0].bin })
  track(s.pid)
  const url = settingsUrl(dataDir)
  // What an earlier version left: `default` may run everything, no admin user, no
  // admin-secret file.
  const admin = clientFor(t, s, { admin: dataDir })
  await admin.call('ACL', 'SETUSER', 'default', 'reset', 'on', `>${new URL(url).password}`, '~*', '&*', '+@all')
  await admin.call('ACL', 'DELUSER', 'claude-mem-store')
  fs.rmSync(path.join(dataDir, 'redis', 'admin-secret'))

  // claude-mem's worker, connected with the URL it has, and a job waiting.
  const connection = { ...s.connection, maxRetriesPerRequest: null }
  const queue = new Queue('lane', { connection, prefix: s.prefix })
  t.after(() => queue.close())
  const before = await asClient(t, url)
  assert.equal(await before.call('CONFIG', 'GET', 'maxmemory').then(() => 'allowed'), 'allowed', 'one password for everything')
  // CLIENT INFO, not CLIENT ID: the latter is not in the client user's allow-list.
  const connectionId = async (c) => /id=(\d+)/.exec(await c.call('CLIENT', 'INFO'))[1]
  const clientId = await connectionId(before)
  await queue.add('kept', { n: 1 })

  const adopted = await addon.ensureQueueStoreStarted({ dataDir })
  assert.equal(adopted.pid, s.pid, 'the same server: no restart')
  assert.equal(adopted.url, url, 'claude-mem\'s URL is unchanged')
  assert.ok(adopted.notices.some((n) => /one password for everything/.test(n)), JSON.stringify(adopted.notices))
  assert.ok(fs.existsSync(path.join(dataDir, 'redis', 'admin-secret')))

  // The connection made before stays open and is restricted from its next command.
  assert.equal(await connectionId(before), clientId, 'the same connection')
  await assert.rejects(before.call('CONFIG', 'GET', 'maxmemory'), /NOPERM/)
  const done = []
  const worker = new Worker('lane', async (job) => { done.push(job.name) }, { connection, prefix: s.prefix })
  t.after(() => worker.close())
  await new Promise((resolve, reject) => {
    worker.on('completed', resolve)
    worker.on('failed', (_, e) => reject(e))
  })
  assert.deepEqual(done, ['kept'], 'the job queued before the change is processed after it')
  await worker.close()
  await queue.close()
  await before.quit()
  assert.equal((await addon.stopQueueStore({ dataDir })).stopped, true, 'the admin user stops it')
})
