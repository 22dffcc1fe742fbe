// The addon as users get it: packed with `npm pack` (the main package plus this
// platform's package, as napi-rs publishes them), installed into an empty project,
// then required and run from its command line; and loaded under Bun as well.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FLAVORS, ROOT, isAlive, tmpDataDir, track } from './helpers.mjs'

const bin = FLAVORS.find((f) => f.bin)?.bin
const platform = `${process.platform}-${process.arch}${process.platform === 'linux' ? '-gnu' : ''}`
const nodeFile = path.join(ROOT, `claude-mem-store.${platform}.node`)
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

test('npm pack → install into an empty project → require, import (Node and Bun) and the CLI work', { skip: !fs.existsSync(nodeFile) && `no ${nodeFile} built`, timeout: 120000 }, async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-pack-'))
  t.after(() => fs.rmSync(work, { recursive: true, force: true }))
  // The main package, exactly as `npm publish` would send it.
  const mainTgz = sh(npm, ['pack', '--silent', '--pack-destination', work], { cwd: ROOT }).trim().split('\n').pop()
  const listed = sh('tar', ['-tzf', path.join(work, mainTgz)])
  for (const f of ['package/index.js', 'package/index.d.ts', 'package/cli.js', 'package/package.json']) assert.ok(listed.includes(f), f)
  // This platform's package, with the built binary in it (napi-rs's layout).
  const platDir = path.join(work, 'platform')
  fs.cpSync(path.join(ROOT, 'npm', platform), platDir, { recursive: true })
  fs.copyFileSync(nodeFile, path.join(platDir, path.basename(nodeFile)))
  const platTgz = sh(npm, ['pack', '--silent', '--pack-destination', work], { cwd: platDir }).trim().split('\n').pop()

  const project = path.join(work, 'project')
  fs.mkdirSync(project)
  fs.writeFileSync(path.join(project, 'package.json'), '{"name":"empty-project","version":"1.0.0","private":true}\n')
  sh(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--offline', path.join(work, mainTgz), path.join(work, platTgz)], { cwd: project })

  const dataDir = tmpDataDir(t)
  const script = `const s = require('claude-mem-store');
    s.ensureQueueStoreStarted({ dataDir: process.argv[1], binary: process.argv[2] })
      .then((st) => console.log(JSON.stringify({ pid: st.pid, running: st.running, fns: Object.keys(s).sort() })))`
  const started = JSON.parse(sh(process.execPath, ['-e', script, dataDir, bin], { cwd: project }))
  track(started.pid)
  assert.equal(started.running, true)
  for (const fn of ['ensureQueueStoreStarted', 'queueStoreStatus', 'stopQueueStore', 'detectServerBinaries', 'watchQueueStore']) {
    assert.ok(started.fns.includes(fn), fn)
  }
  // ESM (claude-mem's installer is an ESM bundle, where `require` throws): named
  // imports and the default export, under Node and under Bun.
  const esm = path.join(project, 'esm-check.mjs')
  fs.writeFileSync(esm, `import store, { ensureQueueStoreStarted, queueStoreStatus, stopQueueStore } from 'claude-mem-store'
    const st = await queueStoreStatus({ dataDir: process.argv[2] })
    console.log(JSON.stringify({ named: [ensureQueueStoreStarted, queueStoreStatus, stopQueueStore].map((f) => typeof f), same: store.queueStoreStatus === queueStoreStatus, pid: st.pid }))\n`)
  const bunBin = path.join(ROOT, 'node_modules', '.bin', 'bun')
  for (const runtime of [process.execPath, bunBin]) {
    const viaImport = JSON.parse(sh(runtime, [esm, dataDir], { cwd: project }).trim().split('\n').pop())
    assert.deepEqual(viaImport, { named: ['function', 'function', 'function'], same: true, pid: started.pid }, `import under ${path.basename(runtime)}`)
  }
  const status = JSON.parse(sh(npm, ['exec', '--offline', '--', 'claude-mem-store', 'status', '--json', '--data-dir', dataDir], { cwd: project }))
  assert.equal(status.running, true)
  assert.equal(status.pid, started.pid)
  const down = JSON.parse(sh(npm, ['exec', '--offline', '--', 'claude-mem-store', 'down', '--json', '--data-dir', dataDir], { cwd: project }))
  assert.equal(down.stopped, true)
  assert.equal(isAlive(started.pid), false)
})

const bun = path.join(ROOT, 'node_modules', '.bin', 'bun')
test('under Bun: the addon loads and runs ensure, status and stop', { skip: !fs.existsSync(bun) && 'bun (devDependency) is not installed', timeout: 60000 }, async (t) => {
  const dataDir = tmpDataDir(t)
  const script = path.join(dataDir, 'bun-lifecycle.cjs')
  fs.writeFileSync(script, `const s = require(${JSON.stringify(ROOT)});
    (async () => {
      const out = {}
      const st = await s.ensureQueueStoreStarted({ dataDir: ${JSON.stringify(dataDir)}, binary: ${JSON.stringify(bin)} })
      out.started = { pid: st.pid, running: st.running, flavor: st.server.flavor, checks: st.checks.every((c) => c.ok) }
      const again = await s.queueStoreStatus({ dataDir: ${JSON.stringify(dataDir)} })
      out.status = { pid: again.pid, running: again.running }
      try { await s.queueStoreStatus({ dataDir: ${JSON.stringify(dataDir)}, port: 6379 }) } catch (e) { out.error = e.code }
      const stop = await s.stopQueueStore({ dataDir: ${JSON.stringify(dataDir)} })
      out.stop = { stopped: stop.stopped, method: stop.method }
      console.log(JSON.stringify(out))
    })()`)
  const r = spawnSync(bun, [script], { encoding: 'utf8', timeout: 50000 })
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  track(out.started.pid)
  assert.equal(out.started.running, true)
  assert.equal(out.started.checks, true)
  assert.deepEqual(out.status, { pid: out.started.pid, running: true })
  assert.equal(out.error, 'E_BAD_SETTINGS', 'coded errors reach Bun too')
  assert.equal(out.stop.stopped, true)
  assert.equal(isAlive(out.started.pid), false)
})
