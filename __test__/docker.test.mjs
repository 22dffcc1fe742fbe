// Docker mode with a recording stand-in `docker` on PATH (fixtures/docker-standin.cjs):
// it records every argv, answers like docker, and runs the container's own `sh -c`
// script for real, which starts the real /usr/bin/valkey-server on the published
// 127.0.0.1 port. The exact command lines are asserted; they are also replayed
// against the real docker CLI (when installed) pointed at a missing engine, which
// proves the CLI accepts every flag and the ps template.
//
// The whole lifecycle against a REAL engine (Debian's docker.io with a locally
// built image) is __test__/docker-engine.test.mjs. This file stays for what a real
// engine on this Linux machine cannot show, or shows only slowly:
//   - the exact argv of every command (the real engine accepts more than we use);
//   - Docker Desktop's situations: Windows paths and named pipes, its socket
//     answering HTTP 500 while its engine is stopped (the real CLI against a stub
//     socket, below), a port Docker Desktop refuses;
//   - no `docker` on PATH at all, and a container that exits while starting;
//   - the stand-in's answers are the words engine 20.10 + CLI 28.2 really print
//     (captured with the real engine; see the stand-in's comments).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { addon, ROOT, clientFor, dockerNames, isAlive, killAndWait, rejectsWithCode, tmpDataDir, track, which } from './helpers.mjs'

const IMAGE = 'valkey/valkey:8.1.11'
const REAL_DOCKER = fs.existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : which('docker')
const VALKEY = which('valkey-server')

/** Runs the addon with `env` merged into process.env (PATH included), restored after. */
function withEnv(t, env) {
  const saved = {}
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k]
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
}

/**
 * Puts the stand-in `docker` first on PATH. Returns helpers to read the recorded
 * calls and the stand-in's state. Every server it started is stopped by pid after
 * the test, also when the test fails.
 */
