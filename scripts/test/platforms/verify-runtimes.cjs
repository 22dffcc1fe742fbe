// Runs on the host's Node (>= 20); called by runtimes.sh, which assembled the runtimes.
//   node verify-runtimes.cjs CANDIDATES.json OUT_DIR
// CANDIDATES.json: [{ id, target, arch, libc: "gnu"|"musl"|null, argv, env, loader,
//                     addon, wrongAddon, platform?, mustMap?, mustNotMap?, wineRoot?,
//                     entry? }]
// For each candidate, in parallel:
//   1. <argv> probe.cjs          -> the expected platform (linux unless given) and
//                                   arch; glibc null on musl and Windows, a version
//                                   on gnu
//   2. <argv> napi-check.cjs ADDON WRONG --hold
//                                -> the target's .node loads and computes the known
//                                   crc32/crc32c of "hello world"; on musl the same
//                                   arch's gnu .node must NOT load (on Windows: the
//                                   linux .node);
//      while it holds, /proc/<pid>/maps of the process we spawned (the runtime itself,
//      qemu with the guest's files mapped, or wine's loader with the PE files mapped)
//      must show the expected loader (the musl one on musl, ld-linux-aarch64 on gnu,
//      the cache's ntdll.so under wine), the addon, the mustMap files, nothing of the
//      other libc and nothing matching mustNotMap.
// A candidate with entry.outputToFile (node.exe under wine) gets files as stdout and
// stderr (OUT_DIR/logs/<id>-*.out|err), paths as entry.hostPathPrefix + path, and
// afterwards its wineserver is waited for (-w; -k after 30 s) and no process of
// wineRoot may be left.
// Writes OUT_DIR/runtimes.json (only the candidates that passed: id, target, argv,
// env, version, and the fields of entry) and OUT_DIR/verify.json (every candidate: its
// checks, probe output, what napi-rs style libc detection sees inside it, timings).
// Exit 0 iff all passed.
'use strict'
const { spawn, spawnSync } = require('child_process')
const fs = require('fs')
const path = require('path')

const HERE = __dirname
const PROBE = path.join(HERE, 'probe.cjs')
const CHECK = path.join(HERE, 'napi-check.cjs')
const TIMEOUT_MS = 180_000 // qemu on a busy 2-core machine; a run takes ~1-3 s

let OUT_DIR = null

function run(c, args, { hold = false, name = 'run' } = {}) {
  const { argv, env } = c
  const toFile = !!(c.entry && c.entry.outputToFile)
  const hostPath = (a) => (c.entry && c.entry.hostPathPrefix && a.startsWith('/') ? c.entry.hostPathPrefix + a : a)
  return new Promise((resolve) => {
    const t0 = Date.now()
    let outFile, errFile, outFd, errFd
    if (toFile) {
      // node.exe under wine cannot write to a pipe: regular files, polled.
      fs.mkdirSync(path.join(OUT_DIR, 'logs'), { recursive: true })
      outFile = path.join(OUT_DIR, 'logs', `${c.id}-${name}.out`)
      errFile = path.join(OUT_DIR, 'logs', `${c.id}-${name}.err`)
      outFd = fs.openSync(outFile, 'w')
      errFd = fs.openSync(errFile, 'w')
    }
    const child = spawn(argv[0], [...argv.slice(1), ...args.map(hostPath)], {
      env: { ...process.env, ...env },
      stdio: toFile ? ['pipe', outFd, errFd] : ['pipe', 'pipe', 'pipe'],
    })
    if (toFile) {
      fs.closeSync(outFd)
      fs.closeSync(errFd)
    }
    let stdout = ''
    let stderr = ''
    let maps = null
    let poll = null
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS)
    const onStdout = () => {
      if (hold && maps === null && stdout.includes('\n')) {
        try {
          maps = fs.readFileSync(`/proc/${child.pid}/maps`, 'utf8')
        } catch (e) {
          maps = `unreadable: ${e.message}`
        }
        child.stdin.end()
      }
    }
    if (toFile) {
      poll = setInterval(() => {
        stdout = fs.readFileSync(outFile, 'utf8')
        onStdout()
      }, 100)
    } else {
      child.stdout.on('data', (d) => {
        stdout += d
        onStdout()
      })
      child.stderr.on('data', (d) => (stderr += d))
    }
    child.on('error', (e) => (stderr += String(e)))
    if (!hold) child.stdin.end()
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (poll) clearInterval(poll)
      if (toFile) {
        stdout = fs.readFileSync(outFile, 'utf8')
        stderr += fs.readFileSync(errFile, 'utf8')
      }
      const line = stdout.trim().split('\n').pop() || ''
      let json = null
      try {
        json = JSON.parse(line)
      } catch {}
      resolve({ code, signal, json, stdout, stderr: stderr.trim(), maps, ms: Date.now() - t0 })
    })
  })
}

