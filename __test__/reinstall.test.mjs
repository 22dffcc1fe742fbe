// claude-mem's uninstall deletes its plugin directory, and this addon and the
// server binary it started with go with it, while the store keeps running: nothing
// installed is left to stop it. The next install's addon must adopt that store
// (one server, the data intact) rather than start a second one, and
// `npx claude-mem-store down` must stop it from any directory, for the default
// data dir (~/.claude-mem).
//
// Each "install" is a copy of this package (index.js, cli, the built .node) in its
// own plugin dir, run as its own process with HOME pointing at a test home, as
// claude-mem runs it; the server binary it starts is a copy inside that plugin
// dir, so that the uninstall really deletes the file the store runs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { FLAVORS, ROOT, Redis, cleanEnv, isAlive, stopStoreAfter, tmpDataDir, track, waitFor } from './helpers.mjs'

const server = FLAVORS.find((f) => f.bin)
// Every built addon (a cross build leaves others beside this machine's); the loader picks its own.
const nodeFiles = fs.readdirSync(ROOT).filter((f) => /^claude-mem-store\..+\.node$/.test(f))
const missing = !process.env.CI && ((!server && 'no valkey-server / redis-server installed') || (!nodeFiles.length && 'the addon is not built (npm run build)'))

/** A copy of this package in `<home>/plugins/<name>/node_modules/claude-mem-store`, with a server binary of its own. */
function installPlugin(home, name) {
  const pkg = path.join(home, 'plugins', name, 'node_modules', 'claude-mem-store')
  fs.mkdirSync(path.join(pkg, 'bin'), { recursive: true })
  for (const f of ['index.js', 'package.json', 'cli.js', ...nodeFiles]) fs.copyFileSync(path.join(ROOT, f), path.join(pkg, f))
  fs.cpSync(path.join(ROOT, 'cli'), path.join(pkg, 'cli'), { recursive: true })
  const binary = path.join(pkg, 'bin', path.basename(server.bin))
  fs.copyFileSync(server.bin, binary)
  fs.chmodSync(binary, 0o755)
  return { dir: path.join(home, 'plugins', name), cli: path.join(pkg, 'cli.js'), binary }
}

/** `node <cli> <args…> --json` in `cwd`, as the user whose home is `home`; returns the parsed output. */
function cli(home, cliPath, args, cwd) {
  const env = cleanEnv({ HOME: home })
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH
  const r = spawnSync(process.execPath, [cliPath, ...args, '--json'], { cwd, env, encoding: 'utf8', timeout: 60000 })
  assert.equal(r.status, 0, `${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`)
  return JSON.parse(r.stdout)
}

test('a store left running by claude-mem\'s uninstall (plugin dir, addon and binary deleted) is adopted by the next install with its data; down stops it from any directory', { skip: missing, timeout: 120000 }, async (t) => {
  const home = tmpDataDir(t)
  const dataDir = path.join(home, '.claude-mem')
  stopStoreAfter(t, dataDir)

  // Install 1 starts the store with the binary inside its plugin dir, and a job is queued.
  const first = installPlugin(home, 'v1')
  const started = cli(home, first.cli, ['up', '--binary', first.binary], first.dir).status
  track(started.pid)
  assert.equal(started.running && started.started, true)
  assert.equal(started.paths.dataDir, dataDir, 'the default data dir: ~/.claude-mem')
  // The CLI prints the URL redacted; claude-mem reads it from settings.json.
  const settingsUrl = () => JSON.parse(fs.readFileSync(path.join(dataDir, 'settings.json'), 'utf8')).CLAUDE_MEM_REDIS_URL
  const url = settingsUrl()
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  redis.on('error', () => {})
  await redis.connect()
  await redis.lpush(`${started.prefix}:lane:wait`, 'job-1')
  await redis.quit()

  // claude-mem's uninstall: the plugin dir goes, with the addon and the server binary.
  fs.rmSync(first.dir, { recursive: true })
  assert.ok(isAlive(started.pid), 'the store keeps running')
  assert.match(fs.readlinkSync(`/proc/${started.pid}/exe`), /\(deleted\)$/, 'it runs a binary that no longer exists')

  // Install 2 (another copy, no --binary): it adopts the running store.
  const second = installPlugin(home, 'v2')
  const adopted = cli(home, second.cli, ['up'], second.dir).status
  assert.equal(adopted.started, false, 'no new server was started')
  assert.equal(adopted.pid, started.pid, 'the same server')
  assert.equal(adopted.connection.port, started.connection.port)
  assert.deepEqual(adopted.checks.filter((c) => !c.ok), [], 'every check passes on the adopted store')
  assert.equal(settingsUrl(), url, 'the same URL in settings.json: claude-mem\'s connection stays right')
  const check = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  check.on('error', () => {})
  await check.connect()
  assert.deepEqual(await check.lrange(`${started.prefix}:lane:wait`, 0, -1), ['job-1'], 'the queued job is there')
  await check.quit()

  // `npx claude-mem-store down` from another directory, with no options: the default data dir's store stops.
  const down = cli(home, path.join(ROOT, 'cli.js'), ['down'], '/')
  assert.equal(down.stopped, true, JSON.stringify(down))
  await waitFor(() => !isAlive(started.pid), 'the store to exit', 10000)
  assert.equal(fs.existsSync(path.join(dataDir, 'redis', 'redis.pid')), false, 'its pid file is gone')
})
