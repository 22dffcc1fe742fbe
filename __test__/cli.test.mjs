// The command line (cli.js over cli/): every command spawned as `node cli.js …` with
// a temp --data-dir, against real servers. Checks the seed's status block, exit
// codes, --json on every command, --help for every command (generated from the
// same table the parser uses), usage errors, errors without stack traces, the
// doctor's fixes, that no password is ever printed, and the install progress.

import test from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { createRequire } from 'node:module'

import { ROOT, FLAVORS, SERVERS, addon, cleanEnv, tmpDataDir, startServer, isAlive, track, readPid } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { COMMANDS, COMMON, EXIT } = require('../cli/spec.js')
const { progressRenderer, progressBar, statusBlock } = require('../cli/render.js')

const CLI = path.join(ROOT, 'cli.js')
const VALKEY = FLAVORS.find((f) => f.flavor === 'valkey').bin
const REDIS = FLAVORS.find((f) => f.flavor === 'redis').bin
const BIN = VALKEY || REDIS
const PASSWORD = 'Pw-' + crypto.randomBytes(6).toString('hex')

/** Runs `node cli.js ...args` (async: the test process may serve HTTP meanwhile). */
function run(args, { env = {}, timeout = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, all: stdout + stderr })
    })
  })
}

const json = (r) => {
  try {
    return JSON.parse(r.stdout)
  } catch (e) {
    throw new Error(`stdout is not one JSON document (${e.message}):\n${r.stdout}\nstderr:\n${r.stderr}`)
  }
}

const noStack = (text) => assert.doesNotMatch(text, /\n\s+at .+\(.*:\d+:\d+\)|\n\s+at .+:\d+:\d+/, 'no stack trace')

test('--help for every command (and `help <command>`) exits 0 and lists every option it accepts, its env vars and exit codes', async () => {
  const main = await run(['--help'])
  assert.equal(main.code, 0)
  for (const name of Object.keys(COMMANDS)) assert.match(main.stdout, new RegExp(`^  ${name} `, 'm'), name)
  for (const code of Object.values(EXIT)) assert.match(main.stdout, new RegExp(`^  ${code}  `, 'm'))
  for (const [name, spec] of Object.entries(COMMANDS)) {
    const r = await run([name, '--help'])
    assert.equal(r.code, 0, `${name} --help: ${r.stderr}`)
    assert.equal(r.stderr, '')
    for (const o of spec.options) assert.ok(r.stdout.includes(o.flag), `${name} --help mentions ${o.flag}`)
    for (const o of spec.options.filter((o) => o.env)) assert.ok(r.stdout.includes(o.env), `${name} --help mentions ${o.env}`)
    for (const code of spec.exits) assert.match(r.stdout, new RegExp(`^  ${code}  `, 'm'), `${name} --help lists exit ${code}`)
    const viaHelp = await run(['help', name])
    assert.equal(viaHelp.code, 0)
    assert.equal(viaHelp.stdout, r.stdout, `help ${name} = ${name} --help`)
  }
})

test('every option a command\'s help lists is accepted by its parser, and nothing else is', async () => {
  const { parse } = require('../cli/args.js')
  for (const [name, spec] of Object.entries(COMMANDS)) {
    for (const o of spec.options) {
      // run's command comes after `--`.
      const command = spec.positional?.afterDashDash ? ['--', 'true'] : []
      const argv = [name, o.flag, ...(o.bool ? [] : [o.number ? '5' : 'x']), ...command]
      assert.doesNotThrow(() => parse(argv), `${argv.join(' ')}`)
    }
    assert.throws(() => parse([name, '--no-such-option']), (e) => e.usage, name)
  }
})

