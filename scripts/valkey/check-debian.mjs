#!/usr/bin/env node
// Compares the Valkey that build-static.sh bundles (the Debian version in
// scripts/valkey/source.json, `patches.debian`) with what Debian ships today, and says
// which fixes the bundle lacks.
//
//   node scripts/valkey/check-debian.mjs [--strict] [--override REASON] [--json]
//
// For each suite (trixie, trixie-security, trixie-updates, trixie-backports,
// bookworm-backports, sid, experimental, and forky when it exists) it reads the suite's
// InRelease (its signature checked with gpgv and Debian's archive keyring when both are
// there), then main/binary-amd64/Packages and main/source/Sources (whichever of .xz, .gz
// or plain the InRelease lists and this machine can read; each file's sha256 checked
// against the InRelease), and lists the versions of the source package `valkey`.
// For every version newer than the bundle's it:
//   - downloads the binary valkey-server_<ver>_amd64.deb (the Packages `Filename:`),
//     checks its sha256 against the index, takes usr/share/doc/valkey-server/
//     changelog.Debian.gz out of it (dpkg-deb --fsys-tarfile when present, else ar and
//     tar parsed here) and lists the CVE ids of the entries newer than the bundle's
//     version that the bundle does not already fix (source.json `patches.cves`, and the
//     CVEs of the entries the bundle's version descends from); the upstream release
//     notes in the same .deb (changelog.gz) give the CVE/GHSA ids of newer upstream
//     releases the same way;
//   - checks (HEAD) whether its source (.dsc, orig and debian tarballs) can be
//     downloaded from the main archive's pool and from the security archive's pool:
//     build-static.sh needs source, and Debian sometimes lists a source it does not serve.
//
// Output: what each suite has, every newer version with its fixes and source status, and
// a `warning:` line for each thing to act on: a newer revision or patch release of the
// bundle's upstream line (always), a newer upstream line whose changelogs name fixes the
// bundle lacks (a newer line with none is a `note:`), a newer version whose source cannot
// be downloaded, and any part of the check that could not be done (`warning: could not
// reach ...`). `--json`: one JSON object on stdout instead (the same facts).
//
// Exit status:
//   0  the check ran (warnings or not); also with --strict when nothing warned, and with
//      --strict plus an override (the reason is printed)
//   3  --strict: a newer Debian Valkey fixes something the bundle lacks (or its source is
//      gone): the release is refused unless overridden
//   4  --strict: the check could not be completed (network, signature, hash, format)
//      and nothing outdated was found in what could be read
//   2  usage error, or source.json unreadable
// Options:
//   --strict            fail (3 or 4) when it warns
//   --override REASON   with --strict: accept the warnings, print REASON, exit 0
//                       (also --override=REASON; env CMS_ALLOW_OUTDATED_VALKEY=REASON)
//   --json              machine-readable output on stdout
//   --cache-dir DIR     download cache (default ~/.cache/claude-mem-store/debian-check,
//                       env CMS_DEBIAN_CHECK_CACHE); files are named by their sha256 and
//                       re-hashed whenever used: a cache saves time, it decides nothing
// Environment:
//   CMS_DEBIAN_MIRROR           main archive (default http://deb.debian.org/debian)
//   CMS_DEBIAN_SECURITY_MIRROR  security archive (default http://deb.debian.org/debian-security)
//   CMS_DEBIAN_KEYRING          keyring for gpgv (default /usr/share/keyrings/debian-archive-keyring.gpg)
//   CMS_DEBIAN_CHECK_TIMEOUT    seconds per HTTP request (default 30)
//   CMS_DEBIAN_CHECK_NO_DPKG=1  do not use dpkg-deb (use the built-in ar/tar reader)
//   http_proxy / https_proxy    when set (and curl exists) requests go through curl, which honours them
// Needs: Node >= 20; xz to read .xz indexes (else the .gz ones, where the suite has them);
// optional: gpgv + debian-archive-keyring, dpkg-deb, zstd (for a data.tar.zst without dpkg-deb).
import { createHash } from 'node:crypto'
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const MANIFEST = path.join(HERE, 'source.json')
const ARCH = 'amd64'
const EXIT_OUTDATED = 3
const EXIT_INCOMPLETE = 4
const EXIT_USAGE = 2

const ARCHIVES = {
  debian: (process.env.CMS_DEBIAN_MIRROR || 'http://deb.debian.org/debian').replace(/\/+$/, ''),
  'debian-security': (process.env.CMS_DEBIAN_SECURITY_MIRROR || 'http://deb.debian.org/debian-security').replace(/\/+$/, ''),
}
// The pool directory of a source package in each archive (the security archive keeps
// its pool under pool/updates/).
const POOL_PREFIX = { debian: 'pool/', 'debian-security': 'pool/updates/' }
const SUITES = [
  { suite: 'trixie', archive: 'debian' },
  { suite: 'trixie-security', archive: 'debian-security' },
  { suite: 'trixie-updates', archive: 'debian' },
  { suite: 'trixie-backports', archive: 'debian' },
  { suite: 'bookworm-backports', archive: 'debian' },
  { suite: 'sid', archive: 'debian' },
  { suite: 'experimental', archive: 'debian' },
  { suite: 'forky', archive: 'debian', optional: true },
]
const KEYRING = process.env.CMS_DEBIAN_KEYRING || '/usr/share/keyrings/debian-archive-keyring.gpg'
const TIMEOUT_MS = Math.max(1, Number(process.env.CMS_DEBIAN_CHECK_TIMEOUT) || 30) * 1000

