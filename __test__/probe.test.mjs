// probeRedisUrl against real servers: a correct store (Redis and Valkey), a wrong
// eviction policy, CONFIG refused, wrong and missing passwords, ACL users (also
// ones that may not run Lua or LMOVE, so the smoke test fails midway), a closed
// port, a port that accepts but never answers, and malformed URLs.

import test from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'

import { addon, Redis, FLAVORS, SERVERS, startServer, freePort, rejectsWithCode } from './helpers.mjs'

const PASSWORD = 'pr0be-Secret-9x'

function check(report, name) {
  return report.checks.find((c) => c.name === name)
}

/** The password must appear nowhere in what the probe returns. */
function assertNoPassword(report, password = PASSWORD) {
  const text = JSON.stringify(report)
  assert.ok(!text.includes(password), `the report leaks the password: ${text}`)
  assert.ok(!text.includes(encodeURIComponent(password)), 'the report leaks the encoded password')
}

function admin(t, port, password) {
  const c = new Redis({ port, host: '127.0.0.1', password, maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true })
  c.on('error', () => {})
  t.after(() => c.disconnect())
  return c
}

/** Keys the smoke test could have left behind (there must be none). */
async function smokeKeys(client) {
  return client.keys('*:smoke}*')
}

for (const { id, flavor, bin } of SERVERS) {
  test(`a correct ${id} store passes every check, smoke test included`, { skip: !bin && `${flavor}-server missing` }, async (t) => {
    const server = await startServer(t, { flavor, bin, password: PASSWORD, args: ['--maxmemory-policy', 'noeviction'] })
    const c = admin(t, server.port, PASSWORD)
    await c.set('someone-elses-key', '1')
    const before = await c.dbsize()

    const url = `redis://:${PASSWORD}@127.0.0.1:${server.port}`
    const report = await addon.probeRedisUrl(url, { smoke: true, timeoutMs: 5000 })

    assert.equal(report.ok, true, JSON.stringify(report.checks, null, 2))
    assert.equal(report.flavor, flavor)
    assert.match(report.version, /^\d+\.\d+/)
    assert.equal(report.cluster, false)
    assert.equal(report.policy, 'noeviction')
    assert.equal(report.url, `redis://:***@127.0.0.1:${server.port}`)
    assert.equal(report.redactedUrl, report.url)
    assert.deepEqual(report.connection, { host: '127.0.0.1', port: server.port })
    const names = report.checks.map((c) => c.name)
    assert.deepEqual(names, [
      'tcp', 'auth', 'ping', 'server', 'maxmemory-policy', 'appendonly', 'lua', 'cluster',
      'smoke:script', 'smoke:hash', 'smoke:zset', 'smoke:list', 'smoke:stream', 'smoke:multi', 'smoke:cleanup',
    ])
    for (const name of names.filter((n) => n !== 'appendonly')) assert.equal(check(report, name).ok, true, name)
    // startServer runs without AOF: reported, as a warning (no code), not an error.
    const aof = check(report, 'appendonly')
    assert.equal(aof.ok, false)
    assert.equal(aof.code, undefined)
    assert.match(aof.detail, /appendonly is off/)
    assert.equal(report.persistence, 'RDB only')

    assert.equal(await c.dbsize(), before, 'DBSIZE is the same before and after the smoke test')
    assert.deepEqual(await smokeKeys(c), [])
    assertNoPassword(report)
  })
}

test('without smoke the probe writes nothing and runs no smoke step', async (t) => {
  const server = await startServer(t)
  const report = await addon.probeRedisUrl(`redis://127.0.0.1:${server.port}/2`)
  assert.equal(report.ok, true, JSON.stringify(report.checks))
  assert.ok(!report.checks.some((c) => c.name.startsWith('smoke')))
  assert.equal(check(report, 'auth').detail, 'no password in the URL, and none asked for')
  assert.equal(report.connection.db, 2)
})

