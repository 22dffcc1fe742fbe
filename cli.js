#!/usr/bin/env node
// claude-mem-store: the command line over the addon. Thin: parsing, printing and
// exit codes only; everything else is the addon's.
'use strict'

const store = require('./index.js')

const EXIT = { ok: 0, failed: 1, usage: 2, notRunning: 3 }

const HELP = {
  main: `Usage: claude-mem-store <command> [options]

A private Valkey/Redis queue store for claude-mem's BullMQ queues.

Commands:
  up        Start the managed store (or adopt the running one) and print its status
  status    Print the store's status and health checks (starts nothing)
  down      Stop the managed store (only a server claude-mem started)
  detect    List the valkey-server / redis-server binaries found on this machine
  plan      Show how a server would be installed here (the exact command, sudo or not, why)
  install   Install a server: --method auto|download|apt|dnf|yum|apk|pacman|brew,
            --allow-sudo (sudo is never run otherwise), --mirror <url>, --valkey-version <v>
  uninstall Stop the store and remove what claude-mem-store wrote; --purge-data
            also removes the queue's data (kept by default)

Options (every command):
  --data-dir <dir>   Data dir (CLAUDE_MEM_DATA_DIR, default ~/.claude-mem)
  --port <port>      Port for the managed store (CLAUDE_MEM_REDIS_PORT)
  --binary <path>    valkey-server / redis-server to run
  --timeout <ms>     How long to wait (default 15000)
  --json             Print JSON instead of text
  --help             Show help for a command

Exit codes: 0 ok, 1 failed (the error's code is printed), 2 usage error,
3 status: the store is not running.`,
}

const installFlags = { '--method': 'method', '--mirror': 'mirror', '--valkey-version': 'version' }

function parseArgs(argv) {
  const args = { _: [], json: false, help: false, debug: false, options: {}, install: {} }
  const valueOf = (i, flag) => {
    if (i + 1 >= argv.length) throw usage(`${flag} needs a value`)
    return argv[i + 1]
  }
  const map = { '--data-dir': 'dataDir', '--port': 'port', '--binary': 'binary', '--timeout': 'timeoutMs', '--mode': 'mode', '--url': 'url' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') args.json = true
    else if (a === '--help' || a === '-h') args.help = true
    else if (a === '--debug') args.debug = true
    else if (a === '--allow-sudo') args.install.allowSudo = true
    else if (a === '--purge-data') args.install.purgeData = true
    else if (installFlags[a]) {
      args.install[installFlags[a]] = valueOf(i, a)
      i++
    }
    else if (map[a]) {
      const v = valueOf(i, a)
      i++
      args.options[map[a]] = a === '--port' || a === '--timeout' ? Number(v) : v
    } else if (a.startsWith('-')) throw usage(`unknown option ${a}`)
    else args._.push(a)
  }
  return args
}

function usage(message) {
  const e = new Error(message)
  e.usage = true
  return e
}

function printStatus(s) {
  const lines = []
  lines.push(`Queue: BullMQ`)
  if (s.running) {
    const server = s.server ? `${s.mode} ${cap(s.server.flavor)} ${s.server.version}` : s.mode
    lines.push(`Store: ${server} on ${s.connection.host}:${s.connection.port}${s.pid ? ` (pid ${s.pid})` : ''}`)
    lines.push(`URL: ${s.redactedUrl}`)
    if (s.persistence) lines.push(`Persistence: ${s.persistence}`)
    if (s.policy) lines.push(`Policy: ${s.policy}`)
  } else {
    lines.push(`Store: ${s.mode}, not running`)
  }
  for (const c of s.checks) lines.push(`  ${c.ok ? 'ok  ' : c.code ? 'FAIL' : 'warn'} ${c.name}: ${c.detail}${c.code ? ` [${c.code}]` : ''}`)
  for (const n of s.notices || []) lines.push(`Note: ${n}`)
  console.log(lines.join('\n'))
}