// ------------------------------------------------------------------------------ options
function usage() {
  const src = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n')
  const end = src.findIndex((l) => l.startsWith('import '))
  return src.slice(1, end).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')
}
function parseArgs(argv) {
  const o = { strict: false, json: false, override: null, cacheDir: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--strict') o.strict = true
    else if (a === '--json') o.json = true
    else if (a === '--override' || a === '--cache-dir') {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`)
      if (a === '--override') o.override = argv[++i]
      else o.cacheDir = argv[++i]
    } else if (a.startsWith('--override=')) o.override = a.slice('--override='.length)
    else if (a.startsWith('--cache-dir=')) o.cacheDir = a.slice('--cache-dir='.length)
    else if (a === '-h' || a === '--help') o.help = true
    else throw new UsageError(`unknown argument '${a}' (see --help)`)
  }
  if (o.override !== null && !o.override.trim()) throw new UsageError('--override needs a reason')
  if (o.override === null && process.env.CMS_ALLOW_OUTDATED_VALKEY !== undefined) {
    // an empty one is no override (an override needs a reason)
    if (!process.env.CMS_ALLOW_OUTDATED_VALKEY.trim()) { o.emptyEnvOverride = true; return withCache(o) }
    o.override = process.env.CMS_ALLOW_OUTDATED_VALKEY
    o.overrideFrom = 'CMS_ALLOW_OUTDATED_VALKEY'
  } else if (o.override !== null) o.overrideFrom = '--override'
  return withCache(o)
}
function withCache(o) {
  o.cacheDir ||= process.env.CMS_DEBIAN_CHECK_CACHE || path.join(os.homedir(), '.cache', 'claude-mem-store', 'debian-check')
  return o
}
class UsageError extends Error {}

// ------------------------------------------------------------------------------ Debian versions
// dpkg's comparison (lib/dpkg/version.c): epoch, then upstream and revision with verrevcmp.
export function parseVersion(v) {
  let epoch = 0, rest = v
  const c = v.indexOf(':')
  if (c >= 0) { epoch = Number(v.slice(0, c)) || 0; rest = v.slice(c + 1) }
  const d = rest.lastIndexOf('-')
  return d >= 0 ? { epoch, upstream: rest.slice(0, d), revision: rest.slice(d + 1) } : { epoch, upstream: rest, revision: '' }
}
const isDigit = (ch) => ch !== undefined && ch >= '0' && ch <= '9'
function order(ch) {
  if (ch === undefined || isDigit(ch)) return 0
  if (ch === '~') return -1
  if (/[A-Za-z]/.test(ch)) return ch.charCodeAt(0)
  return ch.charCodeAt(0) + 256
}
function verrevcmp(a, b) {
  let i = 0, j = 0
  while (i < a.length || j < b.length) {
    let firstDiff = 0
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(a[i]), bc = order(b[j])
      if (ac !== bc) return ac - bc
      i++; j++
    }
    while (a[i] === '0') i++
    while (b[j] === '0') j++
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j)
      i++; j++
    }
    if (isDigit(a[i])) return 1
    if (isDigit(b[j])) return -1
    if (firstDiff) return firstDiff
  }
  return 0
}
export function compareVersions(a, b) {
  const x = parseVersion(a), y = parseVersion(b)
  if (x.epoch !== y.epoch) return x.epoch - y.epoch
  return verrevcmp(x.upstream, y.upstream) || verrevcmp(x.revision, y.revision)
}
const vcmp = (a, b) => Math.sign(compareVersions(a, b))
// "8.1.1+dfsg1" -> "8.1.1"; "9.1.0~rc2" stays
const upstreamRelease = (v) => parseVersion(v).upstream.replace(/\+dfsg\d*$/, '').replace(/\+ds\d*$/, '')
const lineOf = (v) => (upstreamRelease(v).match(/^(\d+)\.(\d+)/) || [null, '?', '?']).slice(1, 3).join('.')
const noEpoch = (v) => v.replace(/^\d+:/, '')

// ------------------------------------------------------------------------------ HTTP
const PROXY = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'].some((k) => process.env[k])
let CURL = null
if (PROXY) { try { execFileSync('curl', ['--version'], { stdio: 'ignore' }); CURL = 'curl' } catch { CURL = null } }

class NetError extends Error {}
// -> { status, body: Buffer|null }; throws NetError when the server could not be reached
async function request(url, { method = 'GET', tries = 3 } = {}) {
  let last
  for (let attempt = 1; attempt <= tries; attempt++) {
    try {
      const r = CURL ? await curlRequest(url, method) : await fetchRequest(url, method)
      if (r.status >= 500 && attempt < tries) { last = new NetError(`HTTP ${r.status}`); await sleep(400 * attempt); continue }
      return r
    } catch (e) {
      last = e instanceof NetError ? e : new NetError(describeError(e))
      if (attempt < tries) await sleep(400 * attempt)
    }
  }
  throw last
}
async function fetchRequest(url, method) {
  const res = await fetch(url, { method, redirect: 'follow', signal: AbortSignal.timeout(TIMEOUT_MS), headers: { 'user-agent': 'claude-mem-store check-debian' } })
  if (method === 'HEAD' || res.status !== 200) { try { await res.body?.cancel() } catch {} return { status: res.status, body: null } }
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
}
function curlRequest(url, method) {
  return new Promise((resolve, reject) => {
    const args = ['-sS', '-L', '--max-time', String(TIMEOUT_MS / 1000), '-A', 'claude-mem-store check-debian', '-w', '\n%{http_code}', '-o', '-']
    if (method === 'HEAD') args.push('-I')
    const p = spawn(CURL, [...args, url], { stdio: ['ignore', 'pipe', 'pipe'] })
    const out = [], err = []
    p.stdout.on('data', (b) => out.push(b))
    p.stderr.on('data', (b) => err.push(b))
    p.on('error', (e) => reject(new NetError(describeError(e))))
    p.on('close', (code) => {
      if (code !== 0) return reject(new NetError(Buffer.concat(err).toString().trim() || `curl exit ${code}`))
      const all = Buffer.concat(out), nl = all.lastIndexOf(10)
      const status = Number(all.subarray(nl + 1).toString()) || 0
      resolve({ status, body: method === 'HEAD' || status !== 200 ? null : all.subarray(0, nl) })
    })
  })
}
function describeError(e) {
  const c = e?.cause
  if (e?.name === 'TimeoutError' || c?.name === 'TimeoutError') return `timed out after ${TIMEOUT_MS / 1000}s`
  if (c?.code) return `${c.code}${c.hostname ? ' ' + c.hostname : ''}`
  return c?.message || e?.message || String(e)
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const urlOf = (archive, rel) => `${ARCHIVES[archive]}/${rel.split('/').map(encodeURIComponent).join('/')}`

// ------------------------------------------------------------------------------ cache
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex')
class Cache {
  constructor(dir) { this.dir = path.join(dir, 'sha256'); this.used = new Set(); this.ok = true
    try { fs.mkdirSync(this.dir, { recursive: true }) } catch { this.ok = false } }
  // the file's bytes if cached AND they still hash to `hash`
  get(hash) {
    if (!this.ok) return null
    const f = path.join(this.dir, hash)
    let buf
    try { buf = fs.readFileSync(f) } catch { return null }
    if (sha256(buf) !== hash) { try { fs.unlinkSync(f) } catch {} return null }
    this.used.add(hash)
    try { const now = new Date(); fs.utimesSync(f, now, now) } catch {}
    return buf
  }
  put(hash, buf) {
    if (!this.ok) return
    const f = path.join(this.dir, hash), tmp = `${f}.${process.pid}.part`
    try { fs.writeFileSync(tmp, buf); fs.renameSync(tmp, f); this.used.add(hash) } catch { try { fs.unlinkSync(tmp) } catch {} }
  }
  // drop files this run did not use that have not been used for two weeks
  prune() {
    if (!this.ok) return
    const limit = Date.now() - 14 * 86400e3
    for (const name of fs.readdirSync(this.dir)) {
      if (this.used.has(name)) continue
      const f = path.join(this.dir, name)
      try { if (fs.statSync(f).mtimeMs < limit || name.endsWith('.part')) fs.unlinkSync(f) } catch {}
    }
  }
}
// Downloads `url` unless the cache has bytes with `hash`; the bytes are verified either way.
async function getVerified(cache, url, hash, size) {
  const cached = cache.get(hash)
  if (cached) return { body: cached, cached: true }
  const r = await request(url)
  if (r.status !== 200) return { status: r.status }
  const got = sha256(r.body)
  if (got !== hash) return { mismatch: got, size: r.body.length }
  if (size !== undefined && r.body.length !== size) return { mismatch: got, size: r.body.length }
  cache.put(hash, r.body)
  return { body: r.body, cached: false }
}

// ------------------------------------------------------------------------------ decompression
function run(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out = [], err = []
    p.stdout.on('data', (b) => out.push(b))
    p.stderr.on('data', (b) => err.push(b))
    p.on('error', reject)
    p.on('close', (code) => code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${Buffer.concat(err).toString().trim()}`)))
    p.stdin.on('error', () => {})
    p.stdin.end(input)
  })
}
const HAVE = {}
function have(cmd) {
  if (!(cmd in HAVE)) { try { execFileSync(cmd, ['--version'], { stdio: 'ignore' }); HAVE[cmd] = true } catch { HAVE[cmd] = false } }
  return HAVE[cmd]
}
async function decompress(buf, kind) {
  switch (kind) {
    case 'gz': return zlib.gunzipSync(buf)
    case 'xz': return run('xz', ['-dc'], buf)
    case 'zst': return zlib.zstdDecompressSync ? zlib.zstdDecompressSync(buf) : run('zstd', ['-dc'], buf)
    case 'bz2': return run('bzip2', ['-dc'], buf)
    case '': return buf
    default: throw new Error(`unknown compression '${kind}'`)
  }
}
const canDecompress = (kind) => kind === 'gz' || kind === '' || (kind === 'xz' && have('xz'))

