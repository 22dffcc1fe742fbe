// Processes a test started: remembered so they are killed when the test process
// exits (whatever happens), whether one is alive, polling until something holds,
// and stopping one by its pid. Nothing is ever killed by name. No addon here, so
// modules that must not load it (lib/postgres.mjs) use these too; helpers.mjs
// re-exports them for the tests.
import fs from 'node:fs'

// pids started by this process; killed at exit if a test's own cleanup never ran.
const started = new Set()
process.on('exit', () => {
  for (const pid of started) {
    try { process.kill(pid, 'SIGKILL') } catch {}
  }
})

/** Remembers `pid` so it is killed when the test process exits, whatever happens. */
export function track(pid) {
  if (pid) started.add(pid)
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return e.code === 'EPERM'
  }
  // A zombie has exited; only its parent has not collected it yet.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** Polls (bounded) until `cond()` is true; throws with `what` if it never is. */
export async function waitFor(cond, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs
  let pause = 1
  while (Date.now() < deadline) {
    if (await cond()) return
    await new Promise((r) => setTimeout(r, pause))
    pause = Math.min(pause * 2, 50)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/**
 * Stops `pid` (`signal`, SIGTERM unless given, then SIGKILL after `graceMs`, half of
 * `timeoutMs` unless given) and waits until it has exited; it is forgotten then.
 */
export async function killAndWait(pid, timeoutMs = 10000, { signal = 'SIGTERM', graceMs = timeoutMs / 2 } = {}) {
  if (!pid || !isAlive(pid)) return started.delete(pid)
  try { process.kill(pid, signal) } catch {}
  try {
    await waitFor(() => !isAlive(pid), `pid ${pid} to exit after ${signal}`, graceMs)
  } catch {
    try { process.kill(pid, 'SIGKILL') } catch {}
    await waitFor(() => !isAlive(pid), `pid ${pid} to exit after SIGKILL`, timeoutMs - graceMs)
  }
  started.delete(pid)
}
