#!/usr/bin/env node
// Is the Valkey that build-static.sh bundles behind Debian's? Compares the Debian version
// in scripts/build/valkey/source.json (`patches.debian`, else `debian.version`; its CVE list
// `patches.cves` + `patches.advisories`) with what Debian ships today, and says which
// fixes the bundle lacks. Nothing about the bundle is hard-coded here: it is all read
// from source.json.
//
//   node scripts/build/valkey/check-debian.mjs [--strict] [--override REASON] [--brief] [--json]
//   npm run check:valkey
//
// `npm test` runs it first (scripts/dev.mjs) and only prints what it says: a warning
// never fails the tests. The release rehearsal runs it strict (scripts/release/
// valkey-gate.mjs) and refuses to publish while it warns, unless given a reason.
//
// What it reads. For each suite (trixie, trixie-security, trixie-updates,
// trixie-backports, bookworm-backports, sid, experimental, and forky when it exists):
//   - dists/<suite>/InRelease, its signature checked with gpgv against Debian's archive
//     keyring (one good signature from a key in the keyring, and no bad one, as apt
//     does); an index that cannot be verified is still reported, but the check then
//     counts as incomplete;
//   - main/binary-amd64/Packages and main/source/Sources (whichever of .xz, .gz or plain
//     the InRelease lists and this machine can read), each checked against the sha256
//     and size in the InRelease;
// and lists the versions of the source package `valkey` in them, ordered as dpkg orders
// versions (epochs, ~, +dfsg, +debNuN).
// Then, for the versions that matter, the binary valkey-server_<version>_amd64.deb (the
// Packages `Filename:`; its sha256 checked against the Packages index; read with
// dpkg-deb, else with the ar/tar reader here): its usr/share/doc/valkey-server/
// changelog.Debian.gz and the upstream release notes next to it (changelog.gz). A binary
// package's changelog can be read even when Debian no longer serves its source.
//   - every version newer than the bundle's: the CVE (and GHSA) ids that its changelog
//     entries newer than the bundle's version, and the upstream release notes of
//     releases newer than the bundle's, name, less the ones the bundle fixes; and
//     whether its source (.dsc, orig and debian tarballs) can be downloaded from the
//     main or the security archive's pool (build-static.sh needs source);
//   - the bundle's own version, where a suite still lists it: every id its changelog and
//     release notes name counts as fixed by the bundle, with source.json's list;
//   - an older version in a -security suite (the bundle has moved past stable): the ids
//     its security uploads (distribution *-security, or a +debNuN version) name that
//     the bundle does not fix.
//
// Output: the bundle, what each suite has, each newer version with its fixes and source
// (left out with --brief), then `note:` lines, one `warning:` line for each thing to act
// on, and a `result:` line. It warns when
//   - a newer Debian revision (a security update, +debNuN) or a newer release of the
//     bundle's upstream line exists (always);
//   - a newer upstream line's changelogs name fixes the bundle lacks (a newer line that
//     names none is a note);
//   - an older version's security updates name a CVE the bundle does not fix;
//   - a newer version's source cannot be downloaded;
//   - it could not check (`warning: could not check: ...`): no network, an unverifiable
//     or badly signed index, a hash mismatch, an expired -security index, a changelog
//     that could not be read.
// `--json`: one JSON object on stdout instead (the same facts).
//
// Exit status:
//   0  the check ran, whatever it found (without --strict); with --strict: nothing
//      warned, or an override with a reason was given (the reason is printed)
//   3  --strict: the bundle is behind Debian (see the warnings)
//   4  --strict: nothing newer was found, but the check could not be completed
//   2  usage error (an override needs a non-empty reason), or source.json unreadable
//   1  internal error
// Options:
//   --strict            exit 3 or 4 when it warns
//   --override REASON   with --strict: accept the warnings, print REASON, exit 0
//                       (also --override=REASON; env CMS_ALLOW_OUTDATED_VALKEY=REASON;
//                       an empty or blank reason is a usage error, an empty variable is
//                       ignored)
//   --brief             leave out the per-version details (what `npm test` prints)
//   --json              machine-readable output on stdout
//   --manifest FILE     the bundle's manifest (default scripts/build/valkey/source.json)
//   --cache-dir DIR     download cache (default ~/.cache/claude-mem-store/debian-check,
//                       env CMS_DEBIAN_CHECK_CACHE); files are named by their sha256 and
//                       re-hashed whenever used: a cache saves time, it decides nothing
// Environment:
//   CMS_DEBIAN_MIRROR           main archive (default http://deb.debian.org/debian)
//   CMS_DEBIAN_SECURITY_MIRROR  security archive (default http://deb.debian.org/debian-security)
//   CMS_DEBIAN_KEYRING          keyring for gpgv (default /usr/share/keyrings/
//                               debian-archive-keyring.gpg, or .pgp as trixie names it)
//   CMS_DEBIAN_CHECK_TIMEOUT    seconds per HTTP request (default 30)
//   CMS_DEBIAN_CHECK_NO_DPKG=1  do not use dpkg-deb (use the built-in ar/tar reader)
//   http_proxy / https_proxy    when set (and curl exists) requests go through curl, which honours them
// Needs: Node >= 20; xz to read .xz indexes (else the .gz ones, where the suite has them);
// gpgv + debian-archive-keyring to verify the indexes; optional: dpkg-deb, zstd (for a
// data.tar.zst without dpkg-deb).
import { createHash } from 'node:crypto'
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const DEFAULT_MANIFEST = path.join(HERE, 'source.json')
const ARCH = 'amd64'
export const EXIT = { OK: 0, INTERNAL: 1, USAGE: 2, OUTDATED: 3, INCOMPLETE: 4 }

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
const KEYRING = process.env.CMS_DEBIAN_KEYRING ||
  ['/usr/share/keyrings/debian-archive-keyring.gpg', '/usr/share/keyrings/debian-archive-keyring.pgp'].find((f) => fs.existsSync(f)) ||
  '/usr/share/keyrings/debian-archive-keyring.gpg'
