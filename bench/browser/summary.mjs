// The merge step of `make bench`: the rows of target/bench/summary.json and the Markdown
// table target/bench/browser.md, from target/bench/browser.json (run.mjs) and, when they ran
// in the same `make bench`, target/bench/ptq.json (scripts/bench.sh) and
// target/bench/native.json (scripts/bench_native.sh).
//
//   node summary.mjs [--browser FILE] [--ptq FILE] [--native FILE] [--out DIR]
//
// A row: { what, agq, peer, peer_value, unit, ratio, target, met, note }.
//   ratio  > 1 means agq is better: agq / peer for a throughput, peer (or the bound) / agq for
//          bytes and times; null when there is nothing to compare with.
//   target the ratio that meets the goal (1: at least as good as the peer, or within the
//          bound), null when no goal is stated for the row.
//   met    ratio >= target; null when either is null (the note says why).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's compressed download before MNIST must stay under this (bytes; 3 MB). */
export const START_BYTES_BOUND = 3_000_000;
const NET = { lenet300: 'LeNet-300-100', lenet5: 'LeNet-5' };

const round = (v, d = 4) => (v == null || !Number.isFinite(v) ? null : Number.isInteger(v) ? v : Number(v.toPrecision(d)));

function row(what, agq, peer, peerValue, unit, ratio, target, note) {
  const r = round(ratio);
  const met = r == null || target == null ? null : r >= target;
  return { what, agq: round(agq, 6), peer, peer_value: round(peerValue, 6), unit, ratio: r, target, met, note: note ?? null };
}

function tfjsName(r) {
  return `tfjs-${r.backend === 'wasm' ? 'wasm' : r.backend} ${r.version ?? ''}`.trim();
}

function trainingRows(runs, info) {
  const rows = [];
  for (const net of ['lenet300', 'lenet5']) {
    for (const cls of ['cpu', 'webgpu']) {
      const agq = runs.find((r) => r.net === net && r.cls === cls && r.engine === 'agq');
      if (!agq) continue;
      const peerBackend = cls === 'cpu' ? 'wasm' : 'webgpu';
      const peers = runs.filter((r) => r.net === net && r.cls === cls && r.engine === 'tfjs' && !r.probe);
      const probe = runs.find((r) => r.net === net && r.cls === cls && r.engine === 'tfjs' && r.probe);
      const agqLabel = cls === 'cpu' ? 'agq CPU (wasm)' : 'agq WebGPU';
      const steps = `batch ${agq.batch}, ${agq.warmup} warm-up + ${agq.steps} timed steps each`;
      const gotOther = !agq.error && agq.backend !== cls;
      for (const peer of peers) {
        let what = `${NET[net]} training, ${agqLabel} vs tfjs-${peerBackend}`;
        let note = steps;
        if (net === 'lenet5' && peer.convGrad === 'custom') {
          what += ' (Conv2D filter gradient by tf.customGrad)';
          note += '; tfjs-backend-wasm has no Conv2DBackpropFilter kernel, so the peer computes the conv filter gradient as a conv2d of the transposed input and output gradient (tf.customGrad), all on wasm kernels';
        }
        if (agq.error || peer.error || gotOther) {
          const why = agq.error ? `agq failed: ${agq.error}` : gotOther ? `agq ran on ${agq.backend}, not ${cls}: ${agq.note ?? ''}` : `the peer failed: ${peer.error}`;
          rows.push(row(what, agq.error ? null : agq.imagesPerS, peer.error ? tfjsName({ backend: peerBackend, version: info?.tfjs }) : tfjsName(peer), peer.error ? null : peer.imagesPerS, 'images/s', null, 1, `${note}; ${why}`));
          continue;
        }
        if (cls === 'webgpu') note += `; WebGPU adapter: agq ${agq.adapter ?? '?'}, tfjs ${peer.env?.adapter ?? '?'}`;
        if (cls === 'cpu') note += `; tfjs-wasm SIMD ${peer.env?.simd}, threads ${peer.env?.threads}`;
        rows.push(row(what, agq.imagesPerS, tfjsName(peer), peer.imagesPerS, 'images/s', agq.imagesPerS / peer.imagesPerS, 1, note));
      }
      if (probe?.error) {
        rows.push(row(`${NET[net]} training, ${agqLabel} vs tfjs-${peerBackend} with tf.conv2d's own gradient`, agq.error ? null : agq.imagesPerS,
          tfjsName({ backend: peerBackend, version: info?.tfjs }), null, 'images/s', null, 1,
          `cannot run: ${probe.error}`));
      }
    }
  }
  return rows;
}

