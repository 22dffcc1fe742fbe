// Installing: planInstall on this machine, the download method end to end against
// a loopback HTTP server this test runs (serving tarballs built here from the
// installed valkey-server), the apt path for real (as root, as CI runs), every
// branch of resolveQueueStore's decision tree, and uninstall with and without
// purgeData. Every server started here is stopped by pid; every HTTP server closed.

import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'

import {
  addon, tmpDataDir, stopStoreAfter, rejectsWithCode, waitFor, freePort, startServer,
  clientFor, isAlive, readPid, FLAVORS, ROOT,
} from './helpers.mjs'

const VALKEY = FLAVORS.find((f) => f.flavor === 'valkey').bin
const VERSION = VALKEY ? /v=([0-9.]+)/.exec(execFileSync(VALKEY, ['--version'], { encoding: 'utf8' }))?.[1] : null
const ARCH = process.arch === 'arm64' ? 'arm64' : 'x86_64'
const STEM = `valkey-${VERSION}-jammy-${ARCH}`
const FILE = `${STEM}.tar.gz`
const isRoot = process.getuid?.() === 0
// The manifest's entry the tests install under (it must name the installed version).
const noDownload = !VALKEY
  ? 'valkey-server is not installed (see .ci/run)'
  : VERSION !== '8.0.1' && `installed valkey-server is ${VERSION}; the manifest's test entry is 8.0.1`

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex')

/** The real thing: the installed valkey-server packed by the system `tar`, laid out as Valkey's tarballs are. */
function realTarball(t) {
  const dir = tmpDataDir(t)
  fs.mkdirSync(path.join(dir, STEM, 'bin'), { recursive: true })
  // copyFile follows the Debian symlink (valkey-server -> valkey-check-rdb): the
  // binary picks its role from its name, which is valkey-server here.
  fs.copyFileSync(VALKEY, path.join(dir, STEM, 'bin', 'valkey-server'))
  fs.chmodSync(path.join(dir, STEM, 'bin', 'valkey-server'), 0o755)
  fs.writeFileSync(path.join(dir, STEM, 'README'), 'test artifact\n')
  execFileSync('tar', ['-czf', path.join(dir, FILE), '-C', dir, STEM])
  return fs.readFileSync(path.join(dir, FILE))
}

/** A hand-written tar (ustar headers), so that hostile names and links can be built. */
function craftedTarball(entries) {
  const parts = []
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0)
    const h = Buffer.alloc(512)
    h.write(e.name, 0, 100)
    h.write(`${(e.mode ?? 0o755).toString(8).padStart(7, '0')}\0`, 100)
    h.write('0000000\0', 108)
    h.write('0000000\0', 116)
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124)
    h.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136)
    h.write('        ', 148)
    h.write(e.type ?? '0', 156)
    if (e.linkname) h.write(e.linkname, 157, 100)
    h.write('ustar\0', 257)
    h.write('00', 263)
    let sum = 0
    for (const b of h) sum += b
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512))
  }
  parts.push(Buffer.alloc(1024))
  return zlib.gzipSync(Buffer.concat(parts))
}

/**
 * Serves `routes` (path under /releases/ → handler(req, res, n), n = how many
 * times that path was asked for) on a loopback port, closed after the test.
 */
