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

async function bullmqThroughput() {
  const { Queue, Worker } = require('bullmq')
  const bin = BINS.valkey || BINS.redis
  const JOBS = 2000
  async function run(connection, name) {
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
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-bench-bullmq-'))
  const managed = await store.ensureQueueStoreStarted({ dataDir, binary: bin })
  const bare = await bareServer(bin)
  const subject = { label: `jobs/s on the managed store`, samples: [], unit: ' jobs/s' }
  const baseline = { label: `jobs/s on a hand-started server, seed config`, samples: [], unit: ' jobs/s' }
  for (let i = 0; i < Math.max(3, Math.ceil(ROUNDS / 3)); i++) {
    baseline.samples.push(await run({ host: '127.0.0.1', port: bare.port, password: bare.password }, `b${i}`))
    subject.samples.push(await run(managed.connection, `m${i}`))
  }
  await bare.stop()
  await store.stopQueueStore({ dataDir })
  fs.rmSync(dataDir, { recursive: true, force: true })
  record('BullMQ add+process throughput', subject, baseline, { ratio: 0.95, higherIsBetter: true, text: '≥ 0.95× hand-started server' })
}

function writeResults() {
  const fmt = (x, unit = ' ms') => `${x >= 100 ? x.toFixed(0) : x.toFixed(2)}${unit}`
  const cpu = os.cpus()[0]?.model || 'unknown CPU'
  let md = `# Benchmark results\n\nMeasured by \`npm run bench\` (bench/run.mjs), ${ROUNDS} rounds, each subject and its\nbaseline interleaved in the same invocation. Medians, with min–max. Machine: ${os.cpus().length} × ${cpu},\n${os.type()} ${os.release()}, Node ${process.version}; valkey-server ${serverVersion(BINS.valkey)}, redis-server ${serverVersion(BINS.redis)}.\n\n`
  md += '| measure | claude-mem-store | baseline | ratio | target | |\n| --- | --- | --- | --- | --- | --- |\n'
  for (const r of results) {
    const u = r.name.includes('throughput') ? ' jobs/s' : ' ms'
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
const steps = { cold: async () => { for (const f of ['valkey', 'redis']) if (BINS[f]) await coldEnsure(f) }, rms: versusRedisMemoryServer, warm: warmCalls, require: requireTime, bullmq: bullmqThroughput }
for (const [name, step] of Object.entries(steps)) {
  if (!only || only.includes(name)) await step()
}
writeResults()