function startRows(start) {
  if (!start) return [];
  const rows = [];
  const ctx = start.context;
  const prof = start.profile;
  const cold = !prof?.error ? prof?.cold : !ctx?.error ? ctx?.cold : null;
  if (!cold) {
    return [row('page start', null, null, null, null, null, null, `not measured: ${prof?.error ?? ctx?.error ?? 'no result'}`)];
  }
  const wasm = cold.files.find((f) => f.path.startsWith('/pkg/agq_bg.wasm'));
  const wasmNote = wasm ? `pkg/agq_bg.wasm is ${wasm.body} bytes raw, ${wasm.gzipBody} gzipped` : 'pkg/agq_bg.wasm not seen';
  rows.push(
    row('page start download before MNIST, cold, gzip', cold.bytesGzip, 'bound 3 MB', START_BYTES_BOUND, 'bytes', START_BYTES_BOUND / cold.bytesGzip, 1,
      `${cold.requests} requests until Train is enabled and the network is idle; each file gzipped with node's zlib (level 6), plus its response headers; ${wasmNote}`),
    row('page start download before MNIST, cold, raw (python http.server does not compress)', cold.bytesRaw, null, null, 'bytes', null, null,
      'no goal stated: the bound is on the compressed download'),
    ...(start.gpuBuild && wasm ? [row('page start download before MNIST where WebGPU is used, cold, gzip', cold.bytesGzip - wasm.gzipBody + start.gpuBuild.gzip,
      null, null, 'bytes', null, null,
      `no goal stated: the same start with pkg/agq_gpu_bg.wasm (${start.gpuBuild.raw} bytes raw, ${start.gpuBuild.gzip} gzipped) in place of the CPU build, which the page loads only after the user chooses WebGPU, or when a first LeNet run times a hardware adapter against the CPU; counted, not measured (this browser's adapter is software)`)] : []),
    row('time until Train is enabled, cold', cold.trainEnabledS, null, null, 's', null, null, `from the navigation's start; backend badge: ${cold.backendBadge}; no goal stated`),
  );
  const add = (label, s, note) => {
    if (!s) return;
    rows.push(row(`page start download, ${label}`, s.bytesRaw, null, null, 'bytes', null, null, `${s.requests} requests, ${s.bodiesFromServer} bodies from the server; ${note}; no goal stated`));
    rows.push(row(`time until Train is enabled, ${label}`, s.trainEnabledS, null, null, 's', null, null, 'no goal stated'));
  };
  if (!prof?.error) {
    add('warm disk cache (return visit, same profile)', prof.warm, 'a fresh on-disk profile');
    add('reload (same profile)', prof.reload, 'a fresh on-disk profile');
  }
  if (!ctx?.error) {
    const again = ctx.warm?.files.some((f) => f.path.startsWith('/pkg/agq_bg.wasm') && f.body > 0);
    add('warm, playwright context (return visit)', ctx.warm, `an off-the-record browser context (in-memory HTTP cache)${again ? ': it did not keep pkg/agq_bg.wasm, which was downloaded again' : ''}`);
  }
  return rows;
}

/** Bounds of the issue: PTQ in wasm (s), re-accounting (ms), wasm memory with VGG-16 (bytes). */
const WASM_PTQ_BOUND_S = 0.3;
const REACCOUNT_BOUND_MS = 16;
const MEMORY_BOUND = 512 * 2 ** 20;

function quantizeRows(q, p) {
  if (!q) return [];
  if (q.error) return [row('VGG-16 snapshot in wasm (PTQ, re-accounting, memory)', null, null, null, null, null, null, `failed: ${q.error}`)];
  const what = `PTQ + quantize + account + encode of VGG-16 (${q.params} parameters), wasm in the page`;
  const rows = [
    row(what, q.compressS, `bound ${WASM_PTQ_BOUND_S} s`, WASM_PTQ_BOUND_S, 's', WASM_PTQ_BOUND_S / q.compressS, 1, `median of ${q.compressRuns.length} runs; ${q.fileBytes} bytes of .agq`),
  ];
  if (p?.numpy_s) {
    rows.push(row(`${what}, vs numpy`, q.compressS, `numpy ${p.numpy}`, p.numpy_s, 's', p.numpy_s / q.compressS, 3,
      `numpy natively on ${p.params} parameters (scripts/bench.sh, the same shapes as the native bench), agq in wasm on the committed snapshot`));
  }
  rows.push(row('re-accounting VGG-16 after a slider change, wasm in the page', q.reaccountMs, `bound ${REACCOUNT_BOUND_MS} ms`, REACCOUNT_BOUND_MS, 'ms', REACCOUNT_BOUND_MS / q.reaccountMs, 1, `median of ${q.reaccountRuns.length} runs, widths alternating`));
  rows.push(row('wasm memory with VGG-16 loaded and quantized (peak)', q.memoryBytes, 'bound 512 MiB', MEMORY_BOUND, 'bytes', MEMORY_BOUND / q.memoryBytes, 1, 'memory.buffer.byteLength at the end (a wasm memory never shrinks)'));
  return rows;
}

