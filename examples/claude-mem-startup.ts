// claude-mem's worker startup and shutdown, as the seed plan lays it out:
//   1. load settings  2. ensure the queue store  3. BullMQ on the returned connection
//   ...work...        4. graceful shutdown: workers, then connections, then the store.
// Type-checked against index.d.ts by `tsc` and run by the test suite
// (__test__/example.test.mjs). Run it yourself: see examples/README.md.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { homedir } from 'node:os'
import { Queue, Worker, QueueEvents } from 'bullmq'
import { ensureQueueStoreStarted, stopQueueStore, type QueueStoreStatus, type StoreOptions } from 'claude-mem-store'

interface ClaudeMemSettings {
  [key: string]: string | undefined
}

/** 1. claude-mem's own settings file (the addon reads it too; here for the worker's keys). */
function loadSettings(dataDir: string): ClaudeMemSettings {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')) as ClaudeMemSettings
  } catch {
    return {}
  }
}

async function main(): Promise<void> {
  const dataDir = process.env.CLAUDE_MEM_DATA_DIR ?? join(homedir(), '.claude-mem')
  const settings = loadSettings(dataDir)
  const options: StoreOptions = { dataDir }
  if (process.env.CLAUDE_MEM_STORE_BINARY) options.binary = process.env.CLAUDE_MEM_STORE_BINARY

  // 2. The store must be ready before anything touches BullMQ; fail loudly if not.
  let store: QueueStoreStatus
  try {
    store = await ensureQueueStoreStarted(options)
  } catch (err) {
    const e = err as Error & { code?: string }
    console.error(`queue store unavailable: ${e.code}: ${e.message}`)
    process.exitCode = 1
    return
  }
  const server = store.server ? `${store.server.flavor} ${store.server.version}` : 'unknown server'
  console.log(`Store: ${store.mode} ${server} at ${store.redactedUrl} (${store.persistence}, ${store.policy})`)
  if (!store.connection) throw new Error('a running store always has a connection')

  // 3. BullMQ on the connection exactly as returned (password included).
  const queueName = settings.CLAUDE_MEM_QUEUE_NAME ?? 'claude-mem-example'
  const connection = store.connection
  const queue = new Queue(queueName, { connection })
  const events = new QueueEvents(queueName, { connection })
  const worker = new Worker(queueName, async (job) => ({ summarized: job.data.sessionId }), { connection })
  await events.waitUntilReady()

  const job = await queue.add('summarize', { sessionId: 42 })
  const result = (await job.waitUntilFinished(events)) as { summarized: number }
  console.log(`job ${job.id} completed: ${JSON.stringify(result)}`)

  // 4. Shutdown: stop taking work, close BullMQ's connections, then the store —
  // which stopQueueStore only does for a store claude-mem owns.
  await worker.close()
  await events.close()
  await queue.close()
  if (store.owned && process.env.CLAUDE_MEM_KEEP_STORE !== '1') {
    const stopped = await stopQueueStore(options)
    console.log(`Store: ${stopped.message}`)
  }
}

void main()
