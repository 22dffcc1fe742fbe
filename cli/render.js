'use strict'
// Text rendering: the status block, check lines, and the download progress.

const cap = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s)

/** The seed's status block: Queue, Store, Persistence, Policy. */
function statusBlock(s) {
  let store
  const where = s.connection ? ` on ${s.connection.host}:${s.connection.port}` : ''
  const server = s.server && s.server.flavor !== 'unknown' ? ` ${cap(s.server.flavor)} ${s.server.version}${s.server.bundled ? ' (bundled)' : ''}` : s.server ? ` ${s.server.name || 'server'} ${s.server.version}` : ''
  if (s.running) store = `${s.mode}${server}${where}${s.server?.outdated ? ' (outdated: see the note)' : ''}`
  else store = `${s.mode}, not running`
  return [
    'Queue: BullMQ',
    `Store: ${store}`,
    `Persistence: ${s.persistence || (s.running ? 'unknown' : '-')}`,
    `Policy: ${s.policy || (s.running ? 'unknown' : '-')}`,
  ]
}

/** `ok`, `warn` (failed without a code) or `FAIL` (failed with a code). */
function checkState(c) {
  return c.ok ? 'ok' : c.code ? 'FAIL' : 'warn'
}

function checkLine(c, indent = '  ') {
  const state = checkState(c)
  return `${indent}${state.padEnd(4)} ${c.name}: ${c.detail}${c.code ? ` [${c.code}]` : ''}`
}

/** The whole text of a status: the block, then details, checks and notices. */
function statusText(s) {
  const lines = statusBlock(s)
  if (s.redactedUrl) lines.push(`URL: ${s.redactedUrl}`)
  if (s.pid) lines.push(`Pid: ${s.pid}${s.owned ? '' : ' (not claude-mem\'s)'}`)
  if (s.prefix) lines.push(`Prefix: ${s.prefix} (claude-mem's queue keys)`)
  if (s.clients !== undefined) lines.push(`Clients: ${s.clients} other${s.clients ? ' (a stop leaves the store running while they are connected)' : ''}`)
  if (s.container) lines.push(`Container: ${s.container.name} (${s.container.image}, ${s.container.state})`)
  if (s.portMoved) lines.push(`Port moved: ${s.portMoved.from} → ${s.portMoved.to} (${s.portMoved.from} is held by ${s.portMoved.heldBy})`)
  lines.push('Checks:')
  for (const c of s.checks) lines.push(checkLine(c))
  for (const n of s.notices || []) lines.push(`Note: ${n}`)
  return lines.join('\n')
}

/** A status without secrets (for --json): no `url`, no `connection.password`. */
function publicStatus(s) {
  const { url, connection, ...rest } = s
  const out = { ...rest }
  if (connection) {
    const { password, ...conn } = connection
    out.connection = conn
  }
  return out
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

/** One frame of the progress bar: `download [#####.....]  50%  1.0/2.0 MiB`. */
function progressBar(bytes, total, width = 30) {
  if (!total) return `download ${formatBytes(bytes)}`
  const frac = Math.max(0, Math.min(1, bytes / total))
  const filled = Math.round(frac * width)
  return `download [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(frac * 100)).padStart(3)}%  ${formatBytes(bytes)}/${formatBytes(total)}`
}

/**
 * Renders install progress events on `stream` (stderr): on a terminal, one bar
 * redrawn in place; elsewhere, plain lines — each phase once, and the download
 * every `everyMs` (and at its end). `now` is injectable for tests.
 */
function progressRenderer(stream, { tty = Boolean(stream.isTTY), everyMs = 1000, now = Date.now } = {}) {
  let lastPhase = null
  let lastLine = 0
  let barShown = false
  const endBar = () => {
    if (barShown) stream.write('\n')
    barShown = false
  }
  const onProgress = (e) => {
    if (e.phase === 'download' && e.bytes !== undefined) {
      const done = e.total !== undefined && e.bytes >= e.total
      if (tty) {
        stream.write(`\r\x1b[2K  ${progressBar(e.bytes, e.total)}`)
        barShown = true
        if (done) endBar()
      } else if (lastPhase !== 'download' || done || now() - lastLine >= everyMs) {
        stream.write(`  ${progressBar(e.bytes, e.total)}\n`)
        lastLine = now()
      }
      lastPhase = 'download'
      return
    }
    endBar()
    if (e.phase === lastPhase && !e.message) return
    lastPhase = e.phase
    stream.write(`  ${e.phase}${e.message ? `: ${e.message}` : ''}\n`)
  }
  return { onProgress, finish: endBar }
}

module.exports = { statusBlock, statusText, checkLine, checkState, publicStatus, progressBar, progressRenderer, formatBytes, cap }
