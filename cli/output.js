'use strict'
// Everything the CLI prints goes through here, so that a password the user gave
// on the command line (in a URL) can never be echoed, whatever prints it.

const secrets = new Set()

/** Remembers the credentials of `url` (its password, and the raw URL itself) to mask them. */
function addSecretsOf(url) {
  if (typeof url !== 'string' || !url) return
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^@/?#]*)@/i.exec(url)
  if (!m) return
  secrets.add(url)
  const userinfo = m[1]
  const colon = userinfo.indexOf(':')
  const password = colon >= 0 ? userinfo.slice(colon + 1) : userinfo
  // A very short password would mask every occurrence of a common word; the
  // addon's own reports are redacted anyway.
  for (const p of [password, safeDecode(password)]) if (p && p.length >= 4) secrets.add(p)
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

function scrub(text) {
  let out = String(text)
  // Longest first, so the raw URL is masked whole before its password is.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***')
  return out
}

const stdout = (text) => process.stdout.write(scrub(text) + '\n')
const stderr = (text) => process.stderr.write(scrub(text) + '\n')
const json = (value) => stdout(JSON.stringify(value, null, 2))

module.exports = { addSecretsOf, scrub, stdout, stderr, json }
