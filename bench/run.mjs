#!/usr/bin/env node
// The benchmark: claude-mem-store against its baselines, side by side in one
// invocation (absolute times drift on shared machines; ratios measured together
// do not). Writes bench/RESULTS.md and bench/results.json.
//
//   npm run bench                 # all of it
//   npm run bench -- --rounds 5   # fewer rounds
//
// Baselines: a bare valkey-server / redis-server started with the seed's config
// (start to first PONG), redis-memory-server (REDISMS_SYSTEM_BINARY = the same
// redis-server), `openssl dgst -sha256`, a hand-started server for BullMQ.
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

const require = createRequire(import.meta.url)
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const store = require(ROOT)
const args = process.argv.slice(2)
const ROUNDS = Number(args[args.indexOf('--rounds') + 1]) || 15
const now = () => Number(process.hrtime.bigint()) / 1e6

function which(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const p = path.join(dir, name)
    if (fs.existsSync(p)) return p
  }
  return null
}
const BINS = { valkey: which('valkey-server'), redis: which('redis-server') }

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
  return { median, min: s[0], max: s[s.length - 1], n: s.length }
}

function isAlive(pid) {
  try { process.kill(pid, 0) } catch { return false }
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return st[st.lastIndexOf(')') + 2] !== 'Z'
  } catch { return false }
}

async function waitGone(pid) {
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 1))
}

/** Resolves when the server on `port` answers PONG to AUTH+PING; tries as fast as it can. */
function pongOnce(port, password) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' })
    let buf = ''
    sock.on('connect', () => sock.write(`AUTH ${password}\r\nPING\r\n`))
    sock.on('data', (d) => {
      buf += d
      if (buf.includes('+PONG')) { sock.destroy(); resolve(true) }
      else if (buf.includes('-LOADING') || (buf.match(/\r\n/g) || []).length >= 2) { sock.destroy(); resolve(false) }
    })
    sock.on('error', () => resolve(false))
  })
}

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function seedConfig(dir, port, password) {
  return [
    'bind 127.0.0.1', 'protected-mode yes', `port ${port}`, `dir "${dir}"`, 'daemonize no', 'logfile ""',
    'appendonly yes', 'appendfsync everysec', 'save 60 1', 'maxmemory-policy noeviction', `requirepass "${password}"`,
  ].join('\n') + '\n'
}

/** Starts a bare server with the seed's config; returns {pid, port, ms: start→PONG, stop()}. */
async function bareServer(bin) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-bench-bare-'))
  const port = await freePort()
  const password = 'bench'
  fs.writeFileSync(path.join(dir, 'redis.conf'), seedConfig(dir, port, password))
  const t0 = now()
  const child = spawn(bin, [path.join(dir, 'redis.conf')], { stdio: 'ignore' })
  while (!(await pongOnce(port, password))) {
    if (!isAlive(child.pid)) throw new Error(`${bin} exited while starting`)
  }
  const ms = now() - t0
  return {
    pid: child.pid, port, password, ms, dir,
    async stop() {
      child.kill('SIGKILL')
      await waitGone(child.pid)
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

const results = []
function record(name, subject, baseline, target) {
  const s = stats(subject.samples)
  const b = baseline ? stats(baseline.samples) : null
  const ratio = b ? s.median / b.median : null
  const row = { name, subject: { label: subject.label, ...s }, baseline: b && { label: baseline.label, ...b }, ratio, target }
  row.pass = target.ratio ? (target.higherIsBetter ? ratio >= target.ratio : ratio <= target.ratio) : target.absMs ? s.median <= target.absMs : null
  results.push(row)
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(2))
  console.log(`${name}: ${fmt(s.median)}${subject.unit || ' ms'}` + (b ? ` vs ${fmt(b.median)}${subject.unit || ' ms'} → ${ratio.toFixed(2)}×` : '') + ` [${row.pass ? 'meets' : 'MISSES'} target]`)
}

async function coldEnsure(flavor) {
  const bin = BINS[flavor]
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `cms-bench-${flavor}-`))
  const subject = { label: 'cold ensureQueueStoreStarted', samples: [] }
  const baseline = { label: `bare ${flavor}-server, seed config, start→PONG`, samples: [] }
  // One untimed start creates the data dir, secret and settings (first-run costs).
  await store.ensureQueueStoreStarted({ dataDir, binary: bin })
  await store.stopQueueStore({ dataDir })
  for (let i = 0; i < ROUNDS; i++) {
    const bare = await bareServer(bin)
    baseline.samples.push(bare.ms)
    await bare.stop()
    const t0 = now()
    await store.ensureQueueStoreStarted({ dataDir, binary: bin })
    subject.samples.push(now() - t0)
    await store.stopQueueStore({ dataDir })
  }
  fs.rmSync(dataDir, { recursive: true, force: true })
  record(`cold ensure (${flavor})`, subject, baseline, { ratio: 1.3, text: '≤ 1.3× bare start→PONG' })
}