async function serve(t, routes) {
  const counts = {}
  const sockets = new Set()
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(req.url.replace(/^\/releases\//, ''))
    counts[name] = (counts[name] ?? 0) + 1
    const handler = routes[name]
    if (!handler) {
      res.writeHead(404)
      res.end('not found')
      return
    }
    handler(req, res, counts[name])
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
  return { mirror: `http://127.0.0.1:${server.address().port}/releases/`, counts }
}

const send = (buf) => (req, res) => {
  res.writeHead(200, { 'content-length': buf.length })
  res.end(buf)
}

/** An artifact and its published `.sha256` (sha256sum's format). */
function artifactRoutes(tarball, published = tarball) {
  return {
    [FILE]: send(tarball),
    [`${FILE}.sha256`]: send(Buffer.from(`${sha256(published)}  ${FILE}\n`)),
  }
}

function downloadOptions(dataDir, mirror, extra = {}) {
  return { method: 'download', version: VERSION, distro: 'jammy', mirror, dataDir, ...extra }
}

/** Nothing of a failed install is left: no version dir, no staging dir. */
function assertNothingLeft(dataDir) {
  const root = path.join(dataDir, 'bin', 'valkey')
  const left = fs.existsSync(root) ? fs.readdirSync(root).filter((n) => n !== '.install.lock') : []
  assert.deepEqual(left, [], `left behind in ${root}`)
}

test('planInstall on this Debian machine names apt, the package, the exact command and whether sudo is needed', async () => {
  const plan = await addon.planInstall()
  assert.equal(plan.platform.os, 'linux')
  assert.equal(plan.platform.distro, 'debian')
  assert.ok(plan.platform.packageManagers.includes('apt'))
  assert.equal(plan.method, 'apt')
  // valkey-server where apt has a candidate (bookworm-backports enabled, as .ci/run does), else redis-server.
  const candidate = execFileSync('apt-cache', ['policy', 'valkey-server'], { encoding: 'utf8' })
  const hasValkey = /Candidate: (?!\(none\))\S+/.test(candidate)
  assert.equal(plan.package, hasValkey ? 'valkey-server' : 'redis-server')
  assert.equal(plan.flavor, hasValkey ? 'valkey' : 'redis')
  assert.deepEqual(plan.command, ['apt-get', 'install', '-y', plan.package])
  assert.equal(plan.needsSudo, !isRoot)
  assert.equal(plan.shellCommand, `${isRoot ? '' : 'sudo '}apt-get install -y ${plan.package}`)
  assert.match(plan.reason, /no systemctl/)
  assert.equal(plan.download.hashPinned, false)
  assert.equal(plan.download.distro, 'jammy')
  await rejectsWithCode(assert, addon.planInstall({ method: 'zypper' }), 'E_BAD_OPTION')
})

test('download: a good artifact is verified, unpacked, test-run and installed; the managed store runs from it', { skip: noDownload }, async (t) => {
  const dataDir = tmpDataDir(t)
  const tarball = realTarball(t)
  const { mirror } = await serve(t, artifactRoutes(tarball))
  const events = []
  const result = await addon.installQueueStore(downloadOptions(dataDir, mirror, { onProgress: (e) => events.push(e) }))
  const binary = path.join(dataDir, 'bin', 'valkey', VERSION, 'bin', 'valkey-server')
  assert.equal(result.method, 'download')
  assert.equal(result.flavor, 'valkey')
  assert.equal(result.version, VERSION)
  assert.equal(result.binary, binary)
  assert.equal(result.alreadyInstalled, false)
  assert.equal(result.hashPinned, false)
  assert.equal(result.download.hashSource, 'published')
  assert.equal(result.download.sha256, sha256(tarball))
  assert.equal(result.download.bytes, tarball.length)
  assert.ok(result.notices.some((n) => n.includes('hash not pinned')), result.notices.join('\n'))
  assert.ok(fs.statSync(binary).mode & 0o100, 'executable')
  assert.ok(fs.existsSync(path.join(dataDir, 'bin', 'valkey', VERSION, 'README')))
  assert.deepEqual(fs.readdirSync(path.join(dataDir, 'bin', 'valkey')).filter((n) => n.startsWith('.staging')), [])
  await waitFor(() => events.some((e) => e.phase === 'done'), 'the done event')

  // Installed once: the second call finds it, under the lock, and downloads nothing.
  const again = await addon.installQueueStore(downloadOptions(dataDir, mirror))
  assert.equal(again.alreadyInstalled, true)

  // detectServerBinaries lists it, and the managed store really runs from it.
  const found = await addon.detectServerBinaries({ dataDir })
  assert.equal(found[0].path, binary)
  assert.equal(found[0].source, 'download')
  stopStoreAfter(t, dataDir)
  const status = await addon.ensureQueueStoreStarted({ dataDir })
  assert.equal(status.server.binary, binary)
  assert.equal(fs.readlinkSync(`/proc/${status.pid}/exe`), binary)
  assert.equal(await clientFor(t, status).ping(), 'PONG')
})

test('download: two installers at once do not corrupt each other: one downloads, the other finds it installed', { skip: noDownload }, async (t) => {
  const dataDir = tmpDataDir(t)
  const tarball = realTarball(t)
  const { mirror, counts } = await serve(t, artifactRoutes(tarball))
  const results = await Promise.all([
    addon.installQueueStore(downloadOptions(dataDir, mirror)),
    addon.installQueueStore(downloadOptions(dataDir, mirror)),
  ])
  assert.deepEqual(results.map((r) => r.alreadyInstalled).sort(), [false, true])
  assert.equal(counts[FILE], 1, 'downloaded once')
  const binary = path.join(dataDir, 'bin', 'valkey', VERSION, 'bin', 'valkey-server')
  assert.deepEqual(fs.readFileSync(binary), fs.readFileSync(VALKEY))
})

test('download: one tampered byte is E_CHECKSUM and nothing is installed', { skip: noDownload }, async (t) => {
  const dataDir = tmpDataDir(t)
  const tarball = realTarball(t)
  const tampered = Buffer.from(tarball)
  tampered[Math.floor(tampered.length / 2)] ^= 0x01
  const { mirror } = await serve(t, artifactRoutes(tampered, tarball))
  const err = await rejectsWithCode(assert, addon.installQueueStore(downloadOptions(dataDir, mirror)), 'E_CHECKSUM')
  assert.match(err.message, new RegExp(sha256(tarball)))
  assertNothingLeft(dataDir)
})

test('download: a caller-pinned sha256 is checked instead of the published one', { skip: noDownload }, async (t) => {
  const dataDir = tmpDataDir(t)
  const tarball = realTarball(t)
  // The mirror publishes a wrong .sha256; the pinned hash wins.
  const { mirror, counts } = await serve(t, artifactRoutes(tarball, Buffer.from('other')))
  const result = await addon.installQueueStore(downloadOptions(dataDir, mirror, { sha256: sha256(tarball) }))
  assert.equal(result.hashPinned, true)
  assert.equal(result.download.hashSource, 'option')
  assert.equal(counts[`${FILE}.sha256`], undefined, 'the published checksum was not even fetched')
  const other = tmpDataDir(t)
  await rejectsWithCode(assert, addon.installQueueStore(downloadOptions(other, mirror, { sha256: 'a'.repeat(64) })), 'E_CHECKSUM')
  assertNothingLeft(other)
})

test('download: a body cut short is retried, then E_DOWNLOAD_FAILED; a truncated file is E_CHECKSUM', { skip: noDownload }, async (t) => {
  const tarball = realTarball(t)
  const cut = (req, res) => {
    res.writeHead(200, { 'content-length': tarball.length })
    res.write(tarball.subarray(0, Math.floor(tarball.length / 2)), () => res.socket.destroy())
  }
  const { mirror, counts } = await serve(t, { ...artifactRoutes(tarball), [FILE]: cut })
  const dataDir = tmpDataDir(t)
  const events = []
  const err = await rejectsWithCode(assert, addon.installQueueStore(downloadOptions(dataDir, mirror, { onProgress: (e) => events.push(e) })), 'E_DOWNLOAD_FAILED')
  assert.match(err.message, /4 attempts/)
  assert.equal(counts[FILE], 4)
  await waitFor(() => events.filter((e) => e.phase === 'retry').length === 3, 'three retry events')
  assertNothingLeft(dataDir)

  const short = tarball.subarray(0, tarball.length - 100)
  const served = await serve(t, artifactRoutes(short, tarball))
  const other = tmpDataDir(t)
  await rejectsWithCode(assert, addon.installQueueStore(downloadOptions(other, served.mirror)), 'E_CHECKSUM')
  assertNothingLeft(other)
})

test('download: a `../` entry and a symlink escaping the target are E_UNSAFE_ARCHIVE', { skip: noDownload }, async (t) => {
  const server = Buffer.from('#!/bin/sh\necho "Valkey server v=8.0.1 sha=0"\n')
  const cases = {
    dotdot: [
      { name: `${STEM}/`, type: '5', mode: 0o755 },
      { name: `${STEM}/bin/valkey-server`, data: server },
      { name: `${STEM}/../../escaped`, data: Buffer.from('x') },
    ],
    symlink: [
      { name: `${STEM}/`, type: '5', mode: 0o755 },
      { name: `${STEM}/bin/valkey-server`, type: '2', linkname: '../../../../../../etc/passwd' },
    ],
    absolute: [{ name: '/tmp/cms-install-test-absolute', data: Buffer.from('x') }],
  }
  for (const [name, entries] of Object.entries(cases)) {
    const tarball = craftedTarball(entries)
    const { mirror } = await serve(t, artifactRoutes(tarball))
    const dataDir = tmpDataDir(t)
    await rejectsWithCode(assert, addon.installQueueStore(downloadOptions(dataDir, mirror)), 'E_UNSAFE_ARCHIVE')
    assertNothingLeft(dataDir)
    assert.ok(!fs.existsSync(path.join(dataDir, 'bin', 'escaped')), `${name}: nothing escaped`)
    assert.ok(!fs.existsSync(path.join(dataDir, 'escaped')), `${name}: nothing escaped`)
  }
  assert.ok(!fs.existsSync('/tmp/cms-install-test-absolute'))
})

test('download: a binary the loader cannot run is E_BINARY_INCOMPATIBLE with the loader\'s words', { skip: noDownload }, async (t) => {
  // What Valkey's noble build prints on a system without libssl.so.3 / a new enough glibc.
  const loaderFailure = Buffer.from(
    '#!/bin/sh\necho "valkey-server: error while loading shared libraries: libssl.so.3: cannot open shared object file: No such file or directory" >&2\nexit 127\n',
  )
  const tarball = craftedTarball([
    { name: `${STEM}/`, type: '5' },
    { name: `${STEM}/bin/`, type: '5' },
    { name: `${STEM}/bin/valkey-server`, data: loaderFailure },
  ])
  const { mirror } = await serve(t, artifactRoutes(tarball))
  const dataDir = tmpDataDir(t)
  const err = await rejectsWithCode(assert, addon.installQueueStore(downloadOptions(dataDir, mirror)), 'E_BINARY_INCOMPATIBLE')
  assert.match(err.message, /libssl\.so\.3/)
  assert.match(err.message, /package manager/)
  assertNothingLeft(dataDir)
})

test('download: a 500 is retried and the install then succeeds', { skip: noDownload }, async (t) => {
  const tarball = realTarball(t)
  const flaky = (req, res, n) => (n === 1 ? (res.writeHead(500), res.end('oops')) : send(tarball)(req, res))
  const { mirror, counts } = await serve(t, { ...artifactRoutes(tarball), [FILE]: flaky })
  const dataDir = tmpDataDir(t)
  const events = []
  const result = await addon.installQueueStore(downloadOptions(dataDir, mirror, { onProgress: (e) => events.push(e) }))
  assert.equal(result.download.bytes, tarball.length)
  assert.equal(counts[FILE], 2)
  await waitFor(() => events.some((e) => e.phase === 'done'), 'the done event')
  const retry = events.find((e) => e.phase === 'retry')
  assert.match(retry.message, /500/)
})

test('download: a slow server yields ordered progress events with bytes and total', { skip: noDownload }, async (t) => {
  const tarball = realTarball(t)
  const slices = 6
  const slow = (req, res) => {
    res.writeHead(200, { 'content-length': tarball.length })
    const size = Math.ceil(tarball.length / slices)
    let i = 0
    const next = () => {
      if (res.destroyed) return
      if (i >= slices) return res.end()
      res.write(tarball.subarray(i * size, (i + 1) * size))
      i++
      setTimeout(next, 150) // pacing the server, not synchronising the test
    }
    next()
  }
  const { mirror } = await serve(t, { ...artifactRoutes(tarball), [FILE]: slow })
  const dataDir = tmpDataDir(t)
  const events = []
  await addon.installQueueStore(downloadOptions(dataDir, mirror, { onProgress: (e) => events.push(e) }))
  await waitFor(() => events.some((e) => e.phase === 'done'), 'the done event')
  const downloads = events.filter((e) => e.phase === 'download')
  assert.ok(downloads.length >= 3, `download events: ${JSON.stringify(downloads)}`)
  for (const e of downloads) assert.equal(e.total, tarball.length)
  for (let i = 1; i < downloads.length; i++) assert.ok(downloads[i].bytes >= downloads[i - 1].bytes)
  assert.equal(downloads[0].bytes, 0)
  assert.equal(downloads.at(-1).bytes, tarball.length)
  const phases = [...new Set(events.map((e) => e.phase))]
  assert.deepEqual(phases, ['lock', 'checksum', 'download', 'verify', 'unpack', 'test-run', 'install', 'done'])
})

test('download: an onProgress that throws fails nothing and never becomes an uncaughtException', { skip: noDownload }, async (t) => {
  const uncaught = []
  const record = (e) => uncaught.push(e)
  process.on('uncaughtException', record)
  t.after(() => process.off('uncaughtException', record))
  const { mirror } = await serve(t, artifactRoutes(realTarball(t)))
  const dataDir = tmpDataDir(t)
  const seen = []
  const result = await addon.installQueueStore(downloadOptions(dataDir, mirror, {
    onProgress: (e) => {
      seen.push(e.phase)
      throw new Error('a careless progress bar')
    },
  }))
  assert.equal(result.method, 'download')
  await waitFor(() => seen.includes('done'), 'every event delivered')
  assert.deepEqual(uncaught, [])
})

test('download: options are checked (plain http to a remote mirror, bad method, hash, distro, onProgress)', async (t) => {
  const dataDir = tmpDataDir(t)
  const err = await rejectsWithCode(assert, addon.installQueueStore({ method: 'download', mirror: 'http://mirror.example.com/', dataDir }), 'E_BAD_OPTION')
  assert.match(err.message, /allowHttp/)
  await rejectsWithCode(assert, addon.installQueueStore({ method: 'download', mirror: 'ftp://x/', dataDir }), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.installQueueStore({ method: 'snap' }), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.installQueueStore({ method: 'download', sha256: 'abc', dataDir }), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.installQueueStore({ method: 'download', distro: 'focal', dataDir }), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.installQueueStore({ onProgress: 5 }), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.installQueueStore({ mirorr: 'x' }), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.installQueueStore('apt'), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.installQueueStore({ method: 'download', version: '1.2.3', dataDir }), 'E_UNSUPPORTED')
  await rejectsWithCode(assert, addon.installQueueStore({ method: 'pacman' }), 'E_UNSUPPORTED')
  assertNothingLeft(dataDir)
})

test('apt: installQueueStore runs the package manager for real as root (a no-op install still exercises the path)', { skip: !isRoot && 'needs root: CI runs .ci/run as root' }, async (t) => {
  const dataDir = tmpDataDir(t)
  const plan = await addon.planInstall({ method: 'apt' })
  const result = await addon.installQueueStore({ method: 'apt', dataDir })
  assert.equal(result.method, 'apt')
  assert.deepEqual(result.command, ['apt-get', 'install', '-y', plan.package])
  assert.equal(result.flavor, plan.flavor)
  assert.ok(result.binary && fs.existsSync(result.binary), `binary: ${result.binary}`)
  assert.equal(typeof result.outputTail, 'string')
  if (result.serviceOn6379) {
    // Someone's server on 6379 is reported and left alone, never stopped.
    assert.equal(result.serviceOn6379.port, 6379)
    assert.ok(result.notices.some((n) => n.includes('6379') && n.includes('left alone')))
  }
})

test('apt: without root and without allowSudo nothing runs and the error gives the exact command', async (t) => {
  const err = isRoot ? installAptAsNobody(t) : await rejectsWithCode(assert, addon.installQueueStore({ method: 'apt' }), 'E_NEEDS_SUDO')
  assert.equal(err.code, 'E_NEEDS_SUDO', err.message)
  assert.match(err.message, /was not attempted/)
  assert.match(err.message, /`sudo apt-get install -y (valkey|redis)-server`/)
})

/**
 * As root (CI), `installQueueStore({ method: 'apt' })` runs in a child process as
 * `nobody`: the loader and this platform's addon are copied to a temporary directory
 * that user can read (the checkout itself may sit under a home directory it cannot
 * enter). Returns the rejection's `{ code, message }`, or `{ resolved }`.
 */
function installAptAsNobody(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-nobody-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.chmodSync(dir, 0o755)
  const host = `claude-mem-store.${process.platform}-${process.arch}`
  const natives = fs.readdirSync(ROOT).filter((f) => f.startsWith(host) && f.endsWith('.node'))
  assert.ok(natives.length, `no ${host}*.node in the checkout (npm run build)`)
  for (const f of ['index.js', ...natives]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f))
  const code = `require('./index.js').installQueueStore({ method: 'apt' }).then(
    (r) => console.log(JSON.stringify({ resolved: r, message: 'resolved' })),
    (e) => console.log(JSON.stringify({ code: e.code, message: e.message })))`
  const out = execFileSync(
    'setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', code],
    { cwd: dir, env: { PATH: process.env.PATH, HOME: dir }, encoding: 'utf8' },
  )
  return JSON.parse(out)
}

