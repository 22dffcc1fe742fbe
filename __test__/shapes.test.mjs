// Shapes checked, not trusted: src/types.d.ts (the hand-written, documented types at
// the top of index.d.ts) must describe exactly what the exports return. What they
// return is serde's JSON of Rust types, so the truth is derived from those types:
// `cargo test export_ts_shapes` (src/binding/shapes.rs) writes them as TypeScript with
// ts-rs, and this test compares them, type by type and field by field, with the
// TypeScript compiler: every field on both sides, optional on both or on neither, the
// same types, the same literal values and the same variants. A difference fails with
// the type and field it is in. The few places where src/types.d.ts is deliberately
// narrower than the Rust type are listed in NARROWER and HAND_ONLY, each with its
// reason; an entry that no longer differs fails too, so the lists stay minimal.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const HAND = path.join(ROOT, 'src', 'types.d.ts')
const INDEX_DTS = path.join(ROOT, 'index.d.ts')

// `Type.field` (the type that declares the field, as src/types.d.ts names it) → why
// src/types.d.ts allows less than the Rust type: each of these Rust fields is a
// `&'static str` (or a wider enum) that the code only ever sets to the values
// src/types.d.ts lists. Only that narrowing is excused; any other difference at the
// same field still fails.
const NARROWER = {
  'InstallPlan.method': "Rust &'static str: PackageManager::as_str, download, or plan.rs's nothing() with docker/external",
  'InstallResult.method': "Rust &'static str: PackageManager::as_str or download (install/mod.rs)",
  'InstallPlatform.libc': "Rust &'static str: platform.rs sets gnu or musl",
  'InstallPlan.flavor': 'Rust Flavor: plan.rs plans Valkey or Redis only',
  'InstallResult.flavor': "Rust Flavor: the package plan's (always Valkey or Redis), or Valkey for a download",
  'ServerBinary.flavor': "Rust Flavor: binary::inspect reads valkey, redis or redict from --version, else unknown (never dragonfly)",
  'Resolution.mode': 'Rust settings::Mode: a resolution decides external or managed, never docker',
}
// Values src/types.d.ts adds that no Rust code makes, with why.
const HAND_ONLY = {
  ErrorCode: {
    values: ["'E_SPAWN_FAILED'", "'E_ADDON_UNAVAILABLE'"],
    reason: 'thrown by the JavaScript itself: cli/ (`run`) and index.js (no addon loaded)',
  },
}
// Types that reach JavaScript without being a function's return type.
const CALLBACK_TYPES = ['ProgressEvent', 'WatchEvent', 'ErrorCode']

function generate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-shapes-'))
  const r = spawnSync('cargo', ['test', '--quiet', '--lib', 'binding::shapes::export_ts_shapes', '--', '--exact'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CMS_SHAPES_DIR: dir },
  })
  if (r.error || r.status !== 0) {
    throw new Error(`cargo test export_ts_shapes failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`)
  }
  return dir
}

function load(genDir) {
  const genIndex = path.join(genDir, 'index.ts')
  const program = ts.createProgram([genIndex, HAND, INDEX_DTS], {
    strict: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  })
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) =>
    ts.formatDiagnostic(d, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' }))
  const checker = program.getTypeChecker()
  const exportsOf = (file) => {
    const sym = checker.getSymbolAtLocation(program.getSourceFile(file))
    return new Map(checker.getExportsOfModule(sym).map((s) => {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s
      return [s.name, target]
    }))
  }
  return { program, checker, diagnostics, gen: exportsOf(genIndex), hand: exportsOf(HAND), index: exportsOf(INDEX_DTS) }
}