async function versusRedisMemoryServer() {
  const bin = BINS.redis
  process.env.REDISMS_SYSTEM_BINARY = bin
  const { RedisMemoryServer } = require('redis-memory-server')
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-bench-rms-'))
  await store.ensureQueueStoreStarted({ dataDir, binary: bin })
  await store.stopQueueStore({ dataDir })
  const subject = { label: 'cold ensureQueueStoreStarted (redis-server)', samples: [] }
  const baseline = { label: 'RedisMemoryServer.create() + getPort() (same redis-server, no persistence, no checks)', samples: [] }
  for (let i = 0; i < ROUNDS; i++) {
    let t0 = now()
    const rms = await RedisMemoryServer.create({ binary: { systemBinary: bin } })
    await rms.getPort()
    baseline.samples.push(now() - t0)
    await rms.stop()
    t0 = now()
    await store.ensureQueueStoreStarted({ dataDir, binary: bin })
    subject.samples.push(now() - t0)
    await store.stopQueueStore({ dataDir })
  }
  fs.rmSync(dataDir, { recursive: true, force: true })
  record('cold ensure vs redis-memory-server', subject, baseline, { ratio: 0.7, text: '≤ 0.7× redis-memory-server' })
}

async function warmCalls() {
  const bin = BINS.valkey || BINS.redis
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-bench-warm-'))
  await store.ensureQueueStoreStarted({ dataDir, binary: bin })
  const warm = { label: 'ensureQueueStoreStarted on a running store', samples: [] }
  const status = { label: 'queueStoreStatus', samples: [] }
  for (let i = 0; i < ROUNDS * 4; i++) {
    let t0 = now()
    await store.ensureQueueStoreStarted({ dataDir, binary: bin })
    warm.samples.push(now() - t0)
    t0 = now()
    await store.queueStoreStatus({ dataDir })
    status.samples.push(now() - t0)
  }
  record('warm ensure (adopt)', warm, null, { absMs: 2, text: '≤ 2 ms' })
  record('status', status, null, { absMs: 1, text: '≤ 1 ms' })
  const stop = { label: 'stopQueueStore (small store)', samples: [] }
  const sigterm = { label: 'bare server: SIGTERM → exit (reference)', samples: [] }
  for (let i = 0; i < ROUNDS; i++) {
    await store.ensureQueueStoreStarted({ dataDir, binary: bin })
    const t0 = now()
    await store.stopQueueStore({ dataDir })
    stop.samples.push(now() - t0)
    const bare = await bareServer(bin)
    const t1 = now()
    process.kill(bare.pid, 'SIGTERM')
    await waitGone(bare.pid)
    sigterm.samples.push(now() - t1)
    await bare.stop()
  }
  fs.rmSync(dataDir, { recursive: true, force: true })
  record('stop', stop, sigterm, { absMs: 20, text: '≤ 20 ms' })
}

function requireTime() {
  const samples = []
  const code = `const t0 = process.hrtime.bigint(); require(${JSON.stringify(ROOT)}); console.log(Number(process.hrtime.bigint() - t0) / 1e6)`
  for (let i = 0; i < ROUNDS; i++) samples.push(Number(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8' })))
  record("require('claude-mem-store')", { label: 'require in a fresh node process', samples }, null, { absMs: 5, text: '≤ 5 ms' })
}

/** BullMQ jobs/s on `connection`: 2000 jobs added in bulk, processed by one Worker (concurrency 50). */
async function bullmqRun(connection, name) {
  const { Queue, Worker } = require('bullmq')
  const JOBS = 2000
  const queue = new Queue(name, { connection })
  let done = 0
  let finish
  const finished = new Promise((r) => { finish = r })
  const worker = new Worker(name, async () => 1, { connection, concurrency: 50, autorun: false })
  worker.on('completed', () => { if (++done === JOBS) finish() })
  const t0 = now()
  await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'j', data: { i } })))
  worker.run()
  await finished
  const ms = now() - t0
  await worker.close()
  await queue.obliterate({ force: true })
  await queue.close()
  return (JOBS / ms) * 1000
}

