#!/usr/bin/env node
// Publishes claude-mem-store: every platform package (npm/<platform>/, each with its
// .node from `npm run build:all`), then the main package, whose optionalDependencies
// name them — the napi-rs way: `napi pre-publish` publishes the platform packages and
// writes optionalDependencies into package.json, then `npm publish` the main one.
//
// The release workflow (.github/workflows/release.yml) runs exactly this, and so does
// `npm run release:rehearse` against a loopback registry: what the rehearsal proves
// is what the workflow does. The registry and its token come from npm's own config
// (NODE_AUTH_TOKEN / npm_config_userconfig / npm_config_registry).
//
// Usage: node scripts/release/publish.mjs [--cwd <dir>] [--only-built] [--provenance]
//   --cwd         the package to publish (default: this checkout). The rehearsal
//                 passes a staged copy, so that the checkout is never changed.
//   --only-built  publish the platforms that have a .node and leave the others out
//                 of optionalDependencies (the rehearsal, on a machine that cannot
//                 build every target). Without it a missing build is an error.
//   --provenance  npm publish --provenance (GitHub Actions with id-token: write).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const args = process.argv.slice(2)
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..')
const cwd = args.includes('--cwd') ? path.resolve(args[args.indexOf('--cwd') + 1]) : root
const onlyBuilt = args.includes('--only-built')
const napi = path.join(root, 'node_modules', '.bin', 'napi')

function run(cmd, argv) {
  console.error(`$ ${[cmd, ...argv].join(' ')}   (in ${cwd})`)
  const r = spawnSync(cmd, argv, { cwd, stdio: 'inherit' })
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (exit ${r.status ?? r.signal})`)
}

const pkgPath = path.join(cwd, 'package.json')
const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'))
const platformOf = (dir) => JSON.parse(fs.readFileSync(path.join(cwd, 'npm', dir, 'package.json'), 'utf8'))
const built = []
const absent = []
for (const dir of fs.readdirSync(path.join(cwd, 'npm'))) {
  const main = platformOf(dir).main
  ;(fs.existsSync(path.join(cwd, 'npm', dir, main)) ? built : absent).push(dir)
}
if (absent.length && !onlyBuilt) {
  throw new Error(`not built: ${absent.join(', ')}. Run npm run build:all (or pass --only-built).`)
}
let configPath = []
if (absent.length) {
  // napi reads its targets from this file instead of package.json's `napi` field.
  const keep = pkg.napi.targets.filter((t) => built.some((dir) => napiPlatform(t) === dir))
  const file = path.join(cwd, 'napi.publish.json')
  fs.writeFileSync(file, JSON.stringify({ ...pkg.napi, targets: keep }, null, 2))
  configPath = ['--config-path', file]
  console.error(`publishing ${built.join(', ')}; not built here (left out): ${absent.join(', ')}`)
  for (const dir of absent) fs.rmSync(path.join(cwd, 'npm', dir), { recursive: true, force: true })
}

/** napi's platform name of a target triple (`aarch64-unknown-linux-gnu` → `linux-arm64-gnu`). */
function napiPlatform(triple) {
  const [arch, , os, abi] = triple.split('-')
  const cpu = { x86_64: 'x64', aarch64: 'arm64' }[arch] || arch
  if (triple.includes('apple')) return `darwin-${cpu}`
  return `${os === 'windows' ? 'win32' : os}-${cpu}-${abi}`
}

run(napi, ['pre-publish', '-t', 'npm', '--no-gh-release', ...configPath])
run('npm', ['publish', '--access', 'public', ...(args.includes('--provenance') ? ['--provenance'] : [])])