const TIMEOUT_MS = Math.max(1, Number(process.env.CMS_DEBIAN_CHECK_TIMEOUT) || 30) * 1000
const isSecuritySuite = (suite) => /-security$/.test(suite)
const isSecurityRevision = (version) => /\+deb\d+u\d+/.test(version)

// ------------------------------------------------------------------------------ options
function usage() {
  const src = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n')
  const end = src.findIndex((l) => l.startsWith('import '))
  return src.slice(1, end).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')
}
export class UsageError extends Error {}
// argv (without node and the script) and the environment -> options; throws UsageError
export function parseArgs(argv, env = process.env) {
  const o = { strict: false, json: false, brief: false, override: null, overrideFrom: null, cacheDir: null, manifest: null, notes: [] }
  const withValue = { '--override': 'override', '--cache-dir': 'cacheDir', '--manifest': 'manifest' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const eq = a.indexOf('=')
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined]
    if (withValue[flag]) {
      let v = inline
      if (v === undefined) {
        if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new UsageError(`${flag} needs a value`)
        v = argv[++i]
      }
      o[withValue[flag]] = v
    } else if (inline !== undefined) throw new UsageError(`${flag} takes no value`)
    else if (a === '--strict') o.strict = true
    else if (a === '--json') o.json = true
    else if (a === '--brief') o.brief = true
    else if (a === '-h' || a === '--help') o.help = true
    else throw new UsageError(`unknown argument '${a}' (see --help)`)
  }
  if (o.override !== null) {
    if (!o.override.trim()) throw new UsageError('--override needs a reason (a non-empty one)')
    o.overrideFrom = '--override'
  } else if (env.CMS_ALLOW_OUTDATED_VALKEY !== undefined) {
    if (env.CMS_ALLOW_OUTDATED_VALKEY.trim()) {
      o.override = env.CMS_ALLOW_OUTDATED_VALKEY
      o.overrideFrom = 'CMS_ALLOW_OUTDATED_VALKEY'
    } else o.notes.push('CMS_ALLOW_OUTDATED_VALKEY is set but empty: ignored (an override needs a reason)')
  }
  o.override = o.override?.trim() ?? null
  o.cacheDir ||= env.CMS_DEBIAN_CHECK_CACHE || path.join(os.homedir(), '.cache', 'claude-mem-store', 'debian-check')
  o.manifest = path.resolve(o.manifest || DEFAULT_MANIFEST)
  return o
}

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
export const upstreamRelease = (v) => parseVersion(v).upstream.replace(/\+dfsg\d*$/, '').replace(/\+ds\d*$/, '')
export const lineOf = (v) => (upstreamRelease(v).match(/^(\d+)\.(\d+)/) || [null, '?', '?']).slice(1, 3).join('.')
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
// -> { code, stdout, stderr } (Buffers); rejects only when cmd cannot be started
function runRaw(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out = [], err = []
    p.stdout.on('data', (b) => out.push(b))
    p.stderr.on('data', (b) => err.push(b))
    p.on('error', reject)
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }))
    p.stdin.on('error', () => {})
    p.stdin.end(input)
  })
}
async function run(cmd, args, input) {
  const r = await runRaw(cmd, args, input)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr.toString().trim()}`)
  return r.stdout
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
// The signed text of a clearsigned message (dash-escaping undone), or null.
function clearsignedText(t) {
  if (!t.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) return null
  const a = t.indexOf('\n\n'), b = t.indexOf('\n-----BEGIN PGP SIGNATURE-----')
  if (a < 0 || b < a) return null
  return t.slice(a + 2, b).split('\n').map((l) => l.replace(/^- /, '')).join('\n')
}
// gpgv's verdict on an InRelease, as apt reads it: good when at least one signature is
// good (GOODSIG: a key in the keyring, not expired or revoked) and none is bad. Debian
// signs with two keys; a keyring that has only one of them still verifies.
// -> { verdict: 'verified'|'bad'|'unverified', text?, reason? }
export async function verifyInRelease(body, keyring = KEYRING) {
  if (!have('gpgv')) return { verdict: 'unverified', reason: 'gpgv is not installed', missingTool: true }
  if (!fs.existsSync(keyring)) return { verdict: 'unverified', reason: `no keyring at ${keyring}`, missingTool: true }
  const r = await runRaw('gpgv', ['--status-fd', '2', '--keyring', keyring, '--output', '-', '-'], body)
  const status = r.stderr.toString('utf8').split('\n').filter((l) => l.startsWith('[GNUPG:] ')).map((l) => l.slice(9))
  if (status.some((l) => /^BADSIG\b/.test(l))) return { verdict: 'bad', reason: 'BAD signature' }
  const good = status.filter((l) => /^GOODSIG\b/.test(l))
  if (!good.length) {
    const st = (kw) => status.filter((l) => l.startsWith(kw + ' ')).map((l) => l.split(' ')[1])
    const why = st('NO_PUBKEY').length ? `signed only by key${st('NO_PUBKEY').length > 1 ? 's' : ''} ${st('NO_PUBKEY').join(', ')}, not in ${keyring}`
      : st('EXPKEYSIG').length ? `signed by an expired key (${st('EXPKEYSIG').join(', ')})`
      : st('REVKEYSIG').length ? `signed by a revoked key (${st('REVKEYSIG').join(', ')})`
      : status.some((l) => /^NODATA\b/.test(l)) ? 'no signature found'
      : (r.stderr.toString('utf8').split('\n').find((l) => /gpgv:/.test(l) && !/Signature made|using/.test(l)) || `gpgv exit ${r.code}`).replace(/^gpgv:\s*/, '').trim()
    return { verdict: 'unverified', reason: `no good signature: ${why}` }
  }
  // gpgv exits non-zero when one of the signatures is by a key it does not have; the
  // text it wrote is still the signed text, and so is what lies between the armour
  const text = r.stdout.length ? r.stdout.toString('utf8') : clearsignedText(body.toString('utf8'))
  if (!text) return { verdict: 'unverified', reason: 'gpgv gave no signed text' }
  return { verdict: 'verified', text, signers: good.map((l) => l.split(' ').slice(2).join(' ')) }
}

async function readInRelease(s, ctx) {
  const url = `${ARCHIVES[s.archive]}/dists/${s.suite}/InRelease`
  let r
  try { r = await request(url) } catch (e) { return { error: `could not reach ${url} (${e.message})`, unreachable: true } }
  if (r.status === 404 && s.optional) return { absent: true }
  if (r.status !== 200) return { error: `could not read ${url} (HTTP ${r.status})` }
  const v = await verifyInRelease(r.body)
  if (v.verdict === 'bad') return { error: `${s.suite}'s InRelease has a BAD signature (${url}); not used` }
  let text = v.text, signature = 'verified'
  if (v.verdict !== 'verified') {
    signature = `not verified: ${v.reason}`
    if (v.missingTool) ctx.noGpg = v.reason
    text = clearsignedText(r.body.toString('utf8')) ?? r.body.toString('utf8')
  }
  const f = parseStanza(text.split('\n\n')[0])
  const files = new Map()
  for (const c of checksumList(f.SHA256)) files.set(c.name, c)
  if (!files.size) return { error: `${s.suite}'s InRelease lists no SHA256 checksums (${url})` }
  const date = f.Date ? new Date(f.Date) : null
  const validUntil = f['Valid-Until'] ? new Date(f['Valid-Until']) : null
  return { url, signature, verified: v.verdict === 'verified', signatureProblem: v.verdict === 'verified' ? null : v.reason,
    codename: f.Codename, alias: f.Suite, date: date?.toISOString(), validUntil: validUntil?.toISOString(),
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

// The binary packages of source package `src` in a Packages index (Buffer or string).
export function binariesOf(index, src) {
  const out = []
  for (const st of findStanzas(Buffer.isBuffer(index) ? index : Buffer.from(index), [`Package: ${src}`, `Source: ${src}`])) {
    const source = (st.Source || st.Package || '').split(/\s+/)[0]
    if (source !== src || !st.Version || !st.Filename) continue
    const m = (st.Source || '').match(/\(([^)]+)\)/)
    out.push({ package: st.Package, version: st.Version, sourceVersion: m ? m[1] : st.Version,
      architecture: st.Architecture, filename: st.Filename, size: Number(st.Size), sha256: st.SHA256 })
  }
  return out
}
// The versions of source package `src` in a Sources index, with their files.
export function sourcesOf(index, src) {
  const out = []
  for (const st of findStanzas(Buffer.isBuffer(index) ? index : Buffer.from(index), [`Package: ${src}`])) {
    if (st.Package !== src || !st.Version) continue
    out.push({ version: st.Version, directory: st.Directory, files: checksumList(st['Checksums-Sha256']) })
  }
  return out
}