async function bullmqThroughput() {
  const bin = BINS.valkey || BINS.redis
  const run = bullmqRun
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-bench-bullmq-'))
  const managed = await store.ensureQueueStoreStarted({ dataDir, binary: bin })
  const bare = await bareServer(bin)
  const subject = { label: `jobs/s on the managed store`, samples: [], unit: ' jobs/s' }
  const baseline = { label: `jobs/s on a hand-started server, seed config`, samples: [], unit: ' jobs/s' }
  const bareConnection = { host: '127.0.0.1', port: bare.port, password: bare.password }
  // One untimed run on each first: the first run in a process pays for V8 compiling
  // BullMQ and ioredis, which would otherwise count against whichever goes first.
  await run(bareConnection, 'warmup-b')
  await run(managed.connection, 'warmup-m')
  // A run is ~0.3 s and its throughput swings by ±40% on a shared machine, so this
  // takes as many samples as the other measures, not fewer.
  for (let i = 0; i < ROUNDS; i++) {
    // Which goes first alternates, so that whatever the order favours cancels out.
    const pair = [
      async () => baseline.samples.push(await run(bareConnection, `b${i}`)),
      async () => subject.samples.push(await run(managed.connection, `m${i}`)),
    ]
    if (i % 2) pair.reverse()
    for (const step of pair) await step()
  }
  await bare.stop()
  await store.stopQueueStore({ dataDir })
  fs.rmSync(dataDir, { recursive: true, force: true })
  record('BullMQ add+process throughput', subject, baseline, { ratio: 0.95, higherIsBetter: true, text: '≥ 0.95× hand-started server' })
}

/**
 * The bundled Valkey (the static build in npm/linux-x64-gnu/valkey/) against
 * Debian's valkey-server on this machine, each started bare with the seed's
 * config: start→PONG, and BullMQ add+process throughput, interleaved; plus what
 * bundling adds to the package.
 */
async function bundledValkey() {
  const pkgDir = path.join(ROOT, 'npm', 'linux-x64-gnu')
  const bundled = path.join(pkgDir, 'valkey', 'valkey-server')
  if (!fs.existsSync(bundled) || !BINS.valkey || process.arch !== 'x64') {
    console.log('bundled valkey: skipped (needs npm run build:all and a valkey-server here)')
    return
  }
  const start = { bundled: { label: `bundled valkey ${serverVersion(bundled)} (static, musl, jemalloc): start→PONG`, samples: [] }, debian: { label: `Debian's valkey-server ${serverVersion(BINS.valkey)}`, samples: [] } }
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 ? ['bundled', 'debian'] : ['debian', 'bundled']
    for (const which of order) {
      const s = await bareServer(which === 'bundled' ? bundled : BINS.valkey)
      start[which].samples.push(s.ms)
      await s.stop()
    }
  }
  // Lower is better: the ratio is Debian's time over ours (≥ 0.95: at most ~5% slower).
  const sb = stats(start.bundled.samples)
  const sd = stats(start.debian.samples)
  const startRatio = sd.median / sb.median
  results.push({ name: 'bundled valkey: start→PONG', subject: { label: start.bundled.label, ...sb }, baseline: { label: start.debian.label, ...sd }, ratio: startRatio, target: { ratio: 0.95, higherIsBetter: true, text: '≥ 0.95× Debian\'s speed' }, pass: startRatio >= 0.95, note: 'ratio = Debian time / bundled time' })
  console.log(`bundled valkey start→PONG: ${sb.median.toFixed(2)} ms vs Debian ${sd.median.toFixed(2)} ms → ${startRatio.toFixed(2)}× Debian's speed [${startRatio >= 0.95 ? 'meets' : 'MISSES'} target]`)

  const servers = { bundled: await bareServer(bundled), debian: await bareServer(BINS.valkey) }
  const conn = (s) => ({ host: '127.0.0.1', port: s.port, password: s.password })
  const tput = { bundled: { label: 'jobs/s on the bundled valkey', samples: [], unit: ' jobs/s' }, debian: { label: 'jobs/s on Debian\'s valkey-server', samples: [], unit: ' jobs/s' } }
  await bullmqRun(conn(servers.debian), 'warmup-d')
  await bullmqRun(conn(servers.bundled), 'warmup-b')
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 ? ['bundled', 'debian'] : ['debian', 'bundled']
    for (const which of order) tput[which].samples.push(await bullmqRun(conn(servers[which]), `${which}${i}`))
  }
  for (const s of Object.values(servers)) await s.stop()
  record('bundled valkey: BullMQ add+process throughput', tput.bundled, tput.debian, { ratio: 0.95, higherIsBetter: true, text: '≥ 0.95× Debian\'s valkey-server' })

  const size = (p) => (fs.statSync(p).isDirectory() ? fs.readdirSync(p).reduce((n, f) => n + size(path.join(p, f)), 0) : fs.statSync(p).size)
  const added = size(path.join(pkgDir, 'valkey')) / 1048576
  const addon = fs.statSync(path.join(pkgDir, 'claude-mem-store.linux-x64-gnu.node')).size / 1048576
  results.push({ name: 'bundled valkey: what it adds to the linux-x64-gnu package', subject: { label: 'valkey/ (server, licences, build record)', median: added, min: added, max: added, n: 1 }, baseline: { label: 'the .node alone', median: addon, min: addon, max: addon, n: 1 }, ratio: (addon + added) / addon, target: { text: 'reported' }, pass: true, unit: ' MB' })
  console.log(`bundled valkey adds ${added.toFixed(2)} MB to the package (.node ${addon.toFixed(2)} MB)`)
}

