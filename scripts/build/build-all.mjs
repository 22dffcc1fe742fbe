#!/usr/bin/env node
// `npm run build:all`: builds the addon for every target in package.json's
// `napi.targets` from this one Linux x86-64 machine, and puts each `.node` into its
// `npm/<platform>/` package, the napi-rs way (`napi build` per target into
// target/artifacts/<platform>/, then `napi artifacts`).
//
// Everything is cross-linked with zig (cargo-zigbuild), which needs no SDK:
//   linux gnu    `<triple>.2.17`: glibc 2.17 at most (napi-rs's floor: RHEL/CentOS 7,
//                Ubuntu 14.04, Amazon Linux 2 …), checked by the tests with objdump -T.
//   linux musl   napi's -x adds `-C target-feature=-crt-static` (a cdylib).
//   darwin       zig links Mach-O without Apple's SDK because nothing links an Apple
//                framework (see src/checks/tls.rs); MACOSX_DEPLOYMENT_TARGET sets the oldest
//                macOS it loads on (zig would stamp the newest). Not stripped or
//                changed after linking: arm64 macOS requires its ad-hoc signature.
//   windows      x86_64-pc-windows-gnu (the napi CLI cross-builds only MSVC, whose
//                CRT and SDK come from Microsoft, not from a package registry): plain
//                cargo zigbuild. napi's build script insists on a `libnode.dll` to link
//                against, which nothing uses — napi resolves every N-API function from
//                node.exe at load time — so an empty stub satisfies it. The DLL imports
//                only Windows system DLLs and the UCRT (checked by the tests), so it
//                loads in the official (MSVC-built) node.exe.
//
// Each Linux and macOS package also carries a static valkey-server (the bundled
// store): scripts/build/valkey/build-static.sh builds it from the pinned Debian source,
// reproducibly (its sha256 is pinned in scripts/build/valkey/source.json and compiled into
// the addon), cached by source and script; it goes into npm/<platform>/valkey/ with
// its licences and build record.
//
// Usage: node scripts/build/build-all.mjs [--targets <triple,…>] [--debug] [--no-valkey]
// Installs what it needs if missing: the rustup targets, and cargo-zigbuild + ziglang
// from PyPI at the versions pinned in scripts/build/build-requirements.txt.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const binaryName = pkg.napi.binaryName
const artifacts = path.join(root, 'target', 'artifacts')

/** How each target is built here: its napi platform name and extra environment. */
/** `valkey`: which static valkey-server build the package carries (none on Windows). */
const RECIPES = {
  'x86_64-unknown-linux-gnu': { platform: 'linux-x64-gnu', zigTarget: 'x86_64-unknown-linux-gnu.2.17', valkey: 'linux-x64' },
  'aarch64-unknown-linux-gnu': { platform: 'linux-arm64-gnu', zigTarget: 'aarch64-unknown-linux-gnu.2.17', valkey: 'linux-arm64' },
  'x86_64-unknown-linux-musl': { platform: 'linux-x64-musl', valkey: 'linux-x64' },
  'aarch64-unknown-linux-musl': { platform: 'linux-arm64-musl', valkey: 'linux-arm64' },
  'x86_64-apple-darwin': { platform: 'darwin-x64', env: { MACOSX_DEPLOYMENT_TARGET: '10.13' }, valkey: 'darwin-x64' },
  'aarch64-apple-darwin': { platform: 'darwin-arm64', env: { MACOSX_DEPLOYMENT_TARGET: '11.0' }, valkey: 'darwin-arm64' },
  'x86_64-pc-windows-gnu': { platform: 'win32-x64-gnu', windowsGnu: true },
}

/** The static valkey-server builds these targets need (cached: seconds when built). */
function buildValkey(triples) {
  const platforms = [...new Set(triples.map((t) => RECIPES[t].valkey).filter(Boolean))]
  if (platforms.length) run('bash', [path.join(root, 'scripts', 'build', 'valkey', 'build-static.sh'), ...platforms])
}

/** npm/<platform>/valkey/: the server, its licences and its build record. */
function bundleValkey(triple) {
  const from = RECIPES[triple].valkey
  if (!from) return
  const dest = path.join(root, 'npm', RECIPES[triple].platform, 'valkey')
  fs.rmSync(dest, { recursive: true, force: true })
  fs.cpSync(path.join(root, 'target', 'valkey', from), dest, { recursive: true })
}