// Processes whose executable lies under ROOT (wine's loader, wineserver64).
function processesUnder(root) {
  const found = []
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const exe = fs.readlinkSync(`/proc/${pid}/exe`)
      if (exe.startsWith(root + '/')) found.push(`${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]}`)
    } catch {} // gone, a zombie, or not ours to read
  }
  return found
}

// After the last wine run: wait for the prefix's wineserver to exit (with -p0 it does
// once no wine process is left), -k if it has not after 30 s, then nothing of wineRoot
// may still run.
function wineCleanup(c, rec, fail) {
  const env = { ...process.env, ...c.env }
  const t0 = Date.now()
  const w = spawnSync(c.entry.wineserver, ['-w'], { env, timeout: 30_000, stdio: 'ignore' })
  rec.wineserverWait = { ms: Date.now() - t0, timedOut: !!w.error }
  if (w.error) {
    spawnSync(c.entry.wineserver, ['-k'], { env, timeout: 30_000, stdio: 'ignore' })
    rec.wineserverKilled = true
  }
  let left = processesUnder(c.wineRoot)
  for (let i = 0; left.length && i < 50; i++) {
    spawnSync('sleep', ['0.1'])
    left = processesUnder(c.wineRoot)
  }
  if (left.length) fail(`wine processes left running: ${left.join('; ')}`)
}

function mappedFiles(maps) {
  return [...new Set((maps || '').split('\n').map((l) => l.split(/\s+/).slice(5).join(' ')).filter((p) => p.startsWith('/')))]
}

