// The bad-input table (issue 6, item 4): malformed inputs for every export —
// wrong types, huge strings, NUL bytes, bad ports, relative and unusable data
// dirs, unicode and IPv6 hosts, odd URL schemes, unknown keys, functions,
// Symbols, BigInts, cyclic and hostile objects (throwing getters, Proxies), extra
// arguments — each answered by an Error with a stable code, in time, with Node
// still alive. Rows live in fixtures/bad-input-table.mjs and run in one child
// process per export (fixtures/bad-input-child.mjs), so an abort fails the test
// instead of killing the runner.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { ROOT, addon, cleanEnv, recordOutcome, tmpDataDir } from './helpers.mjs'
import { rows, PASSWORD } from './fixtures/bad-input-table.mjs'

const CHILD = path.join(ROOT, '__test__', 'fixtures', 'bad-input-child.mjs')
const EXPORTS = [
  'ensureQueueStoreStarted', 'queueStoreStatus', 'stopQueueStore', 'probeRedisUrl',
  'detectServerBinaries', 'planInstall', 'installQueueStore', 'resolveQueueStore',
  'uninstallQueueStore', 'watchQueueStore',
]
// index.d.ts's ErrorCode, parsed from the file so the two cannot drift.
const ERROR_CODES = new Set(
  fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8')
    .match(/export type ErrorCode =([^]*?)\n\n/)[1]
    .match(/'E_[A-Z_]+'/g)
    .map((c) => c.slice(1, -1)),
)

/** A context for the rows: a temp data dir, a regular file, a path that does not exist. */
function context(t) {
  const dataDir = tmpDataDir(t)
  const fileDir = path.join(dataDir, 'not-a-dir')
  fs.writeFileSync(fileDir, 'a regular file where a data dir should be\n')
  return { dataDir, fileDir, missingDir: path.join(dataDir, 'does', 'not', 'exist') }
}

/**
 * The child's environment: no CLAUDE_MEM_* from ours, the data dir a temp one,
 * and a PATH with no package manager and a mirror nobody answers on, so that even
 * a row that wrongly passed validation could install nothing.
 */
function childEnv(ctx) {
  return cleanEnv({
    PATH: path.dirname(process.execPath),
    CLAUDE_MEM_DATA_DIR: ctx.dataDir,
    CLAUDE_MEM_VALKEY_MIRROR: 'http://127.0.0.1:9/',
  })
}

function runChild(fnName, ctx) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CHILD, fnName, JSON.stringify(ctx)], { env: childEnv(ctx), timeout: 120000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }))
  })
}

test('the table has at least 60 rows and covers every export in index.d.ts', () => {
  const table = rows({ dataDir: '/d', fileDir: '/f', missingDir: '/m' })
  assert.ok(table.length >= 60, `${table.length} rows`)
  const dts = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8')
  const declared = [...dts.matchAll(/export declare function (\w+)/g)].map((m) => m[1]).sort()
  assert.deepEqual(declared, [...EXPORTS].sort(), 'EXPORTS lists every exported function')
  for (const name of EXPORTS) {
    assert.ok(table.some(([fn]) => fn === name), `${name} has rows`)
  }
  for (const [, description, , code] of table) assert.ok(ERROR_CODES.has(code), `${description}: ${code} is an ErrorCode`)
})

for (const fnName of EXPORTS) {
  test(`bad input to ${fnName}: every row is an Error with its stable code, nothing crashes or hangs`, async (t) => {
    const ctx = context(t)
    const expected = rows(ctx).filter(([fn]) => fn === fnName)
    const { error, stdout, stderr } = await runChild(fnName, ctx)
    assert.equal(error, null, `the child survived every row (${error?.signal ?? error?.code}): ${stderr.slice(-2000)}`)
    const results = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
    assert.equal(results.length, expected.length, 'one result per row')
    for (const [i, [, description, , code]] of expected.entries()) {
      const r = results[i]
      assert.equal(r.description, description)
      const what = `${fnName}: ${description}`
      assert.ok(!r.resolved, `${what}: should have been rejected with ${code}, but it succeeded`)
      assert.ok(!r.hang, `${what}: no answer within 10 s`)
      assert.equal(r.isError, true, `${what}: answered with an Error (${r.message})`)
      assert.ok(ERROR_CODES.has(r.code), `${what}: '${r.code}' is a stable ErrorCode — ${r.message}`)
      assert.equal(r.code, code, `${what}: ${r.message}`)
      if (fnName === 'watchQueueStore') assert.equal(r.sync, true, `${what}: watchQueueStore throws synchronously`)
      else assert.ok(!r.sync, `${what}: an async function rejects, never throws synchronously`)
      assert.ok(!r.message.includes(PASSWORD), `${what}: the message never repeats the password`)
      recordOutcome('Bad input', what, `rejected with ${r.code}`)
    }
    // Nothing was created where a data dir was unusable or missing.
    assert.ok(!fs.existsSync(ctx.missingDir), 'the missing dir was not created')
    assert.equal(fs.statSync(ctx.fileDir).isFile(), true, 'the file used as a data dir is untouched')
  })
}

test('good inputs next to the bad ones are accepted: ::1 is loopback, a missing data dir is "not running" and is not created', async (t) => {
  const ctx = context(t)
  const status = await addon.queueStoreStatus({ dataDir: ctx.missingDir, host: '::1' })
  assert.equal(status.running, false)
  const stop = await addon.stopQueueStore({ dataDir: ctx.missingDir, host: '[::1]' })
  assert.equal(stop.stopped, false)
  const bins = await addon.detectServerBinaries({ dataDir: ctx.missingDir })
  assert.ok(Array.isArray(bins))
  // undefined and null mean "no options"; an undefined trailing argument is no argument.
  await addon.queueStoreStatus({ dataDir: ctx.missingDir, port: undefined, url: null }, undefined)
  assert.ok(!fs.existsSync(ctx.missingDir), 'status, stop and detect never create the data dir')
  recordOutcome('Bad input', 'status/stop/detect with host ::1 and a data dir that does not exist', 'accepted: not running, nothing created')
})

test('hostile options leave no exception pending: the next call works normally', async () => {
  const hostile = Object.defineProperty({}, 'dataDir', { enumerable: true, get() { throw new Error('boom') } })
  let caught
  try { await addon.queueStoreStatus(hostile) } catch (e) { caught = e }
  assert.equal(caught?.code, 'E_BAD_OPTION')
  assert.match(caught.message, /option 'dataDir'.*threw 'boom'/)
  // Had the getter's exception been left pending, this synchronous call would throw it.
  const plan = await addon.planInstall({ method: 'apt' })
  assert.equal(typeof plan.method, 'string')
})