/**
 * The Linux platform packages `npm run build:all` made (zig-linked; gnu with a
 * glibc 2.17 floor): each .node's size, and the require time of this machine's
 * package against the local build (`napi build`, linked with the system's gcc and
 * glibc), interleaved in fresh processes. Only native timings: an emulated run
 * (qemu) measures the emulator, not the package.
 */
function platformPackages() {
  const local = path.join(ROOT, `claude-mem-store.linux-x64-gnu.node`)
  const pkgNode = (p) => path.join(ROOT, 'npm', p, `claude-mem-store.${p}.node`)
  for (const p of ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl']) {
    if (!fs.existsSync(pkgNode(p))) {
      console.log(`${p}: not built (npm run build:all)`)
      continue
    }
    const mb = fs.statSync(pkgNode(p)).size / 1048576
    results.push({ name: `.node size: ${p} package`, subject: { label: pkgNode(p), median: mb, min: mb, max: mb, n: 1 }, baseline: null, ratio: null, target: { text: 'reported' }, pass: true, unit: ' MB' })
    console.log(`${p}: ${mb.toFixed(2)} MB`)
  }
  if (process.arch !== 'x64' || !fs.existsSync(pkgNode('linux-x64-gnu')) || !fs.existsSync(local)) return
  const code = `const t0 = process.hrtime.bigint(); require(${JSON.stringify(ROOT)}); console.log(Number(process.hrtime.bigint() - t0) / 1e6)`
  const once = (env) => Number(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, ...env } }))
  const subject = { label: 'require, the linux-x64-gnu package (zig, glibc 2.17)', samples: [] }
  const baseline = { label: 'require, the local build (gcc, this glibc)', samples: [] }
  once({})
  for (let i = 0; i < ROUNDS * 2; i++) {
    const pair = [() => baseline.samples.push(once({})), () => subject.samples.push(once({ NAPI_RS_NATIVE_LIBRARY_PATH: pkgNode('linux-x64-gnu') }))]
    if (i % 2) pair.reverse()
    for (const step of pair) step()
  }
  record('require: the linux-x64-gnu package', subject, baseline, { absMs: 5, text: '≤ 5 ms' })
}

/** Whole-process wall time of `cmd args`, in ms. */
function timeCommand(cmd, args) {
  const t0 = now()
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  if (r.status !== 0) throw new Error(`${cmd} failed`)
  return now() - t0
}