test('resolve: a working URL → external', async (t) => {
  const server = await startServer(t, { flavor: 'redis' })
  const url = `redis://127.0.0.1:${server.port}`
  const r = await addon.resolveQueueStore({ dataDir: tmpDataDir(t), url })
  assert.equal(r.decision, 'external', r.reason)
  assert.equal(r.url, url)
  assert.equal(r.steps[0].name, 'url')
  assert.equal(r.steps[0].ok, true)
})

test('resolve: a URL that does not work, then a local binary → managed', async (t) => {
  const url = `redis://127.0.0.1:${await freePort()}`
  const r = await addon.resolveQueueStore({ dataDir: tmpDataDir(t), url })
  assert.equal(r.decision, 'managed', r.reason)
  assert.equal(r.steps[0].ok, false)
  assert.match(r.steps[0].detail, /does not work/)
  assert.ok(r.binary.path)
  const none = await addon.resolveQueueStore({ dataDir: tmpDataDir(t) })
  assert.equal(none.decision, 'managed')
  assert.match(none.steps[0].detail, /not set/)
})

test('resolve: no URL, no usable binary, no installRedis → fail with the precise command', async (t) => {
  const dataDir = tmpDataDir(t)
  const r = await addon.resolveQueueStore({ dataDir, binary: '/nonexistent/valkey-server' })
  assert.equal(r.decision, 'fail')
  assert.equal(r.command, r.plan.shellCommand)
  assert.match(r.command, /apt-get install -y (valkey|redis)-server/)
  assert.match(r.reason, /installRedis/)
  assert.ok(!fs.existsSync(path.join(dataDir, 'bin')), 'nothing installed')
})