function standIn(t, env = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-docker-'))
  const bin = path.join(dir, 'bin')
  const entry = path.join(dir, 'entrypoint')
  fs.mkdirSync(bin)
  fs.mkdirSync(entry)
  fs.writeFileSync(
    path.join(bin, 'docker'),
    `#!${process.execPath}\nrequire(${JSON.stringify(path.join(ROOT, '__test__', 'fixtures', 'docker-standin.cjs'))})\n`,
    { mode: 0o755 },
  )
  // The image's entrypoint chowns /data and drops root; the stand-in's records the
  // argv and environment the server is exec'd with (Valkey's proc title later
  // overwrites /proc/<pid>/cmdline and environ, so those prove nothing), then runs
  // the server on the published loopback port (it is the host here).
  fs.writeFileSync(
    path.join(entry, 'docker-entrypoint.sh'),
    '#!/bin/sh\nprintf "%s\\n" "$@" > "$STANDIN_DIR/server-argv"\nenv > "$STANDIN_DIR/server-env"\n' +
      'exec "$@" --bind 127.0.0.1 --port "$STANDIN_PORT"\n',
    { mode: 0o755 },
  )
  const pids = () => {
    try {
      return fs.readFileSync(path.join(dir, 'pids'), 'utf8').split('\n').filter(Boolean).map(Number)
    } catch {
      return []
    }
  }
  t.after(async () => {
    for (const pid of pids()) await killAndWait(pid)
    fs.rmSync(dir, { recursive: true, force: true })
  })
  withEnv(t, {
    PATH: `${bin}${path.delimiter}${process.env.PATH}`,
    DOCKER_STANDIN_DIR: dir,
    ...env,
  })
  const calls = () =>
    fs.readFileSync(path.join(dir, 'calls.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  let seen = 0
  return {
    dir,
    calls,
    /** The calls recorded since the last `newCalls()`. */
    newCalls() {
      const all = calls()
      const fresh = all.slice(seen)
      seen = all.length
      for (const pid of pids()) track(pid)
      return fresh
    },
    state: () => JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')),
    pids,
  }
}

const PS_FORMAT =
  '{"id":{{json .ID}},"name":{{json .Names}},"image":{{json .Image}},"state":{{json .State}},' +
  '"port":{{json (.Label "com.claude-mem.port")}},"dataDir":{{json (.Label "com.claude-mem.data-dir")}}}'

const psCall = (dataDir) => [
  'ps', '--all', '--no-trunc',
  '--filter', 'label=com.claude-mem.store=1',
  '--filter', `label=com.claude-mem.data-dir=${dataDir}`,
  '--format', PS_FORMAT,
]
const VERSION_CALL = ['version', '--format', '{{.Server.Version}}']

const opts = (dataDir, extra = {}) => ({ dataDir, mode: 'docker', ...extra })

test('no docker on PATH: ensure rejects with E_DOCKER_UNAVAILABLE and the next step; status and stop say so', async (t) => {
  const dataDir = tmpDataDir(t)
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-nopath-'))
  t.after(() => fs.rmSync(empty, { recursive: true, force: true }))
  withEnv(t, { PATH: empty })
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted(opts(dataDir)), 'E_DOCKER_UNAVAILABLE')
  assert.match(err.message, /Install Docker Desktop/)
  assert.match(err.message, /mode managed/)
  const status = await addon.queueStoreStatus(opts(dataDir))
  assert.equal(status.running, false)
  assert.equal(status.mode, 'docker')
  assert.equal(status.checks[0].code, 'E_DOCKER_UNAVAILABLE')
  const stop = await addon.stopQueueStore(opts(dataDir))
  assert.equal(stop.stopped, false)
  assert.equal(stop.code, 'E_DOCKER_UNAVAILABLE')
})

test('engine down (stand-in): E_DOCKER_UNAVAILABLE says to start Docker; only `docker version` was run', async (t) => {
  const dataDir = tmpDataDir(t)
  const docker = standIn(t, { DOCKER_STANDIN_ENGINE: 'down' })
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted(opts(dataDir)), 'E_DOCKER_UNAVAILABLE')
  assert.match(err.message, /Start Docker Desktop/)
  assert.match(err.message, /Cannot connect to the Docker daemon/)
  assert.deepEqual(docker.newCalls(), [VERSION_CALL])
  const status = await addon.queueStoreStatus(opts(dataDir))
  assert.equal(status.running, false)
  assert.equal(status.checks[0].code, 'E_DOCKER_UNAVAILABLE')
  assert.deepEqual(docker.newCalls(), [psCall(dataDir)])
})

test('engine down (the real docker CLI, pointed at a missing socket): E_DOCKER_UNAVAILABLE', { skip: !REAL_DOCKER && 'no docker CLI installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-realdocker-'))
  t.after(() => fs.rmSync(bin, { recursive: true, force: true }))
  fs.symlinkSync(REAL_DOCKER, path.join(bin, 'docker'))
  withEnv(t, { PATH: bin, DOCKER_HOST: `unix://${bin}/no-engine.sock`, DOCKER_CONTEXT: undefined })
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted(opts(dataDir)), 'E_DOCKER_UNAVAILABLE')
  assert.match(err.message, /Start Docker Desktop/)
  assert.match(err.message, /no-engine\.sock/)
  // status runs `docker ps` with our --format template: the real CLI parses the
  // template before it connects, so reaching "Cannot connect" proves it is valid.
  const status = await addon.queueStoreStatus(opts(dataDir))
  assert.equal(status.checks[0].code, 'E_DOCKER_UNAVAILABLE')
  assert.match(status.checks[0].detail, /Cannot connect to the Docker daemon/)
  assert.doesNotMatch(status.checks[0].detail, /template/)
})

