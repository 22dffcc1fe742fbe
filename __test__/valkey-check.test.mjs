// Issue 19, "told when behind": scripts/build/valkey/check-debian.mjs (is the bundled Valkey
// behind Debian's?), its place in `npm test` (scripts/dev.mjs: printed, never fatal) and
// in the release rehearsal (scripts/release/valkey-gate.mjs: no publishing while it
// warns, unless overridden with a reason). Offline: Debian's real index stanzas and
// changelogs are in fixtures/debian-valkey/ (see its README), and the command-line
// checks run against a Debian mirror served here on loopback, its InRelease files signed
// with a throwaway key, its .debs built here around the real changelogs.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import {
  compareVersions, classify, binariesOf, sourcesOf, parseDebianChangelog, parseReleaseNotes, idsIn,
  fixedUpTo, fixesBeyond, securityFixesBeyond, decide, parseArgs, UsageError, EXIT,
} from '../scripts/build/valkey/check-debian.mjs'
import { parseOverride, valkeyGate, runValkeyCheck, OVERRIDE_ENV } from '../scripts/release/valkey-gate.mjs'
import { freePort } from '../scripts/lib/free-port.mjs'

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const FIX = path.join(ROOT, '__test__', 'fixtures', 'debian-valkey')
const CHECK = path.join(ROOT, 'scripts', 'build', 'valkey', 'check-debian.mjs')
const fixture = (name) => fs.readFileSync(path.join(FIX, name), 'utf8')
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0

const U2 = '8.1.1+dfsg1-3+deb13u2'
const U3 = '8.1.1+dfsg1-3+deb13u3'
const V912 = '9.1.2-1'
// source.json's patches.cves of the 8.1.1+deb13u2 bundle
const U2_CVES = ['CVE-2025-27151', 'CVE-2025-49112', 'CVE-2025-32023', 'CVE-2025-48367', 'CVE-2025-49844', 'CVE-2025-46817', 'CVE-2025-46818', 'CVE-2025-46819', 'CVE-2025-67733', 'CVE-2026-21863']
// what deb13u3's changelog entry adds, in its order
const U3_NEW = ['CVE-2026-56684', 'CVE-2026-63639', 'CVE-2026-82631', 'CVE-2026-82677', 'CVE-2026-23479', 'CVE-2026-23631', 'CVE-2026-25243']
// a 9.1.2-1 bundle's list (as the 9.1.2 move writes it)
const V912_CVES = ['CVE-2026-82631', 'CVE-2026-82677', 'CVE-2026-85522', 'CVE-2026-86227', 'CVE-2026-63639', 'CVE-2026-56684', 'CVE-2025-67733', 'CVE-2026-21863',
  'CVE-2025-49844', 'CVE-2025-46817', 'CVE-2025-46818', 'CVE-2025-46819', 'CVE-2025-32023', 'CVE-2025-48367', 'CVE-2025-49112', 'CVE-2025-27151', 'CVE-2025-21605',
  'CVE-2024-46981', 'CVE-2024-51741', 'CVE-2026-23479', 'CVE-2026-23631', 'CVE-2026-25243']
const V912_GHSA = ['GHSA-jcj7-v34w-v9vv', 'GHSA-fq2f-crmw-q97r']

const texts = {
  [U3]: { changelogText: fixture(`valkey-server_${U3}.changelog.Debian`), releaseNotesText: fixture(`valkey-server_${U3}.changelog.excerpt`) },
  [V912]: { changelogText: fixture(`valkey-server_${V912}.changelog.Debian`), releaseNotesText: fixture(`valkey-server_${V912}.changelog.excerpt`) },
}
// A synthetic later security update of the 8.1 line (not a real upload): deb13u3's real
// changelog with one more entry on top, naming a CVE no one has.
const U4 = '8.1.1+dfsg1-3+deb13u4'
const U4_CVE = 'CVE-2099-12345'
texts[U4] = {
  changelogText: `valkey (${U4}) trixie-security; urgency=medium\n\n  * Fix ${U4_CVE}\n    A made-up use-after-free, for this test only.\n    - d/p/${U4_CVE}.patch\n\n -- Test <test@invalid>  Sun, 06 Dec 2026 10:00:00 +0000\n\n${texts[U3].changelogText}`,
  releaseNotesText: texts[U3].releaseNotesText,
}

