// The Valkey bundled in the platform packages (scripts/build/valkey/build-static.sh, put
// into npm/<platform>/valkey/ by `npm run build:all`): found beside the loaded
// .node, verified against the sha256 pinned in scripts/build/valkey/source.json, and run
// as the managed store on a machine with no server installed (fixtures/isolate.mjs
// hides every system server in a namespace of the test's own) — natively, in Bun on
// musl, and in Node arm64 under qemu.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FLAVORS, ROOT, recordOutcome, tmpDataDir, track } from './helpers.mjs'
import { canIsolate, isolated } from './fixtures/isolate.mjs'

const source = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'build', 'valkey', 'source.json'), 'utf8'))
const check = path.join(ROOT, '__test__', 'fixtures', 'platform-check.cjs')
const node = (p) => path.join(ROOT, 'npm', p, `claude-mem-store.${p}.node`)
const bundledIn = (dir) => path.join(dir, 'valkey', 'valkey-server')
const runtimesFile = path.join(process.env.CMS_RUNTIMES_DIR || path.join(os.homedir(), '.cache', 'claude-mem-store', 'runtimes'), 'runtimes.json')
const RUNTIMES = fs.existsSync(runtimesFile) ? JSON.parse(fs.readFileSync(runtimesFile, 'utf8')) : []
const systemValkey = FLAVORS.find((f) => f.flavor === 'valkey')?.bin
const qemu = RUNTIMES.find((r) => r.id === 'node-linux-arm64-gnu')?.argv[0]
const ready = fs.existsSync(bundledIn(path.join(ROOT, 'npm', 'linux-x64-gnu')))
const skip = (why) => (why && !process.env.CI ? why : false)
const cannot = !ready ? 'npm/linux-x64-gnu has no bundled valkey (npm run build:all)' : !canIsolate() ? 'no user namespaces here' : null

/** platform-check.cjs in `runtime` (null: this Node), loading `nodeFile`, isolated from system servers. */
function runIsolated(t, runtime, nodeFile, args, { aarch64 = false } = {}) {
  const out = path.join(tmpDataDir(t), 'out.json')
  const argv = [...(runtime ? runtime.argv : [process.execPath]), check, out, ...args]
  const [cmd, cmdArgs] = isolated(argv, { qemuAarch64: aarch64 ? qemu : null })
  const r = spawnSync(cmd, cmdArgs, { encoding: 'utf8', timeout: 240000, env: { ...process.env, ...(runtime?.env || {}), NAPI_RS_NATIVE_LIBRARY_PATH: nodeFile } })
  assert.ok(fs.existsSync(out), `no result (exit ${r.status}): ${r.stderr}`)
  const result = JSON.parse(fs.readFileSync(out, 'utf8'))
  assert.equal(result.error, undefined, JSON.stringify(result.error))
  return result
}

const cases = [
  { platform: 'linux-x64-gnu', runtime: null },
  { platform: 'linux-x64-musl', runtime: RUNTIMES.find((r) => r.target === 'linux-x64-musl') },
  { platform: 'linux-arm64-gnu', runtime: RUNTIMES.find((r) => r.target === 'linux-arm64-gnu'), aarch64: true },
  { platform: 'linux-arm64-musl', runtime: RUNTIMES.find((r) => r.target === 'linux-arm64-musl'), aarch64: true },
]
for (const { platform, runtime, aarch64 } of cases) {
  const missing = cannot || (runtime === undefined && `no runtime for ${platform}`) || (!fs.existsSync(bundledIn(path.dirname(node(platform)))) && `npm/${platform} has no bundled valkey`)
  test(`${platform}: with no server installed, the managed store runs the package's bundled Valkey ${source.version}`, { skip: skip(missing), timeout: 300000 }, (t) => {
    assert.ok(!missing, missing)
    const r = runIsolated(t, runtime, node(platform), ['bundled', tmpDataDir(t)], { aarch64 })
    const bundled = bundledIn(path.dirname(node(platform)))
    assert.deepEqual(r.detected, [{ path: bundled, flavor: 'valkey', version: source.version, source: 'bundled' }],
      'the bundled server is the only one found: no system server is visible')
    assert.equal(r.started, true)
    assert.deepEqual(r.server, { flavor: 'valkey', version: source.version, binary: bundled, bundled: true, outdated: false }, 'this package\'s own bundled Valkey is what ensure would start: not outdated')
    assert.deepEqual(r.failed, [], 'every check ok, the BullMQ smoke test (Lua, cjson, cmsgpack) included')
    assert.equal(r.stopped, true)
    recordOutcome('Bundled Valkey', `${platform} package in ${runtime ? runtime.id : 'this Node'}, no server installed`,
      `detect found only the bundled valkey ${source.version}; ensure ran it with every check ok; stop stopped it`)
  })
}