test('resolve: installRedis → install (download from the mirror) → the installed binary', { skip: noDownload }, async (t) => {
  const dataDir = tmpDataDir(t)
  const { mirror } = await serve(t, artifactRoutes(realTarball(t)))
  const r = await addon.resolveQueueStore({
    dataDir, binary: '/nonexistent/valkey-server', installRedis: true, method: 'download', version: VERSION, distro: 'jammy', mirror,
  })
  assert.equal(r.decision, 'install', r.reason)
  assert.equal(r.install.method, 'download')
  assert.equal(r.install.hashPinned, false)
  assert.equal(r.binary.path, path.join(dataDir, 'bin', 'valkey', VERSION, 'bin', 'valkey-server'))
  assert.equal(r.binary.source, 'download')
})

test('resolve: interactive returns the prompt\'s choices and decides nothing', async (t) => {
  const dataDir = tmpDataDir(t)
  const r = await addon.resolveQueueStore({ dataDir, interactive: true, installRedis: true })
  assert.equal(r.decision, 'prompt')
  assert.deepEqual(r.choices.map((c) => c.id), ['managed', 'external', 'sqlite'])
  assert.equal(r.choices[0].label, 'Manage local Valkey for me')
  assert.equal(r.choices[0].recommended, true)
  assert.ok(!fs.existsSync(path.join(dataDir, 'bin')), 'nothing installed')
})

