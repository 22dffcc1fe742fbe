// The managed store against real servers: start, adopt, stop, crash recovery,
// ownership (recycled pids), port squatters, races, bad settings, NOAUTH.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {
  addon, FLAVORS, SERVERS, ROOT, Redis, clientFor, isAlive, killAndWait, readPid, recordOutcome, rejectsWithCode,
  startServer, stopStoreAfter, tmpDataDir, track, waitFor,
} from './helpers.mjs'

const mode = (p) => fs.statSync(p).mode & 0o777

for (const { id, flavor, bin } of SERVERS) {
  describe(`managed store on ${id}`, { skip: !bin && `${flavor}-server is not installed` }, () => {
    test('starts, adopts, reports and stops a private server', async (t) => {
      const dataDir = tmpDataDir(t)
      stopStoreAfter(t, dataDir)
      const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
      track(s.pid)
      assert.equal(s.running, true)
      assert.equal(s.owned, true)
      assert.equal(s.started, true)
      assert.equal(s.mode, 'managed')
      assert.equal(s.server.flavor, flavor)
      assert.equal(s.persistence, 'AOF everysec')
      assert.equal(s.policy, 'noeviction')
      assert.ok(isAlive(s.pid))
      assert.notEqual(s.connection.port, 6379)
      assert.equal(s.connection.host, '127.0.0.1')
      assert.match(s.url, new RegExp(`^redis://:[0-9a-f]{64}@127\\.0\\.0\\.1:${s.connection.port}$`))
      assert.equal(s.redactedUrl, `redis://:***@127.0.0.1:${s.connection.port}`)
      assert.ok(s.checks.length >= 4 && s.checks.every((c) => c.ok), JSON.stringify(s.checks))

      // Files: private config, secret and pid file; private dirs.
      for (const f of [s.paths.config, s.paths.pidFile, path.join(dataDir, 'redis', 'secret'), s.paths.logFile]) {
        assert.equal(mode(f), 0o600, f)
      }
      assert.equal(mode(path.join(dataDir, 'redis')), 0o700)
      assert.equal(mode(s.paths.data), 0o700)
      assert.match(path.basename(s.paths.logFile), /^redis-\d{4}-\d{2}-\d{2}\.log$/)
      const pidRecord = JSON.parse(fs.readFileSync(s.paths.pidFile, 'utf8'))
      for (const k of ['pid', 'port', 'startedAt', 'startToken', 'runId', 'binary', 'version']) assert.ok(k in pidRecord, k)
      assert.equal(pidRecord.pid, s.pid)
      const config = fs.readFileSync(s.paths.config, 'utf8')
      for (const line of ['protected-mode yes', 'appendonly yes', 'appendfsync everysec', 'save 60 1', 'maxmemory-policy noeviction', 'daemonize no']) {
        assert.ok(config.split('\n').includes(line), line)
      }
      assert.match(config, /^bind 127\.0\.0\.1( ::1)?$/m)
      // The password is read from the config file: never on the server's command line.
      const argv = fs.readFileSync(`/proc/${s.pid}/cmdline`, 'utf8')
      assert.ok(!argv.includes(s.connection.password), 'password not in argv')

      // settings.json: mode, host, the allocated port, and the URL with the
      // password that claude-mem's own runtime connects with; so it is 0600.
      const settings = JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8'))
      assert.deepEqual(settings, {
        CLAUDE_MEM_REDIS_MODE: 'managed',
        CLAUDE_MEM_REDIS_HOST: '127.0.0.1',
        CLAUDE_MEM_REDIS_PORT: String(s.connection.port),
        CLAUDE_MEM_REDIS_URL: s.url,
      })
      assert.equal(mode(path.join(dataDir, 'settings.json')), 0o600)

      // The connection works for a real client as it is.
      const c = clientFor(t, s)
      await c.set('k', 'v')
      assert.equal(await c.get('k'), 'v')

      // A second ensure adopts the same server.
      const again = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
      assert.equal(again.pid, s.pid)
      assert.equal(again.started, false)
      assert.equal(again.connection.port, s.connection.port)

      const st = await addon.queueStoreStatus({ dataDir })
      assert.equal(st.running, true)
      assert.equal(st.owned, true)
      assert.equal(st.pid, s.pid)
      assert.equal(st.server.flavor, flavor)

      // A store another client uses is left running (the server's own client list).
      assert.equal(st.clients, 1, 'the test\'s own ioredis client')
      const busy = await addon.stopQueueStore({ dataDir })
      assert.equal(busy.stopped, false)
      assert.equal(busy.code, 'E_STORE_IN_USE')
      assert.equal(busy.clients, 1)
      assert.equal(isAlive(s.pid), true)
      await c.quit()

      const stop = await addon.stopQueueStore({ dataDir })
      assert.equal(stop.stopped, true, stop.message)
      assert.equal(stop.wasRunning, true)
      assert.equal(stop.pid, s.pid)
      assert.equal(stop.method, 'shutdown')
      assert.equal(isAlive(s.pid), false)
      assert.equal(fs.existsSync(s.paths.pidFile), false)

      const after = await addon.queueStoreStatus({ dataDir })
      assert.equal(after.running, false)
      const stopAgain = await addon.stopQueueStore({ dataDir })
      assert.equal(stopAgain.stopped, false)
      assert.equal(stopAgain.wasRunning, false)
    })

    test('a client without the password gets NOAUTH', async (t) => {
      const dataDir = tmpDataDir(t)
      stopStoreAfter(t, dataDir)
      const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
      const anon = new Redis({ host: '127.0.0.1', port: s.connection.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null })
      anon.on('error', () => {})
      t.after(() => anon.disconnect())
      await anon.connect()
      await assert.rejects(anon.get('k'), /NOAUTH/)
      const wrong = new Redis({ host: '127.0.0.1', port: s.connection.port, password: 'wrong', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      const seen = []
      wrong.on('error', (e) => seen.push(e.message))
      t.after(() => wrong.disconnect())
      await assert.rejects(wrong.connect())
      assert.ok(seen.some((m) => /WRONGPASS|invalid password/.test(m)), JSON.stringify(seen))
    })

    test('after SIGKILL the next ensure restarts it on the same port with its data', async (t) => {
      const dataDir = tmpDataDir(t)
      stopStoreAfter(t, dataDir)
      const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
      const c = clientFor(t, s)
      const pipeline = c.pipeline()
      for (let i = 0; i < 1000; i++) pipeline.set(`old:${i}`, String(i))
      await pipeline.exec()
      // The guarantee (appendfsync everysec) covers writes at least 2 s old: let the
      // server's own clock pass that mark before the kill. This is the scenario's
      // precondition, not a wait for an event.
      const [written] = await c.time()
      await waitFor(async () => Number((await c.time())[0]) >= Number(written) + 2, 'writes to be 2 s old', 5000)
      c.disconnect()
      process.kill(s.pid, 'SIGKILL')
      await waitFor(() => !isAlive(s.pid), 'the killed server to be gone')

      const st = await addon.queueStoreStatus({ dataDir })
      assert.equal(st.running, false)

      const r = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
      assert.notEqual(r.pid, s.pid)
      assert.equal(r.started, true)
      assert.equal(r.connection.port, s.connection.port, 'same port')
      assert.ok(r.notices.some((n) => n.includes('had exited')), JSON.stringify(r.notices))
      const c2 = clientFor(t, r, { admin: dataDir }) // MGET: not in the client user's allow-list
      const values = await c2.mget(...Array.from({ length: 1000 }, (_, i) => `old:${i}`))
      const kept = values.filter((v, i) => v === String(i)).length
      assert.equal(kept, 1000, 'every key written ≥ 2 s before the kill')
      recordOutcome('Faults', `${id}: SIGKILL of the server, 1000 keys written ≥ 2 s before`,
        `the next ensure started it again on the same port (${r.connection.port === s.connection.port ? 'same' : 'another'} port) with ${kept} of 1000 keys`)
    })
  })
}

for (const { id, flavor, bin } of SERVERS) {
  describe(`ownership, ports and races on ${id}`, { skip: !bin && `${flavor}-server is not installed` }, () => {
    test('a pid file naming a live unrelated process: that process is never signalled', async (t) => {
      const dataDir = tmpDataDir(t)
      stopStoreAfter(t, dataDir)
      // An unrelated, live process whose pid lands in our pid file (a recycled pid).
      const bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
      track(bystander.pid)
      t.after(() => killAndWait(bystander.pid))
      fs.mkdirSync(path.join(dataDir, 'redis'), { recursive: true, mode: 0o700 })
      const pidFile = path.join(dataDir, 'redis', 'redis.pid')
      const fake = { pid: bystander.pid, port: 29999, startedAt: 1, startToken: '12345', runId: 'x', binary: bin, version: '1' }
      fs.writeFileSync(pidFile, JSON.stringify(fake))

      const stop = await addon.stopQueueStore({ dataDir })
      assert.equal(stop.stopped, false)
      assert.equal(stop.code, 'E_NOT_OWNED')
      assert.ok(isAlive(bystander.pid), 'bystander untouched by stop')
      assert.ok(stop.stalePidFile && fs.existsSync(stop.stalePidFile), 'stale file set aside')
      assert.equal(fs.existsSync(pidFile), false)

      fs.writeFileSync(pidFile, JSON.stringify(fake))
      const st = await addon.queueStoreStatus({ dataDir })
      assert.equal(st.running, false)
      assert.equal(st.checks[0].code, 'E_NOT_OWNED')

      const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
      assert.notEqual(s.pid, bystander.pid)
      assert.ok(s.notices.some((n) => n.includes(`pid ${bystander.pid}`)), JSON.stringify(s.notices))
      assert.ok(isAlive(bystander.pid), 'bystander untouched by ensure')
      await addon.stopQueueStore({ dataDir })
      assert.ok(isAlive(bystander.pid), 'bystander untouched after stopping our server')
      recordOutcome('Faults', `${id}: pid file naming a live unrelated process (a recycled pid)`,
        `stop returned ${stop.code} and signalled nothing; status reported ${st.checks[0].code}; ensure set the file aside and started its own server; the unrelated process ${isAlive(bystander.pid) ? 'still runs' : 'DIED'}`)
    })

    test('a pid file naming another live server that refuses our password: E_NOT_OWNED, never signalled', async (t) => {
      // The hardest impostor: pid alive with the right start token, port answering,
      // but not to our password (another one, or none at all). Our AUTH is refused
      // and nothing else runs on that server: no check, no smoke-test write.
      for (const password of ['someone-elses-password', undefined]) {
        const dataDir = tmpDataDir(t)
        stopStoreAfter(t, dataDir)
        const other = await startServer(t, { flavor, bin, password })
        const stat = fs.readFileSync(`/proc/${other.pid}/stat`, 'utf8')
        const startToken = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
        fs.mkdirSync(path.join(dataDir, 'redis'), { recursive: true, mode: 0o700 })
        fs.writeFileSync(path.join(dataDir, 'redis', 'secret'), 'ab'.repeat(32), { mode: 0o600 })
        const record = { pid: other.pid, port: other.port, startedAt: 1, startToken, runId: '', binary: bin, version: '1' }
        fs.writeFileSync(path.join(dataDir, 'redis', 'redis.pid'), JSON.stringify(record))
        // The server's own count of what ran, before and after: clients (ours
        // included: ioredis asks CONFIG GET on Valkey 9) run commands of their own.
        const c = new Redis({ port: other.port, password, lazyConnect: true, maxRetriesPerRequest: 0 })
        t.after(() => c.disconnect())
        await c.connect()
        const calls = async () => Object.fromEntries([...(await c.info('commandstats')).matchAll(/^(cmdstat_[^:]+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]))
        const before = await calls()

        const st = await addon.queueStoreStatus({ dataDir })
        assert.equal(st.running, false)
        assert.equal(st.checks[0].code, 'E_NOT_OWNED')
        assert.match(st.checks[0].detail, new RegExp(`port ${other.port} refuses our password`))
        const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: bin }), 'E_NOT_OWNED')
        assert.match(err.message, /could not be verified/)
        // The smoke test deletes its keys in the same round trip, so an empty
        // keyspace proves nothing: the server's own count of what ran does.
        const after = await calls()
        for (const cmd of ['cmdstat_hset', 'cmdstat_xadd', 'cmdstat_evalsha', 'cmdstat_eval', 'cmdstat_script|load', 'cmdstat_config|get']) {
          assert.equal(after[cmd] || 0, before[cmd] || 0, `${cmd} ran on a server that is not ours: ${JSON.stringify(after)}`)
        }
        assert.equal(await c.dbsize(), 0)
        assert.ok(isAlive(other.pid), 'never signalled')
        recordOutcome('Faults', `${id}: pid file naming another live server ${password ? 'with another password' : 'without a password'} (right pid and start token)`,
          `status reported ${st.checks[0].code} ("${st.checks[0].detail}"); ensure rejected with ${err.code}; nothing was written or signalled`)
      }
    })

    test('a persisted port held by another program: the store moves and says who held it', async (t) => {
      const dataDir = tmpDataDir(t)
      stopStoreAfter(t, dataDir)
      const squatter = net.createServer()
      await new Promise((r) => squatter.listen(0, '127.0.0.1', r))
      t.after(() => squatter.close())
      const taken = squatter.address().port
      fs.writeFileSync(path.join(dataDir, 'settings.json'), JSON.stringify({ CLAUDE_MEM_MODEL: 'keep-me', CLAUDE_MEM_REDIS_PORT: String(taken) }, null, 2))

      const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
      assert.notEqual(s.connection.port, taken)
      assert.equal(s.portMoved.from, taken)
      assert.equal(s.portMoved.to, s.connection.port)
      assert.equal(s.portMoved.holderPid, process.pid, 'the OS says the test process holds it')
      assert.match(s.portMoved.heldBy, new RegExp(`pid ${process.pid}`))
      const settings = JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8'))
      assert.equal(settings.CLAUDE_MEM_REDIS_PORT, String(s.connection.port), 'new port persisted')
      assert.equal(settings.CLAUDE_MEM_MODEL, 'keep-me', 'other keys kept')
      recordOutcome('Faults', `${id}: persisted port held by another program`, `the store moved to another port, saved it, kept other settings keys, and named the holder ("pid <test process> (node …)")`)

      // An explicit port (option) held by someone else is refused, not moved.
      await addon.stopQueueStore({ dataDir })
      const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: bin, port: taken }), 'E_PORT_IN_USE')
      assert.match(err.message, new RegExp(`pid ${process.pid}`))
    })

    test('8 processes racing ensure on a fresh data dir end with one server', async (t) => {
      const dataDir = tmpDataDir(t)
      stopStoreAfter(t, dataDir)
      const code = `require(${JSON.stringify(ROOT)}).ensureQueueStoreStarted({ dataDir: ${JSON.stringify(dataDir)}, binary: ${JSON.stringify(bin)} })
        .then((s) => console.log(JSON.stringify({ pid: s.pid, port: s.connection.port })), (e) => { console.log(JSON.stringify({ error: e.code + ' ' + e.message })); process.exitCode = 1 })`
      const runs = Array.from({ length: 8 }, () => new Promise((resolve) => {
        const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
        let out = ''
        child.stdout.on('data', (d) => { out += d })
        child.on('close', () => resolve(out.trim()))
      }))
      const results = (await Promise.all(runs)).map((o) => JSON.parse(o))
      for (const r of results) track(r.pid)
      assert.ok(results.every((r) => !r.error), JSON.stringify(results))
      assert.equal(new Set(results.map((r) => r.pid)).size, 1, 'same pid for all 8')
      assert.equal(new Set(results.map((r) => r.port)).size, 1, 'same port for all 8')
      // Exactly one server process serves this data dir (its cwd is our data dir).
      const dataPath = path.join(dataDir, 'redis', 'data')
      const servers = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try { return fs.readlinkSync(`/proc/${p}/cwd`) === dataPath } catch { return false }
      })
      assert.deepEqual(servers.map(Number), [results[0].pid])
      recordOutcome('Races', `${id}: 8 processes call ensure at once on a fresh data dir`, `${servers.length} server process; all 8 got the same pid and port`)
    })
  })
}

