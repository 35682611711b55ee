#!/usr/bin/env node
// Writes a wasm module without its "name" custom section (the function names of wasm-bindgen's
// output: 7.0 of its 39.7 MB, 1.1 MB of its gzip size; docs/BENCHMARKS.md "wasm size"). Every
// other section is copied byte for byte, so the code is unchanged; only stack traces of a
// panic show wasm-function[N] instead of Rust names. A module without one is copied as is.
//
//   node scripts/wasm-strip.mjs IN.wasm OUT.wasm
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from './wasm-size.mjs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/wasm-strip.mjs IN.wasm OUT.wasm');
  process.exit(2);
}
const buf = readFileSync(input);
if (buf.readUInt32LE(0) !== 0x6d736100) throw new Error(`${input} is not a wasm module`);
const keep = [buf.subarray(0, 8)];
let removed = 0;
for (const section of parse(buf).sections) {
  if (section.name === 'custom "name"') removed += section.end - section.start;
  else keep.push(buf.subarray(section.start, section.end));
}
writeFileSync(output, Buffer.concat(keep));
console.log(`wasm-strip: ${input} -> ${output}: name section of ${removed} bytes removed, ${buf.length - removed} bytes`);
