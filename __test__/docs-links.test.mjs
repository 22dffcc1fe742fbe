// Every relative link in README.md and docs/*.md points at a file that exists, and
// every `#anchor` at a heading of that page (GitHub's slugs). The README is split
// into pages under docs/; a moved or renamed section must not leave a link behind.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const PAGES = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

// Markdown outside fenced code blocks (a `](` in a code sample is not a link).
const prose = (text) => text.split(/^```.*$/m).filter((_, i) => i % 2 === 0).join('\n')

// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
function anchors(file) {
  const text = fs.readFileSync(file, 'utf8')
  return new Set([...prose(text).matchAll(/^#{1,6} +(.+?) *$/gm)].map(([, h]) =>
    h.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')))
}

test('README.md and docs/*.md: every relative link resolves, anchors included', () => {
  const broken = []
  let checked = 0
  for (const page of PAGES) {
    const text = prose(fs.readFileSync(path.join(ROOT, page), 'utf8'))
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue // https:, mailto:
      const [file, anchor] = target.split('#')
      const abs = file ? path.resolve(path.dirname(path.join(ROOT, page)), file) : path.join(ROOT, page)
      checked++
      if (!fs.existsSync(abs)) broken.push(`${page}: ${target} (no such file)`)
      else if (anchor !== undefined && !anchors(abs).has(anchor)) broken.push(`${page}: ${target} (no such heading)`)
    }
  }
  assert.ok(checked >= 20, `only ${checked} links found: is the pattern still right?`)
  assert.deepEqual(broken, [])
})