// ------------------------------------------------------------------------------ deb822
function parseStanza(text) {
  const f = {}
  let key = null
  for (const line of text.split('\n')) {
    if (!line) continue
    if (line[0] === ' ' || line[0] === '\t') { if (key) f[key] += '\n' + line.slice(1); continue }
    const c = line.indexOf(':')
    if (c < 0) continue
    key = line.slice(0, c)
    f[key] = line.slice(c + 1).trim()
  }
  return f
}
// Stanzas of a (large) index whose text contains one of `needles` at the start of a line,
// found without turning the whole index into one string.
function findStanzas(buf, needles) {
  const starts = new Set(), out = []
  for (const n of needles) {
    const nb = Buffer.from('\n' + n)
    if (buf.subarray(0, nb.length - 1).equals(nb.subarray(1))) starts.add(0)
    for (let at = buf.indexOf(nb); at >= 0; at = buf.indexOf(nb, at + 1)) {
      const s = buf.lastIndexOf('\n\n', at)
      starts.add(s < 0 ? 0 : s + 2)
    }
  }
  for (const s of [...starts].sort((a, b) => a - b)) {
    let e = buf.indexOf('\n\n', s)
    if (e < 0) e = buf.length
    out.push(parseStanza(buf.subarray(s, e).toString('utf8')))
  }
  return out
}
function checksumList(field) {
  return (field || '').split('\n').map((l) => l.trim().split(/\s+/)).filter((p) => p.length === 3)
    .map(([hash, size, name]) => ({ hash, size: Number(size), name }))
}

// ------------------------------------------------------------------------------ InRelease
async function readInRelease(s, ctx) {
  const url = `${ARCHIVES[s.archive]}/dists/${s.suite}/InRelease`
  let r
  try { r = await request(url) } catch (e) { return { error: `could not reach ${url} (${e.message})`, unreachable: true } }
  if (r.status === 404 && s.optional) return { absent: true }
  if (r.status !== 200) return { error: `could not read ${url} (HTTP ${r.status})` }
  let text, signature
  if (have('gpgv') && fs.existsSync(KEYRING)) {
    try {
      text = (await run('gpgv', ['--quiet', '--keyring', KEYRING, '--output', '-', '-'], r.body)).toString('utf8')
      signature = 'verified'
    } catch (e) {
      if (/BAD signature/i.test(e.message)) return { error: `InRelease of ${s.suite} has a BAD signature (${url}); not used` }
      signature = `not verified (gpgv: ${(e.message.match(/(No public key|Can't check signature[^\n]*|[^\n]*expired[^\n]*)/i) || ['failed'])[0]})`
      ctx.notes.push(`${s.suite}: InRelease signature ${signature}; its hashes are used unverified`)
    }
  } else {
    signature = 'not verified (no gpgv or keyring)'
    ctx.noGpg = true
  }
  if (!text) {
    const t = r.body.toString('utf8')
    const a = t.indexOf('\n\n'), b = t.indexOf('\n-----BEGIN PGP SIGNATURE-----')
    text = t.startsWith('-----BEGIN PGP SIGNED MESSAGE-----') && a > 0 && b > a ? t.slice(a + 2, b) : t
  }
  const f = parseStanza(text.split('\n\n')[0])
  const files = new Map()
  for (const c of checksumList(f.SHA256)) files.set(c.name, c)
  const date = f.Date ? new Date(f.Date) : null
  const validUntil = f['Valid-Until'] ? new Date(f['Valid-Until']) : null
  return { url, signature, codename: f.Codename, alias: f.Suite, date: date?.toISOString(), validUntil: validUntil?.toISOString(),
    expired: !!(validUntil && validUntil < new Date()), files }
}

// Reads one index (Packages or Sources) of a suite: the first variant the InRelease lists
// that this machine can decompress and the mirror serves, with its sha256 checked.
async function readIndex(s, rel, files, cache) {
  const tried = []
  for (const ext of ['xz', 'gz', '']) {
    const name = ext ? `${rel}.${ext}` : rel
    const entry = files.get(name)
    if (!entry || !canDecompress(ext)) continue
    const url = `${ARCHIVES[s.archive]}/dists/${s.suite}/${name}`
    let got
    try { got = await getVerified(cache, url, entry.hash, entry.size) } catch (e) { return { error: `could not reach ${url} (${e.message})`, unreachable: true } }
    if (got.status) { tried.push(`${name}: HTTP ${got.status}`); continue }
    if (got.mismatch) { tried.push(`${name}: sha256 ${got.mismatch} is not the InRelease's ${entry.hash}`); continue }
    return { name, url, sha256: entry.hash, cached: got.cached, data: await decompress(got.body, ext) }
  }
  if (!tried.length) return { missing: true }
  return { error: `could not read ${s.suite}'s ${rel} (${tried.join('; ')})` }
}