// Field-by-field comparison. Problems are strings naming the type and field.
function comparer(checker) {
  const problems = []
  const exceptionsUsed = new Set()
  const seen = new Set()
  const str = (t) => checker.typeToString(t, undefined, ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType)
  const members = (t) => (t.isUnion() ? t.types : [t])
  const isObject = (t) => (t.flags & ts.TypeFlags.Object) !== 0
  const name = (t) => t.aliasSymbol?.name ?? (t.symbol && !t.symbol.name.startsWith('__') ? t.symbol.name : undefined)
  // serde_json writes every Rust integer as a JSON number (ts-rs says bigint for u64/i64).
  const leaf = (t) => (t.flags & ts.TypeFlags.BigInt ? 'number' : str(t))
  const without = (t, flags) => members(t).filter((m) => !(m.flags & flags))

  function report(owner, where, text) {
    problems.push(`${where}${owner !== where ? ` (${owner})` : ''}: ${text}`)
  }

  // Compares the union members `g` (Rust) and `h` (types.d.ts) at `where`.
  function compareMembers(g, h, where, owner) {
    const gObjs = g.filter(isObject)
    const hObjs = h.filter(isObject)
    const gLeaves = new Set(g.filter((t) => !isObject(t)).map(leaf))
    const hLeaves = new Set(h.filter((t) => !isObject(t)).map(leaf))
    const onlyG = [...gLeaves].filter((x) => !hLeaves.has(x))
    const onlyH = [...hLeaves].filter((x) => !gLeaves.has(x))
    // src/types.d.ts wider than Rust (`string` where Rust sends only literals): the
    // literals it would document are missing, so it is a difference too.
    const hLeafTypes = h.filter((t) => !isObject(t))
    const wider = onlyG.length > 0 && onlyH.length > 0 && g.filter((t) => !isObject(t) && onlyG.includes(leaf(t)))
      .every((t) => hLeafTypes.some((ht) => checker.isTypeAssignableTo(t, ht)))
    if (wider) {
      report(owner, where, `src/types.d.ts says ${onlyH.join(' | ')}, but Rust sends only ${[...gLeaves].join(' | ')}: list them`)
    } else if (onlyG.length || onlyH.length) {
      // Excused: src/types.d.ts lists some of the Rust enum's values, or string
      // literals where Rust has a string (NARROWER); or values only JavaScript makes (HAND_ONLY).
      const narrower = onlyG.length > 0 &&
        (onlyH.length === 0 || (onlyG.length === 1 && onlyG[0] === 'string' && [...hLeaves].every((x) => x.startsWith("'"))))
      const handOnly = onlyG.length === 0 && HAND_ONLY[owner] !== undefined &&
        onlyH.length === HAND_ONLY[owner].values.length && HAND_ONLY[owner].values.every((v) => onlyH.includes(v))
      if (narrower && NARROWER[owner] !== undefined) exceptionsUsed.add(owner)
      else if (handOnly) exceptionsUsed.add(owner)
      else {
        report(owner, where, [
          onlyG.length && `Rust can send ${onlyG.join(' | ')}, which src/types.d.ts does not allow`,
          onlyH.length && `src/types.d.ts allows ${onlyH.join(' | ')}, which Rust never sends`,
          narrower && `(a deliberate narrowing belongs in NARROWER, with its reason)`,
        ].filter(Boolean).join('; '))
      }
    }
    if (gObjs.length === 1 && hObjs.length === 1) return compareTypes(gObjs[0], hObjs[0], where)
    if (gObjs.length || hObjs.length) {
      // Tagged variants: pair them by the discriminant's value.
      const tagOf = (t) => {
        for (const p of checker.getPropertiesOfType(t)) {
          const pt = checker.getTypeOfSymbol(p)
          if (pt.isStringLiteral()) return `${p.name}: '${pt.value}'`
        }
        return str(t)
      }
      const gm = new Map(gObjs.map((t) => [tagOf(t), t]))
      const hm = new Map(hObjs.map((t) => [tagOf(t), t]))
      for (const [tag, t] of gm) {
        if (!hm.has(tag)) report(owner, where, `Rust sends the variant { ${tag} }, which src/types.d.ts does not declare`)
        else compareTypes(t, hm.get(tag), `${where}{${tag}}`)
      }
      for (const tag of hm.keys()) if (!gm.has(tag)) report(owner, where, `src/types.d.ts declares the variant { ${tag} }, which Rust never sends`)
    }
  }

  function compareTypes(g, h, where) {
    if (checker.isArrayType(g) || checker.isArrayType(h)) {
      if (!(checker.isArrayType(g) && checker.isArrayType(h))) {
        return report(where, where, `Rust sends ${str(g)}, src/types.d.ts says ${str(h)}`)
      }
      return compareTypes(checker.getTypeArguments(g)[0], checker.getTypeArguments(h)[0], `${where}[]`)
    }
    // A named pair (Check and Check, …) is compared once, wherever it is used.
    const key = `${name(g) ?? where}|${name(h) ?? where}`
    if (seen.has(key)) return
    seen.add(key)
    if (g.isUnion() || h.isUnion() || !isObject(g) || !isObject(h)) {
      return compareMembers(members(g), members(h), where, name(h) ?? where)
    }
    const owner = name(h) ?? where
    const gProps = new Map(checker.getPropertiesOfType(g).map((p) => [p.name, p]))
    const hProps = new Map(checker.getPropertiesOfType(h).map((p) => [p.name, p]))
    for (const [field, gp] of gProps) {
      const at = `${where}.${field}`
      const hp = hProps.get(field)
      const gOptional = (gp.flags & ts.SymbolFlags.Optional) !== 0
      // ts-rs writes a field serde may omit as `x?: T | null`; skip_serializing_if
      // (Option::is_none) never writes null, so the optional field is `x?: T`.
      const gt = without(checker.getTypeOfSymbol(gp), ts.TypeFlags.Undefined | (gOptional ? ts.TypeFlags.Null : 0))
      if (!hp) {
        report(`${owner}.${field}`, at, `Rust sends ${field}${gOptional ? '?' : ''}: ${gt.map(str).join(' | ')}, which src/types.d.ts does not declare`)
        continue
      }
      const hOptional = (hp.flags & ts.SymbolFlags.Optional) !== 0
      if (gOptional !== hOptional) {
        report(`${owner}.${field}`, at, gOptional
          ? 'Rust leaves it out when empty (skip_serializing_if), but src/types.d.ts says it is always there: make it optional (`?:`)'
          : 'Rust always sends it, but src/types.d.ts says it is optional (`?:`); or the Rust field lacks `#[serde(default, skip_serializing_if = …)]`')
      }
      const ht = without(checker.getTypeOfSymbol(hp), ts.TypeFlags.Undefined)
      if (gt.length === 1 && ht.length === 1 && isObject(gt[0]) && isObject(ht[0])) compareTypes(gt[0], ht[0], at)
      else compareMembers(gt, ht, at, `${owner}.${field}`)
    }
    for (const field of hProps.keys()) {
      if (!gProps.has(field)) report(`${owner}.${field}`, `${where}.${field}`, 'src/types.d.ts declares it, but Rust never sends it')
    }
  }
  return { compareTypes, problems, exceptionsUsed }
}

