// Runs on the host's Node (>= 20); called by runtimes.sh, which assembled the runtimes.
//   node verify-runtimes.cjs CANDIDATES.json OUT_DIR
// CANDIDATES.json: [{ id, target, arch, libc: "gnu"|"musl", argv, env, loader,
//                     addon, wrongAddon }]
// For each candidate, in parallel:
//   1. <argv> probe.cjs          -> platform linux, the expected arch; glibc null on
//                                   musl, a version on gnu
//   2. <argv> napi-check.cjs ADDON WRONG --hold
//                                -> the target's .node loads and computes the known
//                                   crc32/crc32c of "hello world"; on musl the same
//                                   arch's gnu .node must NOT load;
//      while it holds, /proc/<pid>/maps of the process we spawned (the runtime itself,
//      or qemu with the guest's files mapped) must show the expected loader (the musl
//      one on musl, ld-linux-aarch64 on gnu), the addon, and nothing of the other libc.
// Writes OUT_DIR/runtimes.json (only the candidates that passed: id, target, argv,
// env, version) and OUT_DIR/verify.json (every candidate: its checks, probe output,
// what napi-rs style libc detection sees inside it, timings). Exit 0 iff all passed.
'use strict'
const { spawn } = require('child_process')
const fs = require('fs')
const path = require('path')

const HERE = __dirname
const PROBE = path.join(HERE, 'probe.cjs')
const CHECK = path.join(HERE, 'napi-check.cjs')
const TIMEOUT_MS = 180_000 // qemu on a busy 2-core machine; a run takes ~1-3 s

function run(argv, env, args, { hold = false } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const child = spawn(argv[0], [...argv.slice(1), ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let maps = null
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS)
    child.stdout.on('data', (d) => {
      stdout += d
      if (hold && maps === null && stdout.includes('\n')) {
        try {
          maps = fs.readFileSync(`/proc/${child.pid}/maps`, 'utf8')
        } catch (e) {
          maps = `unreadable: ${e.message}`
        }
        child.stdin.end()
      }
    })
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', (e) => (stderr += String(e)))
    if (!hold) child.stdin.end()
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = stdout.trim().split('\n').pop() || ''
      let json = null
      try {
        json = JSON.parse(line)
      } catch {}
      resolve({ code, signal, json, stdout, stderr: stderr.trim(), maps, ms: Date.now() - t0 })
    })
  })
}

function mappedFiles(maps) {
  return [...new Set((maps || '').split('\n').map((l) => l.split(/\s+/).slice(5).join(' ')).filter((p) => p.startsWith('/')))]
}

async function verify(c) {
  const failures = []
  const fail = (m) => failures.push(m)
  const rec = { id: c.id, target: c.target }

  const probe = await run(c.argv, c.env, [PROBE])
  rec.probe = probe.json || { code: probe.code, signal: probe.signal, output: (probe.stderr || probe.stdout).slice(-2000) }
  rec.probeMs = probe.ms
  const p = probe.json
  if (probe.code !== 0 || !p) fail(`probe exited ${probe.code ?? probe.signal}: ${(probe.stderr || probe.stdout).trim().slice(-500) || "(no output)"}`)
  else {
    if (p.platform !== 'linux') fail(`probe platform ${p.platform}`)
    if (p.arch !== c.arch) fail(`probe arch ${p.arch}, expected ${c.arch}`)
    if (c.libc === 'musl' && p.glibc !== null) fail(`probe glibc ${p.glibc} on a musl runtime`)
    if (c.libc === 'gnu' && typeof p.glibc !== 'string') fail(`probe glibc ${p.glibc} on a glibc runtime`)
    rec.version = p.versions.bun ?? p.versions.node
  }

  const check = await run(c.argv, c.env, [CHECK, c.addon, c.wrongAddon, '--hold'], { hold: true })
  rec.checkMs = check.ms
  const k = check.json
  if (check.code !== 0 || !k) fail(`napi-check exited ${check.code ?? check.signal}: ${(check.stderr || check.stdout).trim().slice(-500) || "(no output)"}`)
  else {
    rec.napi = { addon: c.addon, crc32: k.crc32, crc32c: k.crc32c, ok: k.ok, execPath: k.execPath }
    rec.wrongLibcAddon = { path: c.wrongAddon, ...k.wrongLibc }
    rec.libcDetection = k.libc
    if (!k.ok) fail(`addon returned crc32=${k.crc32} crc32c=${k.crc32c}`)
    if (c.libc === 'musl' && k.wrongLibc && k.wrongLibc.loaded) fail('the glibc build of the addon loaded: not a musl runtime')
  }
  const files = mappedFiles(check.maps)
  const loader = fs.realpathSync(c.loader)
  rec.maps = files.filter((f) => /ld-|libc|musl|libstdc\+\+|libgcc|\.node$/.test(f))
  if (!files.includes(loader)) fail(`/proc/<pid>/maps lacks the loader ${loader}`)
  if (!files.includes(fs.realpathSync(c.addon))) fail(`/proc/<pid>/maps lacks the addon ${c.addon}`)
  const other = c.libc === 'musl' ? /ld-linux|libc\.so\.6/ : /ld-musl|linux-musl/
  const bad = files.filter((f) => other.test(f))
  if (bad.length) fail(`/proc/<pid>/maps shows the other libc: ${bad.join(', ')}`)

  rec.ok = failures.length === 0
  if (failures.length) rec.failures = failures
  return { c, rec }
}

async function main() {
  const [candidatesFile, outDir] = process.argv.slice(2)
  const candidates = JSON.parse(fs.readFileSync(candidatesFile, 'utf8'))
  const results = await Promise.all(candidates.map(verify))
  const runtimes = results
    .filter((r) => r.rec.ok)
    .map(({ c, rec }) => ({ id: c.id, target: c.target, argv: c.argv, env: c.env, version: rec.version }))
  const write = (name, v) => {
    fs.writeFileSync(path.join(outDir, `${name}.tmp`), JSON.stringify(v, null, 2) + '\n')
    fs.renameSync(path.join(outDir, `${name}.tmp`), path.join(outDir, name))
  }
  write('runtimes.json', runtimes)
  write('verify.json', results.map((r) => r.rec))
  for (const { rec } of results) {
    const d = rec.libcDetection || {}
    console.log(
      rec.ok
        ? `ok   ${rec.id.padEnd(22)} ${rec.version}  probe ${rec.probeMs} ms, napi ${rec.checkMs} ms; ` +
            `inside: report glibc=${JSON.stringify(d.reportGlibcVersionRuntime)}, /usr/bin/ldd musl=${d.usrBinLddMentionsMusl} -> index.js picks ${d.indexJsPicks}`
        : `FAIL ${rec.id}: ${rec.failures.join('; ')}`,
    )
  }
  process.exitCode = results.every((r) => r.rec.ok) ? 0 : 1
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 2
})