async function readSuite(s, src, ctx) {
  const out = { suite: s.suite, archive: s.archive, binaries: [], sources: [] }
  const rel = await readInRelease(s, ctx)
  if (rel.absent) { out.absent = true; return out }
  if (rel.error) { out.error = rel.error; out.unreachable = rel.unreachable; return out }
  Object.assign(out, { codename: rel.codename, alias: rel.alias, date: rel.date, validUntil: rel.validUntil, expired: rel.expired, signature: rel.signature })
  const [pk, so] = await Promise.all([
    readIndex(s, `main/binary-${ARCH}/Packages`, rel.files, ctx.cache),
    readIndex(s, 'main/source/Sources', rel.files, ctx.cache),
  ])
  if (pk.error) { out.error = pk.error; out.unreachable = pk.unreachable } else if (pk.missing) out.packagesIndex = null
  else {
    out.packagesIndex = pk.name
    for (const st of findStanzas(pk.data, [`Package: ${src}`, `Source: ${src}`])) {
      const source = (st.Source || st.Package || '').split(/\s+/)[0]
      if (source !== src || !st.Version || !st.Filename) continue
      const m = (st.Source || '').match(/\(([^)]+)\)/)
      out.binaries.push({ package: st.Package, version: st.Version, sourceVersion: m ? m[1] : st.Version,
        architecture: st.Architecture, filename: st.Filename, size: Number(st.Size), sha256: st.SHA256 })
    }
  }
  if (so.error) { out.sourcesError = so.error; out.unreachable ||= so.unreachable } else if (so.missing) out.sourcesIndex = null
  else {
    out.sourcesIndex = so.name
    for (const st of findStanzas(so.data, [`Package: ${src}`])) {
      if (st.Package !== src || !st.Version) continue
      out.sources.push({ version: st.Version, directory: st.Directory, files: checksumList(st['Checksums-Sha256']) })
    }
  }
  return out
}

// ------------------------------------------------------------------------------ .deb reading
// ar(5) members -> Map(name -> Buffer)
export function readAr(buf) {
  if (buf.subarray(0, 8).toString('latin1') !== '!<arch>\n') throw new Error('not an ar archive')
  const out = new Map()
  let off = 8
  while (off + 60 <= buf.length) {
    const h = buf.subarray(off, off + 60).toString('latin1')
    if (h.slice(58, 60) !== '`\n') throw new Error(`bad ar header at ${off}`)
    const name = h.slice(0, 16).trim().replace(/\/$/, '')
    const size = parseInt(h.slice(48, 58).trim(), 10)
    out.set(name, buf.subarray(off + 60, off + 60 + size))
    off += 60 + size + (size % 2)
  }
  return out
}
// tar (ustar, GNU long names, pax) -> [{ name, type, linkname, data }]
export function readTar(buf) {
  const out = []
  let off = 0, longName = null, longLink = null, pax = {}
  const str = (b) => { const z = b.indexOf(0); return (z >= 0 ? b.subarray(0, z) : b).toString('utf8') }
  const num = (b) => {
    if (b[0] & 0x80) { let n = 0; for (let i = 1; i < b.length; i++) n = n * 256 + b[i]; return n }
    return parseInt(str(b).trim() || '0', 8)
  }
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512)
    if (h.every((x) => x === 0)) break
    const size = num(h.subarray(124, 136)), type = String.fromCharCode(h[156] || 48)
    const data = buf.subarray(off + 512, off + 512 + size)
    off += 512 + Math.ceil(size / 512) * 512
    if (type === 'L') { longName = str(data); continue }
    if (type === 'K') { longLink = str(data); continue }
    if (type === 'x' || type === 'g') {
      if (type === 'x') for (const rec of data.toString('utf8').split('\n')) { const m = rec.match(/^\d+ ([^=]+)=(.*)$/); if (m) pax[m[1]] = m[2] }
      continue
    }
    const prefix = h.subarray(257, 263).toString('latin1').startsWith('ustar') ? str(h.subarray(345, 500)) : ''
    const name = pax.path || longName || (prefix ? `${prefix}/${str(h.subarray(0, 100))}` : str(h.subarray(0, 100)))
    const linkname = pax.linkpath || longLink || str(h.subarray(157, 257))
    out.push({ name: name.replace(/^\.\//, '').replace(/^\//, ''), type, linkname, data })
    longName = longLink = null; pax = {}
  }
  return out
}
// The data.tar of a .deb, as a tar Buffer: dpkg-deb when present, else ar + decompression.
export async function debDataTar(deb, ctx) {
  if (!process.env.CMS_DEBIAN_CHECK_NO_DPKG && have('dpkg-deb')) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-debian-check-'))
    try {
      fs.writeFileSync(path.join(tmp, 'p.deb'), deb)
      return { tar: await run('dpkg-deb', ['--fsys-tarfile', path.join(tmp, 'p.deb')], Buffer.alloc(0)), with: 'dpkg-deb --fsys-tarfile' }
    } catch (e) {
      ctx.notes.push(`dpkg-deb failed (${e.message.split('\n')[0]}); reading the .deb with the built-in ar/tar reader`)
    } finally { fs.rmSync(tmp, { recursive: true, force: true }) }
  }
  const members = readAr(deb)
  const name = [...members.keys()].find((n) => n.startsWith('data.tar'))
  if (!name) throw new Error('no data.tar member in the .deb')
  const kind = name.slice('data.tar'.length).replace(/^\./, '')
  return { tar: await decompress(members.get(name), kind), with: `ar+tar (built-in; ${name})` }
}
export function findInTar(entries, want) {
  let e = entries.find((x) => x.name === want)
  for (let hops = 0; e && (e.type === '2') && hops < 5; hops++) {
    const target = e.linkname.startsWith('/') ? e.linkname.slice(1) : path.posix.normalize(path.posix.join(path.posix.dirname(e.name), e.linkname))
    e = entries.find((x) => x.name === target)
  }
  return e && e.type !== '2' && e.type !== '5' ? e.data : null
}