test('resolveQueueStore on a machine with no server decides managed, with the bundled Valkey: no install, no sudo, no network', { skip: skip(cannot) }, (t) => {
  assert.ok(!cannot, cannot)
  const code = `require(${JSON.stringify(path.join(ROOT, 'index.js'))}).resolveQueueStore({ dataDir: ${JSON.stringify(tmpDataDir(t))} })
    .then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e.code, e.message); process.exit(1) })`
  const [cmd, args] = isolated([process.execPath, '-e', code])
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: node('linux-x64-gnu') } })
  assert.equal(r.status, 0, r.stderr)
  const res = JSON.parse(r.stdout)
  assert.equal(res.decision, 'managed')
  assert.equal(res.mode, 'managed')
  assert.equal(res.binary.source, 'bundled')
  assert.equal(res.install, undefined, 'nothing was installed')
})

test('a bundled binary that does not match its pinned sha256 is never run: E_CHECKSUM, or another server with a notice', { skip: skip(cannot) }, async (t) => {
  assert.ok(!cannot, cannot)
  // A copy of the package whose valkey-server was replaced: a script that leaves a
  // mark if anything ever runs it.
  const pkg = path.join(tmpDataDir(t), 'claude-mem-store-linux-x64-gnu')
  fs.cpSync(path.dirname(node('linux-x64-gnu')), pkg, { recursive: true })
  const mark = path.join(pkg, 'ran')
  fs.writeFileSync(bundledIn(pkg), `#!/bin/sh\ntouch '${mark}'\necho 'Valkey server v=${source.version} sha=0:0 malloc=libc'\n`)
  fs.chmodSync(bundledIn(pkg), 0o755)
  const copy = path.join(pkg, path.basename(node('linux-x64-gnu')))

  // No other server: the store cannot start, and says why.
  const none = runIsolatedRaw(t, copy, 'ensure')
  assert.equal(none.error.code, 'E_CHECKSUM', JSON.stringify(none))
  assert.match(none.error.message, /Reinstall claude-mem-store/)
  // A system server is there: it runs, and a notice says the bundled one was refused.
  const other = runIsolatedRaw(t, copy, 'ensure', { hide: false })
  assert.equal(other.error, undefined, JSON.stringify(other.error))
  track(other.pid)
  assert.notEqual(other.server.binary, bundledIn(pkg))
  assert.ok(other.notices.some((n) => n.includes('E_CHECKSUM') && n.includes('was not run')), JSON.stringify(other.notices))
  assert.ok(!fs.existsSync(mark), 'the tampered binary never ran')
  recordOutcome('Bundled Valkey', 'bundled valkey-server replaced (sha256 mismatch)', `no other server: ${none.error.code}; with one: it ran and a notice named the refusal; the replaced binary never ran`)
})

/** ensure (then stop) with the package at `nodeFile`, in a child; `hide`: no system servers. */
function runIsolatedRaw(t, nodeFile, what, { hide = true } = {}) {
  const dataDir = tmpDataDir(t)
  const code = `const a = require(${JSON.stringify(path.join(ROOT, 'index.js'))})
    a.ensureQueueStoreStarted({ dataDir: ${JSON.stringify(dataDir)} })
      .then(async (s) => { await a.stopQueueStore({ dataDir: ${JSON.stringify(dataDir)} }); return { pid: s.pid, server: s.server, notices: s.notices } }, (e) => ({ error: { code: e.code, message: e.message } }))
      .then((r) => console.log(JSON.stringify(r)))`
  const argv = [process.execPath, '-e', code]
  const [cmd, args] = hide ? isolated(argv) : [argv[0], argv.slice(1)]
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: nodeFile } })
  assert.equal(r.status, 0, `${what}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

test('a data dir that already ran another server keeps it; the bundled one is named, never switched to unasked', { skip: skip((!ready && 'npm/linux-x64-gnu has no bundled valkey') || (!systemValkey && 'no valkey-server installed')) }, (t) => {
  const dataDir = tmpDataDir(t)
  const run = (extra) => {
    const code = `const a = require(${JSON.stringify(path.join(ROOT, 'index.js'))})
      a.ensureQueueStoreStarted({ dataDir: ${JSON.stringify(dataDir)}${extra} })
        .then(async (s) => { await a.stopQueueStore({ dataDir: ${JSON.stringify(dataDir)} }); console.log(JSON.stringify({ server: s.server, notices: s.notices })) }, (e) => { console.error(e.code, e.message); process.exit(1) })`
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: node('linux-x64-gnu') } })
    assert.equal(r.status, 0, r.stderr)
    return JSON.parse(r.stdout)
  }
  const first = run(`, binary: ${JSON.stringify(systemValkey)}`)
  assert.equal(first.server.binary, systemValkey)
  const again = run('')
  assert.equal(again.server.binary, systemValkey, 'the server that last ran the data, not the bundled one')
  assert.ok(again.notices.some((n) => n.includes(source.version) && n.includes('binary option')), JSON.stringify(again.notices))
})