test('ensure runs the pinned image on 127.0.0.1 with a named volume and labels; adopt, status, stop, start again', { skip: !VALKEY && 'valkey-server is not installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  fs.writeFileSync(path.join(dataDir, 'settings.json'), JSON.stringify({ CLAUDE_MEM_WORKER_PORT: '37777' }, null, 2) + '\n')
  const docker = standIn(t)
  const names = dockerNames(dataDir)

  // 1. Nothing there: pull the image, run the container, wait until it is ready.
  const s = await addon.ensureQueueStoreStarted(opts(dataDir))
  const calls = docker.newCalls()
  const port = s.connection.port
  const envFile = path.join(dataDir, 'redis', 'docker.env')
  assert.deepEqual(calls.slice(0, 4), [
    VERSION_CALL,
    psCall(dataDir),
    ['image', 'inspect', '--format', '{{.Id}}', IMAGE],
    ['pull', IMAGE],
  ])
  const run = calls[4]
  assert.deepEqual(run.slice(0, -1), [
    'run', '--detach',
    '--name', names.container,
    '--label', 'com.claude-mem.store=1',
    '--label', `com.claude-mem.data-dir=${dataDir}`,
    '--label', `com.claude-mem.port=${port}`,
    '--publish', `127.0.0.1:${port}:6379`,
    '--volume', `${names.volume}:/data`,
    '--env-file', envFile,
    '--restart', 'no',
    IMAGE, 'sh', '-c',
  ])
  assert.match(run.at(-1), /exec docker-entrypoint\.sh valkey-server \/data\/claude-mem-auth\.conf --port 6379 --dir \/data --appendonly yes --appendfsync everysec --save 60 1 --maxmemory-policy noeviction/)
  // After `run`, only `docker ps` (is the container still up?) may be polled.
  for (const c of calls.slice(5)) assert.deepEqual(c, psCall(dataDir))

  const secret = fs.readFileSync(path.join(dataDir, 'redis', 'secret'), 'utf8').trim()
  assert.equal(s.mode, 'docker')
  assert.equal(s.running, true)
  assert.equal(s.owned, true)
  assert.equal(s.started, true)
  assert.notEqual(port, 6379)
  assert.equal(s.connection.host, '127.0.0.1')
  assert.equal(s.connection.password, secret)
  assert.equal(s.url, `redis://:${secret}@127.0.0.1:${port}`)
  assert.equal(s.redactedUrl, `redis://:***@127.0.0.1:${port}`)
  assert.equal(s.server.flavor, 'valkey')
  assert.equal(s.persistence, 'AOF everysec')
  assert.equal(s.policy, 'noeviction')
  assert.ok(s.checks.every((c) => c.ok), JSON.stringify(s.checks))
  assert.deepEqual(s.checks.find((c) => c.name === 'container'), { name: 'container', ok: true, detail: `${names.container} (${IMAGE}) is running` })
  assert.deepEqual(
    { name: s.container.name, image: s.container.image, volume: s.container.volume, state: s.container.state },
    { name: names.container, image: IMAGE, volume: names.volume, state: 'running' },
  )
  assert.equal(s.paths.data, names.volume)
  assert.ok(s.notices.some((n) => n.includes(`pulled the image ${IMAGE}`)), s.notices.join('\n'))

  // The password is in no argv: not docker's, not the server's; not in the server's
  // environment either (the script unsets it). It is in 0600 files only.
  for (const c of docker.calls()) assert.ok(!c.join(' ').includes(secret), `password in argv: ${c[0]}`)
  const [serverPid] = docker.pids()
  assert.ok(isAlive(serverPid))
  const serverArgv = fs.readFileSync(path.join(docker.dir, 'server-argv'), 'utf8').split('\n')
  assert.equal(serverArgv[0], 'valkey-server')
  assert.ok(serverArgv.includes('noeviction'))
  assert.ok(!serverArgv.join(' ').includes(secret), 'password in the server argv')
  const serverEnv = fs.readFileSync(path.join(docker.dir, 'server-env'), 'utf8')
  assert.match(serverEnv, /STANDIN_PORT=/)
  assert.ok(!serverEnv.includes(secret), 'password in the server environment')
  assert.equal(fs.statSync(envFile).mode & 0o777, 0o600)
  const authConf = path.join(docker.dir, 'volumes', names.volume, 'claude-mem-auth.conf')
  assert.equal(fs.statSync(authConf).mode & 0o777, 0o600)
  // Two ACL users: `default` (the client password) runs only what BullMQ needs,
  // the addon's own user (redis/admin-secret) everything.
  const admin = fs.readFileSync(path.join(dataDir, 'redis', 'admin-secret'), 'utf8').trim()
  const [clientUser, adminUser, ...rest] = fs.readFileSync(authConf, 'utf8').split('\n')
  assert.match(clientUser, new RegExp(`^user default on >${secret} ~\\* &\\* -@all \\+ping .*\\+evalsha .*\\+bzpopmin `))
  assert.doesNotMatch(clientUser, /\+config|\+flushall|\+restore|\+keys |\+@all/)
  assert.equal(adminUser, `user claude-mem-store on >${admin} ~* &* +@all`)
  assert.deepEqual(rest, [''])
  for (const c of docker.calls()) assert.ok(!c.join(' ').includes(admin), `admin password in argv: ${c[0]}`)
  assert.ok(!serverEnv.includes(admin), 'admin password in the server environment')

  // settings.json: our keys added, claude-mem's kept.
  const settings = JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8'))
  assert.deepEqual(settings, {
    CLAUDE_MEM_WORKER_PORT: '37777',
    CLAUDE_MEM_REDIS_MODE: 'docker',
    CLAUDE_MEM_REDIS_HOST: '127.0.0.1',
    CLAUDE_MEM_REDIS_PORT: String(port),
    CLAUDE_MEM_REDIS_URL: s.url,
  })

  // The queue works over the published port with the returned connection.
  const redis = clientFor(t, s)
  await redis.set('claude-mem:docker-test', 'kept')
  await redis.quit()

  // 2. Running: adopted, nothing started. Mode now comes from settings.json.
  const again = await addon.ensureQueueStoreStarted({ dataDir })
  assert.equal(again.started, false)
  assert.equal(again.container.id, s.container.id)
  assert.deepEqual(docker.newCalls(), [VERSION_CALL, psCall(dataDir)])

  // 3. Status changes nothing: one `docker ps`.
  const st = await addon.queueStoreStatus({ dataDir })
  assert.equal(st.running, true)
  assert.equal(st.connection.port, port)
  assert.deepEqual(docker.newCalls(), [psCall(dataDir)])

  // 4. Stop: `docker stop` of our container only; it is kept with its volume.
  const stopped = await addon.stopQueueStore({ dataDir })
  assert.equal(stopped.stopped, true)
  assert.equal(stopped.method, 'docker-stop')
  assert.deepEqual(docker.newCalls(), [psCall(dataDir), ['stop', '-t', '15', s.container.id]])
  assert.equal(isAlive(serverPid), false)
  const after = await addon.queueStoreStatus({ dataDir })
  assert.equal(after.running, false)
  assert.equal(after.container.state, 'exited')
  const twice = await addon.stopQueueStore({ dataDir })
  assert.equal(twice.stopped, false)
  assert.match(twice.message, /already exited/)
  docker.newCalls()

  // 5. Stopped: `docker start` of the same container; the data survived in the volume.
  const restarted = await addon.ensureQueueStoreStarted({ dataDir })
  assert.equal(restarted.started, true)
  assert.equal(restarted.connection.port, port)
  const restartCalls = docker.newCalls()
  assert.deepEqual(restartCalls.slice(0, 3), [VERSION_CALL, psCall(dataDir), ['start', s.container.id]])
  const redis2 = clientFor(t, restarted)
  assert.equal(await redis2.get('claude-mem:docker-test'), 'kept')
  await redis2.quit()

  // Every recorded command line is one the real docker CLI accepts: replayed
  // against a missing engine, each gets as far as connecting.
  if (REAL_DOCKER) {
    const seen = new Set()
    for (const c of docker.calls()) {
      if (seen.has(c[0])) continue
      seen.add(c[0])
      let stderr = ''
      try {
        execFileSync(REAL_DOCKER, c, { env: { ...process.env, DOCKER_HOST: `unix://${docker.dir}/no-engine.sock` }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
      } catch (e) {
        stderr = e.stderr
      }
      assert.match(stderr, /Cannot connect to the Docker daemon/, `docker ${c[0]}: ${stderr}`)
    }
  }
  await addon.stopQueueStore({ dataDir })
})

test('a container made with an old password is replaced, keeping its volume (and the queue)', { skip: !VALKEY && 'valkey-server is not installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const docker = standIn(t)
  const first = await addon.ensureQueueStoreStarted(opts(dataDir))
  const redis = clientFor(t, first)
  await redis.set('claude-mem:survives', 'yes')
  await redis.quit()
  docker.newCalls()

  fs.rmSync(path.join(dataDir, 'redis', 'secret'))
  fs.rmSync(path.join(dataDir, 'redis', 'admin-secret'))
  const second = await addon.ensureQueueStoreStarted(opts(dataDir))
  const calls = docker.newCalls()
  assert.deepEqual(calls.slice(0, 2), [VERSION_CALL, psCall(dataDir)])
  assert.ok(calls.some((c) => c.join(' ') === `stop -t 15 ${first.container.id}`), JSON.stringify(calls))
  assert.ok(calls.some((c) => c.join(' ') === `rm --force ${first.container.id}`))
  assert.ok(!calls.some((c) => c[0] === 'volume'), 'the volume is never removed')
  assert.ok(calls.some((c) => c[0] === 'run'))
  assert.notEqual(second.container.id, first.container.id)
  assert.notEqual(second.connection.password, first.connection.password)
  assert.ok(second.notices.some((n) => n.includes('refused the current password')), second.notices.join('\n'))
  const redis2 = clientFor(t, second)
  assert.equal(await redis2.get('claude-mem:survives'), 'yes')
  await redis2.quit()
  await addon.stopQueueStore(opts(dataDir))
})

test('a stopped store whose port another program took moves to a free port, keeping its volume', { skip: !VALKEY && 'valkey-server is not installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const docker = standIn(t)
  const first = await addon.ensureQueueStoreStarted(opts(dataDir))
  const oldPort = first.connection.port
  await addon.stopQueueStore(opts(dataDir))
  docker.newCalls()
  const squatter = net.createServer()
  await new Promise((resolve) => squatter.listen(oldPort, '127.0.0.1', resolve))
  t.after(() => squatter.close())

  const moved = await addon.ensureQueueStoreStarted(opts(dataDir))
  assert.notEqual(moved.connection.port, oldPort)
  assert.equal(moved.portMoved.from, oldPort)
  assert.equal(moved.portMoved.to, moved.connection.port)
  assert.match(moved.portMoved.heldBy, new RegExp(`pid ${process.pid}`))
  const calls = docker.newCalls()
  assert.ok(calls.some((c) => c.join(' ') === `rm --force ${first.container.id}`), JSON.stringify(calls))
  const run = calls.find((c) => c[0] === 'run')
  assert.ok(run.includes(`127.0.0.1:${moved.connection.port}:6379`))
  assert.ok(!calls.some((c) => c[0] === 'volume'))
  const settings = JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8'))
  assert.equal(settings.CLAUDE_MEM_REDIS_PORT, String(moved.connection.port))
  await addon.stopQueueStore(opts(dataDir))
})

test('a port taken between our check and Docker\'s bind, in words no list knows: the failed run\'s container goes (by id), another port is used', { skip: !VALKEY && 'valkey-server is not installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const names = dockerNames(dataDir)
  const docker = standIn(t, {
    DOCKER_STANDIN_TAKE_PORT_ONCE: '1',
    DOCKER_STANDIN_PORT_WORDS: 'a future engine cannot publish this port (wording never seen before)',
  })
  const s = await addon.ensureQueueStoreStarted(opts(dataDir))
  const calls = docker.newCalls()
  const runs = calls.filter((c) => c[0] === 'run')
  assert.equal(runs.length, 2, JSON.stringify(calls))
  const firstPort = Number(runs[0][runs[0].indexOf('--publish') + 1].split(':')[1])
  assert.notEqual(s.connection.port, firstPort)
  // What holds our name was asked (not read from Docker's words); the container the
  // failed run left behind (ours: our labels) was removed by its id.
  assert.ok(calls.some((c) => c[0] === 'ps' && c.includes(`name=^/${names.container}$`)), JSON.stringify(calls))
  const removed = calls.filter((c) => c[0] === 'rm')
  assert.equal(removed.length, 1, JSON.stringify(removed))
  assert.match(removed[0].at(-1), /^[0-9a-f]{64}$/)
  assert.equal(docker.state().containers.length, 1)
  assert.equal(s.running, true)
  await addon.stopQueueStore(opts(dataDir))
})

test('a container with our name but not our labels is left alone: E_NOT_OWNED', { skip: !VALKEY && 'valkey-server is not installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const docker = standIn(t)
  const names = dockerNames(dataDir)
  fs.writeFileSync(
    path.join(docker.dir, 'state.json'),
    JSON.stringify({
      images: [IMAGE],
      containers: [{ id: 'f'.repeat(64), name: names.container, image: 'someone/else', labels: {}, state: 'exited', pid: null }],
    }),
  )
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted(opts(dataDir)), 'E_NOT_OWNED')
  assert.match(err.message, /left alone/)
  const calls = docker.newCalls()
  assert.ok(!calls.some((c) => ['rm', 'stop', 'start'].includes(c[0])), JSON.stringify(calls))
  assert.equal(docker.state().containers.length, 1, 'the foreign container is still there')
  const stop = await addon.stopQueueStore(opts(dataDir))
  assert.equal(stop.stopped, false)
  assert.ok(!docker.newCalls().some((c) => c[0] === 'stop'))
})

test('a container that exits while starting is E_START_FAILED with its log lines', { skip: !VALKEY && 'valkey-server is not installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const docker = standIn(t)
  // An entrypoint that fails like a broken image would.
  fs.writeFileSync(path.join(docker.dir, 'entrypoint', 'docker-entrypoint.sh'), '#!/bin/sh\necho "fatal: cannot open /data (stand-in)" >&2\nexit 1\n', { mode: 0o755 })
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted(opts(dataDir, { timeoutMs: 10000 })), 'E_START_FAILED')
  assert.match(err.message, /stopped while starting/)
  assert.match(err.message, /fatal: cannot open \/data \(stand-in\)/)
  assert.ok(docker.newCalls().some((c) => c[0] === 'logs'))
})