async function verify(c) {
  const failures = []
  const fail = (m) => failures.push(m)
  const rec = { id: c.id, target: c.target }

  const probe = await run(c, [PROBE], { name: 'probe' })
  rec.probe = probe.json || { code: probe.code, signal: probe.signal, output: (probe.stderr || probe.stdout).slice(-2000) }
  rec.probeMs = probe.ms
  const p = probe.json
  if (probe.code !== 0 || !p) fail(`probe exited ${probe.code ?? probe.signal}: ${(probe.stderr || probe.stdout).trim().slice(-500) || "(no output)"}`)
  else {
    const platform = c.platform || 'linux'
    if (p.platform !== platform) fail(`probe platform ${p.platform}, expected ${platform}`)
    if (p.arch !== c.arch) fail(`probe arch ${p.arch}, expected ${c.arch}`)
    if (c.libc !== 'gnu' && p.glibc !== null) fail(`probe glibc ${p.glibc} on a ${c.libc || platform} runtime`)
    if (c.libc === 'gnu' && typeof p.glibc !== 'string') fail(`probe glibc ${p.glibc} on a glibc runtime`)
    rec.version = p.versions.bun ?? p.versions.node
  }

  const check = await run(c, [CHECK, c.addon, c.wrongAddon, '--hold'], { hold: true, name: 'napi-check' })
  rec.checkMs = check.ms
  const k = check.json
  if (check.code !== 0 || !k) fail(`napi-check exited ${check.code ?? check.signal}: ${(check.stderr || check.stdout).trim().slice(-500) || "(no output)"}`)
  else {
    rec.napi = { addon: c.addon, crc32: k.crc32, crc32c: k.crc32c, ok: k.ok, execPath: k.execPath }
    rec.wrongLibcAddon = { path: c.wrongAddon, ...k.wrongLibc }
    rec.libcDetection = k.libc
    if (!k.ok) fail(`addon returned crc32=${k.crc32} crc32c=${k.crc32c}`)
    if (c.libc === 'musl' && k.wrongLibc && k.wrongLibc.loaded) fail('the glibc build of the addon loaded: not a musl runtime')
    if (c.libc === null && k.wrongLibc && k.wrongLibc.loaded) fail(`the linux build of the addon loaded on ${c.platform}`)
  }
  const files = mappedFiles(check.maps)
  const loader = fs.realpathSync(c.loader)
  rec.maps = files.filter((f) =>
    c.libc === null ? /ntdll|unwind|\.exe$|\.node$|bcryptprimitives/i.test(f) : /ld-|libc|musl|libstdc\+\+|libgcc|\.node$/.test(f),
  )
  if (!files.includes(loader)) fail(`/proc/<pid>/maps lacks the loader ${loader}`)
  if (!files.includes(fs.realpathSync(c.addon))) fail(`/proc/<pid>/maps lacks the addon ${c.addon}`)
  for (const f of c.mustMap || []) if (!files.includes(fs.realpathSync(f))) fail(`/proc/<pid>/maps lacks ${f}`)
  const other = c.mustNotMap ? new RegExp(c.mustNotMap) : c.libc === 'musl' ? /ld-linux|libc\.so\.6/ : /ld-musl|linux-musl/
  const bad = files.filter((f) => other.test(f))
  if (bad.length) fail(`/proc/<pid>/maps shows ${c.mustNotMap ? `files matching ${c.mustNotMap}` : 'the other libc'}: ${bad.join(', ')}`)
  if (c.wineRoot) wineCleanup(c, rec, fail)

  rec.ok = failures.length === 0
  if (failures.length) rec.failures = failures
  return { c, rec }
}

async function main() {
  const [candidatesFile, outDir] = process.argv.slice(2)
  OUT_DIR = outDir
  const candidates = JSON.parse(fs.readFileSync(candidatesFile, 'utf8'))
  const results = await Promise.all(candidates.map(verify))
  const runtimes = results
    .filter((r) => r.rec.ok)
    .map(({ c, rec }) => ({ id: c.id, target: c.target, argv: c.argv, env: c.env, version: rec.version, ...c.entry }))
  const write = (name, v) => {
    fs.writeFileSync(path.join(outDir, `${name}.tmp`), JSON.stringify(v, null, 2) + '\n')
    fs.renameSync(path.join(outDir, `${name}.tmp`), path.join(outDir, name))
  }
  write('runtimes.json', runtimes)
  write('verify.json', results.map((r) => r.rec))
  for (const { rec } of results) {
    const d = rec.libcDetection || {}
    console.log(
      !rec.ok
        ? `FAIL ${rec.id}: ${rec.failures.join('; ')}`
        : `ok   ${rec.id.padEnd(22)} ${rec.version}  probe ${rec.probeMs} ms, napi ${rec.checkMs} ms; ` +
            (rec.wineserverWait
              ? `inside: ${rec.probe.platform} ${rec.probe.arch}, execPath ${rec.napi.execPath}, linux .node: ${rec.wrongLibcAddon.loaded ? 'loaded' : 'refused'}; ` +
                `wineserver gone ${rec.wineserverWait.ms} ms after${rec.wineserverKilled ? ' (killed)' : ''}`
              : `inside: report glibc=${JSON.stringify(d.reportGlibcVersionRuntime)}, /usr/bin/ldd musl=${d.usrBinLddMentionsMusl} -> index.js picks ${d.indexJsPicks}`),
    )
  }
  process.exitCode = results.every((r) => r.rec.ok) ? 0 : 1
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 2
})
