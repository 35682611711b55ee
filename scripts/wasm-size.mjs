#!/usr/bin/env node
// What the page's wasm module weighs, and where (docs/BENCHMARKS.md, "wasm size"):
//
//   node scripts/wasm-size.mjs FILE.wasm...        raw, gzip -9 and brotli (quality 11) sizes
//                                                  and the size of every section
//   node scripts/wasm-size.mjs --crates [N] FILE   also the function bodies summed by crate
//                                                  (from the name section: use the module as
//                                                  wasm-bindgen wrote it, which scripts/wasm-opt.sh
//                                                  keeps in target/wasm-opt/agq_bg.wasm)
//   --json                                         one JSON object per file instead
//
// A function counts for the crate its name starts with (`burn_flex::ops::...`); for
// `<A as B>::f` the crate of A, or of B when A is a generic parameter or core/alloc/std; for a
// core/alloc/std function instantiated with another crate's type (`core::ptr::drop_in_place<
// cubecl_ir::...>`, `alloc::vec::Vec<T>::push` with T from a crate), the first such crate in
// its generic arguments; else "core/alloc/std".
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

const SECTION = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start',
  'element', 'code', 'data', 'datacount', 'tag'];
const STD = new Set(['core', 'alloc', 'std']);

/**
 * The sections of a wasm module (`name`: the section kind, custom ones as `custom "NAME"`;
 * `start`/`end`: the byte range of the whole section), its function bodies' sizes with
 * their names when the module has a name section, and whether it has one.
 */
export function parse(buf) {
  let p = 8;
  const leb = () => {
    let r = 0;
    let s = 0;
    let b;
    do {
      b = buf[p++];
      r += (b & 0x7f) * 2 ** s;
      s += 7;
    } while (b & 0x80);
    return r;
  };
  const skipName = () => {
    const n = leb();
    p += n;
  };
  const sections = [];
  const bodies = [];
  const names = new Map();
  let funcImports = 0;
  while (p < buf.length) {
    const start = p;
    const id = buf[p++];
    const size = leb();
    const end = p + size;
    if (end > buf.length) throw new Error(`section at byte ${start} runs past the end`);
    let name = SECTION[id] ?? `unknown ${id}`;
    if (id === 2) {
      const n = leb();
      for (let i = 0; i < n; i++) {
        skipName();
        skipName();
        const kind = buf[p++];
        if (kind === 0) { leb(); funcImports++; } // function: type index
        else if (kind === 1) { p++; if (leb() & 1) { leb(); leb(); } else leb(); } // table
        else if (kind === 2) { if (leb() & 1) { leb(); leb(); } else leb(); } // memory
        else if (kind === 3) p += 2; // global (numeric or ref type)
        else if (kind === 4) { p++; leb(); } // tag
        else throw new Error(`import kind ${kind} not understood`);
      }
    } else if (id === 10) {
      const n = leb();
      for (let i = 0; i < n; i++) {
        const at = p;
        const s = leb();
        p += s;
        bodies.push(p - at);
      }
    } else if (id === 0) {
      const n = leb();
      name = `custom "${buf.subarray(p, p + n).toString()}"`;
      p += n;
      if (name === 'custom "name"') {
        while (p < end) {
          const sub = buf[p++];
          const ss = leb();
          const se = p + ss;
          if (sub === 1) {
            const count = leb();
            for (let i = 0; i < count; i++) {
              const idx = leb();
              const l = leb();
              names.set(idx, buf.subarray(p, p + l).toString());
              p += l;
            }
          }
          p = se;
        }
      }
    }
    sections.push({ name, bytes: size, start, end });
    p = end;
  }
  const functions = bodies.map((bytes, i) => ({ name: names.get(i + funcImports) ?? null, bytes }));
  return { sections, functions, named: names.size > 0 };
}

/** The crate of a path such as `burn_flex::ops::x`, or null for a bare name (T, u8, a tuple). */
function firstCrate(s) {
  s = s.trim().replace(/^(?:&mut |&|\*const |\*mut |dyn |impl |\[|\()+/, '');
  const m = /^([A-Za-z_][A-Za-z0-9_]*)::/.exec(s);
  return m ? m[1] : null;
}

/** [A, B] of `<A as B>...` (B null for `<A>::f`), honouring nested angle brackets. */
function splitAs(s) {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '<') depth++;
    else if (c === '>') {
      depth--;
      if (depth === 0) return [s.slice(1, i), null];
    } else if (depth === 1 && s.startsWith(' as ', i)) {
      let d = 1;
      for (let k = i + 4; k < s.length; k++) {
        if (s[k] === '<') d++;
        else if (s[k] === '>' && --d === 0) return [s.slice(1, i), s.slice(i + 4, k)];
      }
    }
  }
  return [s, null];
}

