'use strict'
// The commands: parse, call the addon, print, return an exit code.

const { EXIT, COMMANDS } = require('./spec')
const { parse, UsageError } = require('./args')
const { mainHelp, commandHelp } = require('./help')
const render = require('./render')
const out = require('./output')
const { doctor } = require('./doctor')
const { fixFor } = require('./fixes')
const { runCommand } = require('./run')

// The option keys each export accepts, generated from the addon's Rust readers
// (`cargo test option_keys` fails when this file and they differ): `store` is
// StoreOptions, `install` an install's own options, `functions` each export's keys.
const OPTION_KEYS = require('./option-keys.json')
const STORE_KEYS = OPTION_KEYS.store
const INSTALL_KEYS = OPTION_KEYS.install
const KEYS_OF = OPTION_KEYS.functions

const pick = (values, keys) => {
  const o = {}
  for (const k of keys) if (values[k] !== undefined) o[k] = values[k]
  return o
}

/** A Resolution without the URL's credentials. */
function publicResolution(r) {
  if (!r) return r
  const { url, ...rest } = r
  return rest
}

/** The progress sink for install/up: nothing with --json, else on stderr. */
function progressFor(args) {
  if (args.json) return null
  return render.progressRenderer(process.stderr)
}

/**
 * Finds and starts the store as claude-mem's non-interactive install does (see
 * `up --help`): the configured external or docker mode as is, else the resolution
 * (a working URL, a local server, or with --install-redis an installed one).
 * Returns { resolution, status }. `up` and `run` share it.
 */
async function ensureStore(args, store) {
  const v = args.values
  const opts = pick(v, STORE_KEYS)
  // What ensureQueueStoreStarted takes besides: StoreOptions and its own options.
  const ensureOpts = pick(v, KEYS_OF.ensureQueueStoreStarted)
  const install = pick(v, INSTALL_KEYS)
  if (!v.installRedis && Object.keys(install).length) {
    // The flags in the order `up --help` lists them.
    const flags = COMMANDS.up.options.filter((o) => o.key in install).map((o) => o.flag)
    throw new UsageError(`${flags.join(', ')} only apply with --install-redis`, 'up')
  }
  let mode = opts.mode
  if (!mode) {
    // The configured mode (option > env > settings.json), as the addon resolves it.
    const configured = await store.queueStoreStatus(opts).catch(() => null)
    mode = configured?.mode
    // claude-mem's first boot writes mode external with an empty URL (HOST:PORT,
    // 127.0.0.1:6379) as a default, not a choice: find the store as its installer does.
    if (mode === 'external' && configured.addressFrom === 'hostPort') mode = undefined
  }
  if (mode === 'external' || mode === 'docker') {
    return { resolution: null, status: await store.ensureQueueStoreStarted(ensureOpts) }
  }
  const progress = v.installRedis ? progressFor(args) : null
  const resolution = await store.resolveQueueStore({
    ...opts,
    ...(v.installRedis ? { installRedis: true, ...install } : {}),
    ...(progress ? { onProgress: progress.onProgress } : {}),
  }).finally(() => progress?.finish())
  switch (resolution.decision) {
    case 'external':
      return { resolution, status: await store.ensureQueueStoreStarted({ ...ensureOpts, mode: 'external', url: resolution.url }) }
    case 'managed':
      return { resolution, status: await store.ensureQueueStoreStarted({ ...ensureOpts, mode: 'managed' }) }
    case 'install':
      return { resolution, status: await store.ensureQueueStoreStarted({ ...ensureOpts, mode: 'managed', ...(resolution.binary ? { binary: resolution.binary.path } : {}) }) }
    default: {
      const e = new Error(`${resolution.reason}`)
      e.code = 'E_NO_SERVER_BINARY'
      e.command = resolution.command
      e.resolution = publicResolution(resolution)
      throw e
    }
  }
}

