// Every platform package `npm run build:all` builds (npm/<platform>/*.node): what
// each object is (format, CPU, the libraries it needs, the N-API entry point), and,
// where a runtime for it can run here, the addon used for real in it:
//   linux-x64-gnu    this machine's Node
//   linux-arm64-gnu  Node for arm64 under qemu-user
//   linux-*-musl     Bun's musl builds (x64 natively, arm64 under qemu)
//   win32-x64-gnu    the official node.exe under wine (no Windows server exists:
//                    it probes a real Linux server on loopback, in external mode)
//   darwin-*         not runnable here: object checks only
// The runtimes come from scripts/test/platforms/runtimes.sh (runtimes.json). A missing
// build or runtime skips its test here and fails it in CI.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FLAVORS, ROOT, recordOutcome, startServer, tmpDataDir } from './helpers.mjs'
import { readElf, readMachO, readPe } from './fixtures/object-files.mjs'

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
const PLATFORM = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
  'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'aarch64-unknown-linux-musl': 'linux-arm64-musl',
  'x86_64-apple-darwin': 'darwin-x64',
  'aarch64-apple-darwin': 'darwin-arm64',
  'x86_64-pc-windows-gnu': 'win32-x64-gnu',
}
const runtimesFile = path.join(process.env.CMS_RUNTIMES_DIR || path.join(os.homedir(), '.cache', 'claude-mem-store', 'runtimes'), 'runtimes.json')
const RUNTIMES = fs.existsSync(runtimesFile) ? JSON.parse(fs.readFileSync(runtimesFile, 'utf8')) : []
const valkey = FLAVORS.find((f) => f.bin)?.bin
const check = path.join(ROOT, '__test__', 'fixtures', 'platform-check.cjs')
const missing = (what) => (process.env.CI ? false : what)

/** Libraries a Linux gnu build may need: glibc's own, nothing else (no libssl, no libstdc++). */
const GLIBC_LIBS = /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libgcc_s\.so\.1|ld-linux-(x86-64|aarch64)\.so\.[12])$/
/** DLLs every Windows 10 has (and the UCRT's api sets): nothing from Node, MinGW or MSVC's redistributables. */
const WINDOWS_DLLS = /^(kernel32|ntdll|ws2_32|userenv|crypt32|advapi32|ncrypt|secur32|bcrypt|bcryptprimitives|api-ms-win-[a-z0-9-]+)\.dll$/i

const EXPECT = {
  'linux-x64-gnu': { read: readElf, format: 'elf64-x86-64', machine: 'x86-64', libs: GLIBC_LIBS },
  'linux-arm64-gnu': { read: readElf, format: 'elf64-littleaarch64', machine: 'aarch64', libs: GLIBC_LIBS },
  'linux-x64-musl': { read: readElf, format: 'elf64-x86-64', machine: 'x86-64', libs: /^libc\.so$/ },
  'linux-arm64-musl': { read: readElf, format: 'elf64-littleaarch64', machine: 'aarch64', libs: /^libc\.so$/ },
  'darwin-x64': { read: readMachO, cpu: 'x86_64', minos: '10.13' },
  'darwin-arm64': { read: readMachO, cpu: 'arm64', minos: '11.0' },
  'win32-x64-gnu': { read: readPe, format: 'pei-x86-64' },
}

function nodeFile(platform) {
  return path.join(ROOT, 'npm', platform, `${pkg.napi.binaryName}.${platform}.node`)
}

/**
 * Runs platform-check.cjs in `runtime` (null: this Node) with the package's .node.
 * Under wine a path P is `Z:P`, and stdout/stderr must be files (a pipe is EBADF).
 */
function runCheck(t, runtime, platform, args) {
  const dir = tmpDataDir(t)
  const out = path.join(dir, 'out.json')
  const host = (p) => `${runtime?.hostPathPrefix || ''}${p}`
  const [cmd, ...prefix] = runtime ? runtime.argv : [process.execPath]
  const logs = runtime?.outputToFile ? [fs.openSync(path.join(dir, 'stdout'), 'w'), fs.openSync(path.join(dir, 'stderr'), 'w')] : ['pipe', 'pipe']
  const r = spawnSync(cmd, [...prefix, host(check), host(out), ...args], {
    encoding: 'utf8',
    timeout: 180000,
    stdio: ['ignore', ...logs],
    env: { ...process.env, ...(runtime?.env || {}), NAPI_RS_NATIVE_LIBRARY_PATH: host(nodeFile(platform)) },
  })
  if (runtime?.wineserver) {
    // wineserver (kept for no time: -p0) leaves with the last wine process; wait for it.
    spawnSync(runtime.wineserver, ['-w'], { env: { ...process.env, ...runtime.env }, timeout: 30000 })
  }
  const stderr = r.stderr ?? fs.readFileSync(path.join(dir, 'stderr'), 'utf8')
  assert.ok(fs.existsSync(out), `no result (exit ${r.status}): ${stderr}`)
  const result = JSON.parse(fs.readFileSync(out, 'utf8'))
  assert.equal(result.error, undefined, JSON.stringify(result.error))
  return result
}