function run(cmd, args, opts = {}) {
  console.error(`\n$ ${[cmd, ...args].join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts, env: { ...process.env, ...opts.env } })
  if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`${cmd} ${args[0]} failed (exit ${r.status})`)
}

function quiet(cmd, args) {
  return spawnSync(cmd, args, { cwd: root, encoding: 'utf8' })
}

/** cargo-zigbuild and zig, from PyPI at pinned versions, if missing. */
function ensureZig() {
  const zig = quiet('python3', ['-m', 'ziglang', 'version'])
  const zigbuild = quiet('cargo', ['zigbuild', '--help'])
  if (zig.status === 0 && zigbuild.status === 0) return
  run('python3', ['-m', 'pip', 'install', '--quiet', '-r', path.join(root, 'scripts', 'build', 'build-requirements.txt')])
}

function ensureRustTargets(triples) {
  const installed = quiet('rustup', ['target', 'list', '--installed']).stdout.split('\n')
  const missing = triples.filter((t) => !installed.includes(t))
  if (missing.length) run('rustup', ['target', 'add', ...missing])
}

/** An empty `libnode.dll` + `libnode.a` for napi-build's link check (see the header). */
function libnodeStub() {
  const dir = path.join(root, 'target', 'libnode-stub')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'libnode.dll'), '')
  // An empty archive: the magic line and no members.
  fs.writeFileSync(path.join(dir, 'libnode.a'), '!<arch>\n')
  return dir
}

function build(triple, release) {
  const recipe = RECIPES[triple]
  if (!recipe) throw new Error(`no recipe for ${triple}: add one to scripts/build/build-all.mjs`)
  const out = path.join(artifacts, recipe.platform)
  fs.rmSync(out, { recursive: true, force: true })
  fs.mkdirSync(out, { recursive: true })
  const started = Date.now()
  if (recipe.windowsGnu) {
    run('cargo', ['zigbuild', ...(release ? ['--release'] : []), '--target', triple], { env: { LIBNODE_PATH: libnodeStub() } })
    const dll = path.join(root, 'target', triple, release ? 'release' : 'debug', 'claude_mem_store.dll')
    fs.copyFileSync(dll, path.join(out, `${binaryName}.${recipe.platform}.node`))
  } else {
    // The typings go beside the .node in target/artifacts/ (see typings() below).
    run('npx', ['napi', 'build', '--platform', ...(release ? ['--release'] : []), '--no-js', '-x',
      '--target', recipe.zigTarget || triple, '--output-dir', out], { env: recipe.env })
  }
  const file = path.join(out, `${binaryName}.${recipe.platform}.node`)
  if (!fs.existsSync(file)) throw new Error(`${triple}: the build made no ${path.relative(root, file)}`)
  return { triple, platform: recipe.platform, file, bytes: fs.statSync(file).size, seconds: (Date.now() - started) / 1000 }
}

/**
 * index.d.ts as `napi build` generated it (the same for every target): written to
 * the package root, so that the test suite's drift check compares the committed
 * file with what this build generates.
 */
function typings(built) {
  const generated = built.map((b) => path.join(path.dirname(b.file), 'index.d.ts')).find((f) => fs.existsSync(f))
  if (generated) fs.copyFileSync(generated, path.join(root, 'index.d.ts'))
}

const args = process.argv.slice(2)
const only = args.includes('--targets') ? args[args.indexOf('--targets') + 1].split(',') : null
const release = !args.includes('--debug')
const withValkey = !args.includes('--no-valkey')
const targets = pkg.napi.targets.filter((t) => !only || only.includes(t))

ensureZig()
ensureRustTargets(targets)
if (withValkey) buildValkey(targets)
const built = targets.map((t) => build(t, release))
typings(built)
// Each .node into npm/<platform>/ (and the package root), the napi-rs way.
if (!only) run('npx', ['napi', 'artifacts', '--output-dir', path.relative(root, artifacts), '--npm-dir', 'npm'])
else for (const b of built) fs.copyFileSync(b.file, path.join(root, 'npm', b.platform, path.basename(b.file)))
if (withValkey) for (const t of targets) bundleValkey(t)
console.error('\nbuilt:')
for (const b of built) console.error(`  ${b.platform.padEnd(16)} ${(b.bytes / 1048576).toFixed(1).padStart(5)} MB  ${b.seconds.toFixed(0).padStart(4)} s  npm/${b.platform}/${path.basename(b.file)}`)
