// A private, throwaway PostgreSQL cluster for tests that run claude-mem's server
// runtime (it keeps its events, jobs and API keys in Postgres). initdb runs in a
// fresh temp dir; the postmaster listens on 127.0.0.1 only, on a free port, with
// its unix socket in the same temp dir, password auth (scram) for a generated
// password. It is stopped by its pid (the postmaster's) after the test and, as a
// last resort, when the test process exits. Nothing is ever killed by name.
//
// The binaries come from Debian's packages: /usr/lib/postgresql/<major>/bin
// (`apt-get install -y --no-install-recommends postgresql-15` on bookworm, or any
// other major), else from PATH. initdb and postgres refuse to run as root: as
// root, the cluster is owned by and runs as `nobody` (setpriv), in a dir only
// nobody (and root) can enter.
import { spawn, execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePort } from '../../scripts/lib/free-port.mjs'
import { killAndWait, track, waitFor } from './processes.mjs'

const PG_ROOT = '/usr/lib/postgresql'
const INSTALL_HINT = 'apt-get install -y --no-install-recommends postgresql-15 (Debian bookworm; `postgresql` elsewhere; any major works)'

/**
 * `{ major, bin }` of the newest PostgreSQL under /usr/lib/postgresql (Debian,
 * Ubuntu), else of one whose `initdb` is on PATH (Homebrew, Fedora); or null.
 */
export function findPostgres() {
  const complete = (bin) => ['initdb', 'postgres', 'pg_isready'].every((b) => isExecutable(path.join(bin, b)))
  let majors = []
  try {
    majors = fs.readdirSync(PG_ROOT).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a))
  } catch {}
  for (const major of majors) {
    const bin = path.join(PG_ROOT, major, 'bin')
    if (complete(bin)) return { major: Number(major), bin }
  }
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && complete(dir)) {
      const v = execFileSync(path.join(dir, 'postgres'), ['--version'], { encoding: 'utf8' }).match(/(\d+)\./)
      return { major: v ? Number(v[1]) : null, bin: dir }
    }
  }
  return null
}

/** The reason the Postgres tests cannot run here (for `skip`), or null. */
export function postgresMissing() {
  return findPostgres() ? null : `PostgreSQL is not installed (no ${PG_ROOT}/*/bin/postgres, no initdb on PATH): ${INSTALL_HINT}`
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

const isRoot = process.getuid?.() === 0
// As root: run initdb/postgres as nobody. `setpriv` execs, so the pid we spawn
// is the postmaster itself.
const NOBODY = { user: 'nobody', group: 'nogroup' }
function asOwner(argv) {
  if (!isRoot) return argv
  return ['setpriv', `--reuid=${NOBODY.user}`, `--regid=${NOBODY.group}`, '--clear-groups', ...argv]
}
function ownerIds() {
  const uid = Number(execFileSync('id', ['-u', NOBODY.user], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('getent', ['group', NOBODY.group], { encoding: 'utf8' }).split(':')[2])
  return { uid, gid }
}

/**
 * Initialises and starts a private cluster; stops it (by pid) and removes its dir
 * after the test `t`. Returns
 * `{ url, port, host, user, password, database, pid, dir, dataDir, logFile, bin, major, stop() }`
 * where `url` is a `postgres://` connection string for claude-mem's
 * CLAUDE_MEM_SERVER_DATABASE_URL. Throws, saying what to install, where
 * PostgreSQL is missing.
 */
export async function startPostgres(t, { timeoutMs = 60000 } = {}) {
  const pg = findPostgres()
  if (!pg) throw new Error(`PostgreSQL is not installed (no ${PG_ROOT}/*/bin/postgres, no initdb on PATH): ${INSTALL_HINT}`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-pg-'))
  const dataDir = path.join(dir, 'data')
  const logFile = path.join(dir, 'postgres.log')
  const pwFile = path.join(dir, 'pwfile')
  const password = crypto.randomBytes(18).toString('hex')
  const user = 'claude_mem'
  const database = 'postgres'
  fs.writeFileSync(pwFile, password + '\n', { mode: 0o600 })
  if (isRoot) {
    const { uid, gid } = ownerIds()
    fs.chownSync(dir, uid, gid) // mkdtemp made it 0700: only nobody (and root) can enter
    fs.chownSync(pwFile, uid, gid)
  }
  let pid = null
  // SIGINT = "fast" shutdown (SIGTERM would wait for every client to leave); SIGKILL
  // after 15 s (the backends notice the postmaster's death and exit).
  const stop = () => killAndWait(pid, 20000, { signal: 'SIGINT', graceMs: 15000 })
  t.after(async () => {
    await stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  // --no-sync / fsync=off: a throwaway cluster; nothing here needs to survive a power cut.
  const initdb = asOwner([
    path.join(pg.bin, 'initdb'), '-D', dataDir, '-U', user, `--pwfile=${pwFile}`,
    '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions',
  ])
  try {
    execFileSync(initdb[0], initdb.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, timeout: timeoutMs })
  } catch (e) {
    throw new Error(`initdb failed: ${e.stderr?.toString() || e.message}`)
  }
  fs.rmSync(pwFile, { force: true })

  const port = await freePort()
  const argv = asOwner([
    path.join(pg.bin, 'postgres'), '-D', dataDir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
    '-c', 'max_connections=100', '-c', 'logging_collector=off',
  ])
  const log = fs.openSync(logFile, 'a')
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', log, log], cwd: dir, detached: false })
  fs.closeSync(log)
  pid = child.pid
  track(pid) // killed at exit if the test's own cleanup never ran
  let exited = null
  child.once('exit', (code, signal) => { exited = { code, signal } })

  const tail = () => {
    try { return fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') } catch { return '' }
  }
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`postgres exited (${JSON.stringify(exited)}) before accepting connections:\n${tail()}`)
      return ready(pg.bin, port, dir)
    }, `postgres on 127.0.0.1:${port}`, timeoutMs)
  } catch (e) {
    await stop()
    throw new Error(`${e.message}\n${tail()}`)
  }
  const url = `postgres://${user}:${password}@127.0.0.1:${port}/${database}`
  return { url, port, host: '127.0.0.1', user, password, database, pid, dir, dataDir, logFile, bin: pg.bin, major: pg.major, stop }
}

// pg_isready: 0 = accepting connections, 1 = rejecting (starting up), 2 = no answer.
function ready(bin, port, dir) {
  return new Promise((resolve) => {
    const c = spawn(path.join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-t', '2'], { stdio: 'ignore', cwd: dir })
    c.once('error', () => resolve(false))
    c.once('exit', (code) => resolve(code === 0))
  })
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` right now. */
export function portOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect({ port, host })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}