// ------------------------------------------------------------------------------ versions
describe('Debian version ordering (dpkg\'s)', () => {
  // [a, b, sign of compare(a, b)]
  const cases = [
    [U3, U2, 1],
    ['8.1.1+dfsg1-3+deb13u10', '8.1.1+dfsg1-3+deb13u9', 1],          // numbers, not strings
    ['8.1.1+dfsg1-3+deb13u1', '8.1.1+dfsg1-3', 1],                    // a security update is newer than its base
    ['8.1.1+dfsg1-3.1', U2, 1],                                        // '.' sorts after '+'
    ['8.1.1+dfsg1-4', '8.1.1+dfsg1-3+deb13u9', 1],
    ['8.1.1+dfsg1-1', '8.1.1-1', 1],                                   // +dfsg repack is newer than the bare release
    ['8.1.4+dfsg1-1', U3, 1],
    [V912, U3, 1],
    ['9.1.0~rc1-1', '9.1.0-1', -1],                                    // ~ sorts before everything, even the end
    ['9.1.0~rc2-1', '9.1.0~rc1-1', 1],
    ['9.1.0~~', '9.1.0~', -1],
    ['8.0.1+dfsg1-1~bpo12+1', '8.0.1+dfsg1-1', -1],                   // a backport is older than what it backports
    ['8.0.1+dfsg1-1~bpo12+1', U2, -1],
    ['1:7.2.5-1', V912, 1],                                            // the epoch wins
    ['0:9.1.2-1', V912, 0],                                            // epoch 0 is no epoch
    ['9.1.2-01', V912, 0],                                             // leading zeros
    ['9.1.2a-1', '9.1.2-1', 1],
    ['9.1.2-1', '9.1.2', 1],                                           // no revision < a revision
    ['9.1.10-1', '9.1.9-1', 1],
  ]
  test('the edge cases: epochs, ~, +dfsg, +debNuN, ~bpo, leading zeros', () => {
    for (const [a, b, want] of cases) {
      assert.equal(Math.sign(compareVersions(a, b)), want, `${a} vs ${b}`)
      assert.equal(Math.sign(compareVersions(b, a)), -want || 0, `${b} vs ${a}`)
    }
  })
  test('agrees with dpkg --compare-versions', { skip: !which('dpkg') && 'no dpkg here' }, () => {
    for (const [a, b] of cases) {
      const lt = spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0
      const eq = spawnSync('dpkg', ['--compare-versions', a, 'eq', b]).status === 0
      assert.equal(Math.sign(compareVersions(a, b)), lt ? -1 : eq ? 0 : 1, `${a} vs ${b}`)
    }
  })
  test('classify: a security revision, a newer release of the line, a newer line, older', () => {
    assert.deepEqual(classify(U3, U2), { relation: 'newer', line: '8.1', kind: 'revision' })
    assert.deepEqual(classify('8.1.4+dfsg1-1', U2), { relation: 'newer', line: '8.1', kind: 'same-line' })
    assert.deepEqual(classify(V912, U2), { relation: 'newer', line: '9.1', kind: 'newer-line' })
    assert.deepEqual(classify('1:7.2.5-1', U2), { relation: 'newer', line: '7.2', kind: 'other' })
    assert.deepEqual(classify('8.0.1+dfsg1-1~bpo12+1', U2), { relation: 'older', line: '8.0' })
    assert.deepEqual(classify(U3, V912), { relation: 'older', line: '8.1' })
    assert.deepEqual(classify(V912, V912), { relation: 'same', line: '9.1' })
  })
})

// ------------------------------------------------------------------------------ indexes
describe('Debian\'s Packages and Sources stanzas (real excerpts)', () => {
  test('trixie-security: the three valkey binaries of deb13u3, not their neighbours', () => {
    const bins = binariesOf(fixture('trixie-security_Packages'), 'valkey')
    assert.deepEqual(bins.map((b) => b.package).sort(), ['valkey-sentinel', 'valkey-server', 'valkey-tools'])
    for (const b of bins) {
      assert.equal(b.sourceVersion, U3)
      assert.equal(b.architecture, 'amd64')
      assert.match(b.filename, /^pool\/updates\/main\/v\/valkey\/valkey-[a-z]+_8\.1\.1\+dfsg1-3\+deb13u3_amd64\.deb$/)
      assert.match(b.sha256, /^[0-9a-f]{64}$/)
      assert.ok(b.size > 0)
    }
  })
  test('each suite\'s version, from Packages and from Sources', () => {
    const want = { 'trixie-security': U3, trixie: U3, sid: V912, 'bookworm-backports': '8.0.1+dfsg1-1~bpo12+1' }
    for (const [suite, version] of Object.entries(want)) {
      assert.deepEqual([...new Set(binariesOf(fixture(`${suite}_Packages`), 'valkey').map((b) => b.sourceVersion))], [version], suite)
      const src = sourcesOf(fixture(`${suite}_Sources`), 'valkey')
      assert.deepEqual(src.map((s) => s.version), [version], suite)
    }
    const [sid] = sourcesOf(fixture('sid_Sources'), 'valkey')
    assert.deepEqual(sid.files.map((f) => f.name), ['valkey_9.1.2-1.dsc', 'valkey_9.1.2.orig.tar.gz', 'valkey_9.1.2-1.debian.tar.xz'])
    assert.equal(sid.directory, 'pool/main/v/valkey')
    assert.equal(sourcesOf(fixture('trixie-security_Sources'), 'valkey')[0].directory, 'pool/updates/main/v/valkey')
    assert.deepEqual(binariesOf(fixture('sid_Packages'), 'valkey-tools'), [], 'a binary package name is not a source package')
  })
})