/** agq natively must train at least half as fast as PyTorch on the CPU. */
const NATIVE_TARGET = 0.5;

/** Rows of scripts/bench_native.sh's JSON lines: agq bench-train against PyTorch, per network. */
function nativeRows(lines) {
  const rows = [];
  for (const net of ['lenet300', 'lenet5']) {
    const isTorch = (l) => /^pytorch/i.test(String(l.engine));
    const agq = lines.find((l) => l.net === net && !isTorch(l));
    const torch = lines.find((l) => l.net === net && isTorch(l));
    if (!agq || !torch) continue;
    rows.push(row(`${NET[net]} training natively, agq (${agq.engine}) vs PyTorch CPU`, agq.images_per_s, torch.engine, torch.images_per_s, 'images/s',
      agq.images_per_s / torch.images_per_s, NATIVE_TARGET, `batch ${agq.batch}, ${agq.steps} steps after a warm-up, random data of MNIST's shape, |grad| accumulation in both`));
  }
  return rows;
}

function ptqRows(p) {
  if (!p) return [];
  const rows = [
    row(`PTQ + quantize + account + encode of VGG-16 (${p.params} parameters), native`, p.agq_s, `numpy ${p.numpy}`, p.numpy_s, 's', p.numpy_s / p.agq_s, null,
      `criterion mean vs numpy mean of ${p.runs} runs; same output checked (bits, bitstream CRC-32); no goal stated`),
  ];
  for (const [name, ms] of Object.entries(p.reaccount_ms ?? {})) {
    rows.push(row(`re-accounting a VGG-16 snapshot (${name}), native`, ms, 'bound 16 ms', 16, 'ms', 16 / ms, 1, 'criterion mean'));
  }
  return rows;
}

const fmt = (v, unit) => {
  if (v == null) return '–';
  if (unit === 'bytes') return v.toLocaleString('en-US');
  if (unit === 's' || unit === 'ms') return v < 10 ? v.toFixed(3) : v.toFixed(1);
  return v.toFixed(1);
};

export function markdown(rows) {
  const out = ['| what | agq | peer | peer value | unit | ratio | target | met |', '|---|---:|---|---:|---|---:|---:|---|'];
  for (const r of rows) {
    const met = r.met == null ? '–' : r.met ? 'yes' : '**no**';
    out.push(`| ${r.what} | ${fmt(r.agq, r.unit)} | ${r.peer ?? '–'} | ${fmt(r.peer_value, r.unit)} | ${r.unit ?? '–'} | ${r.ratio == null ? '–' : `${r.ratio.toFixed(2)}x`} | ${r.target == null ? '–' : `≥ ${r.target}`} | ${met} |`);
  }
  return out.join('\n');
}

/** Reads the result files, writes summary.json and browser.md into `out`; returns both. */
export function summarize({ browser, ptq, native, out }) {
  const b = browser && existsSync(browser) ? JSON.parse(readFileSync(browser, 'utf8')) : null;
  const p = ptq && existsSync(ptq) ? JSON.parse(readFileSync(ptq, 'utf8')) : null;
  const n = native && existsSync(native) ? readFileSync(native, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)) : [];
  const rows = [...trainingRows(b?.training ?? [], b?.info), ...nativeRows(n), ...startRows(b?.start), ...quantizeRows(b?.quantize, p), ...ptqRows(p)];
  const md = markdown(rows);
  const i = b?.info;
  const head = i ? `${i.date}: ${i.cpu} (${i.cores} cores, ${i.arch}), ${i.chromium || i.browserVersion} headless, TensorFlow.js ${i.tfjs}, node ${i.node}` : '';
  writeFileSync(path.join(out, 'summary.json'), `${JSON.stringify(rows, null, 1)}\n`);
  writeFileSync(path.join(out, 'browser.md'), `${head}\n\n${md}\n\nNotes:\n${rows.filter((r) => r.note).map((r) => `- ${r.what}: ${r.note}`).join('\n')}\n`);
  return { rows, markdown: md };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const a = process.argv.slice(2);
  const get = (k) => (a.includes(k) ? a[a.indexOf(k) + 1] : null);
  const out = get('--out') ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'target', 'bench');
  const { markdown: md } = summarize({ browser: get('--browser') ?? path.join(out, 'browser.json'), ptq: get('--ptq'), native: get('--native') ?? path.join(out, 'native.json'), out });
  console.log(md);
}