test('maxmemory-policy allkeys-lru fails with E_EVICTION_POLICY', async (t) => {
  const server = await startServer(t, { args: ['--maxmemory-policy', 'allkeys-lru'] })
  const report = await addon.probeRedisUrl(`redis://127.0.0.1:${server.port}`, { smoke: true })
  assert.equal(report.ok, false)
  assert.equal(report.policy, 'allkeys-lru')
  const policy = check(report, 'maxmemory-policy')
  assert.equal(policy.code, 'E_EVICTION_POLICY')
  assert.match(policy.detail, /CONFIG SET maxmemory-policy noeviction/)
  // Everything else still works, and is still reported.
  assert.equal(check(report, 'smoke:cleanup').ok, true)
})

test('where CONFIG is refused, the policy and AOF come from INFO, and the report says so', async (t) => {
  const server = await startServer(t, { password: PASSWORD, args: ['--maxmemory-policy', 'volatile-lru'] })
  const c = admin(t, server.port, PASSWORD)
  // Like a managed cloud service: this user may not run CONFIG.
  await c.call('ACL', 'SETUSER', 'app', 'on', '>app-Pass-77', '~*', '&*', '+@all', '-config')
  const report = await addon.probeRedisUrl(`redis://app:app-Pass-77@127.0.0.1:${server.port}`)
  const policy = check(report, 'maxmemory-policy')
  assert.equal(policy.code, 'E_EVICTION_POLICY')
  assert.match(policy.detail, /read from INFO because CONFIG GET was refused/)
  assert.equal(report.policy, 'volatile-lru')
  assert.match(check(report, 'appendonly').detail, /read from INFO/)
  assertNoPassword(report, 'app-Pass-77')
})

test('a wrong password is E_AUTH and a missing one says how to give it', async (t) => {
  const server = await startServer(t, { password: PASSWORD })
  const wrong = await addon.probeRedisUrl(`redis://:not-the-Password@127.0.0.1:${server.port}`, { smoke: true })
  assert.equal(wrong.ok, false)
  assert.deepEqual(wrong.checks.map((c) => c.name), ['tcp', 'auth'])
  assert.equal(check(wrong, 'auth').code, 'E_AUTH')
  assertNoPassword(wrong, 'not-the-Password')

  const missing = await addon.probeRedisUrl(`redis://127.0.0.1:${server.port}`, { smoke: true })
  assert.deepEqual(missing.checks.map((c) => c.name), ['tcp', 'auth'])
  const auth = check(missing, 'auth')
  assert.equal(auth.code, 'E_AUTH')
  assert.match(auth.detail, /redis:\/\/:password@host:port/)
})

test('an ACL user authenticates; a wrong ACL password is E_AUTH', async (t) => {
  const server = await startServer(t, { password: PASSWORD })
  const c = admin(t, server.port, PASSWORD)
  await c.call('ACL', 'SETUSER', 'worker', 'on', '>w0rker:P@ss/#', '~*', '&*', '+@all')
  const encoded = encodeURIComponent('w0rker:P@ss/#')
  const report = await addon.probeRedisUrl(`redis://worker:${encoded}@127.0.0.1:${server.port}`, { smoke: true })
  assert.equal(report.ok, true, JSON.stringify(report.checks))
  assert.equal(check(report, 'auth').detail, "authenticated as user 'worker'")
  assert.equal(report.connection.username, 'worker')
  assert.equal(report.url, `redis://worker:***@127.0.0.1:${server.port}`)
  assertNoPassword(report, 'w0rker:P@ss/#')

  const wrong = await addon.probeRedisUrl(`redis://worker:nope-nope@127.0.0.1:${server.port}`)
  assert.equal(check(wrong, 'auth').code, 'E_AUTH')
  assert.match(check(wrong, 'auth').detail, /ACL user/)
})

test('no Lua for this user: E_LUA_UNAVAILABLE, and the smoke test still leaves no keys', async (t) => {
  const server = await startServer(t, { password: PASSWORD })
  const c = admin(t, server.port, PASSWORD)
  await c.call('ACL', 'SETUSER', 'nolua', 'on', '>nolua-Pass', '~*', '&*', '+@all', '-@scripting')
  await c.set('keep-me', 'x')
  const before = await c.dbsize()
  const report = await addon.probeRedisUrl(`redis://nolua:nolua-Pass@127.0.0.1:${server.port}`, { smoke: true })
  assert.equal(report.ok, false)
  assert.equal(check(report, 'lua').code, 'E_LUA_UNAVAILABLE')
  assert.match(check(report, 'lua').detail, /\+@scripting/)
  assert.equal(check(report, 'smoke:script').code, 'E_LUA_UNAVAILABLE')
  assert.equal(check(report, 'smoke:hash').ok, true)
  assert.equal(check(report, 'smoke:cleanup').ok, true)
  assert.equal(await c.dbsize(), before)
  assert.deepEqual(await smokeKeys(c), [])
})

