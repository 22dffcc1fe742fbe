'use strict'
// `doctor`: status, the URL's probe, the server binary and the install plan, each
// problem with its fix. Changes nothing.

const { checkLine, checkState, statusBlock, publicStatus } = require('./render')
const { fixFor } = require('./fixes')

async function doctor(store, opts) {
  const report = { healthy: true, running: false, problems: [], sections: [] }
  const problem = (p, ctx) => {
    const fix = fixFor(p, ctx)
    report.problems.push({ check: p.name, code: p.code || null, detail: p.detail, fix })
    return fix
  }
  const lines = []
  const showCheck = (c, ctx) => {
    lines.push(checkLine(c))
    if (!c.ok && c.code) {
      const fix = problem(c, ctx)
      if (fix) lines.push(`       fix: ${fix}`)
    }
  }

  // 1. The store.
  let status = null
  try {
    status = await store.queueStoreStatus(opts)
  } catch (e) {
    lines.push('Store:')
    showCheck({ name: 'status', ok: false, code: e.code || 'E_INTERNAL', detail: e.message }, {})
  }
  const mode = status?.mode || opts.mode || 'managed'
  const external = mode === 'external'
  let plan = null
  const getPlan = async () => (plan ??= await store.planInstall().catch(() => null))
  if (status) {
    report.running = status.running
    report.status = publicStatus(status)
    lines.push(...statusBlock(status))
    if (status.pid) lines.push(`Pid: ${status.pid}`)
    lines.push('Store checks:')
    const needsPlan = status.checks.some((c) => /^E_(BINARY_INCOMPATIBLE|START_FAILED|NO_SERVER_BINARY|VERSION_TOO_OLD)$/.test(c.code || ''))
    if (needsPlan) await getPlan()
    for (const c of status.checks) showCheck(c, { status, plan, external })
    if (status.portMoved) {
      const m = status.portMoved
      lines.push(`  warn port: the saved port ${m.from} is held by ${m.heldBy}; the store moved to ${m.to} and saved it`)
      lines.push(`       fix: nothing to do; to get ${m.from} back, stop ${m.holderPid ? `pid ${m.holderPid}` : 'that program'} and set CLAUDE_MEM_REDIS_PORT=${m.from}`)
    }
    for (const n of status.notices || []) lines.push(`  note ${n}`)
  }

  // 2. The URL, with the smoke test: in external mode, or when one was given.
  const url = opts.url || (external ? status?.url : undefined)
  if (url) {
    try {
      const probe = await store.probeRedisUrl(url, {
        smoke: true,
        ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
        ...(opts.caFile ? { caFile: opts.caFile } : {}),
        ...(opts.prefix ? { prefix: opts.prefix } : {}),
      })
      report.probe = probe
      lines.push(`URL ${probe.redactedUrl} (probe with the BullMQ smoke test):`)
      for (const c of probe.checks) showCheck(c, { redactedUrl: probe.redactedUrl, external: true })
    } catch (e) {
      lines.push('URL:')
      showCheck({ name: 'url', ok: false, code: e.code || 'E_INTERNAL', detail: e.message }, { external: true })
    }
  }

  // 3. The server binary (managed mode runs one).
  if (mode === 'managed') {
    const binaries = await store.detectServerBinaries(opts.dataDir ? { dataDir: opts.dataDir } : undefined).catch(() => [])
    report.binaries = binaries
    lines.push('Server binary:')
    if (opts.binary) {
      // Only the resolution inspects an explicit binary (`--version`); it installs nothing here.
      const { url: _url, ...rest } = opts
      const r = await store.resolveQueueStore({ ...rest, mode: 'managed' }).catch((e) => ({ error: e }))
      const step = r.steps?.find((s) => s.name === 'binary')
      if (r.plan) plan = r.plan
      if (step) {
        const code = /did not answer like a server|shared librar/.test(step.detail) ? 'E_BINARY_INCOMPATIBLE' : 'E_NO_SERVER_BINARY'
        if (!step.ok) await getPlan()
        showCheck({ name: 'binary', ok: step.ok, detail: step.detail, ...(step.ok ? {} : { code }) }, { status, plan })
      } else if (r.error) {
        showCheck({ name: 'binary', ok: false, code: r.error.code, detail: r.error.message }, { status })
      }
    } else if (binaries.length) {
      const b = binaries[0]
      showCheck({ name: 'binary', ok: true, detail: `${b.path} (${b.flavor} ${b.version}, ${b.source})${binaries.length > 1 ? `; ${binaries.length - 1} more` : ''}` })
    } else {
      await getPlan()
      showCheck({ name: 'binary', ok: false, code: 'E_NO_SERVER_BINARY', detail: 'no valkey-server or redis-server was found' }, { plan })
    }
    if (plan) {
      report.plan = plan
      lines.push(`  plan ${plan.method}${plan.shellCommand ? `: ${plan.shellCommand}` : ''} — ${plan.reason}`)
    }
  }

  report.healthy = report.problems.length === 0 && report.running
  let exit
  if (report.problems.length) {
    lines.push(`${report.problems.length} problem${report.problems.length > 1 ? 's' : ''} found.`)
    exit = 'unhealthy'
  } else if (!report.running) {
    lines.push('No problems found, but the store is not running: start it with `claude-mem-store up`.')
    exit = 'notRunning'
  } else {
    lines.push('No problems found.')
    exit = 'ok'
  }
  report.sections = undefined
  return { report, text: lines.join('\n'), exit }
}

module.exports = { doctor, checkState }