test('uninstall in docker mode removes our container, and its volume only with purgeData', { skip: !VALKEY && 'valkey-server is not installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const docker = standIn(t)
  const { container, volume } = dockerNames(dataDir)
  const first = await addon.ensureQueueStoreStarted(opts(dataDir))
  const redis = clientFor(t, first)
  await redis.set('claude-mem:kept', 'yes')
  await redis.quit()
  docker.newCalls()

  const kept = await addon.uninstallQueueStore(opts(dataDir))
  let calls = docker.newCalls().map((c) => c.join(' '))
  assert.ok(calls.includes(`stop -t 10 ${first.container.id}`), JSON.stringify(calls))
  assert.ok(calls.includes(`rm --force ${first.container.id}`), JSON.stringify(calls))
  assert.ok(!calls.some((c) => c.startsWith('volume')), 'the volume (the queue) is kept without purgeData')
  assert.ok(kept.removed.some((r) => r.includes(container)), JSON.stringify(kept.removed))
  assert.equal(fs.existsSync(path.join(dataDir, 'redis', 'docker.env')), false, 'the env file with the password is gone')

  // The volume kept the queue: a new container (new password) finds the key.
  const again = await addon.ensureQueueStoreStarted(opts(dataDir))
  const redis2 = clientFor(t, again)
  assert.equal(await redis2.get('claude-mem:kept'), 'yes')
  await redis2.quit()
  docker.newCalls()

  const purged = await addon.uninstallQueueStore(opts(dataDir, { purgeData: true }))
  calls = docker.newCalls().map((c) => c.join(' '))
  assert.ok(calls.includes(`rm --force ${again.container.id}`), JSON.stringify(calls))
  assert.ok(calls.includes(`volume rm ${volume}`), JSON.stringify(calls))
  assert.ok(purged.removed.some((r) => r.includes(volume)), JSON.stringify(purged.removed))
})