// ------------------------------------------------------------------------------ changelogs
describe('CVEs from the real changelogs', () => {
  test('deb13u3 over the deb13u2 bundle: the 7 CVEs its entry adds, each with its description', () => {
    const entries = parseDebianChangelog(texts[U3].changelogText)
    assert.deepEqual(entries.slice(0, 3).map((e) => [e.version, e.distribution]), [[U3, 'trixie-security'], [U2, 'trixie-security'], ['8.1.1+dfsg1-3+deb13u1', 'trixie-security']])
    const fixed = new Set([...U2_CVES, ...fixedUpTo(U2, texts[U3])])
    const r = fixesBeyond(U2, fixed, texts[U3])
    assert.deepEqual(r.changelog.entries.map((e) => e.version), [U3])
    assert.deepEqual(r.fixesBeyondBundle, U3_NEW)
    const by = Object.fromEntries(r.changelog.cves.map((c) => [c.id, c.description]))
    assert.equal(by['CVE-2026-82631'], 'A server-side use-after-free can occur in handleClientsBlockedOnKey.')
    assert.equal(by['CVE-2026-82677'], 'A server-side double free can occur in moduleTimerHandler.')
    assert.match(by['CVE-2026-56684'], /^Valkey's tlsProcessPendingData function/)
    assert.deepEqual(r.releaseNotes.releases, [], 'no upstream release newer than 8.1.1 in the 8.1 notes')
  })
  test('the bundle\'s own history counts as fixed: entries up to its version, upstream releases up to its own', () => {
    const fixed = fixedUpTo(U2, texts[U3])
    for (const id of [...U2_CVES, 'CVE-2025-21605', 'CVE-2024-46981', 'CVE-2024-51741']) assert.ok(fixed.has(id), id)
    for (const id of U3_NEW) assert.ok(!fixed.has(id), id)
    const own = fixedUpTo(V912, texts[V912])
    for (const id of [...V912_CVES, ...V912_GHSA]) assert.ok(own.has(id), id)
  })
  test('9.1.2-1 over the deb13u2 bundle: Debian\'s changelog and upstream\'s notes, GHSAs too', () => {
    const fixed = new Set([...U2_CVES, ...fixedUpTo(U2, texts[U3]), ...fixedUpTo(U2, texts[V912])])
    const r = fixesBeyond(U2, fixed, texts[V912])
    assert.deepEqual(r.changelog.entries.map((e) => e.version), [V912, '9.1.1-1', '8.1.4+dfsg1-2', '8.1.4+dfsg1-1'])
    assert.deepEqual(r.releaseNotes.releases, ['9.1.2', '9.1.1', '9.1.0', '9.1.0~rc2', '9.1.0~rc1'])
    assert.deepEqual([...r.fixesBeyondBundle].sort(), [...U3_NEW, 'CVE-2026-85522', 'CVE-2026-86227', ...V912_GHSA].sort())
    const c = r.changelog.cves.find((x) => x.id === 'CVE-2026-85522')
    assert.equal(c.description, null)
    assert.equal(c.namedIn, 'New upstream version 9.1.2')
    assert.match(r.changelog.cves.find((x) => x.id === 'CVE-2026-63639').upstreamDescription, /shared NACK/)
  })
  test('release notes: headers with GA, -rcN and RCN; ids normalised', () => {
    const notes = parseReleaseNotes(texts[V912].releaseNotesText)
    assert.deepEqual(notes.map((s) => s.release), ['9.1.2', '9.1.1', '9.1.0', '9.1.0~rc2', '9.1.0~rc1'])
    assert.deepEqual(notes[0].ids.map((x) => x.id), V912_GHSA)
    assert.deepEqual(notes[2].ids.map((x) => x.id), ['CVE-2026-23479', 'CVE-2026-25243', 'CVE-2026-23631'])
    assert.deepEqual(parseReleaseNotes('Valkey 8.1.0 RC2  -  Released Thu 20 March 2025\n* (CVE-2025-1) x\n').map((s) => s.release), ['8.1.0~rc2'])
    assert.deepEqual(idsIn('fixes ghsa-JCJ7-v34w-v9vv and CVE-2026-1234, CVE-2026-1234'), ['CVE-2026-1234', 'GHSA-jcj7-v34w-v9vv'])
  })
  test('an older security update: only its security entries, less what the bundle fixes', () => {
    const fixed = new Set([...V912_CVES, ...V912_GHSA, ...fixedUpTo(V912, texts[V912])])
    assert.deepEqual(securityFixesBeyond(fixed, texts[U3]), [])
    assert.deepEqual(securityFixesBeyond(fixed, texts[U4]).map((c) => c.id), [U4_CVE])
    const less = new Set([...fixed].filter((id) => id !== 'CVE-2026-25243'))
    assert.deepEqual(securityFixesBeyond(less, texts[U3]).map((c) => c.id), ['CVE-2026-25243'])
  })
})

// ------------------------------------------------------------------------------ options, exit status
describe('strict mode and the override', () => {
  test('exit status: 0 without --strict; 3 behind, 4 incomplete; an override with a reason makes it 0', () => {
    const behind = { outdated: true, incomplete: false }, unknown = { outdated: false, incomplete: true }, both = { outdated: true, incomplete: true }, ok = { outdated: false, incomplete: false }
    assert.equal(decide(behind, {}).exit, EXIT.OK)
    assert.equal(decide(unknown, {}).exit, EXIT.OK)
    assert.equal(decide(ok, { strict: true }).exit, EXIT.OK)
    assert.equal(decide(behind, { strict: true }).exit, EXIT.OUTDATED)
    assert.equal(decide(both, { strict: true }).exit, EXIT.OUTDATED)
    assert.equal(decide(unknown, { strict: true }).exit, EXIT.INCOMPLETE)
    assert.deepEqual(decide(behind, { strict: true, override: 'why' }), { exit: EXIT.OK, overridden: true, would: EXIT.OUTDATED })
    assert.deepEqual(decide(unknown, { strict: true, override: 'why' }), { exit: EXIT.OK, overridden: true, would: EXIT.INCOMPLETE })
    assert.equal(decide(behind, { strict: true, override: '  ' }).exit, EXIT.OUTDATED, 'a blank reason is no override')
  })
  test('the override needs a reason: flag, flag=, environment; empty flag refused, empty variable ignored', () => {
    assert.equal(parseArgs(['--strict', '--override', ' lab only '], {}).override, 'lab only')
    assert.equal(parseArgs(['--override=a=b'], {}).override, 'a=b')
    assert.throws(() => parseArgs(['--override', ''], {}), UsageError)
    assert.throws(() => parseArgs(['--override=  '], {}), UsageError)
    assert.throws(() => parseArgs(['--override'], {}), UsageError)
    assert.throws(() => parseArgs(['--override', '--strict'], {}), UsageError, 'the next flag is not a reason')
    assert.throws(() => parseArgs(['--bogus'], {}), UsageError)
    const env = parseArgs(['--strict'], { CMS_ALLOW_OUTDATED_VALKEY: 'known, tracked in #19' })
    assert.deepEqual([env.override, env.overrideFrom], ['known, tracked in #19', 'CMS_ALLOW_OUTDATED_VALKEY'])
    const blank = parseArgs(['--strict'], { CMS_ALLOW_OUTDATED_VALKEY: ' ' })
    assert.equal(blank.override, null)
    assert.match(blank.notes.join('\n'), /set but empty: ignored/)
    assert.equal(parseArgs([], {}).manifest, path.join(ROOT, 'scripts', 'build', 'valkey', 'source.json'))
  })
  test('the check reads the bundle from source.json, nothing hard-coded', () => {
    const src = fs.readFileSync(CHECK, 'utf8').split('\n').filter((l) => !l.trimStart().startsWith('//')).join('\n')
    assert.doesNotMatch(src, /8\.1\.1|deb13u\d|9\.1\.2/)
  })
})

// ------------------------------------------------------------------------------ a mirror on loopback
const SUITES = ['trixie', 'trixie-security', 'trixie-updates', 'trixie-backports', 'bookworm-backports', 'sid', 'experimental'] // forky: absent (404)
const archiveOf = (suite) => (suite === 'trixie-security' ? 'debian-security' : 'debian')
const sha = (b) => createHash('sha256').update(b).digest('hex')
const canSign = which('gpg') && which('gpgv') && which('tar')

function arArchive(members) {
  const parts = [Buffer.from('!<arch>\n')]
  for (const [name, data] of members) {
    parts.push(Buffer.from(`${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(data.length).padEnd(10)}\`\n`, 'latin1'), data)
    if (data.length % 2) parts.push(Buffer.from('\n'))
  }
  return Buffer.concat(parts)
}
// A valkey-server .deb holding the given changelogs, as Debian lays them out.
function buildDeb(dir, version, { changelogText, releaseNotesText }) {
  const tree = path.join(dir, `tree-${version}`), doc = path.join(tree, 'usr', 'share', 'doc', 'valkey-server')
  fs.mkdirSync(doc, { recursive: true })
  fs.writeFileSync(path.join(doc, 'changelog.Debian.gz'), zlib.gzipSync(changelogText))
  fs.writeFileSync(path.join(doc, 'changelog.gz'), zlib.gzipSync(releaseNotesText))
  fs.symlinkSync('changelog.gz', path.join(doc, '00-RELEASENOTES.gz'))
  const ctl = path.join(dir, `control-${version}`)
  fs.mkdirSync(ctl)
  fs.writeFileSync(path.join(ctl, 'control'), `Package: valkey-server\nSource: valkey\nVersion: ${version}\nArchitecture: amd64\nMaintainer: Test <test@invalid>\nDescription: test\n`)
  const tgz = (from, what) => execFileSync('tar', ['-czf', '-', '--owner=0', '--group=0', '-C', from, what])
  return arArchive([['debian-binary', Buffer.from('2.0\n')], ['control.tar.gz', tgz(ctl, './control')], ['data.tar.gz', tgz(tree, './usr')]])
}
// Packages text with the valkey-server stanzas pointing at our .debs (sha256, size).
function withDebs(packages, debs) {
  return packages.split('\n\n').map((st) => {
    if (!/^Package: valkey-server$/m.test(st)) return st
    const deb = debs[st.match(/^Version: (.+)$/m)[1]]
    return deb ? st.replace(/^SHA256: .*$/m, `SHA256: ${sha(deb)}`).replace(/^Size: .*$/m, `Size: ${deb.length}`) : st
  }).join('\n\n')
}

function mirrorContent(S, scenario) {
  const files = new Map()   // url path -> Buffer
  const debs = { ...S.debs }
  const pk = { trixie: fixture('trixie_Packages'), 'trixie-security': fixture('trixie-security_Packages'), sid: fixture('sid_Packages'), 'bookworm-backports': fixture('bookworm-backports_Packages') }
  const so = { trixie: fixture('trixie_Sources'), 'trixie-security': fixture('trixie-security_Sources'), sid: fixture('sid_Sources'), 'bookworm-backports': fixture('bookworm-backports_Sources') }
  if (scenario.u4) {
    // the synthetic deb13u4: deb13u3's valkey-server stanza with the version changed
    const st = pk['trixie-security'].split('\n\n').find((x) => /^Package: valkey-server$/m.test(x))
    pk['trixie-security'] = pk['trixie-security'].replace(st, st.replaceAll(U3, U4).replaceAll('deb13u3', 'deb13u4'))
  }
  for (const suite of SUITES) {
    const base = `/${archiveOf(suite)}/dists/${suite}`
    const packages = Buffer.from(withDebs(pk[suite] || '', debs))
    const sources = Buffer.from(so[suite] || '')
    const listed = { 'main/binary-amd64/Packages': packages, 'main/binary-amd64/Packages.gz': zlib.gzipSync(packages), 'main/source/Sources.gz': zlib.gzipSync(sources) }
    for (const [rel, body] of Object.entries(listed)) files.set(`${base}/${rel}`, body)
    if (scenario.badHash === suite) {
      // neither variant the InRelease lists is what it signed
      const other = Buffer.concat([packages, Buffer.from('\n')])
      files.set(`${base}/main/binary-amd64/Packages`, other)
      files.set(`${base}/main/binary-amd64/Packages.gz`, zlib.gzipSync(other))
    }
    const date = new Date()
    const release = [`Origin: Debian`, `Label: Debian`, `Suite: ${suite}`, `Codename: ${suite}`, `Date: ${date.toUTCString()}`,
      `Valid-Until: ${new Date(+date + 7 * 86400e3).toUTCString()}`, 'Architectures: amd64', 'Components: main', 'SHA256:',
      ...Object.entries(listed).map(([rel, body]) => ` ${sha(body)} ${String(body.length).padStart(9)} ${rel}`)].join('\n') + '\n'
    let signed = S.sign(release)
    if (scenario.tamper === suite) signed = Buffer.from(signed.toString().replace('Suite: ', 'Suite:  '))
    files.set(`${base}/InRelease`, signed)
  }
  for (const [version, deb] of Object.entries(debs)) {
    // a security update is in both archives' pools (trixie lists it too), the others in the main one
    const bin = `valkey-server_${version}_amd64.deb`
    files.set(`/debian/pool/main/v/valkey/${bin}`, deb)
    if (version.includes('deb13u')) files.set(`/debian-security/pool/updates/main/v/valkey/${bin}`, deb)
  }
  // the pools' source files: 9.1.2-1's all there; deb13u3's .dsc and debian.tar.xz gone (as in Debian today)
  for (const f of ['valkey_9.1.2-1.dsc', 'valkey_9.1.2.orig.tar.gz', 'valkey_9.1.2-1.debian.tar.xz', 'valkey_8.1.1+dfsg1.orig.tar.xz']) files.set(`/debian/pool/main/v/valkey/${f}`, Buffer.from('x'))
  return files
}

function manifest(dir, name, version, cves, advisories = []) {
  const f = path.join(dir, `${name}.json`)
  fs.writeFileSync(f, JSON.stringify({ name: 'valkey', version: version.replace(/\+dfsg.*|-.*$/g, ''), debian: { package: 'valkey', version }, patches: { debian: version, cves, advisories } }))
  return f
}

// the CLI, asynchronously (the mirror is served by this process)
function runCli(args, env = {}, script = CHECK) {
  return new Promise((resolve) => {
    const e = { ...process.env, ...env }
    for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k]
    const p = spawn(process.execPath, [script, ...args], { cwd: ROOT, env: e, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = '', stderr = ''
    p.stdout.on('data', (b) => (stdout += b))
    p.stderr.on('data', (b) => (stderr += b))
    p.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

describe('the check against a Debian mirror on loopback', { skip: !canSign && 'needs gpg, gpgv and tar' }, () => {
  const S = {}
  let server, tmp, gnupg
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-valkey-check-'))
    gnupg = path.join(tmp, 'gnupg')
    fs.mkdirSync(gnupg, { mode: 0o700 })
    const gpg = (args, input) => execFileSync('gpg', ['--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { input, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GNUPGHOME: gnupg } })
    gpg(['--quick-gen-key', 'cms test archive <test@invalid>', 'ed25519', 'sign', 'never'])
    S.keyring = path.join(tmp, 'test-archive.gpg')
    fs.writeFileSync(S.keyring, gpg(['--export']))
    S.otherKeyring = path.join(tmp, 'empty.gpg')
    fs.writeFileSync(S.otherKeyring, '')
    S.sign = (text) => gpg(['--clearsign', '--digest-algo', 'SHA256'], text)
    S.debs = Object.fromEntries([U3, V912].map((v) => [v, buildDeb(tmp, v, texts[v])]))
    S.debs[U4] = buildDeb(tmp, U4, texts[U4])
    S.manifests = {
      u2: manifest(tmp, 'u2', U2, U2_CVES),
      u3: manifest(tmp, 'u3', U3, [...U2_CVES, ...U3_NEW]),
      v912: manifest(tmp, 'v912', V912, V912_CVES, V912_GHSA),
    }
    S.scenario = {}
    server = http.createServer((req, res) => {
      const files = S.files
      const body = files.get(decodeURIComponent(new URL(req.url, 'http://x').pathname))
      res.writeHead(body ? 200 : 404, { 'content-length': body ? body.length : 0 })
      res.end(req.method === 'HEAD' || !body ? undefined : body)
    })
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    S.base = `http://127.0.0.1:${server.address().port}`
  })
  after(async () => {
    await new Promise((r) => server?.close(r) ?? r())
    // the gpg-agent that signing started, by its own home directory
    if (gnupg) spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: gnupg } })
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })
  const env = (extra = {}) => ({
    CMS_DEBIAN_MIRROR: `${S.base}/debian`, CMS_DEBIAN_SECURITY_MIRROR: `${S.base}/debian-security`, CMS_DEBIAN_KEYRING: S.keyring,
    CMS_DEBIAN_CHECK_CACHE: fs.mkdtempSync(path.join(tmp, 'cache-')), CMS_DEBIAN_CHECK_TIMEOUT: '10',
    // unset: an override from the caller's environment, and proxies (the mirror is on loopback)
    CMS_ALLOW_OUTDATED_VALKEY: undefined, http_proxy: undefined, HTTP_PROXY: undefined, https_proxy: undefined, HTTPS_PROXY: undefined, all_proxy: undefined, ALL_PROXY: undefined,
    ...extra,
  })
  const serve = (scenario = {}) => { S.files = mirrorContent(S, scenario) }
  const check = (args, extra) => runCli(args, env(extra))

  test('today: the deb13u2 bundle is behind (deb13u3 in trixie-security, 9.1.2-1 in sid); --strict exits 3', async () => {
    serve()
    const r = await check(['--manifest', S.manifests.u2, '--strict'])
    assert.equal(r.status, 3, r.stdout + r.stderr)
    assert.match(r.stdout, /^ {2}trixie-security +8\.1\.1\+dfsg1-3\+deb13u3 \[newer: revision\] {2}\(index \d{4}-\d\d-\d\d, signed\)$/m)
    assert.match(r.stdout, /^ {2}sid +9\.1\.2-1 \[newer: newer-line\]/m)
    assert.match(r.stdout, /^ {2}bookworm-backports +8\.0\.1\+dfsg1-1~bpo12\+1 \[older\]/m)
    assert.match(r.stdout, /^ {2}forky +\(does not exist\)$/m)
    const warnings = r.stdout.split('\n').filter((l) => l.startsWith('warning: '))
    assert.equal(warnings.length, 3, warnings.join('\n'))
    assert.match(warnings[0], new RegExp(`newer security revision of the bundle's 8\\.1\\.1\\+dfsg1-3\\+deb13u2, fixes 7 CVEs the bundle lacks: ${U3_NEW.join(', ')}$`))
    assert.match(warnings[1], /deb13u3: its source cannot be downloaded .*valkey_8\.1\.1\+dfsg1-3\+deb13u3\.dsc: 404\/404/)
    assert.match(warnings[2], /valkey 9\.1\.2-1 \(sid\), a newer version, upstream line 9\.1 .*fixes 11 CVEs\/advisories the bundle lacks: .*CVE-2026-85522.*GHSA-fq2f-crmw-q97r/)
    assert.match(r.stdout, /^ {4}CVE-2026-82631 +A server-side use-after-free can occur in handleClientsBlockedOnKey\. {2}\[8\.1\.1\+dfsg1-3\+deb13u3\]$/m, 'the CVE and its changelog description')
    assert.match(r.stdout, new RegExp(`valkey-server_9\\.1\\.2-1_amd64\\.deb: sha256 [0-9a-f]{64} verified against the Packages index; read with ${which('dpkg-deb') ? 'dpkg-deb --fsys-tarfile' : 'ar\\+tar'}`))
    assert.doesNotMatch(r.stdout, /dpkg-deb failed/)
    assert.match(r.stdout, /=> vs 8\.1\.1\+dfsg1-3\+deb13u3: has all of its fixes; has 4 more/)
    assert.match(r.stdout, /^result: BEHIND Debian \(3 warning\(s\)\); strict; exit 3/m)
    const brief = await check(['--manifest', S.manifests.u2, '--brief'])
    assert.equal(brief.status, 0, 'without --strict it only warns')
    assert.doesNotMatch(brief.stdout, /^newer:/m)
    assert.equal(brief.stdout.split('\n').filter((l) => l.startsWith('warning: ')).length, 3)
  })

  test('--json: the same facts', async () => {
    serve()
    const r = await check(['--manifest', S.manifests.u2, '--json', '--strict'])
    assert.equal(r.status, 3)
    const j = JSON.parse(r.stdout)
    assert.equal(j.status, 'behind')
    assert.equal(j.bundle.version, U2)
    assert.deepEqual(j.newer.map((v) => [v.version, v.kind]), [[U3, 'revision'], [V912, 'newer-line']])
    assert.deepEqual(j.newer[0].fixesBeyondBundle, U3_NEW)
    assert.equal(j.newer[0].source.downloadable, false)
    assert.equal(j.newer[1].source.downloadable, true)
    assert.ok(j.suites.filter((s) => !s.absent).every((s) => s.verified), 'every InRelease verified')
    assert.equal(j.exitCode, 3)
  })

  test('the override: a reason turns --strict\'s 3 into 0 and is printed; an empty one is refused', async () => {
    serve()
    const flag = await check(['--manifest', S.manifests.u2, '--strict', '--override', 'rehearsal on loopback only'])
    assert.equal(flag.status, 0, flag.stdout)
    assert.match(flag.stdout, /^override \(--override\): "rehearsal on loopback only" — accepting 3 warning\(s\); without it --strict would exit 3$/m)
    const fromEnv = await check(['--manifest', S.manifests.u2, '--strict', '--brief'], { CMS_ALLOW_OUTDATED_VALKEY: 'tracked in issue 19' })
    assert.equal(fromEnv.status, 0)
    assert.match(fromEnv.stdout, /override \(CMS_ALLOW_OUTDATED_VALKEY\): "tracked in issue 19"/)
    const empty = await check(['--manifest', S.manifests.u2, '--strict', '--override', ''])
    assert.equal(empty.status, 2)
    assert.match(empty.stderr, /--override needs a reason/)
    const blankEnv = await check(['--manifest', S.manifests.u2, '--strict', '--brief'], { CMS_ALLOW_OUTDATED_VALKEY: '   ' })
    assert.equal(blankEnv.status, 3)
    assert.match(blankEnv.stdout, /note: CMS_ALLOW_OUTDATED_VALKEY is set but empty: ignored/)
  })

  test('a newer upstream version in sid only (the bundle at deb13u3): behind by what 9.1.2 adds', async () => {
    serve()
    const r = await check(['--manifest', S.manifests.u3, '--strict', '--brief'])
    assert.equal(r.status, 3, r.stdout)
    assert.match(r.stdout, /^ {2}trixie-security +8\.1\.1\+dfsg1-3\+deb13u3 \[same\]/m)
    const warnings = r.stdout.split('\n').filter((l) => l.startsWith('warning: '))
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(warnings[0], /9\.1\.2-1 \(sid\), a newer version, .*fixes 4 CVEs\/advisories the bundle lacks: CVE-2026-85522, CVE-2026-86227, GHSA-jcj7-v34w-v9vv, GHSA-fq2f-crmw-q97r$/)
  })

  test('up to date: a 9.1.2-1 bundle; trixie-security\'s older deb13u3 names nothing it lacks; built-in .deb reader', async () => {
    serve()
    const r = await check(['--manifest', S.manifests.v912, '--strict', '--json'], { CMS_DEBIAN_CHECK_NO_DPKG: '1' })
    assert.equal(r.status, 0, r.stdout)
    const j = JSON.parse(r.stdout)
    assert.equal(j.status, 'up to date')
    assert.deepEqual(j.warnings, [])
    assert.deepEqual(j.newer, [])
    assert.deepEqual(j.same.map((v) => [v.version, v.deb.extractedWith]), [[V912, 'ar+tar (built-in; data.tar.gz)']])
    assert.deepEqual(j.olderSecurity.map((v) => [v.version, v.securityFixesBeyondBundle]), [[U3, []]])
    const text = await check(['--manifest', S.manifests.v912, '--strict'])
    assert.match(text.stdout, /^no Debian valkey is newer than the bundle's 9\.1\.2-1$/m)
    assert.match(text.stdout, /^result: up to date with Debian; strict; exit 0/m)
  })

  test('an older security update naming a CVE the bundle lacks (synthetic deb13u4) warns', async () => {
    serve({ u4: true })
    const r = await check(['--manifest', S.manifests.v912, '--strict', '--brief'])
    assert.equal(r.status, 3, r.stdout)
    assert.match(r.stdout, new RegExp(`warning: valkey 8\\.1\\.1\\+dfsg1-3\\+deb13u4 \\(trixie-security\\) is older than the bundle's 9\\.1\\.2-1, but its security updates name 1 CVE the bundle is not known to fix: ${U4_CVE}`))
  })

  test('could not check: no network is a warning (exit 0), --strict exits 4; nothing crashes', async () => {
    const closed = await freePort()
    const off = { CMS_DEBIAN_MIRROR: `http://127.0.0.1:${closed}/debian`, CMS_DEBIAN_SECURITY_MIRROR: `http://127.0.0.1:${closed}/debian-security` }
    const r = await check(['--manifest', S.manifests.u2], off)
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.equal(r.stderr, '')
    assert.match(r.stdout, /^warning: could not check: Debian's archives could not be reached, so whether the bundle is behind is unknown \(could not reach .*ECONNREFUSED/m)
    assert.match(r.stdout, /^result: COULD NOT CHECK \(1 warning\(s\)\); not strict; exit 0/m)
    assert.equal((await check(['--manifest', S.manifests.u2, '--strict'], off)).status, 4)
  })

  test('what it reads is verified: a tampered InRelease, an unknown key, a Packages file that is not the signed one', async () => {
    serve({ tamper: 'sid' })
    let r = await check(['--manifest', S.manifests.v912, '--strict', '--brief'])
    assert.equal(r.status, 4, r.stdout)
    assert.match(r.stdout, /warning: could not check: sid's InRelease has a BAD signature/)
    assert.match(r.stdout, /^ {2}sid +\(not read: /m)

    serve()
    r = await check(['--manifest', S.manifests.v912, '--strict', '--brief'], { CMS_DEBIAN_KEYRING: S.otherKeyring })
    assert.equal(r.status, 4, r.stdout)
    assert.match(r.stdout, /warning: could not check: trixie's InRelease signature: no good signature: signed only by key [0-9A-F]+, not in /)
    assert.match(r.stdout, /signature NOT verified/)

    serve({ badHash: 'trixie-security' })
    r = await check(['--manifest', S.manifests.v912, '--strict', '--brief'])
    assert.equal(r.status, 4, r.stdout)
    assert.match(r.stdout, /warning: could not check: could not read trixie-security's main\/binary-amd64\/Packages \(main\/binary-amd64\/Packages\.gz: sha256 [0-9a-f]+ is not the InRelease's/)
  })

  test('npm test\'s step (dev.mjs check-valkey) prints the report and never fails, behind or unreachable', async () => {
    serve()
    let r = await runCli(['check-valkey'], env(), path.join(ROOT, 'scripts', 'dev.mjs'))
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /^valkey-debian-check: bundle = valkey /m)
    assert.match(r.stdout, /^result: (BEHIND Debian|up to date with Debian)/m, 'the repository\'s own source.json, whichever it is')
    const closed = await freePort()
    r = await runCli(['check-valkey'], env({ CMS_DEBIAN_MIRROR: `http://127.0.0.1:${closed}/d`, CMS_DEBIAN_SECURITY_MIRROR: `http://127.0.0.1:${closed}/s`, GITHUB_ACTIONS: 'true' }), path.join(ROOT, 'scripts', 'dev.mjs'))
    assert.equal(r.status, 0)
    assert.match(r.stdout, /^::warning title=valkey vs Debian::could not check: /m)
    assert.match(r.stderr, /valkey vs Debian \(checked at the start of this run; npm test's result does not depend on it\): COULD NOT CHECK \(1 warning\(s\)\)\n {2}warning: could not check: /)
  })

  test('the rehearsal\'s gate with the real check: refuses while behind; an override (flag or env) lets it publish', async () => {
    serve()
    const runCheck = (o) => runValkeyCheck({ ...o, args: ['--manifest', S.manifests.u2] })
    const logs = []
    const refused = await valkeyGate({ argv: [], env: { ...process.env, ...env() }, log: (l) => logs.push(l), runCheck })
    assert.equal(refused.publish, false)
    assert.equal(refused.status, 'behind')
    assert.equal(refused.exitCode, 3)
    assert.equal(refused.warnings.length, 3)
    assert.match(refused.message, /^refusing to publish: the bundled valkey is behind Debian .*--allow-outdated-valkey "<reason>"/)
    assert.ok(logs.some((l) => /^ {2}result: BEHIND Debian/.test(l)), 'the check\'s report is in the log')

    const viaEnv = await valkeyGate({ argv: [], env: { ...process.env, ...env(), [OVERRIDE_ENV]: 'loopback registry only' }, log: () => {}, runCheck })
    assert.equal(viaEnv.exitCode, 3, 'the child does not see the variable: its exit status says what it found')
    assert.equal(viaEnv.publish, true)
    assert.deepEqual([viaEnv.override, viaEnv.overrideFrom], ['loopback registry only', OVERRIDE_ENV])

    serve()
    const upToDate = await valkeyGate({ argv: [], env: { ...process.env, ...env() }, log: () => {}, runCheck: (o) => runValkeyCheck({ ...o, args: ['--manifest', S.manifests.v912] }) })
    assert.deepEqual([upToDate.publish, upToDate.status], [true, 'up to date'])
  })
})

// ------------------------------------------------------------------------------ the rehearsal's gate
describe('the release rehearsal refuses to publish while the check warns', () => {
  const fake = (exitCode, warnings = ['valkey X fixes CVE-1']) => { const calls = []; const f = async (o) => { calls.push(o); return { exitCode, warnings, timedOut: false } }; f.calls = calls; return f }
  const gate = async (argv, env, runCheck) => { const log = []; const r = await valkeyGate({ argv, env, log: (l) => log.push(l), runCheck }); return { ...r, log: log.join('\n') } }

  test('behind, no override: refused, saying how to override', async () => {
    const r = await gate([], {}, fake(3))
    assert.equal(r.publish, false)
    assert.match(r.message, /refusing to publish: the bundled valkey is behind Debian \(check-debian --strict: exit 3; the warnings above\)\. Update scripts\/build\/valkey\/source\.json .*--allow-outdated-valkey "<reason>" \(or CMS_ALLOW_OUTDATED_VALKEY="<reason>"\)/)
    assert.match(r.log, /refusing to publish/)
  })
  test('could not check (exit 4, a crash, a timeout): refused too', async () => {
    for (const res of [{ exitCode: 4 }, { exitCode: 1 }, { exitCode: null, timedOut: true }]) {
      const r = await gate([], {}, async () => ({ warnings: [], ...res }))
      assert.equal(r.publish, false, JSON.stringify(res))
      assert.match(r.message, /refusing to publish: whether the bundled valkey is behind Debian is unknown/)
    }
  })
  test('behind, with a reason: publishes, and the reason is printed and returned', async () => {
    const r = await gate(['--allow-outdated-valkey', 'test rehearsal: publishing to a loopback registry only'], {}, fake(3))
    assert.equal(r.publish, true)
    assert.deepEqual([r.override, r.overrideFrom], ['test rehearsal: publishing to a loopback registry only', '--allow-outdated-valkey'])
    assert.match(r.log, /publishing although the bundled valkey is behind Debian \(1 warning\(s\) above\): override \(--allow-outdated-valkey\): "test rehearsal: publishing to a loopback registry only"/)
    const eq = await gate(['--allow-outdated-valkey=known'], {}, fake(4))
    assert.equal(eq.publish, true)
    const env = await gate([], { CMS_ALLOW_OUTDATED_VALKEY: ' tracked in #19 ' }, fake(3))
    assert.deepEqual([env.publish, env.override, env.overrideFrom], [true, 'tracked in #19', 'CMS_ALLOW_OUTDATED_VALKEY'])
  })
  test('an empty reason is refused before anything runs; an empty variable is no override', async () => {
    for (const argv of [['--allow-outdated-valkey', ''], ['--allow-outdated-valkey=  '], ['--allow-outdated-valkey'], ['--allow-outdated-valkey', '--x']]) {
      const check = fake(0)
      const r = await gate(argv, {}, check)
      assert.equal(r.publish, false, argv.join(' '))
      assert.match(r.message, /--allow-outdated-valkey needs a reason/)
      assert.equal(check.calls.length, 0, 'the check did not run')
    }
    const r = await gate([], { CMS_ALLOW_OUTDATED_VALKEY: '' }, fake(3))
    assert.equal(r.publish, false)
    assert.match(r.log, /CMS_ALLOW_OUTDATED_VALKEY is set but empty: that is no override/)
    const unknown = await gate(['--publish-anyway'], {}, fake(0))
    assert.equal(unknown.publish, false)
    assert.match(unknown.message, /unknown argument --publish-anyway/)
  })
  test('up to date: publishes (an override is not needed, and says so)', async () => {
    assert.equal((await gate([], {}, fake(0, []))).publish, true)
    const r = await gate(['--allow-outdated-valkey', 'just in case'], {}, fake(0, []))
    assert.equal(r.publish, true)
    assert.match(r.log, /override \(--allow-outdated-valkey\) not needed: "just in case"/)
  })
  test('parseOverride: flag beats environment; other arguments are kept apart', () => {
    assert.deepEqual(parseOverride(['--allow-outdated-valkey', 'a', 'x'], { CMS_ALLOW_OUTDATED_VALKEY: 'b' }), { reason: 'a', from: '--allow-outdated-valkey', rest: ['x'] })
    assert.deepEqual(parseOverride([], { CMS_ALLOW_OUTDATED_VALKEY: 'b' }), { reason: 'b', from: 'CMS_ALLOW_OUTDATED_VALKEY', rest: [] })
    assert.deepEqual(parseOverride([], {}), { reason: null, from: null, rest: [] })
  })
  test('rehearse.mjs asks the gate before it starts the registry, and the release test passes a reason', () => {
    const src = fs.readFileSync(path.join(ROOT, 'scripts', 'release', 'rehearse.mjs'), 'utf8')
    const main = src.slice(src.indexOf('async function main()'))
    assert.ok(main.indexOf('valkeyGate(') >= 0 && main.indexOf('valkeyGate(') < main.indexOf('startRegistry()'), 'the gate comes first')
    assert.match(main, /if \(!gate\.publish\) throw new Error\(gate\.message\)/)
    assert.match(fs.readFileSync(path.join(ROOT, '__test__', 'release.test.mjs'), 'utf8'), /--allow-outdated-valkey', '[^']+'/)
  })
})
