#!/usr/bin/env node
// `npm run release:rehearse`: the release, for real, against a real npm registry on
// loopback (verdaccio, no uplinks: nothing can come from or go to npmjs.com):
//   0. is the bundled Valkey behind Debian? scripts/build/valkey/check-debian.mjs --strict
//      (valkey-gate.mjs): while it warns — behind, or it could not check — nothing is
//      published and the rehearsal fails, unless given a reason to go on:
//        npm run release:rehearse -- --allow-outdated-valkey "<reason>"
//        CMS_ALLOW_OUTDATED_VALKEY="<reason>" npm run release:rehearse
//      (an empty reason is refused; the reason is printed and kept in the report);
//   1. start verdaccio on 127.0.0.1:<free port> with an empty storage, add a user;
//   2. stage a copy of this package with the platform packages `npm run build:all`
//      built, and publish it with scripts/release/publish.mjs — the release
//      workflow's own publish step (napi pre-publish, then npm publish);
//   3. in an empty project, `npm install claude-mem-store` by name from that registry:
//      it must pull exactly this machine's platform package through
//      optionalDependencies, and `require` and `npx claude-mem-store status --json`
//      must work;
//      then, as on a machine with no server installed (every system valkey-server,
//      redis-server and redict-server hidden in a namespace of its own, where the
//      machine allows one), `npx claude-mem-store up` must start the package's
//      bundled Valkey with every check ok, status must say so, and `down` stop it;
//   4. again with --omit=optional: require must throw E_ADDON_UNAVAILABLE with the
//      reinstall hint;
//   5. stop verdaccio by its pid and remove everything.
// Prints a JSON report on stdout (the test suite reads it); exits 1 on any failure.
// Nothing in the checkout is changed.
import { spawn, spawnSync } from 'node:child_process'
import { canIsolate, isolated } from '../../__test__/fixtures/isolate.mjs'
import { freePort } from '../lib/free-port.mjs'
import { valkeyGate } from './valkey-gate.mjs'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..')
const registryDir = path.join(root, 'scripts', 'release', 'verdaccio')
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-rehearsal-'))
const report = { valkeyCheck: null, registry: null, published: [], installed: {}, omitOptional: {} }
let verdaccio = null

function log(msg) {
  console.error(`rehearsal: ${msg}`)
}

function run(cmd, args, opts = {}) {
  log(`$ ${[cmd, ...args].join(' ')}${opts.cwd ? `   (in ${opts.cwd})` : ''}`)
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts, env: { ...process.env, ...opts.env } })
  if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`)
  return r
}

function mustRun(cmd, args, opts) {
  const r = run(cmd, args, opts)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`)
  return r
}

function request(method, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let data = ''
      res.on('data', (c) => (data += c))
      res.on('end', () => resolve({ status: res.statusCode, body: data }))
    })
    req.on('error', reject)
    if (body) req.end(JSON.stringify(body))
    else req.end()
  })
}

async function startRegistry() {
  if (!fs.existsSync(path.join(registryDir, 'node_modules', '.bin', 'verdaccio'))) {
    mustRun('npm', ['ci', '--no-audit', '--no-fund'], { cwd: registryDir })
  }
  const port = await freePort()
  const dir = path.join(work, 'registry')
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'config.yaml'), [
    `storage: ${path.join(dir, 'storage')}`,
    'auth:',
    '  htpasswd:',
    `    file: ${path.join(dir, 'htpasswd')}`,
    '    max_users: 10',
    // No uplinks: every package must come from this registry, nothing from npmjs.com.
    'uplinks: {}',
    'packages:',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    'server:',
    '  keepAliveTimeout: 0',
    'logs: { type: stdout, format: json, level: warn }',
    '',
  ].join('\n'))
  const url = `http://127.0.0.1:${port}/`
  const child = spawn(path.join(registryDir, 'node_modules', '.bin', 'verdaccio'),
    ['--config', path.join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', fs.openSync(path.join(dir, 'verdaccio.log'), 'a'), fs.openSync(path.join(dir, 'verdaccio.log'), 'a')] })
  verdaccio = child
  const deadline = Date.now() + 60000
  for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited (${child.exitCode}): ${fs.readFileSync(path.join(dir, 'verdaccio.log'), 'utf8')}`)
    const ok = await request('GET', `${url}-/ping`).then((r) => r.status === 200, () => false)
    if (ok) break
    if (Date.now() > deadline) throw new Error('verdaccio did not answer /-/ping within 60 s')
    await new Promise((r) => setTimeout(r, pause))
  }
  // A user, as `npm adduser` makes one: its token publishes.
  const user = await request('PUT', `${url}-/user/org.couchdb.user:rehearsal`, { name: 'rehearsal', password: 'rehearsal-pw', type: 'user', roles: [] })
  const token = JSON.parse(user.body).token
  if (!token) throw new Error(`verdaccio gave no token: ${user.status} ${user.body}`)
  const npmrc = path.join(work, 'npmrc')
  fs.writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`)
  report.registry = url
  return { url, npmrc, pid: child.pid }
}