test('usage errors exit 2 with a hint; --json gives them as an error document', async () => {
  const cmd = await run(['statu'])
  assert.equal(cmd.code, 2)
  assert.match(cmd.stderr, /unknown command 'statu' \(did you mean 'status'\?\)/)
  const opt = await run(['status', '--data-dri', '/tmp/x'])
  assert.equal(opt.code, 2)
  assert.match(opt.stderr, /unknown option --data-dri for 'status' \(did you mean --data-dir\?\).*claude-mem-store status --help/)
  assert.equal(opt.stdout, '')
  const other = await run(['probe', 'redis://127.0.0.1:1', '--purge-data'])
  assert.equal(other.code, 2, 'an option of another command is refused')
  const bad = await run(['status', '--port', 'abc', '--json'])
  assert.equal(bad.code, 2)
  assert.equal(json(bad).error.code, 'E_USAGE')
  const missing = await run(['status', '--data-dir'])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /--data-dir needs a value/)
  const none = await run([])
  assert.equal(none.code, 2)
  const sudo = await run(['up', '--allow-sudo'])
  assert.equal(sudo.code, 2, '--allow-sudo without --install-redis')
  assert.match(sudo.stderr, /--allow-sudo only apply with --install-redis/)
  const two = await run(['up', '--allow-sudo', '--mirror', 'http://127.0.0.1:9/'])
  assert.equal(two.code, 2)
  assert.match(two.stderr, /--mirror, --allow-sudo only apply with --install-redis/, 'the flags in --help\'s order')
})