const commands = {
  async up(args, store) {
    const { resolution, status } = await ensureStore(args, store)
    if (args.json) {
      out.json({ resolution: publicResolution(resolution), status: render.publicStatus(status) })
    } else {
      for (const s of resolution?.steps || []) {
        if (!s.ok && s.name === 'url' && !/not set/.test(s.detail)) out.stderr(`Note: ${s.detail}; not used`)
      }
      if (resolution?.install) out.stderr(`Installed ${resolution.install.flavor}${resolution.install.version ? ` ${resolution.install.version}` : ''} with ${resolution.install.method}`)
      out.stdout(render.statusText(status))
      const how = status.mode === 'external' ? 'Using the external server as is (claude-mem never stops it).'
        : status.started ? 'Started the store.' : 'The store was already running.'
      out.stdout(how)
    }
    return EXIT.ok
  },

  async status(args, store) {
    const s = await store.queueStoreStatus(pick(args.values, KEYS_OF.queueStoreStatus))
    if (args.json) out.json(render.publicStatus(s))
    else out.stdout(render.statusText(s))
    if (!s.running) return EXIT.notRunning
    return s.checks.some((c) => !c.ok && c.code) ? EXIT.unhealthy : EXIT.ok
  },

  async down(args, store) {
    const r = await store.stopQueueStore(pick(args.values, KEYS_OF.stopQueueStore))
    if (args.json) out.json(r)
    else {
      out.stdout(r.message + (r.code ? ` [${r.code}]` : ''))
      if (r.stalePidFile) out.stdout(`The stale pid file was moved to ${r.stalePidFile}`)
    }
    // Asked to stop, and it did not: say so to scripts too.
    return r.code === 'E_STORE_IN_USE' ? EXIT.failed : EXIT.ok
  },

  async probe(args, store) {
    const url = args.positional[0] ?? process.env.CLAUDE_MEM_REDIS_URL
    if (!url) throw new UsageError('probe needs a URL (or CLAUDE_MEM_REDIS_URL)', 'probe')
    out.addSecretsOf(url)
    const r = await store.probeRedisUrl(url, pick(args.values, KEYS_OF.probeRedisUrl))
    if (args.json) out.json(r)
    else {
      const lines = [
        `URL: ${r.redactedUrl}`,
        `Server: ${r.name ? `${r.name} ${r.version || ''}`.trim() : r.flavor ? `${render.cap(r.flavor)} ${r.version || ''}`.trim() : 'unknown'}${r.cluster ? ' (cluster)' : ''}`,
        `Persistence: ${r.persistence || 'unknown'}`,
        `Policy: ${r.policy || 'unknown'}`,
        'Checks:',
      ]
      for (const c of r.checks) {
        lines.push(render.checkLine(c))
        const fix = !c.ok && c.code ? fixFor(c, { redactedUrl: r.redactedUrl, external: true }) : null
        if (fix) lines.push(`       fix: ${fix}`)
      }
      lines.push(r.ok ? `${r.redactedUrl} can serve as BullMQ's queue store.` : `${r.redactedUrl} is not fit for BullMQ (see the FAIL lines).`)
      out.stdout(lines.join('\n'))
    }
    return r.ok ? EXIT.ok : EXIT.unhealthy
  },

  async doctor(args, store) {
    const opts = pick(args.values, STORE_KEYS)
    const { report, text, exit } = await doctor(store, opts)
    if (args.json) out.json(report)
    else out.stdout(text)
    return EXIT[exit]
  },

  async detect(args, store) {
    const list = await store.detectServerBinaries(pick(args.values, KEYS_OF.detectServerBinaries))
    if (args.json) out.json(list)
    else out.stdout(list.length ? list.map((b) => `${b.flavor} ${b.version}  ${b.path}  (${b.source})`).join('\n') : 'No valkey-server or redis-server found (see `claude-mem-store plan`).')
    return EXIT.ok
  },

  async plan(args, store) {
    const p = await store.planInstall(pick(args.values, KEYS_OF.planInstall))
    if (args.json) out.json(p)
    else {
      out.stdout([
        `Method: ${p.method}${p.package ? ` (${p.package})` : ''}`,
        ...(p.shellCommand ? [`Command: ${p.shellCommand}`] : []),
        `Needs sudo: ${p.needsSudo ? 'yes (pass --allow-sudo to install)' : 'no'}`,
        ...(p.download ? [`Download: ${p.download.file}${p.download.hashPinned ? ' (sha256 pinned)' : ''}`] : []),
        `Why: ${p.reason}`,
      ].join('\n'))
    }
    return EXIT.ok
  },

  async install(args, store) {
    const progress = progressFor(args)
    const options = pick(args.values, KEYS_OF.installQueueStore)
    if (progress) options.onProgress = progress.onProgress
    const r = await store.installQueueStore(options).finally(() => progress?.finish())
    if (args.json) out.json(r)
    else {
      out.stdout([
        `Installed ${r.flavor}${r.version ? ` ${r.version}` : ''} with ${r.method}${r.alreadyInstalled ? ' (already installed)' : ''}`,
        ...(r.binary ? [`Binary: ${r.binary}`] : []),
        ...(r.hashPinned === false ? ['Checksum: the published .sha256 (the hash is not pinned in the manifest)'] : []),
        ...r.notices.map((n) => `Note: ${n}`),
      ].join('\n'))
    }
    return EXIT.ok
  },

  run(args, store) {
    return runCommand(args, store, { ensureStore, storeOptions: pick(args.values, STORE_KEYS) })
  },

  async uninstall(args, store) {
    const r = await store.uninstallQueueStore(pick(args.values, KEYS_OF.uninstallQueueStore))
    if (args.json) out.json(r)
    else {
      out.stdout([
        r.stop.message,
        ...r.removed.map((p) => `Removed: ${p}`),
        ...r.kept.map((p) => `Kept: ${p}`),
        ...(r.settingsKeysRemoved.length ? [`Settings keys removed: ${r.settingsKeysRemoved.join(', ')}`] : []),
        ...r.notices.map((n) => `Note: ${n}`),
      ].join('\n'))
    }
    return EXIT.ok
  },
}

