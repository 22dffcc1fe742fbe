'use strict'
// `claude-mem-store run [options] -- COMMAND [ARGS...]`: claude-mem as published
// (13.25) never calls the addon, exits at once when its store is not running, and
// in a container (or with CLAUDE_MEM_QUEUE_ENGINE=bullmq exported) reads
// CLAUDE_MEM_REDIS_URL from its environment only. So run starts the store, hands
// COMMAND exactly what claude-mem reads, keeps the store alive while COMMAND
// lives, and afterwards stops it unless someone else still uses it.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const out = require('./output')

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP']
// After COMMAND exits, its connections close a moment later on the server's
// side: a stop that still sees them asks again, for this long at most.
const CLOSE_GRACE_MS = 2000

/** An error with a stable code (printed as `claude-mem-store: CODE: message`). */
function coded(code, message) {
  const e = new Error(message)
  e.code = code
  return e
}

/**
 * The file `command` runs: itself when it names a path, else the first match on
 * PATH (and PATHEXT on Windows). Checked before anything starts, so that a typo
 * leaves the store as it was.
 */
function findExecutable(command, env = process.env) {
  const isWindows = process.platform === 'win32'
  const executable = (file) => {
    try {
      const st = fs.statSync(file)
      if (!st.isFile()) return false
      if (!isWindows) fs.accessSync(file, fs.constants.X_OK)
      return true
    } catch {
      return false
    }
  }
  const exts = isWindows ? ['', ...(env.PATHEXT || '.EXE;.CMD;.BAT;.COM').split(';')] : ['']
  if (command.includes('/') || (isWindows && command.includes('\\'))) {
    return exts.map((e) => path.resolve(command + e)).find(executable) || null
  }
  for (const dir of (env.PATH || '').split(path.delimiter)) {
    if (!dir) continue
    for (const e of exts) {
      const file = path.join(dir, command + e)
      if (executable(file)) return file
    }
  }
  return null
}

/** What claude-mem reads, from a status of the store it should use. */
function childEnvironment(status, { prefix } = {}, base = process.env) {
  const env = {
    ...base,
    CLAUDE_MEM_QUEUE_ENGINE: 'bullmq',
    CLAUDE_MEM_REDIS_MODE: status.mode,
    CLAUDE_MEM_DATA_DIR: status.paths.dataDir,
  }
  if (status.url) env.CLAUDE_MEM_REDIS_URL = status.url
  if (status.connection) {
    env.CLAUDE_MEM_REDIS_HOST = status.connection.host
    env.CLAUDE_MEM_REDIS_PORT = String(status.connection.port)
  }
  // Given here: pass it on (claude-mem sanitises it as the status already did).
  if (prefix !== undefined) env.CLAUDE_MEM_QUEUE_REDIS_PREFIX = status.prefix
  return env
}

/** The exit status of a child that ended with `code` or by `signal`. */
function exitStatus(code, signal) {
  if (code !== null && code !== undefined) return code
  const n = require('node:os').constants.signals[signal]
  return 128 + (n || 0)
}

async function runCommand(args, store, { ensureStore, storeOptions }) {
  const [command, ...commandArgs] = args.positional
  if (!findExecutable(command)) {
    throw coded('E_SPAWN_FAILED', `cannot run '${command}': no such executable${command.includes('/') ? '' : ' on PATH'}. Nothing was started; check the command after --.`)
  }
  const { status } = await ensureStore(args, store)
  const note = (line) => out.stderr(`claude-mem-store run: ${line}`)
  for (const n of status.notices || []) note(`Note: ${n}`)
  note(`store ${status.mode} ${status.redactedUrl || ''} ${status.started ? '(started)' : '(already running)'}`.replace(/\s+/g, ' ').trim())

  // Ours to supervise and stop: a managed store, or our own Docker container.
  const ours = status.owned && (status.mode === 'managed' || status.mode === 'docker')
  let watcher = null
  if (ours && status.mode === 'managed') {
    watcher = store.watchQueueStore({
      ...storeOptions,
      intervalMs: 250,
      onEvent: (e) => {
        if (e.type === 'died') note(`the store (pid ${e.pid}) died; starting it again`)
        else if (e.type === 'restarted') note(`the store is back (pid ${e.pid}, port ${e.port})`)
        else if (e.type === 'restartFailed') note(`restart ${e.attempt} failed: ${e.code}: ${e.message}`)
      },
    })
  }

  const child = spawn(command, commandArgs, { stdio: 'inherit', env: childEnvironment(status, storeOptions) })
  const forward = (signal) => {
    try { child.kill(signal) } catch {}
  }
  for (const s of FORWARDED) process.on(s, forward)
  const { code, signal, error } = await new Promise((resolve) => {
    child.once('error', (error) => resolve({ error }))
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  for (const s of FORWARDED) process.off(s, forward)
  if (watcher) watcher.close()

  // A command that could not start leaves the store as it was before run.
  if (ours && !args.values.keep && (!error || status.started)) await stopUnlessUsed(store, storeOptions, note)
  if (error) throw coded('E_SPAWN_FAILED', `cannot run '${command}': ${error.message}`)
  return exitStatus(code, signal)
}

/**
 * Stops the store unless other clients use it. The child's own connections are
 * still closing when it has just exited, so a store that looks in use is asked
 * again for a short while before it is left running.
 */
async function stopUnlessUsed(store, storeOptions, note) {
  const deadline = Date.now() + CLOSE_GRACE_MS
  for (;;) {
    const r = await store.stopQueueStore(storeOptions)
    if (r.code !== 'E_STORE_IN_USE') {
      if (r.stopped) note('stopped the store (nobody else uses it)')
      return
    }
    if (Date.now() >= deadline) {
      note(`left the store running: ${r.clients} other client${r.clients === 1 ? '' : 's'} use it`)
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

module.exports = { runCommand, childEnvironment, findExecutable, exitStatus }
