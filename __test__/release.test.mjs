// The release, rehearsed for real (npm run release:rehearse): a loopback verdaccio,
// the release workflow's own publish step, then `npm install claude-mem-store` by
// name in an empty project — which must pull exactly this machine's platform
// package — and again with --omit=optional.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { ROOT, recordOutcome } from './helpers.mjs'

const thisPackage = path.join(ROOT, 'npm', 'linux-x64-gnu', 'claude-mem-store.linux-x64-gnu.node')

test('release rehearsal: publish to a loopback registry, install by name, require and npx work; --omit=optional says how to fix it', { skip: (!fs.existsSync(thisPackage) && !process.env.CI && 'npm/linux-x64-gnu is not built (npm run build:all)') || false, timeout: 300000 }, () => {
  // The rehearsal refuses to publish while the bundled valkey is behind Debian (issue 19,
  // scripts/release/valkey-gate.mjs); this one only ever publishes to loopback.
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'release', 'rehearse.mjs'), '--allow-outdated-valkey', 'test rehearsal: publishing to a loopback registry only'], { encoding: 'utf8', timeout: 280000 })
  const report = JSON.parse(r.stdout)
  assert.equal(report.error, undefined, `${report.error}\n${r.stderr.slice(-3000)}`)
  assert.equal(r.status, 0)
  assert.match(report.registry, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'a loopback registry')
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  assert.equal(report.published.length, 1 + pkg.napi.targets.length, `the main package and every platform package: ${report.published}`)
  assert.deepEqual(report.installed.packages, ['claude-mem-store', report.installed.expected], 'exactly this platform\'s package came with it')
  assert.ok(report.installed.exports.includes('ensureQueueStoreStarted'))
  assert.equal(report.installed.statusExit, 3, 'npx claude-mem-store status --json: not running (exit 3), as JSON')
  assert.equal(report.installed.status.running, false)
  // The bundled Valkey, as users get it: no server installed, no install step.
  const source = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'build', 'valkey', 'source.json'), 'utf8'))
  const bundled = path.join(report.bundled.packageDir, 'valkey', 'valkey-server')
  if (process.env.CI) assert.equal(report.bundled.serversHidden, true, 'CI hides every system server')
  assert.equal(report.bundled.upExit, 0, JSON.stringify(report.bundled.up))
  assert.equal(report.bundled.up.resolution.decision, 'managed')
  assert.equal(report.bundled.up.resolution.binary.source, 'bundled')
  assert.deepEqual(report.bundled.up.status.server, { flavor: 'valkey', version: source.version, binary: bundled, bundled: true, outdated: false })
  assert.ok(report.bundled.up.status.checks.every((c) => c.ok), JSON.stringify(report.bundled.up.status.checks))
  assert.equal(report.bundled.statusExit, 0)
  assert.equal(report.bundled.status.server.bundled, true)
  assert.equal(report.bundled.down.stopped, true)
  assert.deepEqual(report.omitOptional.packages, ['claude-mem-store'])
  assert.equal(report.omitOptional.code, 'E_ADDON_UNAVAILABLE')
  assert.match(report.omitOptional.message, /without --no-optional \/ --omit=optional/)
  recordOutcome('Platforms', 'release rehearsal on a loopback verdaccio',
    `published ${report.published.length} packages; npm install claude-mem-store pulled ${report.installed.packages.join(' + ')}; require and npx status --json worked; with no server installed${report.bundled.serversHidden ? '' : ' (not hidden here)'}, npx claude-mem-store up ran the bundled valkey ${source.version} with every check ok and down stopped it; with --omit=optional: ${report.omitOptional.code}`)
})
