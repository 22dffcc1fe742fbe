// index.js, the hand-written loader: it exports exactly what the addon exports
// (and what index.d.ts declares), ESM named imports see every export, and an addon
// that cannot be loaded is a clear E_ADDON_UNAVAILABLE error, never a bare
// MODULE_NOT_FOUND.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT, addon, nodeEval } from './helpers.mjs'

const libc = process.platform === 'linux' ? '-gnu' : ''
const target = `${process.platform}-${process.arch}${process.platform === 'win32' ? '-gnu' : libc}`
const nodeFile = path.join(ROOT, `claude-mem-store.${target}.node`)

function lastJson(r) {
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

test('the loader exports exactly the addon\'s exports, and index.d.ts declares each one', () => {
  const raw = { exports: {} }
  process.dlopen(raw, nodeFile)
  const native = Object.keys(raw.exports).sort()
  assert.deepEqual(Object.keys(addon).sort(), native)
  const dts = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8')
  const declared = [...dts.matchAll(/^export declare (?:function|class) (\w+)/gm)].map((m) => m[1]).sort()
  assert.deepEqual(declared, native)
})

test('ESM: every export is a named import', () => {
  const names = Object.keys(addon)
  const out = lastJson(nodeEval(
    `import * as m from 'claude-mem-store'; import { ${names.join(', ')} } from 'claude-mem-store';
     console.log(JSON.stringify({ named: [${names.join(', ')}].map((f) => typeof f), keys: Object.keys(m) }))`,
    { type: 'module' },
  ))
  assert.ok(out.named.every((t) => t === 'function'), JSON.stringify(out.named))
  for (const name of names) assert.ok(out.keys.includes(name), name)
})

test('an unsupported platform is E_ADDON_UNAVAILABLE naming it', () => {
  const out = lastJson(nodeEval(
    `Object.defineProperty(process, 'platform', { value: 'aix' })
     try { require('./index.js'); console.log('{"loaded":true}') }
     catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`,
  ))
  assert.equal(out.code, 'E_ADDON_UNAVAILABLE')
  assert.match(out.message, /no build for aix-/)
  assert.match(out.message, /CLAUDE_MEM_REDIS_URL/)
})

test('no local build and no platform package: E_ADDON_UNAVAILABLE with how to reinstall', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-loader-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.copyFileSync(path.join(ROOT, 'index.js'), path.join(dir, 'index.js'))
  const out = lastJson(nodeEval(
    `try { require('./index.js'); console.log('{"loaded":true}') }
     catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, cause: e.cause && e.cause.code })) }`,
    { cwd: dir },
  ))
  assert.equal(out.code, 'E_ADDON_UNAVAILABLE')
  assert.match(out.message, new RegExp(`claude-mem-store-${target}`))
  assert.match(out.message, /npm install claude-mem-store/)
  assert.equal(out.cause, 'MODULE_NOT_FOUND')
})

test('NAPI_RS_NATIVE_LIBRARY_PATH: a custom build is loaded; a bad path is E_ADDON_UNAVAILABLE', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-loader-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.copyFileSync(path.join(ROOT, 'index.js'), path.join(dir, 'index.js'))
  const custom = path.join(dir, 'custom.node')
  fs.copyFileSync(nodeFile, custom)
  const probe = `try { const m = require('./index.js'); console.log(JSON.stringify({ fns: typeof m.queueStoreStatus })) }
     catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`
  assert.deepEqual(lastJson(nodeEval(probe, { cwd: dir, env: { NAPI_RS_NATIVE_LIBRARY_PATH: custom } })), { fns: 'function' })
  const bad = lastJson(nodeEval(probe, { cwd: dir, env: { NAPI_RS_NATIVE_LIBRARY_PATH: path.join(dir, 'missing.node') } }))
  assert.equal(bad.code, 'E_ADDON_UNAVAILABLE')
  assert.match(bad.message, /NAPI_RS_NATIVE_LIBRARY_PATH/)
})