/** The first crate other than core/alloc/std named inside the generic arguments of `s`. */
function genericCrate(s) {
  const lt = s.indexOf('<');
  if (lt < 0) return null;
  for (const m of s.slice(lt).matchAll(/([a-z_][a-z0-9_]*)::/g)) {
    if (!STD.has(m[1])) return m[1];
  }
  return null;
}

export function crateOf(name) {
  if (name == null) return '(no name)';
  if (/^__(wbg|wbindgen|externref)/.test(name)) return 'wasm_bindgen';
  if (name.startsWith('<')) {
    const [a, b] = splitAs(name);
    const ca = firstCrate(a);
    if (ca && !STD.has(ca)) return ca;
    const cb = b ? firstCrate(b) : null;
    if (cb && !STD.has(cb)) return cb;
    return genericCrate(a) ?? 'core/alloc/std';
  }
  const c = firstCrate(name);
  if (c == null) return '(other: compiler_builtins, ctors, ...)';
  if (STD.has(c)) return genericCrate(name) ?? 'core/alloc/std';
  return c;
}

const GROUPS = [
  [/^burn_flex$|^gemm/, 'burn-flex CPU backend (burn_flex, gemm*)'],
  [/^cubecl_std$/, 'cubecl-std'],
  [/^cubek/, 'cubek kernels (cubek_*)'],
  [/^cubecl|^burn_cubecl$|^burn_wgpu$/, 'cubecl (core, ir, wgpu, runtime, opt, ...) and burn-cubecl'],
  [/^pliron|^combine$|^rustc_apfloat$/, 'pliron, combine, rustc_apfloat (cubecl IR)'],
  [/^burn_/, 'burn (std, autodiff, dispatch, optim, backend, tensor, core, nn, ...)'],
  [/^wgpu|^naga/, 'wgpu, naga'],
  [/^agq$/, 'agq'],
  [/^wasm_bindgen|^js_sys$|^web_sys$/, 'wasm-bindgen, js-sys, web-sys'],
];
const groupOf = (crate) => GROUPS.find(([re]) => re.test(crate))?.[1] ?? 'other crates and core/alloc/std';

function sizes(buf) {
  return {
    raw: buf.length,
    gzip9: zlib.gzipSync(buf, { level: 9 }).length,
    brotli11: zlib.brotliCompressSync(buf, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length },
    }).length,
  };
}

function report(file, { crates, json }) {
  const buf = readFileSync(file);
  const { sections, functions, named } = parse(buf);
  const out = { file, ...sizes(buf), sections, functions: functions.length };
  if (crates) {
    if (!named) throw new Error(`${file} has no name section: use the module as wasm-bindgen wrote it`);
    const total = functions.reduce((a, f) => a + f.bytes, 0);
    const byCrate = new Map();
    const byGroup = new Map();
    for (const f of functions) {
      const c = crateOf(f.name);
      const e = byCrate.get(c) ?? { crate: c, bytes: 0, functions: 0 };
      e.bytes += f.bytes;
      e.functions++;
      byCrate.set(c, e);
      byGroup.set(groupOf(c), (byGroup.get(groupOf(c)) ?? 0) + f.bytes);
    }
    out.codeBytes = total;
    out.groups = [...byGroup].map(([group, bytes]) => ({ group, bytes })).sort((x, y) => y.bytes - x.bytes);
    out.crates = [...byCrate.values()].sort((x, y) => y.bytes - x.bytes).slice(0, crates);
  }
  if (json) {
    console.log(JSON.stringify(out));
    return;
  }
  const n = (x) => x.toLocaleString('en-US');
  console.log(`${file}: ${n(out.raw)} bytes raw, ${n(out.gzip9)} gzip -9, ${n(out.brotli11)} brotli 11`);
  for (const s of sections) console.log(`  section ${s.name.padEnd(28)} ${n(s.bytes).padStart(12)}`);
  if (crates) {
    const pct = (b) => `${((100 * b) / out.codeBytes).toFixed(1).padStart(5)}%`;
    console.log(`  function bodies: ${n(out.codeBytes)} bytes in ${n(functions.length)} functions`);
    for (const g of out.groups) console.log(`  ${n(g.bytes).padStart(12)} ${pct(g.bytes)}  ${g.group}`);
    console.log('  by crate:');
    for (const c of out.crates) console.log(`  ${n(c.bytes).padStart(12)} ${pct(c.bytes)} ${String(c.functions).padStart(7)} fns  ${c.crate}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));

function main(args) {
  const opts = { crates: 0, json: false };
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--json') opts.json = true;
    else if (args[i] === '--crates') opts.crates = /^\d+$/.test(args[i + 1] ?? '') ? Number(args[++i]) : 30;
    else files.push(args[i]);
  }
  if (files.length === 0) {
    console.error('usage: node scripts/wasm-size.mjs [--crates [N]] [--json] FILE.wasm...');
    process.exit(2);
  }
  for (const f of files) report(f, opts);
}