async function stopRegistry() {
  if (!verdaccio || verdaccio.exitCode !== null) return
  const exited = new Promise((r) => verdaccio.once('exit', r))
  process.kill(verdaccio.pid, 'SIGTERM')
  const timer = setTimeout(() => { try { process.kill(verdaccio.pid, 'SIGKILL') } catch {} }, 5000)
  await exited
  clearTimeout(timer)
}

/** A copy of what `npm publish` ships, plus npm/ with the built .node files. */
function stage() {
  const dir = path.join(work, 'package')
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  fs.mkdirSync(dir)
  for (const entry of [...pkg.files, 'package.json', 'README.md', 'npm']) {
    fs.cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true })
  }
  return dir
}

/** Which platform package this machine should get (as index.js decides). */
function thisPlatform() {
  const base = `${process.platform}-${process.arch}`
  if (process.platform !== 'linux') return base
  const musl = fs.existsSync('/usr/bin/ldd') && fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  return `${base}-${musl ? 'musl' : 'gnu'}`
}

function consumer(name, env, extra) {
  const dir = path.join(work, name)
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `rehearsal-${name}`, version: '1.0.0', private: true }))
  mustRun('npm', ['install', 'claude-mem-store', '--no-audit', '--no-fund', '--cache', path.join(work, 'npm-cache'), ...extra], { cwd: dir, env })
  const installed = fs.readdirSync(path.join(dir, 'node_modules')).filter((n) => n.startsWith('claude-mem-store'))
  return { dir, installed }
}

async function main() {
  // 0. Nothing is published while the bundled Valkey is behind Debian, unless overridden.
  const gate = await valkeyGate({ argv: process.argv.slice(2), env: process.env, log })
  report.valkeyCheck = { status: gate.status, exitCode: gate.exitCode, warnings: gate.warnings, override: gate.override, overrideFrom: gate.overrideFrom, published: gate.publish }
  if (!gate.publish) throw new Error(gate.message)
  const registry = await startRegistry()
  const env = { npm_config_userconfig: registry.npmrc, npm_config_registry: registry.url }
  const staged = stage()
  mustRun(process.execPath, [path.join(root, 'scripts', 'release', 'publish.mjs'), '--cwd', staged, '--only-built'], { env, stdio: ['ignore', process.stderr, 'inherit'] })
  const published = await request('GET', `${registry.url}claude-mem-store`)
  const meta = JSON.parse(published.body)
  const latest = meta.versions[meta['dist-tags'].latest]
  report.published = ['claude-mem-store', ...Object.keys(latest.optionalDependencies || {})]

  // 3. By name, from the registry, as users install it.
  const want = `claude-mem-store-${thisPlatform()}`
  const full = consumer('app', env, [])
  const dataDir = path.join(work, 'data')
  const req = run(process.execPath, ['-e', `const s = require('claude-mem-store'); console.log(JSON.stringify(Object.keys(s).sort()))`], { cwd: full.dir })
  const status = run('npx', ['--no-install', 'claude-mem-store', 'status', '--json', '--data-dir', dataDir], { cwd: full.dir, env })
  report.installed = {
    packages: full.installed,
    expected: want,
    exports: req.status === 0 ? JSON.parse(req.stdout) : { error: req.stderr },
    statusExit: status.status,
    status: status.stdout ? JSON.parse(status.stdout) : { error: status.stderr },
  }

  // The bundled server, the way users get it: no server installed, no install step.
  const hide = canIsolate()
  const cli = (args) => {
    const argv = ['npx', '--no-install', 'claude-mem-store', ...args, '--data-dir', path.join(work, 'bundled-data')]
    const [cmd, cmdArgs] = hide ? isolated(argv) : [argv[0], argv.slice(1)]
    return run(cmd, cmdArgs, { cwd: full.dir, env })
  }
  const up = cli(['up', '--json'])
  const st = cli(['status', '--json'])
  const down = cli(['down', '--json'])
  report.bundled = {
    serversHidden: hide,
    upExit: up.status,
    up: up.stdout ? JSON.parse(up.stdout) : { error: up.stderr },
    statusExit: st.status,
    status: st.stdout ? JSON.parse(st.stdout) : { error: st.stderr },
    down: down.stdout ? JSON.parse(down.stdout) : { error: down.stderr },
    packageDir: fs.realpathSync(path.join(full.dir, 'node_modules', want)),
  }

  // 4. Without optional dependencies: no addon, and the error says how to fix it.
  const bare = consumer('omit', env, ['--omit=optional'])
  const omit = run(process.execPath, ['-e', `try { require('claude-mem-store'); console.log('{"loaded":true}') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`], { cwd: bare.dir })
  report.omitOptional = { packages: bare.installed, ...JSON.parse(omit.stdout) }
}

main()
  .then(() => 0, (e) => {
    report.error = e.message
    return 1
  })
  .then(async (code) => {
    await stopRegistry()
    fs.rmSync(work, { recursive: true, force: true })
    process.stdout.write(JSON.stringify(report, null, 2) + '\n')
    process.exitCode = code
  })
