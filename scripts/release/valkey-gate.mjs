// The release rehearsal's gate (issue 19): before anything is published, is the Valkey
// that the platform packages bundle behind Debian's? It runs
// `node scripts/build/valkey/check-debian.mjs --strict`, prints its report, and refuses to
// publish while it warns — the bundle is behind (exit 3) or the check could not be
// completed (exit 4, or it did not finish) — unless given an override with a reason:
//
//   node scripts/release/rehearse.mjs --allow-outdated-valkey "<reason>"
//   CMS_ALLOW_OUTDATED_VALKEY="<reason>" npm run release:rehearse
//
// The reason is printed and kept in the rehearsal's report. An empty or blank reason is
// refused: `--allow-outdated-valkey ""` is an error, and an empty variable is no
// override. The check runs without the variable, so that its exit status says what it
// found and the override is applied here, where it is reported.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CHECK = path.join(root, 'scripts', 'build', 'valkey', 'check-debian.mjs')
export const OVERRIDE_FLAG = '--allow-outdated-valkey'
export const OVERRIDE_ENV = 'CMS_ALLOW_OUTDATED_VALKEY'
const HOW = `${OVERRIDE_FLAG} "<reason>" (or ${OVERRIDE_ENV}="<reason>")`

/**
 * The override in the rehearsal's arguments or environment.
 * -> { reason, from, rest, note?, error? }: `rest` are the other arguments; `error`
 * when the flag has no reason (a blank one counts as none).
 */
export function parseOverride(argv = [], env = {}) {
  const out = { reason: null, from: null, rest: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === OVERRIDE_FLAG || a.startsWith(`${OVERRIDE_FLAG}=`)) {
      const v = a === OVERRIDE_FLAG ? (i + 1 < argv.length && !argv[i + 1].startsWith('--') ? argv[++i] : null) : a.slice(OVERRIDE_FLAG.length + 1)
      if (v === null || !v.trim()) return { ...out, error: `${OVERRIDE_FLAG} needs a reason: ${HOW}` }
      out.reason = v.trim()
      out.from = OVERRIDE_FLAG
    } else out.rest.push(a)
  }
  if (out.reason === null && env[OVERRIDE_ENV] !== undefined) {
    if (env[OVERRIDE_ENV].trim()) { out.reason = env[OVERRIDE_ENV].trim(); out.from = OVERRIDE_ENV }
    else out.note = `${OVERRIDE_ENV} is set but empty: that is no override (an override needs a reason)`
  }
  return out
}

/**
 * Runs the check, strict, its report going to `log` line by line.
 * -> { exitCode, signal, timedOut, warnings, result }
 */
export function runValkeyCheck({ env = process.env, log = console.error, timeoutMs = 120000, args = [] } = {}) {
  return new Promise((resolve) => {
    const childEnv = { ...env }
    for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k]
    delete childEnv[OVERRIDE_ENV]
    const child = spawn(process.execPath, [CHECK, '--strict', ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    const warnings = []
    let result = null, timedOut = false, pending = { stdout: '', stderr: '' }
    const take = (which) => (chunk) => {
      const lines = (pending[which] + chunk).split('\n')
      pending[which] = lines.pop()
      for (const l of lines) emit(l)
    }
    const emit = (l) => {
      if (l.startsWith('warning: ')) warnings.push(l.slice('warning: '.length))
      if (l.startsWith('result: ')) result = l.slice('result: '.length)
      log(`  ${l}`)
    }
    child.stdout.setEncoding('utf8').on('data', take('stdout'))
    child.stderr.setEncoding('utf8').on('data', take('stderr'))
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGTERM') }, timeoutMs)
    child.on('error', (e) => { clearTimeout(timer); resolve({ exitCode: null, signal: null, timedOut, warnings, result, error: e.message }) })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      for (const which of ['stdout', 'stderr']) if (pending[which]) emit(pending[which])
      resolve({ exitCode: code, signal, timedOut, warnings, result })
    })
  })
}

/**
 * Whether the rehearsal may publish. `runCheck` is runValkeyCheck (a test passes its own).
 * -> { publish, status, exitCode, override, overrideFrom, warnings, message }
 */
export async function valkeyGate({ argv = [], env = process.env, log = console.error, runCheck = runValkeyCheck, timeoutMs } = {}) {
  const o = parseOverride(argv, env)
  const base = { override: o.reason, overrideFrom: o.from, warnings: [], exitCode: null }
  if (o.error) {
    log(`refusing to publish: ${o.error}`)
    return { ...base, publish: false, status: 'usage', message: `refusing to publish: ${o.error}` }
  }
  if (o.rest.length) {
    const message = `refusing to publish: unknown argument${o.rest.length > 1 ? 's' : ''} ${o.rest.join(' ')} (the rehearsal takes only ${OVERRIDE_FLAG} "<reason>")`
    log(message)
    return { ...base, publish: false, status: 'usage', message }
  }
  if (o.note) log(o.note)
  log(`is the bundled valkey behind Debian? $ node ${path.relative(root, CHECK)} --strict`)
  const r = await runCheck({ env, log, ...(timeoutMs ? { timeoutMs } : {}) })
  const status = r.exitCode === 0 ? 'up to date'
    : r.exitCode === 3 ? 'behind'
    : r.exitCode === 4 ? 'could not check'
    : `could not check (${r.timedOut ? 'the check did not finish in time' : r.error ? `the check could not be run: ${r.error}` : `the check exited ${r.exitCode ?? r.signal}`})`
  const out = { ...base, exitCode: r.exitCode, warnings: r.warnings, status }
  if (r.exitCode === 0) {
    log(`valkey check: ${status}${o.reason ? `; override (${o.from}) not needed: "${o.reason}"` : ''}`)
    return { ...out, publish: true, message: `valkey check: ${status}` }
  }
  const what = status === 'behind' ? 'the bundled valkey is behind Debian' : `whether the bundled valkey is behind Debian is unknown: ${status}`
  if (o.reason) {
    const message = `publishing although ${what} (${r.warnings.length} warning(s) above): override (${o.from}): "${o.reason}"`
    log(message)
    return { ...out, publish: true, message }
  }
  const message = `refusing to publish: ${what} (check-debian --strict: exit ${r.exitCode ?? r.signal}; the warnings above). ` +
    `Update scripts/build/valkey/source.json to Debian's newer valkey, or rehearse with ${HOW}.`
  log(message)
  return { ...out, publish: false, message }
}
