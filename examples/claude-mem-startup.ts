// A claude-mem that calls claude-mem-store itself, in claude-mem's own terms.
// (claude-mem 13.25.3 as published does not call it: start that one through
// `npx claude-mem-store run -- …`, README "Using it from claude-mem".)
//   install (once, in claude-mem's installer):
//     resolveQueueStore() → ensureQueueStoreStarted({ mode }) → the installer itself
//     sets CLAUDE_MEM_QUEUE_ENGINE=bullmq (the addon never flips the engine).
//   worker start: getRedisQueueConfig() reads settings alone (env, then settings.json);
//     for mode managed/docker, ensureQueueStoreStarted() first; then BullMQ on
//     config.connection — the URL the ensure saved carries the password.
//   worker shutdown: workers, then BullMQ's connections, then the store (only a
//     store claude-mem owns).
// Type-checked against index.d.ts by `tsc` and run by the test suite
// (__test__/example.test.mjs). Run it yourself: see examples/README.md.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq'
import {
  ensureQueueStoreStarted,
  resolveQueueStore,
  stopQueueStore,
  type QueueStoreStatus,
  type StoreOptions,
} from 'claude-mem-store'

type Settings = Record<string, string>

const dataDir = process.env.CLAUDE_MEM_DATA_DIR ?? join(homedir(), '.claude-mem')
const settingsPath = join(dataDir, 'settings.json')
// Only for the test suite: which server binary to run.
const store: StoreOptions = process.env.CLAUDE_MEM_STORE_BINARY ? { binary: process.env.CLAUDE_MEM_STORE_BINARY } : {}

function readSettings(): Settings {
  try {
    return JSON.parse(readFileSync(settingsPath, 'utf8').replace(/^\uFEFF/, '')) as Settings
  } catch {
    return {}
  }
}

/** claude-mem's writeJsonFileAtomic in short: temp file, same mode (0600 stays 0600), rename. */
function writeSetting(key: string, value: string): void {
  const settings = { ...readSettings(), [key]: value }
  let mode = 0o600
  try {
    mode = statSync(settingsPath).mode & 0o777
  } catch {}
  const tmp = `${settingsPath}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(settings, null, 2) + '\n', { mode })
  renameSync(tmp, settingsPath)
}

/** The installer's part: decide, start the store once (it saves mode, port and URL), pick BullMQ. */
async function install(): Promise<void> {
  const r = await resolveQueueStore(store)
  if (r.decision === 'fail' || !r.mode) throw Object.assign(new Error(r.reason), { code: 'E_NO_SERVER_BINARY' })
  const status = await ensureQueueStoreStarted({ ...store, mode: r.mode })
  for (const notice of status.notices) console.log(`note: ${notice}`)
  writeSetting('CLAUDE_MEM_QUEUE_ENGINE', 'bullmq')
  console.log(`Installed: ${r.decision}; queue engine bullmq`)
}

/** claude-mem's getRedisQueueConfig() in short: env first, then settings.json; a URL wins over HOST:PORT. */
function getRedisQueueConfig(): { engine: string; mode: string; prefix: string; connection: ConnectionOptions } {
  const settings = readSettings()
  const get = (key: string, fallback: string): string => process.env[key] ?? settings[key] ?? fallback
  const url = get('CLAUDE_MEM_REDIS_URL', '').trim()
  const base = { maxRetriesPerRequest: null, connectTimeout: 1000, lazyConnect: true }
  let connection: ConnectionOptions
  if (url) {
    const u = new URL(url)
    connection = {
      ...base,
      host: u.hostname,
      port: Number(u.port || 6379),
      password: u.password ? decodeURIComponent(u.password) : undefined,
    }
  } else {
    connection = { ...base, host: get('CLAUDE_MEM_REDIS_HOST', '127.0.0.1'), port: Number(get('CLAUDE_MEM_REDIS_PORT', '6379')) }
  }
  return {
    engine: get('CLAUDE_MEM_QUEUE_ENGINE', 'sqlite'),
    mode: get('CLAUDE_MEM_REDIS_MODE', 'external'),
    prefix: get('CLAUDE_MEM_QUEUE_REDIS_PREFIX', 'claude_mem').replace(/[^a-zA-Z0-9_-]/g, '_'),
    connection,
  }
}

/** The worker: settings → store → BullMQ → work → shutdown. */
async function worker(): Promise<void> {
  // 1. Load settings.
  const config = getRedisQueueConfig()
  if (config.engine !== 'bullmq') throw new Error(`queue engine is ${config.engine}`)
  // 2. The store must be ready before anything touches BullMQ; fail loudly if not.
  let status: QueueStoreStatus | undefined
  if (config.mode === 'managed' || config.mode === 'docker') {
    status = await ensureQueueStoreStarted(store)
    const server = status.server ? `${status.server.flavor} ${status.server.version}` : 'unknown server'
    console.log(`Store: ${status.mode} ${server} at ${status.redactedUrl} (${status.persistence}, ${status.policy})`)
  }
  // 3. BullMQ on claude-mem's own connection: the ensure saved the URL it needs.
  const name = 'server_beta_generate_event'
  const opts = { connection: config.connection, prefix: config.prefix }
  const queue = new Queue(name, opts)
  const events = new QueueEvents(name, opts)
  const w = new Worker(name, async (job) => ({ summarized: job.data.sessionId }), opts)
  await events.waitUntilReady()
  const job = await queue.add('generate', { sessionId: 42 })
  const result = (await job.waitUntilFinished(events)) as { summarized: number }
  console.log(`job ${job.id} completed: ${JSON.stringify(result)}`)

  // 4. Shutdown: stop taking work, close BullMQ's connections, then the store —
  // which stopQueueStore only does for a store claude-mem owns.
  await w.close()
  await events.close()
  await queue.close()
  if (status?.owned && process.env.CLAUDE_MEM_KEEP_STORE !== '1') {
    const stopped = await stopQueueStore(store)
    console.log(`Store: ${stopped.message}`)
  }
}

install()
  .then(worker)
  .catch((err: Error & { code?: string }) => {
    console.error(`queue store unavailable: ${err.code}: ${err.message}`)
    process.exitCode = 1
  })