async function main(argv) {
  let args
  try {
    args = parse(argv)
  } catch (e) {
    return fail(e, { json: argv.includes('--json'), debug: argv.includes('--debug') })
  }
  try {
    if (args.version && !args.command) {
      const { version } = require('../package.json')
      if (args.json) out.json({ version })
      else out.stdout(version)
      return EXIT.ok
    }
    if (!args.command) {
      if (args.json && args.help) out.json({ help: mainHelp() })
      else if (args.help) out.stdout(mainHelp())
      else {
        if (args.json) out.json({ error: { code: 'E_USAGE', message: 'no command given' } })
        else out.stderr(mainHelp())
        return EXIT.usage
      }
      return EXIT.ok
    }
    if (args.help) {
      if (args.json) out.json({ help: commandHelp(args.command) })
      else out.stdout(commandHelp(args.command))
      return EXIT.ok
    }
    if (args.command === 'help') {
      const topic = args.positional[0]
      if (topic && !COMMANDS[topic]) throw new UsageError(`unknown command '${topic}'`, 'help')
      const text = topic ? commandHelp(topic) : mainHelp()
      if (args.json) out.json({ help: text })
      else out.stdout(text)
      return EXIT.ok
    }
    out.addSecretsOf(args.values.url)
    out.addSecretsOf(args.values.mirror)
    const store = require('../index.js')
    return await commands[args.command](args, store)
  } catch (e) {
    return fail(e, args)
  }
}

/** Prints an error (code, message, next step; the stack only with --debug) and returns its exit code. */
function fail(e, { json, debug, command } = {}) {
  if (e && e.usage) {
    const hint = e.command || command ? `claude-mem-store ${e.command || command} --help` : 'claude-mem-store --help'
    if (json) out.json({ error: { code: 'E_USAGE', message: e.message } })
    else out.stderr(`claude-mem-store: ${e.message}. See \`${hint}\`.`)
    return EXIT.usage
  }
  const code = (e && e.code) || 'E_INTERNAL'
  const message = (e && e.message) || String(e)
  if (json) {
    out.json({ error: { code, message, ...(e && e.command ? { command: e.command } : {}) }, ...(e && e.resolution ? { resolution: e.resolution } : {}) })
  } else {
    out.stderr(`claude-mem-store: ${code}: ${message}`)
    if (e && e.command) out.stderr(`Run: ${e.command}`)
  }
  // The whole error: its stack (an addon error's has no JS frames) and properties.
  if (debug && e) out.stderr(require('node:util').inspect(e))
  return EXIT.failed
}

module.exports = { main, commands }