test('uninstall in docker mode twice, with purgeData: the second finds nothing and succeeds (engine 20.10 says "no such volume" in lower case)', { skip: !VALKEY && 'valkey-server is not installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const docker = standIn(t)
  const { volume } = dockerNames(dataDir)
  await addon.ensureQueueStoreStarted(opts(dataDir))
  const first = await addon.uninstallQueueStore(opts(dataDir, { purgeData: true }))
  assert.ok(first.removed.some((r) => r.includes(volume)), JSON.stringify(first.removed))
  docker.newCalls()
  const second = await addon.uninstallQueueStore(opts(dataDir, { purgeData: true }))
  assert.ok(!second.removed.some((r) => r.includes('Docker')), JSON.stringify(second.removed))
  // Whether the volume is gone was asked (`volume ls`), not read from the error text.
  assert.deepEqual(docker.newCalls().filter((c) => c[0] === 'volume'), [
    ['volume', 'rm', volume],
    ['volume', 'ls', '--quiet', '--filter', `name=${volume}`],
  ])
})

test("Docker Desktop's socket answering HTTP 500 while its engine is stopped (the real docker CLI, a stub socket): E_DOCKER_UNAVAILABLE with the next step", { skip: (!REAL_DOCKER || process.platform === 'win32') && 'no docker CLI installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-desktop500-'))
  const sock = path.join(dir, 'docker.sock')
  // What Docker Desktop's socket does while "Starting the Docker Engine…" or after
  // its engine stopped (docker/for-mac#7775): HTTP 500, no engine error body.
  const server = http.createServer((req, res) => {
    res.writeHead(500, { 'Content-Type': 'text/plain' })
    res.end()
  })
  await new Promise((resolve) => server.listen(sock, resolve))
  t.after(() => {
    server.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  fs.mkdirSync(path.join(dir, 'bin'))
  fs.symlinkSync(REAL_DOCKER, path.join(dir, 'bin', 'docker'))
  withEnv(t, { PATH: path.join(dir, 'bin'), DOCKER_HOST: `unix://${sock}`, DOCKER_CONTEXT: undefined })
  const err = await rejectsWithCode(assert, addon.ensureQueueStoreStarted(opts(dataDir)), 'E_DOCKER_UNAVAILABLE')
  assert.match(err.message, /Start Docker Desktop/)
  assert.match(err.message, /check if the server supports the requested API version/)
  assert.match(err.message, /DOCKER_HOST is set/)
  // status's `docker ps` gets the same answer: a failing docker check with the next
  // step (it used to be only "`docker ps` failed: …").
  const status = await addon.queueStoreStatus(opts(dataDir))
  assert.equal(status.running, false)
  assert.equal(status.checks[0].code, 'E_DOCKER_UNAVAILABLE')
  assert.match(status.checks[0].detail, /Start Docker Desktop/)
  const stop = await addon.stopQueueStore(opts(dataDir))
  assert.equal(stop.code, 'E_DOCKER_UNAVAILABLE')
})

test('uninstall in docker mode without Docker removes nothing and says why', async (t) => {
  const dataDir = tmpDataDir(t)
  fs.mkdirSync(path.join(dataDir, 'redis'), { recursive: true })
  fs.writeFileSync(path.join(dataDir, 'redis', 'secret'), 'a'.repeat(64))
  withEnv(t, { PATH: '/nonexistent' })
  await rejectsWithCode(assert, addon.uninstallQueueStore(opts(dataDir)), 'E_DOCKER_UNAVAILABLE')
  assert.ok(fs.existsSync(path.join(dataDir, 'redis', 'secret')), 'nothing removed')
})