// The types the exports' promises resolve with, read from index.d.ts.
function returnedTypes(index) {
  const names = new Set()
  const other = []
  for (const sym of index.values()) {
    for (const decl of sym.declarations ?? []) {
      if (!ts.isFunctionDeclaration(decl) || !decl.type) continue
      const text = decl.type.getText()
      const m = /^Promise<(\w+)(\[\])?>$/.exec(text)
      if (m) names.add(m[1])
      else if (text.startsWith('Promise<')) other.push(`${sym.name}: ${text}`)
    }
  }
  // An inline result type could not be compared: name it in src/types.d.ts.
  assert.deepEqual(other, [], 'every async export resolves with a named type')
  return [...names]
}

test('src/types.d.ts describes exactly what the Rust code returns (types derived from the Rust types)', { timeout: 1_800_000 }, () => {
  const genDir = generate()
  try {
    const { checker, diagnostics, gen, hand, index } = load(genDir)
    assert.deepEqual(diagnostics, [], 'the generated and hand-written declarations compile')
    const returned = returnedTypes(index)
    assert.ok(returned.length >= 8, `index.d.ts's async exports: ${returned.join(', ')}`)
    const missing = [...returned, ...CALLBACK_TYPES].filter((n) => !gen.has(n))
    assert.deepEqual(missing, [], 'every type an export returns is generated from Rust (add it to src/binding/shapes.rs)')
    const { compareTypes, problems, exceptionsUsed } = comparer(checker)
    for (const [n, g] of gen) {
      const h = hand.get(n)
      if (!h) {
        problems.push(`${n}: generated from Rust, but src/types.d.ts has no ${n}`)
        continue
      }
      compareTypes(checker.getDeclaredTypeOfSymbol(g), checker.getDeclaredTypeOfSymbol(h), n)
    }
    const unused = [...Object.keys(NARROWER), ...Object.keys(HAND_ONLY)].filter((k) => !exceptionsUsed.has(k))
    assert.deepEqual(problems, [], `src/types.d.ts differs from the Rust types (fix whichever is wrong; the Rust serde output is what users get):\n  ${problems.join('\n  ')}\n`)
    assert.deepEqual(unused, [], 'NARROWER / HAND_ONLY entries that no longer differ: remove them')
  } finally {
    fs.rmSync(genDir, { recursive: true, force: true })
  }
})

// ts-rs makes a field optional only when serde has both `default` and
// `skip_serializing_if`; without `default` a field serde leaves out would be generated
// as always present, and the comparison above would blame src/types.d.ts for it.
test('every skip_serializing_if in a type with derive(ts_rs::TS) comes with serde(default)', () => {
  const bare = []
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.rs')) {
        const text = fs.readFileSync(p, 'utf8')
        if (!text.includes('derive(ts_rs::TS)')) continue
        text.split('\n').forEach((line, i) => {
          if (/#\[serde\((?![^)]*\bdefault\b)[^)]*skip_serializing/.test(line)) bare.push(`${path.relative(ROOT, p)}:${i + 1}: ${line.trim()}`)
        })
      }
    }
  }
  walk(path.join(ROOT, 'src'))
  assert.deepEqual(bare, [], 'write #[serde(default, skip_serializing_if = …)]')
})