for (const triple of pkg.napi.targets) {
  const platform = PLATFORM[triple]
  const file = nodeFile(platform)
  const built = fs.existsSync(file)

  test(`${platform}: the package's .node is the right object for its platform`, { skip: !built && missing(`npm/${platform} is not built (npm run build:all)`) }, () => {
    assert.ok(built, `${file} exists (npm run build:all)`)
    const want = EXPECT[platform]
    const got = want.read(file)
    assert.equal(got.exportsRegister, true, 'exports napi_register_module_v1')
    if (want.format) assert.equal(got.format, want.format)
    if (want.machine) assert.equal(got.machine, want.machine)
    if (platform.endsWith('-gnu') && platform.startsWith('linux')) {
      assert.ok(got.glibc, 'requires versioned glibc symbols')
      const [major, minor] = got.glibc.split('.').map(Number)
      assert.ok(major < 2 || (major === 2 && minor <= 17), `needs at most GLIBC_2.17, needs ${got.glibc}`)
    }
    if (want.libs) for (const lib of got.needed) assert.match(lib, want.libs, `NEEDED ${lib}`)
    if (want.cpu) {
      assert.equal(got.format, 'mach-o')
      assert.equal(got.cpu, want.cpu)
      assert.equal(got.filetype, 'dylib')
      assert.equal(got.minos, want.minos, 'the oldest macOS it loads on')
      if (want.cpu === 'arm64') assert.equal(got.signed, true, 'carries its (ad-hoc) code signature: arm64 macOS loads nothing unsigned')
      for (const lib of got.dylibs) assert.match(lib, /^\/usr\/lib\/[^/]+\.dylib$/, `loads only the OS's own libraries, not ${lib}`)
      assert.ok(!got.dylibs.some((l) => l.includes('.framework')), 'links no Apple framework')
    }
    if (platform.startsWith('win32')) {
      assert.equal(got.dll, true)
      for (const dll of got.imports) assert.match(dll, WINDOWS_DLLS, `imports ${dll}`)
    }
    recordOutcome('Platforms', `${platform}: object checks`, `${got.format}${got.cpu ? ` ${got.cpu} minos ${got.minos}` : ''}${got.glibc ? `, needs GLIBC_${got.glibc}` : ''}; loads ${(got.needed || got.dylibs || got.imports).join(', ')}; exports napi_register_module_v1`)
  })

  if (platform.startsWith('darwin')) continue
  const runtime = platform === 'linux-x64-gnu' ? null : RUNTIMES.find((r) => r.target === platform)
  const why = !built ? `npm/${platform} is not built` : runtime === undefined ? `no runtime for ${platform} (scripts/test/platforms/runtimes.sh)` : null
  test(`${platform}: loaded in ${runtime ? runtime.id : `this Node`}, the addon works against a real server`, { skip: (why && missing(why)) || false, timeout: 240000 }, async (t) => {
    assert.ok(built && runtime !== undefined, why)
    if (platform.startsWith('win32')) {
      // No Windows server exists: external mode against a Linux server on loopback.
      const server = await startServer(t, { flavor: 'valkey', bin: valkey, password: 'win-pw', args: ['--maxmemory-policy', 'noeviction'] })
      const r = runCheck(t, runtime, platform, ['external', 'C:\\claude-mem-test', `redis://:win-pw@127.0.0.1:${server.port}`])
      assert.deepEqual([r.platform, r.arch], ['win32', 'x64'])
      assert.equal(r.probeOk, true, JSON.stringify(r.failed))
      assert.equal(r.externalRunning, true)
      assert.equal(r.owned, false)
      assert.match(r.planMethod, /^(docker|external)$/, 'Windows: Docker or a URL, never a package manager')
      recordOutcome('Platforms', `${platform} in ${runtime.id}`, `probeRedisUrl with the smoke test passed against a real server; external ensure ok; planInstall → ${r.planMethod}`)
      return
    }
    const r = runCheck(t, runtime, platform, ['managed', tmpDataDir(t), valkey])
    assert.equal(r.platform, 'linux')
    assert.equal(r.arch, platform.includes('arm64') ? 'arm64' : 'x64')
    assert.equal(r.started, true)
    assert.deepEqual(r.failed, [], 'every check ok')
    assert.equal(r.stopped, true)
    assert.ok(r.exports.includes('ensureQueueStoreStarted'))
    recordOutcome('Platforms', `${platform} in ${runtime ? runtime.id : `node ${process.versions.node}`}`, `ensure started a managed ${r.flavor} store, status had every check ok, stop stopped it`)
  })
}
