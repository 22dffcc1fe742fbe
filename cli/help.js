'use strict'
// Help text, generated from spec.js.

const { COMMANDS, EXIT_HELP } = require('./spec')

function mainHelp() {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  return `Usage: claude-mem-store <command> [options]

A private Valkey/Redis queue store for claude-mem's BullMQ queues.

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join('\n')}

Every command accepts --json (one JSON document on stdout), --debug (stack
traces) and --help. \`claude-mem-store help <command>\` shows its options.
\`claude-mem-store --version\` prints this package's version.

Exit codes:
${Object.entries(EXIT_HELP).map(([code, text]) => `  ${code}  ${text}`).join('\n')}`
}

function commandHelp(name) {
  const c = COMMANDS[name]
  const label = (o) => `${o.flag}${o.alias ? `, ${o.alias}` : ''}${o.value ? ` ${o.value}` : ''}`
  const width = Math.max(...c.options.map((o) => label(o).length))
  const env = [
    ...c.options.filter((o) => o.env).map((o) => `  ${o.env} (${o.flag})`),
    ...(c.env || []).map((e) => `  ${e}`),
  ]
  return [
    `Usage: claude-mem-store ${c.usage}`,
    '',
    c.summary + '.',
    '',
    c.description,
    '',
    'Options:',
    ...c.options.map((o) => `  ${label(o).padEnd(width)}  ${o.help}`),
    ...(env.length ? ['', 'Environment (an option wins over its variable):', ...env] : []),
    '',
    'Exit codes:',
    ...c.exits.map((code) => `  ${code}  ${EXIT_HELP[code]}`),
  ].join('\n')
}

module.exports = { mainHelp, commandHelp }