test('a smoke step that fails midway (LMOVE refused) still deletes every key it made', async (t) => {
  const server = await startServer(t, { password: PASSWORD })
  const c = admin(t, server.port, PASSWORD)
  await c.call('ACL', 'SETUSER', 'nolmove', 'on', '>nolmove-Pass', '~*', '&*', '+@all', '-lmove')
  await c.set('keep-me', 'x')
  const before = await c.dbsize()
  const report = await addon.probeRedisUrl(`redis://nolmove:nolmove-Pass@127.0.0.1:${server.port}`, { smoke: true })
  const list = check(report, 'smoke:list')
  assert.equal(list.code, 'E_SMOKE_FAILED')
  assert.match(list.detail, /LMOVE was refused: NOPERM/)
  // Steps before and after the failing one ran and passed.
  for (const name of ['smoke:script', 'smoke:hash', 'smoke:zset', 'smoke:stream', 'smoke:multi', 'smoke:cleanup']) {
    assert.equal(check(report, name).ok, true, name)
  }
  assert.equal(await c.dbsize(), before)
  assert.deepEqual(await smokeKeys(c), [])
})

/**
 * A TCP proxy to `port` that, once, forwards a client's bytes only up to the
 * command `cutAt` and then drops both sides: the server has run the first half
 * of a pipeline, and the client never hears back.
 */
async function cuttingProxy(t, port, cutAt) {
  let cut = false
  const sockets = new Set()
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
    }
    upstream.on('data', (d) => client.write(d))
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.end())
    client.on('data', (buf) => {
      const at = cut ? -1 : buf.indexOf(cutAt)
      if (at < 0) return upstream.write(buf)
      cut = true
      // Forward the complete commands before it (a RESP array starts with '*').
      upstream.end(buf.subarray(0, buf.lastIndexOf('*', at)))
      client.destroy()
    })
  })
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    for (const s of sockets) s.destroy()
    proxy.close()
  })
  return { port: proxy.address().port, wasCut: () => cut }
}

test('a connection that breaks midway through the smoke test: the keys are deleted over a new one', async (t) => {
  const server = await startServer(t, { password: PASSWORD })
  const c = admin(t, server.port, PASSWORD)
  await c.set('keep-me', 'x')
  const before = await c.dbsize()
  const proxy = await cuttingProxy(t, server.port, 'LMOVE')
  const report = await addon.probeRedisUrl(`redis://:${PASSWORD}@127.0.0.1:${proxy.port}`, { smoke: true, timeoutMs: 5000 })
  assert.ok(proxy.wasCut(), 'the proxy cut the smoke pipeline')
  const smoke = check(report, 'smoke')
  assert.ok(smoke && ['E_UNREACHABLE', 'E_TIMEOUT'].includes(smoke.code), JSON.stringify(report.checks))
  const cleanup = check(report, 'smoke:cleanup')
  assert.equal(cleanup.ok, true, cleanup.detail)
  assert.match(cleanup.detail, /over a new connection/)
  assert.equal(await c.dbsize(), before)
  assert.deepEqual(await smokeKeys(c), [])
  assertNoPassword(report)
})

test('a database the server does not have is reported, not thrown', async (t) => {
  const server = await startServer(t)
  const report = await addon.probeRedisUrl(`redis://127.0.0.1:${server.port}/99`)
  assert.equal(report.ok, false)
  assert.equal(check(report, 'select').code, 'E_BAD_URL')
})

test('a closed port is E_UNREACHABLE at once', async () => {
  const port = await freePort()
  const report = await addon.probeRedisUrl(`redis://:${PASSWORD}@127.0.0.1:${port}`, { smoke: true })
  assert.equal(report.ok, false)
  assert.deepEqual(report.checks.map((c) => [c.name, c.code]), [['tcp', 'E_UNREACHABLE']])
  assert.match(report.checks[0].detail, /connection refused/)
  assertNoPassword(report)
})