const bin = FLAVORS.find((f) => f.bin)?.bin

test('garbage settings.json → E_BAD_SETTINGS, the file untouched, nothing started', async (t) => {
  const dataDir = tmpDataDir(t)
  stopStoreAfter(t, dataDir)
  const file = path.join(dataDir, 'settings.json')
  for (const garbage of ['{"CLAUDE_MEM_MODEL": "x",', '[1,2,3]', '"just a string"', '{"CLAUDE_MEM_REDIS_MODE": "cloud"}', '{"CLAUDE_MEM_REDIS_PORT": "70000"}', '{"CLAUDE_MEM_REDIS_PORT": {"a": 1}}']) {
    fs.writeFileSync(file, garbage)
    const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: bin }), 'E_BAD_SETTINGS')
    assert.match(err.message, /settings\.json/)
    assert.equal(fs.readFileSync(file, 'utf8'), garbage, 'byte-for-byte untouched')
    await rejectsWithCode(assert, addon.queueStoreStatus({ dataDir }), 'E_BAD_SETTINGS')
  }
  assert.equal(fs.existsSync(path.join(dataDir, 'redis', 'redis.pid')), false, 'no server started')
  recordOutcome('Faults', 'settings.json garbage (6 kinds: truncated JSON, array, string, bad mode, port 70000, object value)', 'each rejected with E_BAD_SETTINGS naming settings.json; the file byte-for-byte untouched; nothing started')
})