/** A data dir with a running managed store, claude-mem's own settings and files, and a downloaded binary. */
async function populatedStore(t) {
  const dataDir = tmpDataDir(t)
  fs.writeFileSync(path.join(dataDir, 'settings.json'), JSON.stringify({ CLAUDE_MEM_MODEL: 'x', CLAUDE_MEM_WORKER_PORT: 37777 }, null, 2))
  fs.mkdirSync(path.join(dataDir, 'logs'))
  fs.writeFileSync(path.join(dataDir, 'logs', 'worker-2026-11-26.log'), 'claude-mem worker log\n')
  fs.mkdirSync(path.join(dataDir, 'bin', 'valkey', '9.9.9', 'bin'), { recursive: true })
  fs.writeFileSync(path.join(dataDir, 'bin', 'valkey', '9.9.9', 'bin', 'valkey-server'), '')
  stopStoreAfter(t, dataDir)
  const status = await addon.ensureQueueStoreStarted({ dataDir })
  const client = clientFor(t, status)
  await client.set('kept-key', 'kept-value')
  // QUIT, not disconnect(): once the server has answered it, it no longer counts the
  // connection as a user of the store, and the uninstall below is not refused for it.
  await client.quit()
  return { dataDir, status }
}

test('uninstall: stops the store, removes what it wrote, keeps redis/data and every other settings key', async (t) => {
  const { dataDir, status } = await populatedStore(t)
  const r = await addon.uninstallQueueStore({ dataDir })
  assert.equal(r.stop.stopped, true)
  assert.ok(!isAlive(status.pid))
  assert.equal(r.dataPurged, false)
  for (const gone of ['redis/redis.conf', 'redis/redis.pid', 'redis/secret', 'redis/store.lock', 'bin']) {
    assert.ok(!fs.existsSync(path.join(dataDir, gone)), `${gone} removed`)
  }
  assert.ok(r.removed.includes(path.join(dataDir, 'redis', 'redis.conf')))
  assert.ok(r.removed.some((p) => p.startsWith(path.join(dataDir, 'logs', 'redis-'))))
  assert.ok(r.removed.includes(path.join(dataDir, 'bin', 'valkey', '9.9.9')))
  assert.ok(fs.existsSync(path.join(dataDir, 'redis', 'data')))
  assert.ok(r.kept.some((k) => k.startsWith(path.join(dataDir, 'redis', 'data'))))
  assert.ok(fs.existsSync(path.join(dataDir, 'logs', 'worker-2026-11-26.log')), "claude-mem's own log kept")
  const settings = JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8'))
  assert.deepEqual(settings, { CLAUDE_MEM_MODEL: 'x', CLAUDE_MEM_WORKER_PORT: 37777 })
  assert.deepEqual(r.settingsKeysRemoved.sort(), ['CLAUDE_MEM_REDIS_HOST', 'CLAUDE_MEM_REDIS_MODE', 'CLAUDE_MEM_REDIS_PORT', 'CLAUDE_MEM_REDIS_URL'])

  // The kept data is really the queue's: a new store finds the key again.
  const again = await addon.ensureQueueStoreStarted({ dataDir })
  assert.equal(await clientFor(t, again).get('kept-key'), 'kept-value')
})

test('uninstall with purgeData removes redis/data too, and keeps settings.json\'s other keys', async (t) => {
  const { dataDir } = await populatedStore(t)
  const r = await addon.uninstallQueueStore({ dataDir, purgeData: true })
  assert.equal(r.dataPurged, true)
  assert.ok(!fs.existsSync(path.join(dataDir, 'redis')), 'redis/ removed entirely')
  assert.equal(readPid(dataDir), null)
  assert.ok(fs.existsSync(path.join(dataDir, 'logs', 'worker-2026-11-26.log')))
  const settings = JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8'))
  assert.deepEqual(settings, { CLAUDE_MEM_MODEL: 'x', CLAUDE_MEM_WORKER_PORT: 37777 })
  // Nothing to do the second time, and still nothing of anyone else's is touched.
  const second = await addon.uninstallQueueStore({ dataDir })
  assert.equal(second.stop.stopped, false)
  assert.deepEqual(second.removed, [])
})