async function readSuite(s, src, ctx) {
  const out = { suite: s.suite, archive: s.archive, binaries: [], sources: [] }
  const rel = await readInRelease(s, ctx)
  if (rel.absent) { out.absent = true; return out }
  if (rel.error) { out.error = rel.error; out.unreachable = rel.unreachable; return out }
  Object.assign(out, { codename: rel.codename, alias: rel.alias, date: rel.date, validUntil: rel.validUntil, expired: rel.expired, signature: rel.signature, verified: rel.verified, signatureProblem: rel.signatureProblem })
  const [pk, so] = await Promise.all([
    readIndex(s, `main/binary-${ARCH}/Packages`, rel.files, ctx.cache),
    readIndex(s, 'main/source/Sources', rel.files, ctx.cache),
  ])
  if (pk.error) { out.error = pk.error; out.unreachable = pk.unreachable } else if (pk.missing) out.packagesIndex = null
  else {
    out.packagesIndex = pk.name
    out.binaries = binariesOf(pk.data, src)
  }
  if (so.error) { out.sourcesError = so.error; out.unreachable ||= so.unreachable } else if (so.missing) out.sourcesIndex = null
  else {
    out.sourcesIndex = so.name
    out.sources = sourcesOf(so.data, src)
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
// "ghsa-ABCD-..." -> "GHSA-abcd-..." (GitHub's spelling), CVE ids as they are
const normId = (id) => /^ghsa-/i.test(id) ? 'GHSA-' + id.slice(5).toLowerCase() : id
// The CVE and GHSA ids a text names, each once, in order.
export function idsIn(text) {
  return [...new Set([...(text.match(CVE_RE) || []), ...(text.match(GHSA_RE) || []).map(normId)])]
}
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
  if (at < 0) return null
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
    for (const id of idsIn(b.join('\n'))) {
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
    for (const id of idsIn(line)) {
      const desc = line.replace(/^\s*[*-]\s*/, '').replace(/\(?\b(CVE-\d{4}-\d{4,}|GHSA-[0-9a-z-]{14})\b\)?:?/gi, '').replace(/\(#\d+\)\s*$/, '').trim()
      cur.ids.push({ id, description: firstSentence(desc || line.trim()) })
    }
  }
  return out
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


// ------------------------------------------------------------------------------ analysis (no I/O)
// How a Debian version stands to the bundle's: relation older|same|newer, its upstream
// line ("8.1"), and for a newer one its kind: revision (same upstream release, e.g. a
// +debNuN security update), same-line (a newer release of the bundle's line), newer-line,
// or other (newer only by epoch, on an older line).
export function classify(version, bundle) {
  const c = vcmp(version, bundle)
  const out = { relation: c < 0 ? 'older' : c === 0 ? 'same' : 'newer', line: lineOf(version) }
  if (c > 0) {
    const bundleLine = lineOf(bundle)
    out.kind = upstreamRelease(version) === upstreamRelease(bundle) ? 'revision'
      : out.line === bundleLine ? 'same-line' : verrevcmp(out.line, bundleLine) > 0 ? 'newer-line' : 'other'
  }
  return out
}

// The ids the bundle is known to fix, from a changelog (and its release notes): those of
// its entries up to the bundle's version, and of upstream releases up to the bundle's.
// Applied to the bundle's own .deb this is its whole history; applied to a newer
// version's, it is the history the two share.
export function fixedUpTo(bundle, { changelogText, releaseNotesText } = {}) {
  const ids = new Set()
  if (changelogText) for (const e of parseDebianChangelog(changelogText)) if (vcmp(e.version, bundle) <= 0) for (const id of idsIn(e.text)) ids.add(id)
  if (releaseNotesText) {
    const up = upstreamRelease(bundle)
    for (const s of parseReleaseNotes(releaseNotesText)) if (verrevcmp(s.release, up) <= 0) for (const x of s.ids) ids.add(x.id)
  }
  return ids
}

// What a newer version's changelog and release notes name that the bundle does not fix.
// -> { changelog: { entries, cves }, releaseNotes, fixesBeyondBundle }
export function fixesBeyond(bundle, fixed, { changelogText, releaseNotesText }) {
  const entries = parseDebianChangelog(changelogText)
  const newer = entries.filter((e) => vcmp(e.version, bundle) > 0)
  const changelog = { entries: newer.map((e) => ({ version: e.version, distribution: e.distribution, date: e.date, ids: idsIn(e.text) })), cves: [] }
  const seen = new Set()
  for (const e of newer) for (const c of cvesOfEntry(e)) {
    if (fixed.has(c.id) || seen.has(c.id)) continue
    seen.add(c.id); changelog.cves.push(c)
  }
  let releaseNotes = null
  if (releaseNotesText) {
    const up = upstreamRelease(bundle)
    const secs = parseReleaseNotes(releaseNotesText).filter((s) => verrevcmp(s.release, up) > 0)
    releaseNotes = { releases: secs.map((s) => s.release), ids: [] }
    const seenU = new Set()
    for (const s of secs) for (const x of s.ids) {
      if (fixed.has(x.id) || seenU.has(x.id)) continue
      seenU.add(x.id); releaseNotes.ids.push({ ...x, release: s.release })
    }
  }
  const upDesc = new Map((releaseNotes?.ids || []).map((x) => [x.id, x]))
  for (const c of changelog.cves) if (!c.description && upDesc.has(c.id)) c.upstreamDescription = upDesc.get(c.id).description
  const fixesBeyondBundle = [...new Set([...changelog.cves.map((c) => c.id), ...(releaseNotes?.ids || []).map((x) => x.id)])]
  return { changelog, releaseNotes, fixesBeyondBundle }
}

// An older version's security uploads (entries for a -security suite, or +debNuN
// versions): the ids they name that the bundle does not fix.
export function securityFixesBeyond(fixed, { changelogText }) {
  const out = []
  for (const e of parseDebianChangelog(changelogText)) {
    if (!isSecuritySuite(e.distribution) && !isSecurityRevision(e.version)) continue
    for (const c of cvesOfEntry(e)) if (!fixed.has(c.id) && !out.some((o) => o.id === c.id)) out.push(c)
  }
  return out
}

// Exit status and whether the override was used, from what the check found.
export function decide({ outdated, incomplete }, { strict = false, override = null } = {}) {
  const would = outdated ? EXIT.OUTDATED : incomplete ? EXIT.INCOMPLETE : EXIT.OK
  if (!strict || would === EXIT.OK) return { exit: EXIT.OK, overridden: false, would }
  if (override && override.trim()) return { exit: EXIT.OK, overridden: true, would }
  return { exit: would, overridden: false, would }
}

// ------------------------------------------------------------------------------ per version
// Downloads a binary .deb of `nv` (valkey-server first; sha256 checked against the
// Packages index) and takes its changelog.Debian and upstream release notes.
async function readDeb(nv, ctx) {
  const src = ctx.src
  const cands = nv.binaries.slice().sort((a, b) => (b.package === `${src}-server`) - (a.package === `${src}-server`))
  const tried = []
  for (const bin of cands) {
    const url = urlOf(bin.archive, bin.filename)
    let got
    try { got = await getVerified(ctx.cache, url, bin.sha256, bin.size) } catch (e) { tried.push(`could not reach ${url} (${e.message})`); continue }
    if (got.status) { tried.push(`${url}: HTTP ${got.status}`); continue }
    if (got.mismatch) { tried.push(`${url}: sha256 ${got.mismatch} (${got.size} bytes) is not the index's ${bin.sha256} (${bin.size})`); continue }
    let tarInfo
    try { tarInfo = await debDataTar(got.body, ctx) } catch (e) { tried.push(`${url}: ${e.message}`); continue }
    const entries = readTar(tarInfo.tar)
    const doc = `usr/share/doc/${bin.package}`
    const clog = findInTar(entries, `${doc}/changelog.Debian.gz`) || findInTar(entries, `${doc}/changelog.Debian.${ARCH}.gz`)
    if (!clog) { tried.push(`${url}: no ${doc}/changelog.Debian.gz`); continue }
    const notes = findInTar(entries, `${doc}/changelog.gz`)
    nv.deb = { package: bin.package, filename: bin.filename, url, sha256: bin.sha256, size: bin.size, sha256Verified: true, cached: got.cached, extractedWith: tarInfo.with }
    nv.texts = { changelogText: zlib.gunzipSync(clog).toString('utf8'), releaseNotesText: notes ? zlib.gunzipSync(notes).toString('utf8') : null }
    return
  }
  nv.changelogError = tried.join('; ') || 'no binary package of it is listed'
}

// ------------------------------------------------------------------------------ the check
// Reads Debian's indexes and changelogs; -> the facts (what --json prints, without the
// exit status). `opts`: { manifest, cacheDir, notes }.
export async function check(opts) {
  const t0 = Date.now()
  const manifest = JSON.parse(fs.readFileSync(opts.manifest, 'utf8'))
  const src = manifest.debian?.package || manifest.name || 'valkey'
  const bundle = manifest.patches?.debian || manifest.debian?.version
  if (!bundle) throw new UsageError(`${opts.manifest} has neither patches.debian nor debian.version`)
  const listed = [...(manifest.patches?.cves || []), ...(manifest.patches?.advisories || [])]
  const ctx = { src, bundle, cache: new Cache(opts.cacheDir), notes: [...(opts.notes || [])], warnings: [] }
  const warn = (kind, message) => ctx.warnings.push({ kind, message })
  const couldNot = (message) => warn('incomplete', `could not check: ${message}`)
  if (manifest.debian?.version && manifest.debian.version !== bundle) ctx.notes.push(`${path.basename(opts.manifest)}: debian.version is ${manifest.debian.version}, patches.debian ${bundle}; the check uses patches.debian`)
  if (manifest.version && manifest.version !== upstreamRelease(bundle)) ctx.notes.push(`${path.basename(opts.manifest)}: version is ${manifest.version}, but the Debian version ${bundle} is upstream ${upstreamRelease(bundle)}`)
  if (!have('xz')) ctx.notes.push('xz is not installed: only suites that publish .gz or plain indexes can be read (apt-get install xz-utils)')

  // 1. the suites
  const suites = await Promise.all(SUITES.map((s) => readSuite(s, src, ctx).catch((e) => ({ suite: s.suite, archive: s.archive, error: `${s.suite}: ${e.message}`, binaries: [], sources: [] }))))
  const present = suites.filter((s) => !s.absent)
  const failed = present.filter((s) => s.error)
  if (failed.length && failed.length === present.length && failed.every((s) => s.unreachable)) {
    couldNot(`Debian's archives could not be reached, so whether the bundle is behind is unknown (${failed[0].error})`)
  } else for (const s of failed) couldNot(s.error)
  for (const s of present) {
    if (s.sourcesError) couldNot(s.sourcesError)
    if (s.absent || s.error && !s.signature) continue
    if (!s.verified && !ctx.noGpg) couldNot(`${s.suite}'s InRelease signature: ${s.signatureProblem}; its indexes are shown unverified`)
    if (s.expired) {
      const msg = `${s.suite}: the mirror's index expired ${s.validUntil.slice(0, 10)} (Valid-Until); it may not show ${s.suite}'s newest upload`
      if (isSecuritySuite(s.suite)) couldNot(msg); else ctx.notes.push(msg)
    }
  }
  if (ctx.noGpg && present.some((s) => s.signature)) couldNot(`the indexes' signatures: ${ctx.noGpg} (apt-get install gpgv debian-archive-keyring); what they list is shown unverified`)
  for (const s of suites) if (s.absent) ctx.notes.push(`${s.suite}: not in the archive (no InRelease)`)

  // 2. every version of the source package, across suites
  const byVersion = new Map()
  const slot = (v) => { if (!byVersion.has(v)) byVersion.set(v, { version: v, ...classify(v, bundle), suites: [], binaries: [], sources: [] }); return byVersion.get(v) }
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
  const all = [...byVersion.values()].sort((a, b) => vcmp(b.version, a.version))
  const KIND_ORDER = { revision: 0, 'same-line': 1, 'newer-line': 2, other: 3 }
  const newer = all.filter((v) => v.relation === 'newer').sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || vcmp(a.version, b.version))
  const same = all.filter((v) => v.relation === 'same')
  const olderSecurity = all.filter((v) => v.relation === 'older' && v.suites.some(isSecuritySuite))

  // 3. their changelogs (and the newer ones' source)
  await Promise.all([...newer, ...same, ...olderSecurity].map((nv) => readDeb(nv, ctx).catch((e) => { nv.changelogError = e.message })))
  await Promise.all(newer.map((nv) => checkSource(nv, ctx).catch((e) => { nv.source = { error: e.message } })))

  // 4. what the bundle fixes: source.json's list, its own changelog (where a suite still
  // lists its version) and the history it shares with the newer versions
  const fixed = new Set(listed)
  for (const nv of [...same, ...newer]) if (nv.texts) for (const id of fixedUpTo(bundle, nv.texts)) fixed.add(id)
  for (const nv of same) if (nv.changelogError) ctx.notes.push(`the bundle's own ${nv.version} (${nv.suites.join(', ')}): changelog not read (${nv.changelogError}); only ${path.basename(opts.manifest)}'s list counts as fixed`)

  // 5. what each newer version fixes beyond that
  const bundleLine = lineOf(bundle), bundleUp = upstreamRelease(bundle)
  for (const nv of newer) if (nv.texts) Object.assign(nv, fixesBeyond(bundle, fixed, nv.texts))
  for (const nv of newer) {
    if (nv.kind !== 'newer-line' || !nv.fixesBeyondBundle) continue
    nv.comparedWith = newer.filter((o) => (o.kind === 'revision' || o.kind === 'same-line') && o.fixesBeyondBundle).map((o) => ({
      version: o.version,
      missing: o.fixesBeyondBundle.filter((id) => !nv.fixesBeyondBundle.includes(id)),
      extra: nv.fixesBeyondBundle.filter((id) => !o.fixesBeyondBundle.includes(id)),
    }))
  }
  for (const ov of olderSecurity) if (ov.texts) ov.securityFixesBeyondBundle = securityFixesBeyond(fixed, ov.texts)

  // 6. warnings
  const plural = (ids) => `${ids.length} ${ids.some((f) => f.startsWith('GHSA')) ? 'CVEs/advisories' : ids.length === 1 ? 'CVE' : 'CVEs'}`
  for (const nv of newer) {
    const where = nv.suites.join(', ')
    const fixes = nv.fixesBeyondBundle || []
    const sameLine = nv.kind === 'revision' || nv.kind === 'same-line'
    const security = nv.suites.some(isSecuritySuite) || isSecurityRevision(nv.version)
    nv.what = nv.kind === 'revision' ? `newer ${security ? 'security revision' : 'Debian revision'} of the bundle's ${bundle}`
      : nv.kind === 'same-line' ? `newer ${bundleLine} release than the bundle's ${bundleUp}` : `newer version, upstream line ${nv.line} (the bundle's is ${bundleLine})`
    nv.outdated = sameLine || fixes.length > 0
    if (nv.changelogError) couldNot(`the changelog of valkey ${nv.version} (${where}): ${nv.changelogError}`)
    if (nv.outdated) {
      warn('outdated', `${src} ${nv.version} (${where}), a ${nv.what}, ` +
        (fixes.length ? `fixes ${plural(fixes)} the bundle lacks: ${fixes.join(', ')}` : nv.changelogError ? 'could not be examined' : 'names no fix beyond the bundle\'s'))
    } else if (!nv.changelogError) ctx.notes.push(`${src} ${nv.version} (${where}) is a ${nv.what}; its changelogs name no fix beyond the bundle's`)
    if (nv.source?.error) couldNot(`the source of valkey ${nv.version}: ${nv.source.error}`)
    else if (nv.source && !nv.source.downloadable) {
      const missing = nv.source.files.filter((f) => !f.downloadable)
      const why = missing.map((f) => `${f.name}: ${f.checks.map((c) => c.status ?? 'unreachable').join('/')}`).join('; ')
      if (nv.source.unreachable) couldNot(`whether the source of valkey ${nv.version} can be downloaded: the pools could not be reached (${why})`)
      else if (nv.outdated) warn('outdated', `${src} ${nv.version}: its source cannot be downloaded from either archive's pool (${why})${nv.source.indexed ? `, though ${nv.source.listedIn.join(', ')} list${nv.source.listedIn.length === 1 ? 's' : ''} it` : ''}: build-static.sh cannot take its fixes from Debian`)
      else ctx.notes.push(`${src} ${nv.version}: its source cannot be downloaded (${why})`)
    }
  }
  for (const ov of olderSecurity) {
    const where = ov.suites.join(', ')
    if (ov.changelogError) { couldNot(`the changelog of valkey ${ov.version} (${where}), older than the bundle's but a security update: ${ov.changelogError}`); continue }
    const ids = ov.securityFixesBeyondBundle.map((c) => c.id)
    if (ids.length) warn('outdated', `${src} ${ov.version} (${where}) is older than the bundle's ${bundle}, but its security updates name ${plural(ids)} the bundle is not known to fix: ${ids.join(', ')} (if upstream ${bundleUp} has them, add them to ${path.basename(opts.manifest)}'s patches.cves)`)
  }

  const outdated = ctx.warnings.some((w) => w.kind === 'outdated')
  const incomplete = ctx.warnings.some((w) => w.kind === 'incomplete')
  try { if (!incomplete) ctx.cache.prune() } catch {}
  const strip = ({ binaries, sources, texts, ...rest }) => ({ ...rest, binaries: binaries.map(({ archive, ...b }) => b), sources: sources.map((s) => ({ suite: s.suite, directory: s.directory, files: s.files })) })
  return {
    checkedAt: new Date().toISOString(), elapsedSeconds: (Date.now() - t0) / 1000, architecture: ARCH, archives: ARCHIVES,
    bundle: { package: src, version: bundle, upstream: bundleUp, line: bundleLine, listed, knownFixed: [...fixed], manifest: path.relative(process.cwd(), opts.manifest) || opts.manifest },
    suites: suites.map(({ binaries, sources, ...s }) => ({ ...s, versions: [...new Set([...binaries.map((b) => b.sourceVersion), ...sources.map((x) => x.version)])].sort((a, b) => vcmp(b, a)) })),
    versions: Object.fromEntries(all.map((v) => [v.version, { relation: v.relation, kind: v.kind }])),
    newer: newer.map(strip), same: same.map(strip), olderSecurity: olderSecurity.map(strip),
    warnings: ctx.warnings, notes: ctx.notes, outdated, incomplete,
    status: outdated ? (incomplete ? 'behind (check incomplete)' : 'behind') : incomplete ? 'could not check' : 'up to date',
  }
}

// ------------------------------------------------------------------------------ report
// The human report, as lines.
export function formatReport(r, { brief = false, strict = false, override = null, overrideFrom = null, decision = decide(r, { strict, override }) } = {}) {
  const L = []
  const P = (s = '') => L.push(s)
  const src = r.bundle.package
  P(`valkey-debian-check: bundle = ${src} ${r.bundle.version} (${r.bundle.manifest}; upstream ${r.bundle.upstream}, line ${r.bundle.line}; ${r.bundle.listed.length} CVEs/advisories listed as fixed)`)
  P(`Debian suites (${r.architecture}; ${r.archives.debian}, ${r.archives['debian-security']}):`)
  for (const s of r.suites) {
    if (s.absent) { P(`  ${s.suite.padEnd(19)} (does not exist)`); continue }
    if (s.error && !s.versions.length) { P(`  ${s.suite.padEnd(19)} (not read: ${s.error})`); continue }
    const desc = s.versions.length ? s.versions.map((v) => { const x = r.versions[v]; return `${v} [${x.relation}${x.kind ? ': ' + x.kind : ''}]` }).join(', ') : `no ${src}`
    const info = [s.date && `index ${s.date.slice(0, 10)}`, s.expired && 'EXPIRED', s.verified ? 'signed' : 'signature NOT verified', s.sourcesIndex === null && 'no Sources index'].filter(Boolean).join(', ')
    P(`  ${s.suite.padEnd(19)} ${desc}  (${info})`)
  }
  const unread = r.suites.filter((s) => !s.absent && s.error && !s.versions.length).length
  const read = r.suites.filter((s) => !s.absent).length - unread
  if (!r.newer.length) P(read === 0 ? 'no suite could be read' : `no Debian ${src} is newer than the bundle's ${r.bundle.version}${unread ? ' in the suites that could be read' : ''}`)
  if (!brief) {
    for (const nv of r.newer) {
      P('')
      P(`newer: ${src} ${nv.version} in ${nv.suites.join(', ')} — ${nv.what}`)
      if (nv.deb) {
        P(`  ${path.posix.basename(nv.deb.filename)}: sha256 ${nv.deb.sha256} verified against the Packages index${nv.deb.cached ? ' (from the cache)' : ''}; read with ${nv.deb.extractedWith}`)
        P(`  changelog.Debian entries newer than ${r.bundle.version}: ${nv.changelog.entries.map((e) => `${e.version} (${e.distribution}, ${e.date && !isNaN(new Date(e.date)) ? new Date(e.date).toISOString().slice(0, 10) : '?'})`).join(', ') || 'none'}`)
        if (nv.changelog.cves.length) {
          P(`  ids they name beyond the bundle's:`)
          for (const c of nv.changelog.cves) {
            const d = c.description || (c.upstreamDescription ? `${c.upstreamDescription} (upstream notes; changelog.Debian only says "${c.namedIn}")` : `(not described; changelog.Debian says "${c.namedIn}")`)
            P(`    ${c.id.padEnd(20)} ${d}  [${c.entry}]`)
          }
        } else P('  ids they name beyond the bundle\'s: none')
        if (nv.releaseNotes) {
          if (nv.releaseNotes.ids.length) {
            P(`  upstream release notes (changelog.gz; ${nv.releaseNotes.releases.join(', ')} newer than ${r.bundle.upstream}) name beyond the bundle's:`)
            for (const x of nv.releaseNotes.ids) P(`    ${x.id.padEnd(20)} ${x.description}  [${x.release}]`)
          } else if (nv.releaseNotes.releases.length) P(`  upstream release notes (${nv.releaseNotes.releases.join(', ')}): nothing beyond the bundle's`)
        }
        P(`  => fixes the bundle lacks: ${nv.fixesBeyondBundle.length ? nv.fixesBeyondBundle.join(', ') : 'none named'}`)
        for (const c of nv.comparedWith || []) P(`  => vs ${c.version}: ${c.missing.length ? `lacks ${c.missing.join(', ')}` : 'has all of its fixes'}${c.extra.length ? `; has ${c.extra.length} more: ${c.extra.join(', ')}` : ''}`)
      } else P(`  changelog: not read (${nv.changelogError})`)
      if (nv.source?.files) {
        P(`  source${nv.source.indexed ? ` (listed in ${nv.source.listedIn.join(', ')}'s Sources)` : ' (in no Sources index read; .dsc name guessed)'}:`)
        for (const f of nv.source.files) P(`    ${f.name.padEnd(48)} ${f.checks.map((c) => `${c.status ?? 'unreachable'} ${c.archive === 'debian' ? 'main' : 'security'}`).join(', ')}`)
        P(`  => source ${nv.source.downloadable ? 'downloadable' : 'NOT downloadable'}`)
      } else if (nv.source?.error) P(`  source: check failed (${nv.source.error})`)
    }
    for (const ov of r.olderSecurity) {
      if (!ov.securityFixesBeyondBundle?.length) continue
      P('')
      P(`older security update: ${src} ${ov.version} in ${ov.suites.join(', ')}; its security entries name beyond the bundle's:`)
      for (const c of ov.securityFixesBeyondBundle) P(`    ${c.id.padEnd(20)} ${c.description || `(not described; "${c.namedIn}")`}  [${c.entry}]`)
    }
  }
  P('')
  for (const n of r.notes) P(`note: ${n}`)
  for (const w of r.warnings) P(`warning: ${w.message}`)
  if (decision.overridden) P(`override (${overrideFrom}): "${override}" — accepting ${r.warnings.length} warning(s); without it --strict would exit ${decision.would}`)
  else if (override && strict) P(`override (${overrideFrom}) not needed: "${override}"`)
  const headline = r.outdated ? `BEHIND Debian` : r.incomplete ? 'COULD NOT CHECK' : 'up to date with Debian'
  P(`result: ${headline}${r.warnings.length ? ` (${r.warnings.length} warning(s)${r.outdated && r.incomplete ? '; check incomplete' : ''})` : ''}; ${strict ? (decision.overridden ? 'strict, overridden' : 'strict') : 'not strict'}; exit ${decision.exit} (${r.elapsedSeconds.toFixed(1)} s)`)
  return L
}

// ------------------------------------------------------------------------------ main
export async function main(argv = process.argv.slice(2), env = process.env) {
  let opts
  try { opts = parseArgs(argv, env) } catch (e) {
    if (e instanceof UsageError) { console.error(`check-debian: ${e.message}`); return EXIT.USAGE }
    throw e
  }
  if (opts.help) { console.log(usage()); return EXIT.OK }
  let r
  try { r = await check(opts) } catch (e) {
    if (e instanceof UsageError || e.code === 'ENOENT' || e instanceof SyntaxError) { console.error(`check-debian: cannot use ${opts.manifest}: ${e.message}`); return EXIT.USAGE }
    throw e
  }
  const decision = decide(r, opts)
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ...r, strict: opts.strict, override: opts.override ? { reason: opts.override, from: opts.overrideFrom, used: decision.overridden } : null, exitCode: decision.exit }, null, 2) + '\n')
  } else {
    for (const line of formatReport(r, { ...opts, decision })) console.log(line)
  }
  return decision.exit
}

const invoked = (() => { try { return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url)) } catch { return false } })()
if (invoked) {
  main().then((code) => { process.exitCode = code }, (e) => {
    console.error(`check-debian: internal error: ${e?.stack || e}`)
    process.exitCode = EXIT.INTERNAL
  })
}
