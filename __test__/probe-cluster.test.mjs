// probeRedisUrl against a real 3-node Redis Cluster of local redis-server
// processes: cluster mode is detected, a prefix that is not hash-tagged fails
// with E_CLUSTER_PREFIX, and the smoke test runs on the node that owns its slot
// (following MOVED from whichever node the URL names) and leaves no keys.

import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'

import { addon, Redis, startServer, waitFor, which } from './helpers.mjs'

const PASSWORD = 'clu5ter-Secret'

async function startCluster(t) {
  const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--masterauth', PASSWORD]
  const nodes = await Promise.all([1, 2, 3].map(() => startServer(t, { flavor: 'redis', args, password: PASSWORD })))
  execFileSync(
    which('redis-cli'),
    ['-a', PASSWORD, '--no-auth-warning', '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes'],
    { stdio: 'ignore', timeout: 30000 },
  )
  const clients = nodes.map((n) => {
    const c = new Redis({ port: n.port, host: '127.0.0.1', password: PASSWORD, maxRetriesPerRequest: 1, retryStrategy: () => null })
    c.on('error', () => {})
    t.after(() => c.disconnect())
    return c
  })
  // Every node must agree the cluster is up and know all slots.
  await waitFor(async () => {
    const infos = await Promise.all(clients.map((c) => c.call('CLUSTER', 'INFO')))
    return infos.every((i) => i.includes('cluster_state:ok') && i.includes('cluster_known_nodes:3'))
  }, 'cluster_state:ok on all three nodes', 30000)
  return { nodes, clients }
}

async function dbsizes(clients) {
  return Promise.all(clients.map((c) => c.dbsize()))
}

test('a 3-node Redis Cluster: prefix checks and a smoke test that follows MOVED', { skip: !which('redis-cli') && 'redis-cli missing', timeout: 60000 }, async (t) => {
  const { nodes, clients } = await startCluster(t)
  const before = await dbsizes(clients)

  // Which node owns the smoke test's slot (its hash tag is `{<prefix>:smoke}`)?
  const slot = await clients[0].call('CLUSTER', 'KEYSLOT', '{claude-mem:smoke}')
  const owners = await Promise.all(clients.map(async (c) => {
    const id = await c.call('CLUSTER', 'MYID')
    const shards = await c.call('CLUSTER', 'SLOTS')
    return shards.some(([from, to, [, , ownerId]]) => slot >= from && slot <= to && ownerId === id)
  }))
  const owner = owners.indexOf(true)
  assert.ok(owner >= 0, 'some node owns the slot')
  const other = (owner + 1) % 3

  for (const seed of [other, owner]) {
    const url = `redis://:${PASSWORD}@127.0.0.1:${nodes[seed].port}`

    const plain = await addon.probeRedisUrl(url, { smoke: true, prefix: 'claude-mem' })
    assert.equal(plain.cluster, true)
    assert.equal(plain.ok, false)
    const cluster = plain.checks.find((c) => c.name === 'cluster')
    assert.equal(cluster.code, 'E_CLUSTER_PREFIX')
    // claude-mem turns braces into _, so the advice is a server that is not a cluster.
    assert.match(cluster.detail, /braces included/)
    assert.match(cluster.detail, /CLAUDE_MEM_REDIS_MODE=managed/)
    assert.doesNotMatch(cluster.detail, /PREFIX=\{/)
    // The smoke test itself is hash-tagged, so it works whatever the prefix.
    for (const c of plain.checks.filter((c) => c.name.startsWith('smoke'))) assert.equal(c.ok, true, `${c.name}: ${c.detail}`)

    const tagged = await addon.probeRedisUrl(url, { smoke: true, prefix: '{claude-mem}' })
    assert.equal(tagged.ok, true, JSON.stringify(tagged.checks, null, 2))
    assert.equal(tagged.checks.find((c) => c.name === 'cluster').ok, true)
    assert.match(tagged.checks.find((c) => c.name === 'cluster').detail, /not one claude-mem can use/)
    assert.equal(tagged.checks.filter((c) => c.name.startsWith('smoke:') && c.ok).length, 7)
    assert.ok(!JSON.stringify(tagged).includes(PASSWORD))
  }

  assert.deepEqual(await dbsizes(clients), before, 'DBSIZE of every node is unchanged')

  // A cluster has only database 0.
  const db = await addon.probeRedisUrl(`redis://:${PASSWORD}@127.0.0.1:${nodes[0].port}/1`)
  assert.equal(db.checks.find((c) => c.name === 'select').code, 'E_BAD_URL')
})
