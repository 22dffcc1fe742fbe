// examples/claude-mem-startup.ts: type-checked against index.d.ts with tsc, then run
// end to end as claude-mem does it: install (resolve → ensure → engine bullmq), then
// the worker (settings alone → ensure → BullMQ on its own connection → shutdown).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { FLAVORS, ROOT, tmpDataDir } from './helpers.mjs'

test('the TypeScript startup example type-checks and runs', { timeout: 120000 }, (t) => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const check = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'examples')], { encoding: 'utf8' })
  assert.equal(check.status, 0, `tsc:\n${check.stdout}${check.stderr}`)
  const dataDir = tmpDataDir(t)
  const run = spawnSync(process.execPath, [path.join(ROOT, 'target', 'examples', 'claude-mem-startup.js')], {
    encoding: 'utf8',
    timeout: 60000,
    env: { ...process.env, CLAUDE_MEM_DATA_DIR: dataDir, CLAUDE_MEM_STORE_BINARY: FLAVORS.find((f) => f.bin).bin },
  })
  assert.equal(run.status, 0, run.stderr)
  assert.match(run.stdout, /^Installed: managed; queue engine bullmq$/m)
  const settings = JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8'))
  assert.equal(settings.CLAUDE_MEM_QUEUE_ENGINE, 'bullmq')
  assert.equal(settings.CLAUDE_MEM_REDIS_MODE, 'managed')
  assert.equal(fs.statSync(path.join(dataDir, 'settings.json')).mode & 0o777, 0o600, "the installer's write kept 0600")
  assert.match(run.stdout, /^Store: managed (valkey|redis) \S+ at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(AOF everysec, noeviction\)$/m)
  assert.match(run.stdout, /^job 1 completed: \{"summarized":42\}$/m)
  assert.match(run.stdout, /^Store: stopped the store/m)
})