const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1)

async function main(argv) {
  const args = parseArgs(argv)
  const [command] = args._
  if (!command || (args.help && !command)) {
    console.log(HELP.main)
    return command ? EXIT.ok : args.help ? EXIT.ok : EXIT.usage
  }
  if (args.help) {
    console.log(HELP.main)
    return EXIT.ok
  }
  const out = (value, text) => (args.json ? console.log(JSON.stringify(value, null, 2)) : text(value))
  switch (command) {
    case 'up': {
      const s = await store.ensureQueueStoreStarted(args.options)
      out(s, printStatus)
      return EXIT.ok
    }
    case 'status': {
      const s = await store.queueStoreStatus(args.options)
      out(s, printStatus)
      return s.running ? EXIT.ok : EXIT.notRunning
    }
    case 'down': {
      const r = await store.stopQueueStore(args.options)
      out(r, (r) => console.log(r.message))
      return EXIT.ok
    }
    case 'detect': {
      const list = await store.detectServerBinaries(args.options.dataDir ? { dataDir: args.options.dataDir } : undefined)
      out(list, (l) => console.log(l.length ? l.map((b) => `${b.flavor} ${b.version}  ${b.path}  (${b.source})`).join('\n') : 'no server binary found'))
      return EXIT.ok
    }
    case 'plan': {
      const p = await store.planInstall(args.install.method ? { method: args.install.method } : undefined)
      out(p, (p) => console.log([
        `Method: ${p.method}${p.package ? ` (${p.package})` : ''}`,
        ...(p.shellCommand ? [`Command: ${p.shellCommand}`] : []),
        `Needs sudo: ${p.needsSudo ? 'yes' : 'no'}`,
        `Why: ${p.reason}`,
      ].join('\n')))
      return EXIT.ok
    }
    case 'install': {
      const { purgeData, ...install } = args.install
      if (purgeData) throw usage('--purge-data belongs to uninstall')
      const options = { ...install, ...(args.options.dataDir ? { dataDir: args.options.dataDir } : {}) }
      if (!args.json) {
        let last = 0
        options.onProgress = (e) => {
          if (e.phase === 'download' && Date.now() - last < 500 && e.bytes !== e.total) return
          last = Date.now()
          const bytes = e.phase === 'download' ? ` ${e.bytes}${e.total ? `/${e.total}` : ''} bytes` : ''
          console.error(`  ${e.phase}${bytes}${e.message ? `: ${e.message}` : ''}`)
        }
      }
      const r = await store.installQueueStore(options)
      out(r, (r) => console.log([
        `Installed ${r.flavor}${r.version ? ` ${r.version}` : ''} with ${r.method}${r.alreadyInstalled ? ' (already installed)' : ''}`,
        ...(r.binary ? [`Binary: ${r.binary}`] : []),
        ...r.notices.map((n) => `Note: ${n}`),
      ].join('\n')))
      return EXIT.ok
    }
    case 'uninstall': {
      const r = await store.uninstallQueueStore({ ...args.options, ...(args.install.purgeData ? { purgeData: true } : {}) })
      out(r, (r) => console.log([
        r.stop.message,
        ...r.removed.map((p) => `Removed: ${p}`),
        ...r.kept.map((p) => `Kept: ${p}`),
        ...r.notices.map((n) => `Note: ${n}`),
      ].join('\n')))
      return EXIT.ok
    }
    default:
      throw usage(`unknown command ${command}`)
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err.usage) {
      console.error(`claude-mem-store: ${err.message}. See claude-mem-store --help.`)
      process.exit(EXIT.usage)
    }
    const json = process.argv.includes('--json')
    if (json) console.log(JSON.stringify({ error: { code: err.code, message: err.message } }, null, 2))
    else console.error(`claude-mem-store: ${err.code || 'error'}: ${err.message}`)
    if (process.argv.includes('--debug')) console.error(err.stack)
    process.exit(EXIT.failed)
  },
)