async function sha256Speed() {
  // The installer's hashing (sha2::Sha256 over streamed chunks), as a binary.
  spawnSync('cargo', ['build', '--release', '--quiet', '--example', 'sha256_file'], { cwd: ROOT, stdio: 'inherit' })
  const ours = path.join(ROOT, 'target', 'release', 'examples', 'sha256_file')
  const file = path.join(os.tmpdir(), `cms-bench-sha-${process.pid}.bin`)
  writeRandomFile(file, 256 * 1024 * 1024)
  const subject = { label: 'sha2::Sha256, 64 KiB chunks (the installer\'s verification), 256 MiB', samples: [] }
  const baseline = { label: 'openssl dgst -sha256, same file', samples: [] }
  for (let i = 0; i < Math.max(5, Math.ceil(ROUNDS / 2)); i++) {
    baseline.samples.push(timeCommand('openssl', ['dgst', '-sha256', file]))
    subject.samples.push(timeCommand(ours, [file]))
  }
  fs.rmSync(file, { force: true })
  // Throughput ratio: openssl's time over ours (≥ 0.9 means at least 90% of openssl's speed).
  const speed = { label: subject.label, samples: subject.samples.map((ms, i) => baseline.samples[i] / ms), unit: '× openssl' }
  const s = stats(subject.samples)
  const b = stats(baseline.samples)
  const ratio = b.median / s.median
  results.push({ name: 'sha256 verification speed', subject: { label: subject.label, ...s }, baseline: { label: baseline.label, ...b }, ratio, target: { ratio: 0.9, higherIsBetter: true, text: '≥ 0.9× openssl throughput' }, pass: ratio >= 0.9, note: 'ratio = openssl time / our time' })
  console.log(`sha256: ${s.median.toFixed(0)} ms vs openssl ${b.median.toFixed(0)} ms → ${ratio.toFixed(2)}× openssl's throughput [${ratio >= 0.9 ? 'meets' : 'MISSES'} target]`)
  void speed
}

function writeRandomFile(file, bytes) {
  const fd = fs.openSync(file, 'w')
  const chunk = Buffer.alloc(1024 * 1024)
  for (let done = 0; done < bytes; done += chunk.length) {
    crypto.randomFillSync(chunk)
    fs.writeSync(fd, chunk)
  }
  fs.closeSync(fd)
}

/**
 * A 200 MB artifact downloaded from loopback by installQueueStore in a child
 * process, whose peak RSS (VmHWM, reset just before) is compared with its RSS
 * before the download: memory must stay flat whatever the artifact's size.
 */
