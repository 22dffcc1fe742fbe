// Docker mode against a REAL Docker engine: a private dockerd (Debian's docker.io,
// engine 20.10) started by scripts/test/docker-engine.sh with its own socket, data-root,
// exec-root and bridge under target/docker/, and the pinned image valkey/valkey:8.1.11
// built locally by scripts/test/docker-image.sh (no registry is reachable here; the image
// is shaped like the official one, with Debian's valkey-server 8.0 inside). The addon
// reaches it through DOCKER_HOST, which it passes on to the docker CLI it spawns.
//
// One data dir walks the whole lifecycle, step by step; a step is skipped once an
// earlier one failed (they build on each other). Every container and volume made
// here is removed by id after the step or the suite that made it, and the engine is
// stopped by its pid in `after`, also when a step failed.
//
// Skipped (with the reason) only where a private Docker engine cannot run at all:
// not Linux, or neither root nor passwordless sudo. In CI (process.env.CI) it never
// skips: an engine that cannot start is a failure.

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import { addon, Redis, ROOT, clientFor, dockerNames, freePort, isAlive, rejectsWithCode, waitFor, which } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Queue, Worker, QueueEvents } = require('bullmq')

const IMAGE = 'valkey/valkey:8.1.11'
const ENGINE_SCRIPT = path.join(ROOT, 'scripts', 'test', 'docker-engine.sh')
const ENGINE_DIR = process.env.CMS_DOCKER_DIR || path.join(ROOT, 'target', 'docker')
const PIDFILE = path.join(ENGINE_DIR, 'dockerd.pid')

function whyNoEngine() {
  if (process.env.CI) return false
  if (process.platform !== 'linux') return 'a private Docker engine (scripts/test/docker-engine.sh) runs on Linux only'
  if (process.getuid() === 0) return false
  if (which('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return false
  return 'starting a private dockerd needs root or passwordless sudo, and this user has neither'
}
const SKIP = whyNoEngine()

/** Runs the engine script; returns its stdout. Throws with the script's last words. */
function engine(command) {
  const r = spawnSync('bash', [ENGINE_SCRIPT, command], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, CMS_DOCKER_DIR: ENGINE_DIR },
  })
  if (r.stderr) process.stderr.write(r.stderr)
  if (r.status !== 0) {
    const tail = (r.stderr || '').trim().split('\n').slice(-5).join(' | ')
    throw new Error(`scripts/test/docker-engine.sh ${command} failed (${r.error?.message ?? `exit ${r.status}`}): ${tail}`)
  }
  return r.stdout
}

/** `docker <args>` against the private engine (DOCKER_HOST is set by `before`). */
function docker(...args) {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 })
  return { ok: r.status === 0, status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() }
}
function dockerOk(...args) {
  const r = docker(...args)
  assert.ok(r.ok, `docker ${args.join(' ')} failed: ${r.stderr}`)
  return r.stdout
}
const inspect = (id) => JSON.parse(dockerOk('container', 'inspect', id))[0]
const volumeExists = (name) => docker('volume', 'inspect', name).ok

/** Waits (bounded) until `pid` has exited. */
const exited = (pid, ms = 60_000) => waitFor(() => !isAlive(pid), `pid ${pid} to exit`, ms)

/** A program other than Docker listening on 127.0.0.1:port, closed after the test. */
async function listenOn(t, port) {
  const server = net.createServer((s) => s.destroy())
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  t.after(() => new Promise((resolve) => server.close(resolve)))
  return server
}

