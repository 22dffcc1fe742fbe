// Runs INSIDE a runtime under test (see runtimes.sh and verify-runtimes.cjs).
//   napi-check.cjs ADDON [WRONG_LIBC_ADDON] [--hold]
// Loads ADDON (an @node-rs/crc32 platform .node built for this runtime's target),
// calls it, tries WRONG_LIBC_ADDON (the same arch built for the other libc; it must
// not load on a real musl runtime), records what a napi-rs style loader would
// conclude about the libc here, and prints one JSON line with fs.writeSync (no
// buffering). With --hold it then blocks until stdin closes, so the caller can read
// /proc/<pid>/maps of the running process.
'use strict'
const fs = require('fs')

const args = process.argv.slice(2).filter((a) => a !== '--hold')
const [addon, wrong] = args
const out = { pid: process.pid, execPath: process.execPath }

const m = require(addon)
out.crc32 = m.crc32('hello world')
out.crc32c = m.crc32c('hello world')
out.ok = out.crc32 === 0x0d4a1185 && out.crc32c === 0xc99465aa

if (wrong) {
  try {
    require(wrong)
    out.wrongLibc = { loaded: true }
  } catch (e) {
    out.wrongLibc = { loaded: false, error: String(e && e.message).split('\n')[0] }
  }
}

// The two signals napi-rs style loaders use (our index.js reads the first, and the
// second only when /usr/bin/ldd is absent).
let ldd
try {
  ldd = fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
} catch (e) {
  ldd = `absent (${e.code})`
}
let header = null
let sharedObjects = []
if (process.report) {
  process.report.excludeNetwork = true
  const r = process.report.getReport()
  header = r && r.header
  sharedObjects = (r && r.sharedObjects) || []
}
out.libc = {
  usrBinLddMentionsMusl: ldd,
  reportGlibcVersionRuntime:
    header && 'glibcVersionRuntime' in header ? header.glibcVersionRuntime ?? null : 'absent',
  reportSharedObjectsNameMusl: sharedObjects.some((f) => /libc\.musl-|ld-musl-/.test(f)),
  reportSharedObjectsCount: sharedObjects.length,
  // index.js's linuxLibc(): ldd first, report only without ldd.
  indexJsPicks:
    typeof ldd === 'boolean' ? (ldd ? 'musl' : 'gnu') : header && header.glibcVersionRuntime ? 'gnu' : 'musl',
}

fs.writeSync(1, JSON.stringify(out) + '\n')
if (process.argv.includes('--hold')) fs.readFileSync(0) // until the caller closes stdin