async function downloadMemory() {
  const valkey = BINS.valkey
  const version = serverVersion(valkey)
  if (version !== '8.0.1') {
    console.log(`download memory: skipped (the manifest's test entry is 8.0.1; valkey-server here is ${version})`)
    return
  }
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86_64'
  const stem = `valkey-${version}-jammy-${arch}`
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-bench-dl-'))
  fs.mkdirSync(path.join(work, stem, 'bin'), { recursive: true })
  fs.copyFileSync(valkey, path.join(work, stem, 'bin', 'valkey-server'))
  fs.chmodSync(path.join(work, stem, 'bin', 'valkey-server'), 0o755)
  // Incompressible padding makes the artifact ~200 MB on the wire.
  writeRandomFile(path.join(work, stem, 'padding.bin'), 200 * 1024 * 1024)
  const tarball = path.join(work, `${stem}.tar.gz`)
  execFileSync('tar', ['--use-compress-program=gzip -1', '-cf', tarball, '-C', work, stem])
  fs.rmSync(path.join(work, stem), { recursive: true })
  const size = fs.statSync(tarball).size
  const digest = crypto.createHash('sha256').update(fs.readFileSync(tarball)).digest('hex')
  const server = (await import('node:http')).createServer((req, res) => {
    if (req.url.endsWith('.tar.gz')) {
      res.writeHead(200, { 'content-length': size })
      fs.createReadStream(tarball).pipe(res)
    } else if (req.url.endsWith('.sha256')) {
      res.end(`${digest}  ${stem}.tar.gz\n`)
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const mirror = `http://127.0.0.1:${server.address().port}/`
  const code = `
    const fs = require('fs')
    const s = require(${JSON.stringify(ROOT)})
    const rssKb = () => Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1])
    const hwmKb = () => Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1])
    ;(async () => {
      global.gc && global.gc()
      const before = rssKb()
      fs.writeFileSync('/proc/self/clear_refs', '5') // resets VmHWM to the current RSS
      const t0 = process.hrtime.bigint()
      const r = await s.installQueueStore({ method: 'download', version: ${JSON.stringify(version)}, distro: 'jammy', mirror: ${JSON.stringify(mirror)}, dataDir: ${JSON.stringify(path.join(work, 'data'))} })
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      console.log(JSON.stringify({ before, peak: hwmKb(), ms, bytes: r.download && r.download.bytes }))
    })().catch((e) => { console.error(e.code, e.message); process.exit(1) })`
  const samples = []
  const times = []
  for (let i = 0; i < 3; i++) {
    fs.rmSync(path.join(work, 'data'), { recursive: true, force: true })
    const out = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--expose-gc', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
      let o = ''
      child.stdout.on('data', (d) => { o += d })
      child.on('close', (c) => (c === 0 ? resolve(JSON.parse(o)) : reject(new Error('download child failed'))))
    })
    samples.push((out.peak - out.before) / 1024)
    times.push(out.ms)
  }
  server.close()
  fs.rmSync(work, { recursive: true, force: true })
  const s = stats(samples)
  results.push({ name: `download of a ${(size / 1e6).toFixed(0)} MB artifact from loopback: peak RSS growth`, subject: { label: 'installQueueStore download (stream, sha256, unpack, test-run)', ...s }, baseline: null, ratio: null, target: { absMb: 20, text: '≤ 20 MB' }, pass: s.median <= 20, unit: ' MB', extra: `download+install ${stats(times).median.toFixed(0)} ms` })
  console.log(`download ${(size / 1e6).toFixed(0)} MB: peak RSS growth ${s.median.toFixed(1)} MB (max ${s.max.toFixed(1)}) [${s.median <= 20 ? 'meets' : 'MISSES'} target]`)
}

function writeResults() {
  const fmt = (x, unit = ' ms') => `${x >= 100 ? x.toFixed(0) : x.toFixed(2)}${unit}`
  const cpu = os.cpus()[0]?.model || 'unknown CPU'
  let md = `# Benchmark results\n\nMeasured by \`npm run bench\` (bench/run.mjs), ${ROUNDS} rounds, each subject and its\nbaseline interleaved in the same invocation. Medians, with min–max. Machine: ${os.cpus().length} × ${cpu},\n${os.type()} ${os.release()}, Node ${process.version}; valkey-server ${serverVersion(BINS.valkey)}, redis-server ${serverVersion(BINS.redis)}.\n\n`
  md += '| measure | claude-mem-store | baseline | ratio | target | |\n| --- | --- | --- | --- | --- | --- |\n'
  for (const r of results) {
    const u = r.unit || (r.name.includes('throughput') ? ' jobs/s' : ' ms')
    const subj = `${fmt(r.subject.median, u)} (${fmt(r.subject.min, u)}–${fmt(r.subject.max, u)})`
    const base = r.baseline ? `${r.baseline.label}: ${fmt(r.baseline.median, u)} (${fmt(r.baseline.min, u)}–${fmt(r.baseline.max, u)})` : '—'
    md += `| ${r.name} | ${subj} | ${base} | ${r.ratio ? r.ratio.toFixed(2) + '×' : '—'} | ${r.target.text} | ${r.pass ? 'meets' : '**misses**'} |\n`
  }
  md += '\n' + (fs.existsSync(path.join(ROOT, 'bench', 'NOTES.md')) ? fs.readFileSync(path.join(ROOT, 'bench', 'NOTES.md'), 'utf8') : '')
  fs.writeFileSync(path.join(ROOT, 'bench', 'RESULTS.md'), md)
  fs.writeFileSync(path.join(ROOT, 'bench', 'results.json'), JSON.stringify({ rounds: ROUNDS, results }, null, 2) + '\n')
  console.log('wrote bench/RESULTS.md')
}

function serverVersion(bin) {
  if (!bin) return 'not installed'
  return execFileSync(bin, ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] || '?'
}

const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null
const steps = {
  cold: async () => { for (const f of ['valkey', 'redis']) if (BINS[f]) await coldEnsure(f) },
  rms: versusRedisMemoryServer,
  warm: warmCalls,
  require: requireTime,
  packages: platformPackages,
  bundled: bundledValkey,
  bullmq: bullmqThroughput,
  sha256: sha256Speed,
  download: downloadMemory,
}
for (const [name, step] of Object.entries(steps)) {
  if (!only || only.includes(name)) await step()
}
writeResults()