test('bad settings from options and the environment name their source', async (t) => {
  const dataDir = tmpDataDir(t)
  let err = await rejectsWithCode(assert, addon.queueStoreStatus({ dataDir, mode: 'cloud' }), 'E_BAD_SETTINGS')
  assert.match(err.message, /mode option/)
  err = await rejectsWithCode(assert, addon.queueStoreStatus({ dataDir, port: 6379 }), 'E_BAD_SETTINGS')
  assert.match(err.message, /6379/)
  await rejectsWithCode(assert, addon.queueStoreStatus({ dataDir, port: -1 }), 'E_BAD_SETTINGS')
  await rejectsWithCode(assert, addon.queueStoreStatus({ dataDir: 'relative/dir' }), 'E_BAD_SETTINGS')
  await rejectsWithCode(assert, addon.queueStoreStatus({ dataDir, prot: 1 }), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.queueStoreStatus({ dataDir, port: '23456' }), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.queueStoreStatus('not an object'), 'E_BAD_OPTION')
  const out = JSON.parse(await new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(ROOT)}).queueStoreStatus({ dataDir: ${JSON.stringify(dataDir)} }).then(() => console.log('{}'), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })))`], {
      env: { ...process.env, CLAUDE_MEM_REDIS_PORT: 'abc' }, stdio: ['ignore', 'pipe', 'inherit'],
    })
    let o = ''
    child.stdout.on('data', (d) => { o += d })
    child.on('close', () => resolve(o))
  }))
  assert.equal(out.code, 'E_BAD_SETTINGS')
  assert.match(out.message, /CLAUDE_MEM_REDIS_PORT \(environment\)/)
})

test('a server that fails to start → E_START_FAILED with the log tail', async (t) => {
  const dataDir = tmpDataDir(t)
  stopStoreAfter(t, dataDir)
  // A "server" that answers --version like Valkey but dies on start, as a broken install would.
  const fake = path.join(dataDir, 'fake-valkey-server')
  fs.writeFileSync(fake, '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Valkey server v=8.0.1 sha=0"; exit 0; fi\necho "FATAL: cannot load libssl.so.3 (test)" >&2\nexit 1\n', { mode: 0o755 })
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: fake }), 'E_START_FAILED')
  assert.match(err.message, /cannot load libssl\.so\.3 \(test\)/)
  assert.equal(fs.existsSync(path.join(dataDir, 'redis', 'redis.pid')), false)
  await rejectsWithCode(assert, addon.ensureQueueStoreStarted({ dataDir, binary: '/nonexistent/valkey-server' }), 'E_NO_SERVER_BINARY')
})

test('a corrupt pid file is set aside; a lost pid file does not cause a second server', async (t) => {
  const dataDir = tmpDataDir(t)
  stopStoreAfter(t, dataDir)
  const s = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
  // Lost pid file: the running server is found on the persisted port and adopted.
  fs.rmSync(s.paths.pidFile)
  const st = await addon.queueStoreStatus({ dataDir })
  assert.equal(st.running, true)
  assert.equal(st.pid, s.pid)
  const adopted = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
  assert.equal(adopted.pid, s.pid)
  assert.equal(adopted.started, false)
  assert.equal(readPid(dataDir), s.pid, 'pid file written again')
  // Garbage pid files are never acted on.
  for (const garbage of ['', 'not json', '{"pid": 1}', 'x'.repeat(100000)]) {
    fs.writeFileSync(s.paths.pidFile, garbage)
    const again = await addon.ensureQueueStoreStarted({ dataDir, binary: bin })
    assert.equal(again.pid, s.pid, 'the same server, adopted through its port')
    assert.ok(again.notices.some((n) => n.includes('moved to')), JSON.stringify(again.notices))
  }
  assert.ok(isAlive(s.pid))
  recordOutcome('Faults', 'pid file empty, not JSON, incomplete, or 100 kB', 'each set aside (never acted on); the running server was found on its port and adopted, no second server')
  recordOutcome('Faults', 'pid file deleted while the server runs', 'status still reported it running; ensure adopted it and wrote a new pid file')
})

test('stop with nothing set up creates nothing and is not an error', async (t) => {
  const dataDir = path.join(tmpDataDir(t), 'never-created')
  const r = await addon.stopQueueStore({ dataDir })
  assert.equal(r.stopped, false)
  assert.equal(fs.existsSync(dataDir), false)
  const st = await addon.queueStoreStatus({ dataDir })
  assert.equal(st.running, false)
  assert.equal(fs.existsSync(dataDir), false)
})