describe('Docker mode against a real Docker engine', { skip: SKIP, timeout: 600_000 }, () => {
  let dataDir
  let names
  let broken = false
  const containers = new Set() // every store container id seen, removed in `after`
  const opts = (extra = {}) => ({ dataDir, mode: 'docker', ...extra })
  const remember = (status) => {
    if (status?.container?.id) containers.add(status.container.id)
    return status
  }
  /** Each step runs only while every earlier one passed. */
  const step = (name, fn) =>
    it(name, async (t) => {
      if (broken) return t.skip('an earlier step failed')
      try {
        await fn(t)
      } catch (e) {
        broken = true
        throw e
      }
    })

  const savedHost = process.env.DOCKER_HOST
  const savedContext = process.env.DOCKER_CONTEXT

  before(async () => {
    const t0 = Date.now()
    const out = engine('start')
    const line = out.trim().split('\n').at(-1)
    assert.match(line, /^DOCKER_HOST=unix:\/\//, `scripts/test/docker-engine.sh start printed: ${out}`)
    process.env.DOCKER_HOST = line.slice('DOCKER_HOST='.length)
    delete process.env.DOCKER_CONTEXT
    process.stderr.write(`private engine up in ${Date.now() - t0} ms (${process.env.DOCKER_HOST})\n`)
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-docker-engine-'))
    names = dockerNames(dataDir)
  })

  after(async () => {
    // Our store's containers and its volume, by id (the engine must be up for that).
    try {
      if (docker('version').ok) {
        // Also any container labelled for this data dir that a failed step left behind.
        const labelled = docker('ps', '--all', '--no-trunc', '--quiet', '--filter', `label=com.claude-mem.data-dir=${dataDir}`)
        for (const id of labelled.stdout.split('\n').filter(Boolean)) containers.add(id)
        for (const id of containers) docker('rm', '--force', id)
        if (names) docker('volume', 'rm', names.volume)
        // Squatter containers of a step whose own cleanup did not run, with their
        // anonymous volumes.
        const squatters = docker('ps', '--all', '--no-trunc', '--quiet', '--filter', 'label=com.claude-mem.test-squatter=1')
        for (const id of squatters.stdout.split('\n').filter(Boolean)) docker('rm', '--force', '--volumes', id)
      }
    } finally {
      try {
        engine('stop')
      } finally {
        if (savedHost === undefined) delete process.env.DOCKER_HOST
        else process.env.DOCKER_HOST = savedHost
        if (savedContext !== undefined) process.env.DOCKER_CONTEXT = savedContext
        if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true })
      }
    }
  })

  let first // the first ensure's status
  let port // the store's current host port
  const queueName = `cms-engine-${process.pid}`
  let keptJobId // a waiting job that must survive every restart

  /** The key and the waiting job written in step 3 are still there. */
  async function assertDataKept(t, status) {
    const redis = clientFor(t, status)
    assert.equal(await redis.get('claude-mem:engine-test'), 'kept', 'the key survived')
    const queue = new Queue(queueName, { connection: { ...status.connection, maxRetriesPerRequest: null } })
    try {
      const job = await queue.getJob(keptJobId)
      assert.ok(job, `job ${keptJobId} survived`)
      assert.deepEqual(job.data, { survives: true })
      assert.equal(await job.getState(), 'waiting')
    } finally {
      await queue.close()
    }
    await redis.quit()
  }

  step('1. ensure from nothing: the image is there (no pull), the container runs on 127.0.0.1 with a named volume', async () => {
    assert.ok(docker('image', 'inspect', IMAGE).ok, `${IMAGE} is in the engine`)
    assert.equal(docker('ps', '--all', '--quiet', '--filter', `name=${names.container}`).stdout, '')
    const s = remember(await addon.ensureQueueStoreStarted(opts()))
    first = s
    port = s.connection.port
    assert.equal(s.mode, 'docker')
    assert.equal(s.running, true)
    assert.equal(s.started, true)
    assert.ok(!s.notices.some((n) => /pulled/.test(n)), `no pull: ${s.notices.join('\n')}`)
    assert.equal(s.connection.host, '127.0.0.1')
    assert.notEqual(port, 6379)
    assert.equal(s.server.flavor, 'valkey')
    assert.equal(s.persistence, 'AOF everysec')
    assert.equal(s.policy, 'noeviction')
    assert.deepEqual(
      { name: s.container.name, image: s.container.image, volume: s.container.volume, state: s.container.state },
      { name: names.container, image: IMAGE, volume: names.volume, state: 'running' },
    )

    // What the engine itself says about the container.
    const c = inspect(s.container.id)
    assert.equal(c.Name, `/${names.container}`)
    assert.equal(c.Config.Image, IMAGE)
    assert.equal(c.Config.Labels['com.claude-mem.store'], '1')
    assert.equal(c.Config.Labels['com.claude-mem.data-dir'], dataDir)
    assert.equal(c.Config.Labels['com.claude-mem.port'], String(port))
    assert.deepEqual(c.HostConfig.PortBindings, { '6379/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] })
    assert.equal(c.HostConfig.RestartPolicy.Name, 'no')
    const mount = c.Mounts.find((m) => m.Destination === '/data')
    assert.deepEqual({ type: mount.Type, name: mount.Name }, { type: 'volume', name: names.volume })
    // The server runs as the image's valkey user (uid 999), not root, with no
    // password in its command line.
    const serverPid = c.State.Pid
    const uid = fs.readFileSync(`/proc/${serverPid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)[1]
    assert.equal(uid, '999')
    assert.ok(!fs.readFileSync(`/proc/${serverPid}/cmdline`, 'utf8').includes(s.connection.password))
  })

  step('2. status: running, every check ok', async () => {
    const st = remember(await addon.queueStoreStatus(opts()))
    assert.equal(st.running, true)
    assert.equal(st.owned, true)
    assert.equal(st.connection.port, port)
    assert.equal(st.container.id, first.container.id)
    assert.ok(st.checks.length > 1)
    assert.ok(st.checks.every((c) => c.ok), JSON.stringify(st.checks, null, 1))
  })

  step('3. real BullMQ jobs through status.connection', async (t) => {
    const st = await addon.queueStoreStatus(opts())
    const connection = { ...st.connection, maxRetriesPerRequest: null }
    const name = `${queueName}-run`
    const queue = new Queue(name, { connection })
    const events = new QueueEvents(name, { connection })
    const worker = new Worker(name, async (job) => ({ doubled: job.data.n * 2 }), { connection })
    try {
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()])
      const jobs = await queue.addBulk(Array.from({ length: 20 }, (_, n) => ({ name: 'double', data: { n } })))
      const results = []
      for (const job of jobs) results.push(await job.waitUntilFinished(events, 15000))
      assert.deepEqual(results.map((r) => r.doubled), Array.from({ length: 20 }, (_, n) => n * 2))
      assert.equal((await queue.getJobCounts('completed')).completed, 20)
    } finally {
      await worker.close()
      await events.close()
      await queue.close()
    }
    // Written now, checked after every restart below: a key, and a job nobody takes.
    const kept = new Queue(queueName, { connection })
    try {
      keptJobId = (await kept.add('later', { survives: true })).id
    } finally {
      await kept.close()
    }
    const redis = clientFor(t, st)
    await redis.set('claude-mem:engine-test', 'kept')
    await redis.quit()
  })

  step('4. stop: docker stop; the container and its volume are kept', async () => {
    const stopped = await addon.stopQueueStore(opts())
    assert.equal(stopped.stopped, true, stopped.message)
    assert.equal(stopped.method, 'docker-stop')
    assert.equal(inspect(first.container.id).State.Status, 'exited')
    assert.ok(volumeExists(names.volume))
    const st = await addon.queueStoreStatus(opts())
    assert.equal(st.running, false)
    assert.equal(st.container.state, 'exited')
    const again = await addon.stopQueueStore(opts())
    assert.equal(again.stopped, false)
    assert.match(again.message, /already exited/)
  })

  step('5. ensure again: the same container starts, with the data', async (t) => {
    const s = remember(await addon.ensureQueueStoreStarted(opts()))
    assert.equal(s.started, true)
    assert.equal(s.container.id, first.container.id)
    assert.equal(s.connection.port, port)
    await assertDataKept(t, s)
  })

  step('6a. its port taken by another container while stopped: moves to another port, keeping the volume', async (t) => {
    await addon.stopQueueStore(opts())
    const squatter = dockerOk('run', '--detach', '--label', 'com.claude-mem.test-squatter=1', '--publish', `127.0.0.1:${port}:6379`, IMAGE)
    t.after(() => docker('rm', '--force', '--volumes', squatter)) // and its anonymous /data volume
    await waitFor(async () => !(await isFree(port)), `the squatter container to publish ${port}`)
    const s = remember(await addon.ensureQueueStoreStarted(opts()))
    assert.notEqual(s.connection.port, port)
    assert.equal(s.portMoved.from, port)
    assert.equal(s.portMoved.to, s.connection.port)
    assert.ok(s.notices.some((n) => n.includes('was replaced')), s.notices.join('\n'))
    assert.equal(inspect(squatter).State.Status, 'running', 'the other container was not touched')
    port = s.connection.port
    await assertDataKept(t, s)
  })

  step('6b. its port taken by another program on 127.0.0.1 while stopped: moves again', async (t) => {
    await addon.stopQueueStore(opts())
    await listenOn(t, port)
    const s = remember(await addon.ensureQueueStoreStarted(opts()))
    assert.notEqual(s.connection.port, port)
    assert.equal(s.portMoved.from, port)
    assert.match(s.portMoved.heldBy, new RegExp(`pid ${process.pid}`))
    port = s.connection.port
    await assertDataKept(t, s)
  })

  step('6c. an explicit port held by another container or program: E_PORT_IN_USE naming the port; nothing changed', async (t) => {
    const byContainer = await freePort()
    const squatter = dockerOk('run', '--detach', '--label', 'com.claude-mem.test-squatter=1', '--publish', `127.0.0.1:${byContainer}:6379`, IMAGE)
    t.after(() => docker('rm', '--force', '--volumes', squatter)) // and its anonymous /data volume
    await waitFor(async () => !(await isFree(byContainer)), `the squatter container to publish ${byContainer}`)
    let err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted(opts({ port: byContainer })), 'E_PORT_IN_USE')
    assert.match(err.message, new RegExp(`port ${byContainer}`))
    assert.match(err.message, /port option/)

    const byProgram = await freePort()
    await listenOn(t, byProgram)
    err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted(opts({ port: byProgram })), 'E_PORT_IN_USE')
    assert.match(err.message, new RegExp(`port ${byProgram}.*pid ${process.pid}`))

    // The store was stopped to move it and is still on its own port with its data.
    const s = remember(await addon.ensureQueueStoreStarted(opts()))
    assert.equal(s.connection.port, port)
    await assertDataKept(t, s)
  })

  step('7. the container removed behind our back (docker rm -f): ensure makes a new one on the same volume', async (t) => {
    const before = await addon.queueStoreStatus(opts())
    dockerOk('rm', '--force', before.container.id)
    const gone = await addon.queueStoreStatus(opts())
    assert.equal(gone.running, false)
    assert.equal(gone.container, undefined)
    const s = remember(await addon.ensureQueueStoreStarted(opts()))
    assert.equal(s.started, true)
    assert.notEqual(s.container.id, before.container.id)
    assert.equal(inspect(s.container.id).Mounts.find((m) => m.Destination === '/data').Name, names.volume)
    port = s.connection.port
    await assertDataKept(t, s)
  })

  step('8. the engine stopped mid-way: E_DOCKER_UNAVAILABLE with the next step; nothing lost once it is back', async (t) => {
    const pid = Number(fs.readFileSync(PIDFILE, 'utf8').trim())
    assert.ok(pid > 1 && isAlive(pid), `dockerd pid ${pid} from ${PIDFILE}`)
    process.kill(pid, 'SIGTERM') // by its pid, as a user quitting Docker would
    await exited(pid)

    const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted(opts()), 'E_DOCKER_UNAVAILABLE')
    assert.match(err.message, /not running/)
    assert.match(err.message, /Start Docker|systemctl start docker|DOCKER_HOST/)
    assert.match(err.message, /Cannot connect to the Docker daemon/)
    const st = await addon.queueStoreStatus(opts())
    assert.equal(st.running, false)
    assert.equal(st.checks[0].code, 'E_DOCKER_UNAVAILABLE')
    const stop = await addon.stopQueueStore(opts())
    assert.equal(stop.stopped, false)
    assert.equal(stop.code, 'E_DOCKER_UNAVAILABLE')
    await rejectsWithCode(assert, addon.uninstallQueueStore(opts()), 'E_DOCKER_UNAVAILABLE')
    assert.ok(fs.existsSync(path.join(dataDir, 'redis', 'secret')), 'an uninstall that cannot reach Docker removes nothing')

    engine('start')
    const s = remember(await addon.ensureQueueStoreStarted(opts()))
    assert.equal(s.started, true)
    assert.equal(s.connection.port, port)
    await assertDataKept(t, s)
  })

  step('9. uninstall without purgeData, twice: the container goes, the volume (the queue) stays', async (t) => {
    const id = (await addon.queueStoreStatus(opts())).container.id
    const u1 = await addon.uninstallQueueStore(opts())
    assert.ok(u1.removed.some((r) => r.includes(names.container)), JSON.stringify(u1.removed))
    assert.ok(!u1.removed.some((r) => r.includes(names.volume)))
    assert.equal(docker('container', 'inspect', id).ok, false, 'the container is gone')
    assert.ok(volumeExists(names.volume), 'the volume is kept')
    const u2 = await addon.uninstallQueueStore(opts())
    assert.ok(!u2.removed.some((r) => r.includes('Docker')), JSON.stringify(u2.removed))
    assert.ok(volumeExists(names.volume))

    // The kept volume still holds the queue: a new container (new password) finds it.
    const s = remember(await addon.ensureQueueStoreStarted(opts()))
    await assertDataKept(t, s)
  })

  step('10. uninstall with purgeData, twice: the container and the volume go; the second finds nothing and succeeds', async (t) => {
    // First with another container (not our store) using the volume: it and the
    // volume are left alone, E_NOT_OWNED says which container.
    const ours = (await addon.queueStoreStatus(opts())).container.id
    const other = dockerOk('create', '--label', 'com.claude-mem.test-squatter=1', '--volume', `${names.volume}:/data`, IMAGE)
    t.after(() => docker('rm', '--force', other))
    const err = await rejectsWithCode(assert, addon.uninstallQueueStore(opts({ purgeData: true })), 'E_NOT_OWNED')
    assert.match(err.message, new RegExp(other.slice(0, 12)))
    assert.match(err.message, /volume is in use/)
    assert.ok(volumeExists(names.volume), 'the volume is kept')
    assert.equal(inspect(other).State.Status, 'created', 'the other container was left alone')
    assert.equal(docker('container', 'inspect', ours).ok, false, 'our container went first')
    dockerOk('rm', other)

    const u1 = await addon.uninstallQueueStore(opts({ purgeData: true }))
    assert.ok(u1.removed.some((r) => r.includes(names.volume)), JSON.stringify(u1.removed))
    assert.equal(u1.dataPurged, true)
    assert.equal(volumeExists(names.volume), false, 'the volume is gone')
    const u2 = await addon.uninstallQueueStore(opts({ purgeData: true }))
    assert.ok(!u2.removed.some((r) => r.includes('Docker')), JSON.stringify(u2.removed))
    assert.equal(docker('ps', '--all', '--quiet', '--filter', `label=com.claude-mem.data-dir=${dataDir}`).stdout, '')
  })

  // claude-mem's compose file: CLAUDE_MEM_REDIS_MODE=docker with CLAUDE_MEM_REDIS_URL
  // naming the stack's own Valkey. That server is the store, probed like an external
  // one; the addon never starts a container of its own for it, and never stops it.
  it('11. MODE=docker with a URL (a compose stack\'s Valkey): that server is used and checked, no container of ours is made, stop leaves it running', async (t) => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-compose-'))
    t.after(() => fs.rmSync(own, { recursive: true, force: true }))
    const stackPort = await freePort()
    // The official image builds its server with protected mode off; this test
    // image has Debian's, which would refuse the published port's clients.
    const stack = dockerOk('run', '--detach', '--label', 'com.claude-mem.test-squatter=1', '--publish', `127.0.0.1:${stackPort}:6379`, IMAGE, '--protected-mode', 'no')
    t.after(() => docker('rm', '--force', '--volumes', stack))
    const url = `redis://127.0.0.1:${stackPort}`
    // docker-proxy accepts before the server inside listens: wait for a PONG.
    await waitFor(async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      probe.on('error', () => {})
      try {
        await probe.connect()
        return (await probe.ping()) === 'PONG'
      } catch {
        return false
      } finally {
        probe.disconnect()
      }
    }, `the stack's Valkey on ${stackPort}`, 30000)
    const ours = () => docker('ps', '--all', '--quiet', '--filter', `label=com.claude-mem.data-dir=${own}`).stdout

    const s = await addon.ensureQueueStoreStarted({ dataDir: own, mode: 'docker', url })
    assert.equal(s.running, true)
    assert.equal(s.owned, false, 'the stack\'s server, not ours')
    assert.equal(s.connection.port, stackPort)
    assert.equal(s.container, undefined, JSON.stringify(s.container))
    // Probed like an external server: every check ran; the stack's default config
    // has no AOF, which only an external check reports (ours always has it).
    assert.deepEqual(s.checks.filter((c) => !c.ok).map((c) => c.name), ['appendonly'], JSON.stringify(s.checks))
    assert.ok(s.checks.some((c) => c.name === 'maxmemory-policy' && c.ok), JSON.stringify(s.checks))
    assert.equal(ours(), '', 'no container was made for this data dir')
    const c = clientFor(t, s)
    await c.set('compose-key', 'kept')

    const stopped = await addon.stopQueueStore({ dataDir: own, mode: 'docker', url })
    assert.equal(stopped.stopped, false, JSON.stringify(stopped))
    assert.equal(inspect(stack).State.Status, 'running', 'the stack\'s server keeps running')
    assert.equal(await c.get('compose-key'), 'kept')
    assert.equal(ours(), '')
  })
})

function isFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

