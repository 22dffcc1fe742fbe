#!/usr/bin/env node
// claude-mem-store: the command line over the addon. Thin: parsing, printing and
// exit codes only (cli/); everything else is the addon's. See
// `claude-mem-store --help`.
'use strict'

const { main } = require('./cli/main')

main(process.argv.slice(2)).then((code) => {
  // Let stdout drain (a pipe on some platforms is asynchronous) before exiting.
  process.stdout.write('', () => process.exit(code))
})