// ------------------------------------------------------------------------------ changelogs
const CVE_RE = /CVE-\d{4}-\d{4,}/g
const GHSA_RE = /GHSA-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}/gi
function firstSentence(text) {
  let t = text.replace(/\s+/g, ' ').trim()
  const m = t.match(/^(.+?[.!?])(\s|$)/)
  if (m && m[1].length >= 20) t = m[1]
  return t.length > 200 ? t.slice(0, 197) + '…' : t
}
// Debian changelog -> [{ version, distribution, date, text, bullets: [[line...]] }]
export function parseDebianChangelog(text) {
  const entries = []
  let cur = null
  for (const line of text.split('\n')) {
    const h = line.match(/^(\S+) \(([^)]+)\) ([^;]+);/)
    if (h) { cur = { version: h[2], distribution: h[3].trim(), date: null, lines: [] }; entries.push(cur); continue }
    if (!cur) continue
    const t = line.match(/^ -- (.+?) {2}(.+)$/)
    if (t) { cur.maintainer = t[1]; cur.date = t[2].trim(); continue }
    cur.lines.push(line)
  }
  for (const e of entries) {
    e.text = e.lines.join('\n').trim()
    e.bullets = []
    for (const line of e.lines) {
      if (/^ {2}[*+-] /.test(line)) e.bullets.push([line.slice(4)])
      else if (/^ {2}\[/.test(line)) continue            // "[ Name ]" group header
      else if (line.trim() && e.bullets.length) e.bullets[e.bullets.length - 1].push(line)
    }
    delete e.lines
  }
  return entries
}
// A one-line description of `id` from the changelog bullet that names it.
function describeInBullet(bullet, id) {
  const clean = (s) => s.replace(/\(Closes:[^)]*\)/gi, '').replace(CVE_RE, '').replace(/^[\s:)\]–-]+/, '').replace(/[\s,(]+$/, '').trim()
  const words = (s) => (s.match(/[A-Za-z]{2,}/g) || []).length
  const at = bullet.findIndex((l) => l.includes(id))
  const line = bullet[at]
  const isPatchRef = new RegExp(`/${id}[^\\s]*\\.patch|${id}\\.patch`).test(line)
  if (!isPatchRef) {
    // 1. "CVE-X: text", "(CVE-X) text" on the line itself
    const after = clean(line.slice(line.indexOf(id) + id.length))
    if (words(after) >= 3 && !/^and\b/i.test(after)) return firstSentence(after)
    // 2. "text (CVE-X)"
    const before = clean(line.slice(0, line.indexOf(id)).replace(/^\s*[-*+]\s*/, ''))
    if (words(before) >= 3 && !/^(fix|fixes|fixed)\b/i.test(before)) return firstSentence(before)
  }
  // 3. the text just before "- d/p/<...id...>.patch" (one description per patch)
  const mark = bullet.findIndex((l) => /^\s*-\s+d\/p\//.test(l) && l.includes(id))
  if (mark > 0) {
    const desc = []
    for (let i = mark - 1; i > 0; i--) {
      if (/^\s*-\s+d\/p\//.test(bullet[i])) break
      desc.unshift(bullet[i])
    }
    if (desc.length) return firstSentence(desc.join(' '))
  }
  // 4. the bullet's own continuation text, when the bullet names only this CVE
  const ids = new Set(bullet.join('\n').match(CVE_RE))
  const cont = bullet.slice(1).filter((l) => !/^\s*[-+]\s+(d\/p\/|Fix(es)? CVE)/.test(l) && !/CVE-\d/.test(l))
  if (ids.size === 1 && cont.length) return firstSentence(cont.join(' '))
  return null
}
// the bullet's first line, for an id that the changelog names without describing it
function bulletTitle(bullet) {
  return firstSentence(bullet[0].replace(/\(Closes:[^)]*\)/gi, '').replace(/\s+([.,;])/g, '$1').replace(/[\s.]+$/, ''))
}
function cvesOfEntry(e) {
  const out = []
  for (const b of e.bullets) {
    for (const id of new Set(b.join('\n').match(CVE_RE) || [])) {
      const description = describeInBullet(b, id)
      out.push(description ? { id, description, entry: e.version } : { id, description: null, namedIn: bulletTitle(b), entry: e.version })
    }
  }
  return out
}
// Upstream release notes (changelog.gz = 00-RELEASENOTES) -> [{ release, header, ids: [{id, description}] }]
export function parseReleaseNotes(text) {
  const out = []
  let cur = null
  for (const line of text.split('\n')) {
    const h = line.match(/^Valkey\s+(\d+\.\d+\.\d+)(?:[\s-]*(GA|rc\d+))?\s+-+\s+Released\b/i)
    if (h) { cur = { release: h[1] + (h[2] && !/^ga$/i.test(h[2]) ? `~${h[2].toLowerCase()}` : ''), header: line.trim(), ids: [] }; out.push(cur); continue }
    if (!cur) continue
    const ids = [...new Set([...(line.match(CVE_RE) || []), ...(line.match(GHSA_RE) || [])])]
    for (const id of ids) {
      const desc = line.replace(/^\s*[*-]\s*/, '').replace(/\(?\b(CVE-\d{4}-\d{4,}|GHSA-[0-9a-z-]{14})\b\)?:?/gi, '').replace(/\(#\d+\)\s*$/, '').trim()
      cur.ids.push({ id, description: firstSentence(desc || line.trim()) })
    }
  }
  return out
}

// ------------------------------------------------------------------------------ per newer version
async function examineVersion(nv, ctx) {
  const src = ctx.src
  // 1. a binary .deb with the changelog: valkey-server first, then the others of the source
  const cands = nv.binaries.slice().sort((a, b) => (b.package === `${src}-server`) - (a.package === `${src}-server`))
  const tried = []
  for (const bin of cands) {
    const url = urlOf(bin.archive, bin.filename)
    let got
    try { got = await getVerified(ctx.cache, url, bin.sha256, bin.size) } catch (e) { tried.push(`could not reach ${url} (${e.message})`); nv.unreachable = true; continue }
    if (got.status) { tried.push(`${url}: HTTP ${got.status}`); continue }
    if (got.mismatch) { tried.push(`${url}: sha256 ${got.mismatch} is not the index's ${bin.sha256}`); continue }
    let tarInfo
    try { tarInfo = await debDataTar(got.body, ctx) } catch (e) { tried.push(`${url}: ${e.message}`); continue }
    const entries = readTar(tarInfo.tar)
    const doc = `usr/share/doc/${bin.package}`
    const clog = findInTar(entries, `${doc}/changelog.Debian.gz`) || findInTar(entries, `${doc}/changelog.Debian.${ARCH}.gz`)
    if (!clog) { tried.push(`${url}: no ${doc}/changelog.Debian.gz`); continue }
    const notes = findInTar(entries, `${doc}/changelog.gz`)
    nv.deb = { package: bin.package, filename: bin.filename, url, sha256: bin.sha256, size: bin.size, sha256Verified: true, cached: got.cached, extractedWith: tarInfo.with }
    nv.changelogText = zlib.gunzipSync(clog).toString('utf8')
    if (notes) nv.releaseNotesText = zlib.gunzipSync(notes).toString('utf8')
    break
  }
  if (!nv.changelogText) { nv.changelogError = tried.join('; ') || 'no binary package found'; return }
  // 2. CVEs of the entries newer than the bundle's version, less what the bundle fixes
  const entries = parseDebianChangelog(nv.changelogText)
  const fixed = new Set(ctx.bundleCves)
  for (const e of entries) if (vcmp(e.version, ctx.bundle) <= 0) for (const id of e.text.match(CVE_RE) || []) fixed.add(id)
  const newer = entries.filter((e) => vcmp(e.version, ctx.bundle) > 0)
  nv.changelog = { entries: newer.map((e) => ({ version: e.version, distribution: e.distribution, date: e.date, cves: [...new Set(e.text.match(CVE_RE) || [])] })), cves: [] }
  const seen = new Set()
  for (const e of newer) for (const c of cvesOfEntry(e)) {
    if (fixed.has(c.id) || seen.has(c.id)) continue
    seen.add(c.id); nv.changelog.cves.push(c)
  }
  // 3. upstream release notes: sections of releases newer than the bundle's upstream release
  if (nv.releaseNotesText) {
    const bundleUp = upstreamRelease(ctx.bundle)
    const secs = parseReleaseNotes(nv.releaseNotesText).filter((s) => verrevcmp(s.release, bundleUp) > 0)
    nv.releaseNotes = { releases: secs.map((s) => s.release), ids: [] }
    const seenU = new Set()
    for (const s of secs) for (const x of s.ids) {
      if (fixed.has(x.id) || seenU.has(x.id)) continue
      seenU.add(x.id); nv.releaseNotes.ids.push({ ...x, release: s.release })
    }
  }
  const upDesc = new Map((nv.releaseNotes?.ids || []).map((x) => [x.id, x]))
  for (const c of nv.changelog.cves) if (!c.description && upDesc.has(c.id)) c.upstreamDescription = upDesc.get(c.id).description
  nv.fixesBeyondBundle = [...new Set([...nv.changelog.cves.map((c) => c.id), ...(nv.releaseNotes?.ids || []).map((x) => x.id)])]
  delete nv.changelogText; delete nv.releaseNotesText
}

async function checkSource(nv, ctx) {
  // the files: from a Sources index, else the .dsc by name (its file list read from it)
  let files = null, listedIn = []
  for (const s of nv.sources) { listedIn.push(s.suite); files ||= s.files }
  const dirs = new Set()
  for (const s of nv.sources) if (s.directory) dirs.add(s.directory.replace(/^pool\/(updates\/)?/, ''))
  for (const b of nv.binaries) dirs.add(path.posix.dirname(b.filename).replace(/^pool\/(updates\/)?/, ''))
  const poolDirs = [...dirs]
  const locations = []   // [archive, dir]
  for (const archive of Object.keys(ARCHIVES)) for (const d of poolDirs) locations.push([archive, POOL_PREFIX[archive] + d])
  const out = { listedIn, indexed: !!files, files: [] }
  if (!files) files = [{ name: `${ctx.src}_${noEpoch(nv.version)}.dsc`, hash: null, size: null }]
  await Promise.all(files.map(async (f) => {
    const checks = await Promise.all(locations.map(async ([archive, dir]) => {
      const url = urlOf(archive, `${dir}/${f.name}`)
      try {
        let r = await request(url, { method: 'HEAD' })
        if (r.status === 405 || r.status === 501) r = await request(url)
        return { archive, url, status: r.status }
      } catch (e) { return { archive, url, status: null, error: e.message } }
    }))
    out.files.push({ name: f.name, sha256: f.hash, size: f.size, checks, downloadable: checks.some((c) => c.status === 200) })
  }))
  out.files.sort((a, b) => files.findIndex((f) => f.name === a.name) - files.findIndex((f) => f.name === b.name))
  out.downloadable = out.files.every((f) => f.downloadable)
  out.unreachable = out.files.some((f) => !f.downloadable && f.checks.some((c) => c.status === null))
  nv.source = out
}

// ------------------------------------------------------------------------------ main
async function main() {
  const t0 = Date.now()
  let opts
  try { opts = parseArgs(process.argv.slice(2)) } catch (e) {
    if (e instanceof UsageError) { console.error(`check-debian: ${e.message}`); return EXIT_USAGE }
    throw e
  }
  if (opts.help) { console.log(usage()); return 0 }
  let manifest
  try { manifest = JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) } catch (e) { console.error(`check-debian: cannot read ${MANIFEST}: ${e.message}`); return EXIT_USAGE }
  const src = manifest.debian?.package || manifest.name || 'valkey'
  const bundle = manifest.patches?.debian || manifest.debian?.version
  if (!bundle) { console.error(`check-debian: ${MANIFEST} has neither patches.debian nor debian.version`); return EXIT_USAGE }
  const ctx = { src, bundle, bundleCves: manifest.patches?.cves || [], cache: new Cache(opts.cacheDir), notes: [], warnings: [], incomplete: false }
  if (manifest.debian?.version && manifest.debian.version !== bundle) ctx.notes.push(`source.json: debian.version is ${manifest.debian.version}, patches.debian ${bundle}; the check uses patches.debian`)
  if (opts.emptyEnvOverride) ctx.notes.push('CMS_ALLOW_OUTDATED_VALKEY is set but empty: ignored (an override needs a reason)')
  if (!have('xz')) ctx.notes.push('xz is not installed: only suites that publish .gz or plain indexes can be read (apt-get install xz-utils)')
  const warn = (msg, kind) => ctx.warnings.push({ kind, message: msg })

  // suites
  const suites = await Promise.all(SUITES.map((s) => readSuite(s, src, ctx).catch((e) => ({ suite: s.suite, archive: s.archive, error: `${s.suite}: ${e.message}`, binaries: [], sources: [] }))))
  if (ctx.noGpg) ctx.notes.push(`InRelease signatures not verified: gpgv or ${KEYRING} is missing (apt-get install gpgv debian-archive-keyring); the index hashes are still checked against them`)
  for (const s of suites) {
    if (s.absent) { ctx.notes.push(`${s.suite}: not in the archive (no InRelease)`); continue }
    if (s.error) { warn(s.error, 'incomplete'); ctx.incomplete = true }
    if (s.sourcesError) { warn(s.sourcesError, 'incomplete'); ctx.incomplete = true }
    if (s.expired) ctx.notes.push(`${s.suite}: the mirror's index expired ${s.validUntil.slice(0, 10)} (Valid-Until); it may not show ${s.suite}'s newest upload`)
  }

  // versions newer than the bundle's, across suites
  const byVersion = new Map()
  const slot = (v) => { if (!byVersion.has(v)) byVersion.set(v, { version: v, suites: [], binaries: [], sources: [] }); return byVersion.get(v) }
  for (const s of suites) {
    for (const b of s.binaries) if (b.architecture === ARCH || b.architecture === 'all') {
      const nv = slot(b.sourceVersion)
      if (!nv.suites.includes(s.suite)) nv.suites.push(s.suite)
      nv.binaries.push({ ...b, archive: s.archive, suite: s.suite })
    }
    for (const so of s.sources) {
      const nv = slot(so.version)
      if (!nv.suites.includes(s.suite)) nv.suites.push(s.suite)
      nv.sources.push({ ...so, suite: s.suite, archive: s.archive })
    }
  }
  const bundleLine = lineOf(bundle), bundleUp = upstreamRelease(bundle)
  const all = [...byVersion.values()].sort((a, b) => vcmp(b.version, a.version))
  for (const nv of all) {
    const c = vcmp(nv.version, bundle)
    nv.relation = c < 0 ? 'older' : c === 0 ? 'same' : 'newer'
    nv.line = lineOf(nv.version)
    if (c > 0) nv.kind = upstreamRelease(nv.version) === bundleUp ? 'revision' : nv.line === bundleLine ? 'same-line' : verrevcmp(nv.line, bundleLine) > 0 ? 'newer-line' : 'other'
  }
  const KIND_ORDER = { revision: 0, 'same-line': 1, 'newer-line': 2, other: 3 }
  const newer = all.filter((nv) => nv.relation === 'newer').sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || vcmp(a.version, b.version))
  await Promise.all(newer.map(async (nv) => {
    try { await examineVersion(nv, ctx) } catch (e) { nv.changelogError = e.message }
    try { await checkSource(nv, ctx) } catch (e) { nv.source = { error: e.message } }
  }))

  // does a newer line carry the fixes of the newer versions on the bundle's line?
  for (const nv of newer) {
    if (nv.kind !== 'newer-line' || !nv.fixesBeyondBundle) continue
    nv.comparedWith = newer.filter((o) => (o.kind === 'revision' || o.kind === 'same-line') && o.fixesBeyondBundle).map((o) => ({
      version: o.version,
      missing: o.fixesBeyondBundle.filter((id) => !nv.fixesBeyondBundle.includes(id)),
      extra: nv.fixesBeyondBundle.filter((id) => !o.fixesBeyondBundle.includes(id)),
    }))
  }

  // warnings
  for (const nv of newer) {
    const where = nv.suites.join(', ')
    const fixes = nv.fixesBeyondBundle || []
    const sameLine = nv.kind === 'revision' || nv.kind === 'same-line'
    const what = nv.kind === 'revision' ? `a newer Debian revision of the bundle's ${bundle}`
      : nv.kind === 'same-line' ? `a newer ${bundleLine} release than the bundle's ${bundleUp}` : `a newer upstream line (${nv.line}) than the bundle's ${bundleLine}`
    nv.outdated = sameLine || fixes.length > 0 || !!nv.changelogError
    if (nv.changelogError) { warn(`valkey ${nv.version} (${where}): could not read its changelog: ${nv.changelogError}`, 'incomplete'); ctx.incomplete = true }
    if (sameLine || fixes.length) {
      warn(`valkey ${nv.version} (${where}), ${what}, ` +
        (fixes.length ? `fixes ${fixes.length} CVE${fixes.some((f) => f.startsWith('GHSA')) ? 's/advisories' : fixes.length === 1 ? '' : 's'} the bundle lacks: ${fixes.join(', ')}` : nv.changelogError ? 'is not examined' : 'names no fix beyond the bundle\'s'), 'outdated')
    } else if (!nv.changelogError) ctx.notes.push(`valkey ${nv.version} (${where}) is ${what}; its changelogs name no fix beyond the bundle's`)
    if (nv.source?.error) { warn(`valkey ${nv.version}: source check failed: ${nv.source.error}`, 'incomplete'); ctx.incomplete = true }
    else if (nv.source && !nv.source.downloadable) {
      const missing = nv.source.files.filter((f) => !f.downloadable)
      const why = missing.map((f) => `${f.name}: ${f.checks.map((c) => c.status ?? 'unreachable').join('/')}`).join('; ')
      if (nv.source.unreachable) { warn(`valkey ${nv.version}: could not reach the pools to check its source (${why})`, 'incomplete'); ctx.incomplete = true }
      else if (nv.outdated) warn(`valkey ${nv.version}: its source cannot be downloaded from either archive's pool (${why})${nv.source.indexed ? `, though ${nv.source.listedIn.join(', ')} list${nv.source.listedIn.length === 1 ? 's' : ''} it` : ''}: build-static.sh cannot take its fixes from Debian`, 'outdated')
      else ctx.notes.push(`valkey ${nv.version}: its source cannot be downloaded (${why})`)
    }
  }

  const outdated = ctx.warnings.some((w) => w.kind === 'outdated')
  let exit = 0, overridden = false
  if (opts.strict && ctx.warnings.length) {
    if (opts.override) overridden = true
    else exit = outdated ? EXIT_OUTDATED : EXIT_INCOMPLETE
  }
  try { if (!ctx.incomplete) ctx.cache.prune() } catch {}
  const elapsed = (Date.now() - t0) / 1000

  if (opts.json) {
    const strip = ({ binaries, sources, ...rest }) => ({ ...rest, binaries: binaries.map(({ archive, suite, ...b }) => ({ ...b, suite })), sources: sources.map((s) => ({ suite: s.suite, directory: s.directory, files: s.files })) })
    const j = {
      checkedAt: new Date().toISOString(), elapsedSeconds: elapsed, architecture: ARCH, archives: ARCHIVES,
      bundle: { package: src, version: bundle, upstream: bundleUp, line: bundleLine, cves: ctx.bundleCves, manifest: path.relative(process.cwd(), MANIFEST) || MANIFEST },
      suites: suites.map(({ binaries, sources, ...s }) => ({ ...s, versions: [...new Set([...binaries.map((b) => b.sourceVersion), ...sources.map((x) => x.version)])].sort((a, b) => vcmp(b, a)), binaries, sources })),
      newer: newer.map(strip), older: all.filter((v) => v.relation !== 'newer').map((v) => ({ version: v.version, relation: v.relation, suites: v.suites })),
      warnings: ctx.warnings, notes: ctx.notes, strict: opts.strict, override: opts.override ? { reason: opts.override, from: opts.overrideFrom, used: overridden } : null,
      outdated, incomplete: ctx.incomplete, exitCode: exit,
    }
    process.stdout.write(JSON.stringify(j, null, 2) + '\n')
    return exit
  }

  const P = (...a) => console.log(...a)
  P(`valkey-debian-check: bundle = ${src} ${bundle} (scripts/valkey/source.json; upstream ${bundleUp}, line ${bundleLine}; ${ctx.bundleCves.length} CVEs patched in)`)
  P(`Debian suites (${ARCH}; ${ARCHIVES.debian}, ${ARCHIVES['debian-security']}):`)
  for (const s of suites) {
    if (s.absent) { P(`  ${s.suite.padEnd(19)} (does not exist)`); continue }
    if (s.error && !s.binaries.length) { P(`  ${s.suite.padEnd(19)} (not read: ${s.error})`); continue }
    const vs = [...new Set([...s.binaries.map((b) => b.sourceVersion), ...s.sources.map((x) => x.version)])].sort((a, b) => vcmp(b, a))
    const desc = vs.length ? vs.map((v) => `${v} [${byVersion.get(v).relation}${byVersion.get(v).kind ? ': ' + byVersion.get(v).kind : ''}]`).join(', ') : `no ${src}`
    const info = [s.date && `index ${s.date.slice(0, 10)}`, s.expired && 'EXPIRED', s.signature === 'verified' ? 'signed' : 'signature not verified', s.sourcesIndex === null && 'no Sources index'].filter(Boolean).join(', ')
    P(`  ${s.suite.padEnd(19)} ${desc}  (${info})`)
  }
  const unread = suites.filter((s) => s.error && !s.binaries.length).length
  if (!newer.length) P(unread === suites.length ? 'no suite could be read' : `no Debian ${src} is newer than the bundle's ${bundle}${unread ? ` in the suites that could be read` : ''}`)
  for (const nv of newer) {
    P('')
    P(`newer: ${src} ${nv.version} in ${nv.suites.join(', ')} — ${nv.kind === 'revision' ? `same upstream ${bundleUp}, newer Debian revision` : nv.kind === 'same-line' ? `newer ${bundleLine} release` : `newer line ${nv.line}`}`)
    if (nv.deb) {
      P(`  ${path.posix.basename(nv.deb.filename)}: sha256 ${nv.deb.sha256} verified against the Packages index${nv.deb.cached ? ' (from the cache)' : ''}; read with ${nv.deb.extractedWith}`)
      const ents = nv.changelog.entries
      P(`  changelog.Debian entries newer than ${bundle}: ${ents.map((e) => `${e.version} (${e.distribution}, ${e.date ? new Date(e.date).toISOString().slice(0, 10) : '?'})`).join(', ') || 'none'}`)
      if (nv.changelog.cves.length) {
        P(`  CVEs they name beyond the bundle's:`)
        for (const c of nv.changelog.cves) {
          const d = c.description || (c.upstreamDescription ? `${c.upstreamDescription} (upstream notes; changelog.Debian only says "${c.namedIn}")` : `(not described; changelog.Debian says "${c.namedIn}")`)
          P(`    ${c.id.padEnd(20)} ${d}  [${c.entry}]`)
        }
      } else P('  CVEs they name beyond the bundle\'s: none')
      if (nv.releaseNotes) {
        if (nv.releaseNotes.ids.length) {
          P(`  upstream release notes (changelog.gz; ${nv.releaseNotes.releases.join(', ') || 'no release'} newer than ${bundleUp}) name beyond the bundle's:`)
          for (const x of nv.releaseNotes.ids) P(`    ${x.id.padEnd(20)} ${x.description}  [${x.release}]`)
        } else if (nv.releaseNotes.releases.length) P(`  upstream release notes (${nv.releaseNotes.releases.join(', ')}): no CVE/GHSA beyond the bundle's`)
      }
      P(`  => fixes the bundle lacks: ${nv.fixesBeyondBundle.length ? nv.fixesBeyondBundle.join(', ') : 'none named'}`)
      for (const c of nv.comparedWith || []) {
        P(`  => vs ${c.version}: ${c.missing.length ? `lacks ${c.missing.join(', ')}` : 'has all of its fixes'}${c.extra.length ? `; has ${c.extra.length} more: ${c.extra.join(', ')}` : ''}`)
      }
    } else P(`  changelog: not read (${nv.changelogError})`)
    if (nv.source?.files) {
      P(`  source${nv.source.indexed ? ` (listed in ${nv.source.listedIn.join(', ')}'s Sources)` : ' (in no Sources index read; .dsc name guessed)'}:`)
      for (const f of nv.source.files) P(`    ${f.name.padEnd(48)} ${f.checks.map((c) => `${c.status ?? 'unreachable'} ${c.archive === 'debian' ? 'main' : 'security'}`).join(', ')}`)
      P(`  => source ${nv.source.downloadable ? 'downloadable' : 'NOT downloadable'}`)
    } else if (nv.source?.error) P(`  source: check failed (${nv.source.error})`)
  }
  P('')
  for (const n of ctx.notes) P(`note: ${n}`)
  for (const w of ctx.warnings) P(`warning: ${w.message}`)
  if (overridden) P(`override (${opts.overrideFrom}): ${opts.override} — accepting ${ctx.warnings.length} warning(s); --strict would have exited ${outdated ? EXIT_OUTDATED : EXIT_INCOMPLETE}`)
  else if (opts.override && opts.strict) P(`override (${opts.overrideFrom}) not needed: ${opts.override}`)
  P(`result: ${ctx.warnings.length ? `${ctx.warnings.length} warning(s)` : 'up to date'}${ctx.incomplete ? ' (check incomplete)' : ''}; ${opts.strict ? (overridden ? 'strict, overridden' : 'strict') : 'not strict'}; exit ${exit} (${elapsed.toFixed(1)} s)`)
  return exit
}

const invoked = (() => { try { return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url)) } catch { return false } })()
if (invoked) {
  main().then((code) => { process.exitCode = code }, (e) => {
    console.error(`check-debian: internal error: ${e?.stack || e}`)
    process.exitCode = 1
  })
}
