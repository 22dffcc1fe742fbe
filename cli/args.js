'use strict'
// Parsing: `claude-mem-store <command> [positional] [options]`, from the table in spec.js.

const { COMMANDS } = require('./spec')

class UsageError extends Error {
  constructor(message, command) {
    super(message)
    this.usage = true
    this.command = command
  }
}

/** The closest of `candidates` to `word`, if close enough to suggest. */
function suggest(word, candidates) {
  let best = null
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = distance(word, c)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null
}

function distance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]
}

/**
 * Returns { command, positional[], values{}, json, debug, help, version }.
 * `--json`/`--debug`/`--help` are recognised anywhere, also before the command.
 */
function parse(argv) {
  const out = { command: null, positional: [], values: {}, json: false, debug: false, help: false, version: false }
  // The command is the first word that is not an option.
  let i = 0
  const pre = []
  while (i < argv.length && argv[i].startsWith('-')) pre.push(argv[i++])
  for (const a of pre) {
    if (a === '--json') out.json = true
    else if (a === '--debug') out.debug = true
    else if (a === '--help' || a === '-h') out.help = true
    else if (a === '--version' || a === '-V') out.version = true
    else throw new UsageError(`unknown option ${a} (options go after the command)`)
  }
  if (i >= argv.length) return out
  const name = argv[i++]
  const spec = COMMANDS[name]
  if (!spec) {
    const hint = suggest(name, Object.keys(COMMANDS))
    throw new UsageError(`unknown command '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}`)
  }
  out.command = name
  const byFlag = new Map()
  for (const o of spec.options) {
    byFlag.set(o.flag, o)
    if (o.alias) byFlag.set(o.alias, o)
  }
  for (; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      out.positional.push(...argv.slice(i + 1))
      break
    }
    if (!a.startsWith('-') || a === '-') {
      // run: the command comes after `--`, so that its own options are never ours.
      if (spec.positional?.afterDashDash) throw new UsageError(`put -- before the command: claude-mem-store ${name} [options] -- ${a} …`, name)
      out.positional.push(a)
      continue
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1
    const flag = eq > 0 ? a.slice(0, eq) : a
    const o = byFlag.get(flag)
    if (!o) {
      const hint = suggest(flag, [...byFlag.keys()].filter((f) => f.startsWith('--')))
      throw new UsageError(`unknown option ${flag} for '${name}'${hint ? ` (did you mean ${hint}?)` : ''}`, name)
    }
    let value
    if (o.bool) {
      if (eq > 0) throw new UsageError(`${flag} takes no value`, name)
      value = true
    } else if (eq > 0) {
      value = a.slice(eq + 1)
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value (${o.value})`, name)
      value = argv[++i]
    }
    if (o.number) {
      if (!/^\d+$/.test(value)) throw new UsageError(`${flag} needs a whole number, not '${value}'`, name)
      value = Number(value)
    }
    if (o.key === 'json') out.json = true
    else if (o.key === 'debug') out.debug = true
    else if (o.key === 'help') out.help = true
    else out.values[o.key] = value
  }
  if (spec.positional?.afterDashDash && !out.positional.length && !out.help) {
    throw new UsageError(`${name} needs a command after --: claude-mem-store ${spec.usage}`, name)
  }
  const max = spec.positional ? spec.positional.max : 0
  if (out.positional.length > max && !out.help) {
    throw new UsageError(`unexpected argument '${out.positional[max]}' for '${name}'`, name)
  }
  return out
}

module.exports = { parse, UsageError, suggest }