test('a port that accepts but never answers costs timeoutMs, not a hang', { timeout: 20000 }, async (t) => {
  const sockets = new Set()
  const silent = net.createServer((s) => {
    sockets.add(s)
    s.on('error', () => {})
  })
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    for (const s of sockets) s.destroy()
    silent.close()
  })
  const { port } = silent.address()

  // No password: the connection opens, then PING gets no answer.
  const plain = await addon.probeRedisUrl(`redis://127.0.0.1:${port}`, { timeoutMs: 300, smoke: true })
  assert.equal(plain.ok, false)
  assert.deepEqual(plain.checks.map((c) => [c.name, c.code]), [['tcp', undefined], ['ping', 'E_TIMEOUT']])
  assert.match(plain.checks[1].detail, /nothing answered PING within 300 ms/)

  // With a password, AUTH is what gets no answer.
  const auth = await addon.probeRedisUrl(`redis://:${PASSWORD}@127.0.0.1:${port}`, { timeoutMs: 300 })
  assert.deepEqual(auth.checks.map((c) => [c.name, c.code]), [['tcp', undefined], ['auth', 'E_TIMEOUT']])
  assertNoPassword(auth)

  // TLS: the handshake never finishes.
  const tls = await addon.probeRedisUrl(`rediss://127.0.0.1:${port}`, { timeoutMs: 300 })
  assert.deepEqual(tls.checks.map((c) => [c.name, c.code]), [['tcp', undefined], ['tls', 'E_TIMEOUT']])
})

test('malformed URLs reject with E_BAD_URL and never repeat the password', async () => {
  const s = 'Sup3rSecretPW'
  const malformed = [
    '',
    '   ',
    'localhost:6379',
    `${s}@localhost:6379`,
    'http://localhost:6379',
    'redis:/localhost',
    'unix:///tmp/redis.sock',
    'redis://',
    'redis://:6379',
    `redis://u:${s}@`,
    'redis://localhost:',
    'redis://localhost:abc',
    'redis://localhost:0',
    'redis://localhost:65536',
    'redis://localhost/abc',
    'redis://localhost/1/2',
    `redis://localhost?password=${s}`,
    `redis://:${s}#x@localhost`,
    `redis://:${s}/x@localhost`,
    `redis://${s}@localhost`,
    'redis://:@localhost',
    `redis://:${s}%zz@localhost`,
    'redis://:%FF@localhost',
    `redis://:${s}%00@localhost`,
    `redis://:${s}\u0000@localhost`,
    `redis://:${s}@localhost\n`,
    'redis://::1:6379',
    'redis://[::1:6379',
    'redis://[::g]:6379',
    'redis://256.1.1.1',
    'redis://bad!host',
    'redis://\uD800host',
    'redis://a..b',
    `redis://${'a'.repeat(300)}`,
    `redis://:${s}@${'h'.repeat(1 << 20)}`,
  ]
  assert.ok(malformed.length >= 20)
  for (const url of malformed) {
    const err = await rejectsWithCode(assert, addon.probeRedisUrl(url), 'E_BAD_URL')
    assert.ok(!err.message.includes(s), `message leaks the password for ${JSON.stringify(url.slice(0, 60))}: ${err.message}`)
    assert.ok(err.message.length < 500)
  }
  for (const notAString of [undefined, null, 6379, {}, ['redis://x']]) {
    await rejectsWithCode(assert, addon.probeRedisUrl(notAString), 'E_BAD_URL')
  }
})

test('bad options reject with E_BAD_OPTION', async () => {
  const url = 'redis://127.0.0.1:1'
  await rejectsWithCode(assert, addon.probeRedisUrl(url, { smokes: true }), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.probeRedisUrl(url, { timeoutMs: 0 }), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.probeRedisUrl(url, { smoke: 'yes' }), 'E_BAD_OPTION')
  await rejectsWithCode(assert, addon.probeRedisUrl(url, { caFile: '/nonexistent/ca.pem' }), 'E_BAD_OPTION')
})
