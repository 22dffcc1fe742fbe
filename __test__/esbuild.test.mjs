// claude-mem bundles its server code with esbuild into plugin/scripts/*.cjs
// (scripts/build-hooks.js: bundle, platform node, target node18, cjs, minified,
// a `#!/usr/bin/env bun` banner) and runs it under Bun. A native addon cannot be
// bundled: it must stay external and be required from the plugin's node_modules at
// run time. This builds a consumer the same way with the real esbuild and runs
// the bundle under Node and Bun: ensure → status → stop.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { FLAVORS, ROOT, tmpDataDir } from './helpers.mjs'

const require = createRequire(import.meta.url)
const bin = FLAVORS.find((f) => f.bin)?.bin
const bun = path.join(ROOT, 'node_modules', '.bin', 'bun')

const CONSUMER = `
const { ensureQueueStoreStarted, queueStoreStatus, stopQueueStore } = require('claude-mem-store')
async function main(dataDir, binary) {
  const started = await ensureQueueStoreStarted({ dataDir, binary })
  const status = await queueStoreStatus({ dataDir })
  const stop = await stopQueueStore({ dataDir })
  return { started: started.started, pid: started.pid, healthy: status.checks.every((c) => c.ok), stopped: stop.stopped }
}
main(process.argv[2], process.argv[3]).then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e.code, e.message); process.exit(1) })
`

test('bundled with esbuild as claude-mem bundles its server, the addon external: runs under Node and Bun', { skip: !bin && 'no server installed', timeout: 120000 }, async (t) => {
  const esbuild = require('esbuild')
  const plugin = tmpDataDir(t)
  fs.mkdirSync(path.join(plugin, 'src'))
  fs.mkdirSync(path.join(plugin, 'scripts'))
  fs.writeFileSync(path.join(plugin, 'src', 'worker-service.js'), CONSUMER)
  // The plugin's node_modules, as `npm install claude-mem-store` would give it (a link to this checkout).
  fs.mkdirSync(path.join(plugin, 'node_modules'))
  fs.symlinkSync(ROOT, path.join(plugin, 'node_modules', 'claude-mem-store'))
  const outfile = path.join(plugin, 'scripts', 'worker-service.cjs')
  await esbuild.build({
    entryPoints: [path.join(plugin, 'src', 'worker-service.js')],
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    outfile,
    minify: true,
    logLevel: 'error',
    external: ['bun:sqlite', 'claude-mem-store'],
    banner: { js: '#!/usr/bin/env bun' },
  })
  const bundle = fs.readFileSync(outfile, 'utf8')
  assert.match(bundle, /require\("claude-mem-store"\)/, 'the addon is required at run time')
  assert.ok(!bundle.includes('NAPI_RS_NATIVE_LIBRARY_PATH'), 'its loader was not bundled')

  for (const [runtime, cmd] of [['node', process.execPath], ['bun', bun]]) {
    const dataDir = tmpDataDir(t)
    const r = spawnSync(cmd, [outfile, dataDir, bin], { encoding: 'utf8', timeout: 60000 })
    assert.equal(r.status, 0, `${runtime}: ${r.stderr}`)
    const out = JSON.parse(r.stdout.trim())
    assert.deepEqual({ ...out, pid: typeof out.pid }, { started: true, pid: 'number', healthy: true, stopped: true }, runtime)
  }
})
