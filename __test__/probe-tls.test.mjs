// probeRedisUrl with rediss:// against a TLS-only redis-server whose certificate
// a private CA (generated here with openssl) signed.

import test from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

import { addon, FLAVORS, freePort, killAndWait, track, waitForPong, tmpDataDir, which, rejectsWithCode, startServer } from './helpers.mjs'

const PASSWORD = 'tl5-Secret-pw'

/** A CA, and a server certificate it signed for 127.0.0.1 and localhost. */
function makeCertificates(dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
    '-subj', '/CN=claude-mem-store test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
  fs.writeFileSync(path.join(dir, 'server.ext'), [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
  ].join('\n'))
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext')
  return { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') }
}

/** A redis-server that speaks TLS only (no plain port), stopped by pid after the test. */
async function startTlsServer(t, certs) {
  const bin = FLAVORS.find((f) => f.flavor === 'redis').bin
  const port = await freePort()
  const dir = tmpDataDir(t)
  const child = spawn(bin, [
    '--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
    '--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca,
    '--tls-auth-clients', 'no', '--requirepass', PASSWORD,
  ], { stdio: 'ignore' })
  track(child.pid)
  t.after(() => killAndWait(child.pid))
  const ca = fs.readFileSync(certs.ca)
  await waitForPong({ port, password: PASSWORD, tls: { ca, servername: 'localhost' } }, `TLS redis-server on port ${port}`)
  return { port, pid: child.pid }
}

test('rediss:// with a private CA: verified with caFile, refused without it', { skip: !which('openssl') && 'openssl missing', timeout: 60000 }, async (t) => {
  const certs = makeCertificates(tmpDataDir(t))
  const server = await startTlsServer(t, certs)

  for (const host of ['127.0.0.1', 'localhost']) {
    const url = `rediss://:${PASSWORD}@${host}:${server.port}`
    const report = await addon.probeRedisUrl(url, { caFile: certs.ca, smoke: true })
    assert.equal(report.ok, true, JSON.stringify(report.checks, null, 2))
    assert.deepEqual(report.checks.slice(0, 3).map((c) => c.name), ['tcp', 'tls', 'auth'])
    assert.match(report.checks[1].detail, /verified against caFile/)
    assert.deepEqual(report.connection.tls, host === 'localhost' ? { servername: 'localhost' } : {}, 'TLS options for ioredis: SNI only for a host name')
    assert.equal(report.url, `rediss://:***@${host}:${server.port}`)
    assert.ok(!JSON.stringify(report).includes(PASSWORD))
  }

  // The system's roots do not know our CA.
  const untrusted = await addon.probeRedisUrl(`rediss://:${PASSWORD}@127.0.0.1:${server.port}`)
  assert.equal(untrusted.ok, false)
  const tls = untrusted.checks.find((c) => c.name === 'tls')
  assert.equal(tls.code, 'E_TLS')
  assert.match(tls.detail, /caFile/)
  assert.ok(!JSON.stringify(untrusted).includes(PASSWORD))

  // Plain redis:// to a TLS-only port: the server hangs up; the fix is named.
  const plain = await addon.probeRedisUrl(`redis://:${PASSWORD}@127.0.0.1:${server.port}`, { timeoutMs: 2000 })
  assert.equal(plain.ok, false)
  const failed = plain.checks.find((c) => c.code)
  assert.ok(['E_UNREACHABLE', 'E_TIMEOUT'].includes(failed.code), JSON.stringify(failed))
  assert.match(failed.detail, /rediss:\/\//)

  // caFile that is not a certificate bundle.
  await rejectsWithCode(assert, addon.probeRedisUrl(`rediss://127.0.0.1:${server.port}`, { caFile: certs.key }), 'E_BAD_OPTION')
})

test('rediss:// to a server without TLS is E_TLS', { skip: !which('openssl') && 'openssl missing' }, async (t) => {
  const server = await startServer(t)
  const report = await addon.probeRedisUrl(`rediss://127.0.0.1:${server.port}`, { timeoutMs: 3000 })
  assert.equal(report.ok, false)
  const tls = report.checks.find((c) => c.name === 'tls')
  assert.ok(tls, JSON.stringify(report.checks))
  assert.ok(['E_TLS', 'E_TIMEOUT'].includes(tls.code), JSON.stringify(tls))
})

test('rediss:// trusts SSL_CERT_FILE (the TLS roots are Mozilla\'s bundle plus the OS store and SSL_CERT_FILE/DIR, on every platform)', { skip: !which('openssl') && 'openssl missing', timeout: 60000 }, async (t) => {
  const certs = makeCertificates(tmpDataDir(t))
  const server = await startTlsServer(t, certs)
  const url = `rediss://:${PASSWORD}@localhost:${server.port}`
  const probe = (env) => JSON.parse(execFileSync(process.execPath, ['-e', `
    require(${JSON.stringify(path.resolve('index.js'))}).probeRedisUrl(${JSON.stringify(url)}, { timeoutMs: 5000 })
      .then((r) => console.log(JSON.stringify(r.checks.find((c) => c.name === 'tls'))))`],
  { encoding: 'utf8', env: { ...process.env, ...env } }))
  const trusted = probe({ SSL_CERT_FILE: certs.ca })
  assert.equal(trusted.ok, true, JSON.stringify(trusted))
  const untrusted = probe({ SSL_CERT_FILE: '/nonexistent.pem' })
  assert.equal(untrusted.ok, false)
  assert.equal(untrusted.code, 'E_TLS')
})