test('the CLI passes each export the keys the addon accepts: one list, generated from Rust (cli/option-keys.json)', async () => {
  const KEYS = require('../cli/option-keys.json')
  // The file says what the addon says: each export's "Known options" is its list.
  for (const [name, keys] of Object.entries(KEYS.functions)) {
    const args = name === 'probeRedisUrl' ? ['redis://127.0.0.1:9', { zzzUnknown: 1 }] : [{ zzzUnknown: 1 }]
    let error
    try {
      await addon[name](...args)
    } catch (e) {
      error = e
    }
    assert.equal(error?.code, 'E_BAD_OPTION', name)
    assert.ok(error.message.endsWith(`Known options: ${keys.join(', ')}.`), `${name}: ${error.message}`)
  }
  // The CLI's flags cover both shared lists, and nothing else sets a store or install key.
  const common = new Set(COMMON.map((o) => o.key))
  const keysOf = (options) => new Set(options.map((o) => o.key).filter((k) => !common.has(k)))
  const sorted = (set) => [...set].sort()
  assert.deepEqual(sorted(keysOf(COMMANDS.status.options)), sorted(new Set(KEYS.store)), 'status: --flags for StoreOptions')
  // up: ensureQueueStoreStarted's keys (StoreOptions and its own), --install-redis, an install's.
  const upInstall = [...keysOf(COMMANDS.up.options)].filter((k) => !KEYS.functions.ensureQueueStoreStarted.includes(k) && k !== 'installRedis')
  assert.deepEqual(sorted(upInstall), sorted(new Set(KEYS.install)), 'up: --flags for the install options')
  assert.deepEqual(sorted(keysOf(COMMANDS.install.options)), sorted(new Set(KEYS.functions.installQueueStore)), 'install: installQueueStore\'s keys')
  // No hand-written key list left in cli/main.js: every pick() takes a list from the file.
  const main = fs.readFileSync(path.join(ROOT, 'cli', 'main.js'), 'utf8')
  assert.doesNotMatch(main, /pick\([^)]*\[/, 'cli/main.js picks options with a literal list')
  assert.doesNotMatch(main, /'dataDir',\s*'mode'|'method',\s*'version'/, 'cli/main.js copies a key list')
})

test('errors print `claude-mem-store: CODE: message` and no stack trace, unless --debug; --json prints {error:{code,message}}', async () => {
  const r = await run(['status', '--data-dir', 'relative/dir'])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /^claude-mem-store: E_BAD_SETTINGS: .+/)
  assert.equal(r.stdout, '')
  noStack(r.stderr)
  const debug = await run(['status', '--data-dir', 'relative/dir', '--debug'])
  assert.equal(debug.code, 1)
  assert.ok(debug.stderr.startsWith(r.stderr), 'the same line first')
  assert.match(debug.stderr.slice(r.stderr.length), /^\[?Error: the dataDir option[^]*code: 'E_BAD_SETTINGS'/, 'then the whole error (stack and properties)')
  const j = await run(['status', '--data-dir', 'relative/dir', '--json'])
  assert.equal(j.code, 1)
  const doc = json(j)
  assert.deepEqual(Object.keys(doc), ['error'])
  assert.equal(doc.error.code, 'E_BAD_SETTINGS')
  assert.ok(doc.error.message.length > 10)
  assert.equal(j.stderr, '')
})

test('status of a store that is not running: the block, exit 3; --json parses', async (t) => {
  const dataDir = tmpDataDir(t)
  const r = await run(['status', '--data-dir', dataDir])
  assert.equal(r.code, 3, r.stderr)
  assert.deepEqual(r.stdout.split('\n').slice(0, 4), ['Queue: BullMQ', 'Store: managed, not running', 'Persistence: -', 'Policy: -'])
  const j = await run(['status', '--data-dir', dataDir, '--json'])
  assert.equal(j.code, 3)
  assert.equal(json(j).running, false)
})

for (const { id, flavor, bin } of SERVERS) {
  test(`up / status / doctor / down round trip on ${id} (text and --json), the seed's block exactly, no password printed`, { skip: !bin && `${flavor}-server is not installed`, timeout: 120000 }, async (t) => {
    const dataDir = tmpDataDir(t)
    const version = /v=([0-9.]+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8' }))[1]
    const up = await run(['up', '--data-dir', dataDir, '--binary', bin])
    track(readPid(dataDir))
    assert.equal(up.code, 0, up.stderr)
    const pid = readPid(dataDir)
    assert.ok(isAlive(pid))
    const secret = fs.readFileSync(path.join(dataDir, 'redis', 'secret'), 'utf8').trim()
    assert.ok(secret.length >= 8)
    const port = JSON.parse(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8')).port
    const block = [
      'Queue: BullMQ',
      `Store: managed ${{ valkey: 'Valkey', redis: 'Redis', redict: 'Redict' }[flavor]} ${version} on 127.0.0.1:${port}`,
      'Persistence: AOF everysec',
      'Policy: noeviction',
    ]
    assert.deepEqual(up.stdout.split('\n').slice(0, 4), block)
    assert.match(up.stdout, /^Started the store\.$/m)

    const status = await run(['status', '--data-dir', dataDir])
    assert.equal(status.code, 0, status.stderr)
    assert.deepEqual(status.stdout.split('\n').slice(0, 4), block)
    assert.match(status.stdout, /^  ok   ping: PONG$/m)
    assert.match(status.stdout, /^  ok   maxmemory-policy: noeviction$/m)
    assert.match(status.stdout, /^URL: redis:\/\/:\*\*\*@127\.0\.0\.1:\d+$/m)

    const again = await run(['up', '--data-dir', dataDir, '--json'])
    assert.equal(again.code, 0, again.stderr)
    const doc = json(again)
    assert.equal(doc.resolution.decision, 'managed')
    assert.equal(doc.status.pid, pid, 'adopted, not started again')
    assert.equal(doc.status.started, false)

    const sj = await run(['status', '--data-dir', dataDir, '--json'])
    const s = json(sj)
    assert.equal(s.running, true)
    assert.equal(s.pid, pid)
    assert.equal(s.policy, 'noeviction')
    assert.equal(s.connection.port, port)
    assert.equal(s.connection.password, undefined)

    const doctor = await run(['doctor', '--data-dir', dataDir])
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr)
    assert.deepEqual(doctor.stdout.split('\n').slice(0, 4), block)
    assert.match(doctor.stdout, /^No problems found\.$/m)
    const dj = json(await run(['doctor', '--data-dir', dataDir, '--json']))
    assert.equal(dj.healthy, true)
    assert.deepEqual(dj.problems, [])

    for (const r of [up, status, again, sj, doctor]) assert.ok(!r.all.includes(secret), 'the password is never printed')

    const down = await run(['down', '--data-dir', dataDir, '--json'])
    assert.equal(down.code, 0, down.stderr)
    assert.equal(json(down).stopped, true)
    assert.equal(isAlive(pid), false)
    const after = await run(['status', '--data-dir', dataDir])
    assert.equal(after.code, 3)
    const downAgain = await run(['down', '--data-dir', dataDir])
    assert.equal(downAgain.code, 0, 'nothing running is not an error')
  })
}

test('probe of a good server (with --smoke): exit 0, every check ok, the password never printed', { skip: !BIN && 'no server installed' }, async (t) => {
  const server = await startServer(t, { flavor: VALKEY ? 'valkey' : 'redis', password: PASSWORD })
  const url = `redis://:${PASSWORD}@127.0.0.1:${server.port}`
  const r = await run(['probe', url, '--smoke'])
  assert.equal(r.code, 0, r.all)
  assert.match(r.stdout, new RegExp(`^URL: redis://:\\*\\*\\*@127\\.0\\.0\\.1:${server.port}$`, 'm'))
  assert.match(r.stdout, /^  ok   smoke:script: /m)
  assert.doesNotMatch(r.stdout, /FAIL/)
  assert.ok(!r.all.includes(PASSWORD))
  const j = await run(['probe', url, '--json', '--timeout', '3000'])
  assert.equal(j.code, 0)
  assert.equal(json(j).ok, true)
  assert.ok(!j.all.includes(PASSWORD))
  // Without a URL argument: CLAUDE_MEM_REDIS_URL.
  const env = await run(['probe', '--json'], { env: { CLAUDE_MEM_REDIS_URL: url } })
  assert.equal(env.code, 0)
  assert.equal(json(env).connection.port, server.port)
  assert.ok(!env.all.includes(PASSWORD))
  const wrong = await run(['probe', `redis://:wrong-${PASSWORD}@127.0.0.1:${server.port}`])
  assert.equal(wrong.code, 4)
  assert.match(wrong.stdout, /FAIL auth: .*\[E_AUTH\]/)
  assert.match(wrong.stdout, /fix: put the server's password in the URL/)
  assert.ok(!wrong.all.includes(PASSWORD))
})

test('an allkeys-lru server: probe and doctor --mode external show the CONFIG SET fix, exit 4, never the password', { skip: !BIN && 'no server installed' }, async (t) => {
  const server = await startServer(t, { flavor: VALKEY ? 'valkey' : 'redis', password: PASSWORD, args: ['--maxmemory-policy', 'allkeys-lru'] })
  const url = `redis://:${PASSWORD}@127.0.0.1:${server.port}`
  const probe = await run(['probe', url])
  assert.equal(probe.code, 4, probe.all)
  assert.match(probe.stdout, /^  FAIL maxmemory-policy: .*\[E_EVICTION_POLICY\]$/m)
  assert.match(probe.stdout, /fix: run `redis-cli -u redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ CONFIG SET maxmemory-policy noeviction`, and put `maxmemory-policy noeviction` in the server's config file/)
  assert.ok(!probe.all.includes(PASSWORD))
  const pj = json(await run(['probe', url, '--json']))
  assert.equal(pj.ok, false)
  assert.equal(pj.policy, 'allkeys-lru')

  const dataDir = tmpDataDir(t)
  const doctor = await run(['doctor', '--data-dir', dataDir, '--mode', 'external', '--url', url])
  assert.equal(doctor.code, 4, doctor.all)
  assert.match(doctor.stdout, /E_EVICTION_POLICY/)
  assert.match(doctor.stdout, /fix: run `redis-cli -u redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ CONFIG SET maxmemory-policy noeviction`/)
  assert.match(doctor.stdout, /problems? found\.$/m)
  assert.ok(!doctor.all.includes(PASSWORD))
  const dj = await run(['doctor', '--data-dir', dataDir, '--mode', 'external', '--url', url, '--json'])
  assert.equal(dj.code, 4)
  const report = json(dj)
  assert.equal(report.healthy, false)
  assert.ok(report.problems.some((p) => p.code === 'E_EVICTION_POLICY' && /CONFIG SET maxmemory-policy noeviction/.test(p.fix)))
  assert.ok(!dj.all.includes(PASSWORD))
})

test('doctor with a missing binary: E_NO_SERVER_BINARY with the install command as the fix, exit 4', async (t) => {
  const dataDir = tmpDataDir(t)
  const plan = json(await run(['plan', '--json']))
  const r = await run(['doctor', '--data-dir', dataDir, '--binary', '/nonexistent/valkey-server'])
  assert.equal(r.code, 4, r.all)
  assert.match(r.stdout, /^  FAIL binary: the binary option \/nonexistent\/valkey-server does not work: .*\[E_NO_SERVER_BINARY\]$/m)
  assert.ok(r.stdout.includes(`fix: install a server: \`${plan.shellCommand}\``), r.stdout)
  const j = json(await run(['doctor', '--data-dir', dataDir, '--binary', '/nonexistent/valkey-server', '--json']))
  assert.equal(j.healthy, false)
  assert.equal(j.problems[0].code, 'E_NO_SERVER_BINARY')
  assert.ok(j.problems[0].fix.includes(plan.shellCommand))
})

test('doctor of a healthy machine whose store is not running: no problems, exit 3', { skip: !BIN && 'no server installed' }, async (t) => {
  const r = await run(['doctor', '--data-dir', tmpDataDir(t)])
  assert.equal(r.code, 3, r.all)
  assert.match(r.stdout, /store is not running: start it with `claude-mem-store up`/)
})

test('doctor on a pid file naming another program\'s server: E_NOT_OWNED with what to do, nothing signalled', { skip: !BIN && 'no server installed' }, async (t) => {
  // A foreign server; the pid file of our store names it (the store cannot prove
  // it is ours): doctor says E_NOT_OWNED and what to do with the stale pid file.
  const server = await startServer(t, { flavor: VALKEY ? 'valkey' : 'redis' })
  const dataDir = tmpDataDir(t)
  fs.mkdirSync(path.join(dataDir, 'redis'), { recursive: true })
  fs.writeFileSync(path.join(dataDir, 'redis', 'redis.pid'), JSON.stringify({ pid: server.pid, port: server.port, startedAt: Date.now(), startToken: 'x', runId: 'y', binary: BIN, version: '1' }))
  const r = await run(['doctor', '--data-dir', dataDir])
  assert.equal(r.code, 4, r.all)
  assert.match(r.stdout, /\[E_NOT_OWNED\]/)
  assert.match(r.stdout, /fix: the pid file names a process that is not claude-mem's server/)
  assert.ok(isAlive(server.pid), 'never signalled')
})

test('up on a port another program holds: E_PORT_IN_USE naming the holder (pid and command), exit 1', { skip: !BIN && 'no server installed' }, async (t) => {
  const squatter = await startServer(t, { flavor: VALKEY ? 'valkey' : 'redis' })
  const dataDir = tmpDataDir(t)
  const r = await run(['up', '--data-dir', dataDir, '--port', String(squatter.port)])
  track(readPid(dataDir))
  assert.equal(r.code, 1, r.all)
  assert.match(r.stderr, new RegExp(`^claude-mem-store: E_PORT_IN_USE: port ${squatter.port} \\(the port option\\) is held by pid ${squatter.pid} \\(`, 'm'))
  noStack(r.stderr)
  assert.ok(isAlive(squatter.pid))
})

test('up with no server binary and no --install-redis fails with the command to run (exit 1), text and --json', async (t) => {
  const dataDir = tmpDataDir(t)
  const r = await run(['up', '--data-dir', dataDir, '--binary', '/nonexistent/valkey-server'])
  assert.equal(r.code, 1, r.all)
  assert.match(r.stderr, /^claude-mem-store: E_NO_SERVER_BINARY: .*installRedis/m)
  assert.match(r.stderr, /^Run: .*install -y (valkey|redis)-server$/m)
  noStack(r.stderr)
  const j = await run(['up', '--data-dir', dataDir, '--binary', '/nonexistent/valkey-server', '--json'])
  assert.equal(j.code, 1)
  const doc = json(j)
  assert.equal(doc.error.code, 'E_NO_SERVER_BINARY')
  assert.match(doc.error.command, /install -y (valkey|redis)-server/)
  assert.equal(doc.resolution.decision, 'fail')
})

test('--json on every command prints exactly one JSON document on stdout', async (t) => {
  const dataDir = tmpDataDir(t)
  const cases = [
    ['status', '--data-dir', dataDir],
    ['down', '--data-dir', dataDir],
    ['detect', '--data-dir', dataDir],
    ['plan'],
    ['doctor', '--data-dir', dataDir],
    ['uninstall', '--data-dir', dataDir],
    ['probe', 'redis://127.0.0.1:1', '--timeout', '2000'],
    ['help', 'up'],
    ['up', '--data-dir', dataDir, '--binary', '/nonexistent/x'],
    ['install', '--data-dir', dataDir, '--method', 'nonsense'],
  ]
  for (const args of cases) {
    const r = await run([...args, '--json'])
    const doc = json(r)
    assert.equal(typeof doc, 'object', args.join(' '))
    assert.ok(r.code !== 2, `${args.join(' ')}: ${r.stdout}`)
  }
  const probe = json(await run(['probe', 'redis://127.0.0.1:1', '--timeout', '2000', '--json']))
  assert.equal(probe.ok, false)
  assert.equal(probe.checks[0].code, 'E_UNREACHABLE')
})

test('the progress bar: redrawn in place on a terminal, throttled plain lines elsewhere', () => {
  assert.equal(progressBar(50, 100, 10), 'download [#####.....]  50%  50 B/100 B')
  assert.equal(progressBar(2 * 1024 * 1024, undefined), 'download 2.0 MiB')
  const tty = []
  const r1 = progressRenderer({ isTTY: true, write: (s) => tty.push(s) })
  r1.onProgress({ phase: 'checksum' })
  for (let b = 0; b <= 1000; b += 250) r1.onProgress({ phase: 'download', bytes: b, total: 1000 })
  r1.onProgress({ phase: 'verify' })
  r1.onProgress({ phase: 'done' })
  const screen = tty.join('')
  assert.match(screen, /^  checksum\n/)
  assert.equal((screen.match(/\r\x1b\[2K/g) || []).length, 5, 'one redraw per event')
  assert.match(screen, /\[#{30}\] 100%  1000 B\/1000 B\n  verify\n  done\n$/)

  let clock = 0
  const lines = []
  const r2 = progressRenderer({ isTTY: false, write: (s) => lines.push(s) }, { now: () => clock, everyMs: 1000 })
  for (let b = 0; b <= 1000; b += 100) {
    clock += 300
    r2.onProgress({ phase: 'download', bytes: b, total: 1000 })
  }
  r2.onProgress({ phase: 'done' })
  assert.ok(lines.every((l) => !l.includes('\r')), 'no carriage returns off a terminal')
  const downloads = lines.filter((l) => l.includes('download'))
  assert.ok(downloads.length >= 3 && downloads.length <= 5, `throttled: ${downloads.length} lines`)
  assert.match(downloads.at(-1), /100%/, 'the end is always shown')
  assert.equal(lines.at(-1), '  done\n')
})

test('statusBlock renders the seed\'s four lines for docker and external stores too', () => {
  assert.deepEqual(statusBlock({ mode: 'external', running: true, server: { flavor: 'redis', version: '7.2.4' }, connection: { host: 'cache.example', port: 6380 }, persistence: 'RDB only', policy: 'noeviction' }), [
    'Queue: BullMQ', 'Store: external Redis 7.2.4 on cache.example:6380', 'Persistence: RDB only', 'Policy: noeviction',
  ])
  assert.deepEqual(statusBlock({ mode: 'docker', running: false }), ['Queue: BullMQ', 'Store: docker, not running', 'Persistence: -', 'Policy: -'])
})

// ---- install from a loopback mirror (as install.test.mjs does) ----

const VERSION = VALKEY ? /v=([0-9.]+)/.exec(execFileSync(VALKEY, ['--version'], { encoding: 'utf8' }))?.[1] : null
const ARCH = process.arch === 'arm64' ? 'arm64' : 'x86_64'
const STEM = `valkey-${VERSION}-jammy-${ARCH}`
const FILE = `${STEM}.tar.gz`
const noDownload = !VALKEY ? 'valkey-server is not installed' : VERSION !== '8.0.1' && `installed valkey-server is ${VERSION}; the manifest's test entry is 8.0.1`

async function mirror(t) {
  const dir = tmpDataDir(t)
  fs.mkdirSync(path.join(dir, STEM, 'bin'), { recursive: true })
  fs.copyFileSync(VALKEY, path.join(dir, STEM, 'bin', 'valkey-server'))
  fs.chmodSync(path.join(dir, STEM, 'bin', 'valkey-server'), 0o755)
  execFileSync('tar', ['-czf', path.join(dir, FILE), '-C', dir, STEM])
  const tarball = fs.readFileSync(path.join(dir, FILE))
  const files = {
    [FILE]: tarball,
    [`${FILE}.sha256`]: Buffer.from(`${crypto.createHash('sha256').update(tarball).digest('hex')}  ${FILE}\n`),
  }
  const sockets = new Set()
  const server = http.createServer((req, res) => {
    const body = files[decodeURIComponent(req.url.replace(/^\/releases\//, ''))]
    if (!body) {
      res.writeHead(404)
      return res.end('not found')
    }
    res.writeHead(200, { 'content-length': body.length })
    // In chunks, so that the download reports progress more than once.
    let off = 0
    const next = () => {
      if (off >= body.length) return res.end()
      const chunk = body.subarray(off, off + 256 * 1024)
      off += chunk.length
      res.write(chunk, next)
    }
    next()
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => {
    for (const s of sockets) s.destroy()
    server.close(resolve)
  }))
  return `http://127.0.0.1:${server.address().port}/releases/`
}

test('install --method download from a loopback mirror: --json is one document; text shows progress on stderr', { skip: noDownload, timeout: 120000 }, async (t) => {
  const url = await mirror(t)
  const dataDir = tmpDataDir(t)
  const common = ['--data-dir', dataDir, '--method', 'download', '--version', VERSION, '--distro', 'jammy', '--mirror', url]
  const j = await run(['install', ...common, '--json'])
  assert.equal(j.code, 0, j.all)
  const result = json(j)
  assert.equal(result.method, 'download')
  assert.equal(result.binary, path.join(dataDir, 'bin', 'valkey', VERSION, 'bin', 'valkey-server'))
  assert.equal(j.stderr, '', 'no progress with --json')

  const dataDir2 = tmpDataDir(t)
  const text = await run(['install', ...common.slice(2), '--data-dir', dataDir2])
  assert.equal(text.code, 0, text.all)
  assert.match(text.stdout, new RegExp(`^Installed valkey ${VERSION.replace(/\./g, '\\.')} with download$`, 'm'))
  assert.match(text.stderr, /^  download \[[#.]+\] +\d+%/m, 'download progress lines')
  assert.match(text.stderr, /100%/)
  assert.doesNotMatch(text.stderr, /\r/, 'stderr is not a terminal: plain lines')

  // up --install-redis: resolve installs from the mirror, then starts the store on it.
  const dataDir3 = tmpDataDir(t)
  const up = await run(['up', ...common.slice(2), '--data-dir', dataDir3, '--binary', '/nonexistent/valkey-server', '--install-redis', '--json'])
  track(readPid(dataDir3))
  assert.equal(up.code, 0, up.all)
  const doc = json(up)
  assert.equal(doc.resolution.decision, 'install')
  assert.equal(doc.status.running, true)
  assert.equal(doc.status.server.binary, path.join(dataDir3, 'bin', 'valkey', VERSION, 'bin', 'valkey-server'))
  const down = await run(['down', '--data-dir', dataDir3, '--json'])
  assert.equal(json(down).stopped, true)
})

// ---------------------------------------------------------------------------
// run: the store for one command's lifetime (claude-mem as published is that command).

const settingsOf = (dataDir) => JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8'))
// A command that prints what claude-mem would read, then exits with `code`.
const PRINT_ENV = (code) => [process.execPath, '-e', `const k=['CLAUDE_MEM_QUEUE_ENGINE','CLAUDE_MEM_REDIS_MODE','CLAUDE_MEM_REDIS_URL','CLAUDE_MEM_REDIS_HOST','CLAUDE_MEM_REDIS_PORT','CLAUDE_MEM_DATA_DIR','CLAUDE_MEM_QUEUE_REDIS_PREFIX'];console.log(JSON.stringify(Object.fromEntries(k.map(n=>[n,process.env[n]]))));process.exit(${code})`]

test('run without a command, with one not after --, with an unknown option, or with one that cannot be spawned: a clear error, nothing started', { skip: !BIN && 'no server installed' }, async (t) => {
  const dataDir = tmpDataDir(t)
  for (const [args, code, pattern] of [
    [['run', '--data-dir', dataDir], EXIT.usage, /needs a command after --/],
    [['run', '--data-dir', dataDir, '--'], EXIT.usage, /COMMAND/],
    [['run', '--data-dir', dataDir, 'true'], EXIT.usage, /--/],
    [['run', '--data-dir', dataDir, '--bogus', '--', 'true'], EXIT.usage, /--bogus/],
    [['run', '--data-dir', dataDir, '--binary', BIN, '--', '/nonexistent/claude-mem'], EXIT.failed, /E_SPAWN_FAILED: cannot run '\/nonexistent\/claude-mem'/],
    [['run', '--data-dir', dataDir, '--binary', BIN, '--', 'no-such-command-cms'], EXIT.failed, /E_SPAWN_FAILED: .*not .*on PATH/],
  ]) {
    const r = await run(args)
    assert.equal(r.code, code, `${args.join(' ')}: ${r.all}`)
    assert.match(r.stderr, pattern, args.join(' '))
    noStack(r.all)
    assert.equal(readPid(dataDir), null, `${args.join(' ')}: no store was started`)
  }
  // A store that was running before a failed run is left running.
  const up = json(await run(['up', '--data-dir', dataDir, '--binary', BIN, '--json']))
  track(up.status.pid)
  const r = await run(['run', '--data-dir', dataDir, '--', '/nonexistent/claude-mem'])
  assert.equal(r.code, EXIT.failed)
  assert.ok(isAlive(up.status.pid), 'the store it found running is still running')
  assert.equal((await run(['down', '--data-dir', dataDir])).code, 0)
})

test('run gives COMMAND what claude-mem reads, exits with its status, and stops the store it started unless --keep', { skip: !BIN && 'no server installed', timeout: 120000 }, async (t) => {
  const dataDir = tmpDataDir(t)
  const r = await run(['run', '--data-dir', dataDir, '--binary', BIN, '--', ...PRINT_ENV(7)])
  assert.equal(r.code, 7, `COMMAND's exit status: ${r.all}`)
  const env = JSON.parse(r.stdout)
  const settings = settingsOf(dataDir)
  const port = Number(new URL(settings.CLAUDE_MEM_REDIS_URL).port)
  assert.deepEqual(env, {
    CLAUDE_MEM_QUEUE_ENGINE: 'bullmq',
    CLAUDE_MEM_REDIS_MODE: 'managed',
    CLAUDE_MEM_REDIS_URL: settings.CLAUDE_MEM_REDIS_URL,
    CLAUDE_MEM_REDIS_HOST: '127.0.0.1',
    CLAUDE_MEM_REDIS_PORT: String(port),
    CLAUDE_MEM_DATA_DIR: dataDir,
  }, 'no prefix given: none exported (claude-mem uses its own default, the one status reports)')
  assert.match(settings.CLAUDE_MEM_REDIS_URL, /^redis:\/\/:[^@]+@127\.0\.0\.1:\d+$/, 'the URL with the password')
  assert.ok(!r.stderr.includes(new URL(settings.CLAUDE_MEM_REDIS_URL).password), 'run never prints the password')
  assert.match(r.stderr, /stopped the store \(nobody else uses it\)/)
  assert.equal(readPid(dataDir), null, 'the store it started is stopped')

  // --prefix is passed on, sanitised as claude-mem does; --keep leaves the store running.
  const kept = await run(['run', '--data-dir', dataDir, '--binary', BIN, '--keep', '--prefix', 'team a{x}', '--', ...PRINT_ENV(0)])
  assert.equal(kept.code, 0, kept.all)
  assert.equal(JSON.parse(kept.stdout).CLAUDE_MEM_QUEUE_REDIS_PREFIX, 'team_a_x_')
  const pid = readPid(dataDir)
  track(pid)
  assert.ok(pid && isAlive(pid), '--keep: the store is still running')
  assert.equal((await run(['down', '--data-dir', dataDir])).code, 0)
})

test('run forwards SIGTERM and SIGHUP to COMMAND and exits with its status (128+N when it dies of signal N)', { skip: !BIN && 'no server installed', timeout: 120000 }, async (t) => {
  const dataDir = tmpDataDir(t)
  // Handles SIGTERM (exit 42), dies of SIGHUP (no handler).
  const script = "process.on('SIGTERM',()=>process.exit(42));console.log('ready');setInterval(()=>{},1000)"
  for (const [signal, expected] of [['SIGTERM', 42], ['SIGHUP', 128 + 1]]) {
    const child = spawn(process.execPath, [CLI, 'run', '--data-dir', dataDir, '--binary', BIN, '--', process.execPath, '-e', script], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    track(child.pid)
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, sig })))
    // COMMAND prints `ready` once it runs (the store is up by then).
    await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('ready') && resolve())
      child.once('exit', () => reject(new Error(`run exited before COMMAND was ready: ${stderr}`)))
    })
    const storePid = readPid(dataDir)
    assert.ok(storePid && isAlive(storePid), 'the store runs while COMMAND does')
    child.kill(signal)
    assert.deepEqual(await exited, { code: expected, sig: null }, `${signal}: ${stderr}`)
    assert.equal(isAlive(storePid), false, 'and is stopped after it')
  }
})
