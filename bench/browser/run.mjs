// The in-browser part of `make bench`: one headless Chromium run (Debian's, through
// playwright-core, the flags and static server of tests/e2e/harness.mjs) that measures
//
//  1. page start: index.html loaded cold (fresh context), warm (a return visit in the same
//     context) and reloaded, in a playwright context (memory cache) and in a fresh on-disk
//     profile (disk cache): bytes transferred (raw, as python's http.server sends them, and
//     each fetched file gzipped here with node's zlib) and the time until Train is enabled;
//  2. training throughput, images/s at batch 64 on real MNIST, LeNet-300-100 and LeNet-5:
//     agq's `Lab` (pkg/agq.js) on its CPU backend against TensorFlow.js 4.22.0 on
//     tfjs-backend-wasm, and agq on WebGPU (pkg/agq_gpu.js) against tfjs-backend-webgpu, each measurement in a
//     fresh browser context on bench/browser/index.html (bench.js).
//
// Writes target/bench/browser.json, then (summary.mjs) target/bench/summary.json and
// target/bench/browser.md.
//
//   cd bench/browser && npm install && node run.mjs            # what `make bench` runs
//   node run.mjs --quick                                        # 1 warm-up + 2 timed steps: checks the script
//   node run.mjs --only start | --only train | --only quantize  # one part
//
//  3. quantization in wasm: the VGG-16 snapshot's PTQ + accounting + encoding (the `.agq`
//     file), re-accounting after a slider change, and the module's peak memory.
//
// Environment: AGQ_BENCH_STEPS_CPU (timed steps, CPU/wasm rows, default 100),
// AGQ_BENCH_STEPS_GPU (LeNet-300-100 WebGPU row, default 20), AGQ_BENCH_STEPS_GPU_LENET5
// (LeNet-5 WebGPU row, default 5), AGQ_BENCH_WARMUP_CPU (default 5), AGQ_BENCH_WARMUP_GPU
// (default 3), AGQ_BENCH_WARMUP_GPU_LENET5 (default 2), AGQ_BENCH_RUN_TIMEOUT_MIN (per measurement, default 20),
// AGQ_BENCH_OUT (output folder, default target/bench), and harness.mjs's AGQ_ROOT, AGQ_CHROMIUM.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, ROOT, machine, openLoggedPage, startServer } from '../../tests/e2e/harness.mjs';
import { summarize } from './summary.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BATCH = 64;
const envInt = (name, dflt) => {
  const v = process.env[name];
  if (v == null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not ${v}`);
  return n;
};

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? argv[onlyAt + 1] : null;
if (only && !['start', 'train', 'quantize'].includes(only)) {
  console.error('usage: node run.mjs [--quick] [--only start|train|quantize]');
  process.exit(2);
}
// Steps per row: the same for agq and its peer. SwiftShader (this machine's WebGPU) is slow:
// about 1 s per LeNet-300-100 step for agq and over 30 s per LeNet-5 step for tfjs-webgpu,
// so the LeNet-5 WebGPU row is timed over fewer steps.
const STEPS = {
  cpu: { lenet300: quick ? 2 : envInt('AGQ_BENCH_STEPS_CPU', 100), lenet5: quick ? 2 : envInt('AGQ_BENCH_STEPS_CPU', 100) },
  webgpu: { lenet300: quick ? 2 : envInt('AGQ_BENCH_STEPS_GPU', 20), lenet5: quick ? 2 : envInt('AGQ_BENCH_STEPS_GPU_LENET5', 5) },
};
const WARMUP = {
  cpu: { lenet300: quick ? 1 : envInt('AGQ_BENCH_WARMUP_CPU', 5), lenet5: quick ? 1 : envInt('AGQ_BENCH_WARMUP_CPU', 5) },
  webgpu: { lenet300: quick ? 1 : envInt('AGQ_BENCH_WARMUP_GPU', 3), lenet5: quick ? 1 : envInt('AGQ_BENCH_WARMUP_GPU_LENET5', 2) },
};
const RUN_TIMEOUT_MS = envInt('AGQ_BENCH_RUN_TIMEOUT_MIN', 20) * 60_000;
const OUT = path.resolve(process.env.AGQ_BENCH_OUT ?? path.join(ROOT, 'target', 'bench'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- page start

/** Runs in the page before its scripts: the page time when Train is first enabled. */
function trainProbe() {
  window.__agqTrainEnabledAt = null;
  const check = () => {
    const b = document.querySelector('[data-testid="train"]');
    if (b && !b.disabled && window.__agqTrainEnabledAt == null) {
      window.__agqTrainEnabledAt = performance.now();
      return true;
    }
    return false;
  };
  const id = setInterval(() => { if (check()) clearInterval(id); }, 5);
}

/** The file a URL of our server names (for its gzip size), or null. */
function fileOf(url, base) {
  if (!url.startsWith(base)) return null;
  let p = decodeURIComponent(new URL(url).pathname);
  if (p.endsWith('/')) p += 'index.html';
  const f = path.join(ROOT, p);
  return f.startsWith(ROOT) && existsSync(f) && statSync(f).isFile() ? f : null;
}

const gzipCache = new Map();
function gzipSize(file) {
  if (!gzipCache.has(file)) gzipCache.set(file, zlib.gzipSync(readFileSync(file)).length); // zlib's default level 6
  return gzipCache.get(file);
}

/** Loads the page in `page` (goto or reload) and records what it fetched until Train is enabled. */
async function pageStart(context, page, base, how) {
  const requests = [];
  const onFinished = async (req) => {
    const rec = { url: req.url(), method: req.method(), type: req.resourceType() };
    requests.push(rec);
    try {
      const resp = await req.response();
      const sizes = await req.sizes();
      rec.status = resp?.status() ?? null;
      rec.body = sizes.responseBodySize;
      rec.headers = sizes.responseHeadersSize;
      rec.fromServiceWorker = resp?.fromServiceWorker() ?? false;
    } catch (e) {
      rec.error = String(e?.message ?? e);
    }
  };
  const onFailed = (req) => requests.push({ url: req.url(), failed: req.failure()?.errorText ?? 'failed' });
  context.on('requestfinished', onFinished);
  context.on('requestfailed', onFailed);
  const wall0 = Date.now();
  try {
    if (how === 'reload') await page.reload({ waitUntil: 'commit' });
    else await page.goto(`${base}/index.html`, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__agqTrainEnabledAt != null, null, { timeout: 180_000, polling: 20 });
    const wall = (Date.now() - wall0) / 1000;
    const pageMs = await page.evaluate(() => window.__agqTrainEnabledAt);
    // let the requests started before Train was enabled finish and be counted
    await page.waitForLoadState('networkidle', { timeout: 30_000 }).catch(() => {});
    await sleep(1000);
    const backend = ((await page.locator('[data-testid="backend"]').textContent()) ?? '').trim();
    const files = [];
    let raw = 0;
    let gz = 0;
    let served = 0;
    for (const r of requests) {
      if (r.failed || r.url.startsWith('data:')) continue;
      const bytes = Math.max(0, r.body ?? 0) + Math.max(0, r.headers ?? 0);
      const file = fileOf(r.url, base);
      // a response with a body from the server: counted with its gzip size; a 304 or a
      // memory/disk cache hit transfers its headers (or nothing)
      const fullBody = r.status === 200 && (r.body ?? 0) > 0;
      const g = fullBody && file ? gzipSize(file) + Math.max(0, r.headers ?? 0) : bytes;
      raw += bytes;
      gz += g;
      if (fullBody) served += 1;
      files.push({ path: r.url.slice(base.length), status: r.status, type: r.type, body: Math.max(0, r.body ?? 0), headers: r.headers, gzipBody: fullBody && file ? gzipSize(file) : null });
    }
    return {
      how,
      trainEnabledS: pageMs / 1000, // page time: from the navigation's start
      wallS: wall,
      requests: requests.length,
      bodiesFromServer: served,
      bytesRaw: raw,
      bytesGzip: gz,
      backendBadge: backend,
      files: files.sort((a, b) => (b.body ?? 0) - (a.body ?? 0)),
    };
  } finally {
    context.off('requestfinished', onFinished);
    context.off('requestfailed', onFailed);
  }
}

/** Cold (empty cache), then a return visit in a new tab of the same context, then a reload. */
async function startSequence(context, base) {
  await context.addInitScript(trainProbe);
  const page = await context.newPage();
  const cold = await pageStart(context, page, base, 'cold');
  const page2 = await context.newPage(); // a return visit: same context (HTTP cache), new tab
  await page.close();
  const warm = await pageStart(context, page2, base, 'warm');
  const reload = await pageStart(context, page2, base, 'reload');
  return { cold, warm, reload };
}

/**
 * Page start twice: in a fresh browser context of the bench's browser (playwright's contexts
 * are off the record: their HTTP cache lives in memory), and in a fresh on-disk profile
 * (chromium.launchPersistentContext on an empty temporary folder, the same Chromium and
 * flags), whose disk cache is what a returning visitor has.
 */
async function measureStart(browser, base) {
  // the WebGPU build, which the page loads only where WebGPU is used (not on this software
  // adapter): its size, as the files the page fetched are counted
  const gpuBuild = path.join(ROOT, 'pkg', 'agq_gpu_bg.wasm');
  const out = { gpuBuild: { raw: statSync(gpuBuild).size, gzip: gzipSize(gpuBuild) } };
  const { context, log } = await openLoggedPage(browser);
  try {
    out.context = await startSequence(context, base);
  } catch (e) {
    out.context = { error: String(e?.message ?? e), console: log };
  } finally {
    await context.close();
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agq-bench-profile-'));
  let profile;
  try {
    profile = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args: ARGS, headless: true });
    for (const p of profile.pages()) await p.close();
    out.profile = await startSequence(profile, base);
  } catch (e) {
    out.profile = { error: String(e?.message ?? e) };
  } finally {
    await profile?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// ---------------------------------------------------------------- training

/** One measurement in a fresh context: `window.agqBench.run(spec)` on the bench page. */
async function measure(browser, base, spec) {
  const { context, page, log } = await openLoggedPage(browser);
  const t0 = Date.now();
  try {
    await page.goto(`${base}/bench/browser/index.html`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${RUN_TIMEOUT_MS / 60000} min`)), RUN_TIMEOUT_MS);
    });
    try {
      const call = spec.quantize ? page.evaluate((s) => window.agqBench.quantize(s), spec) : page.evaluate((s) => window.agqBench.run(s), spec);
      const r = await Promise.race([call, timeout]);
      return { ...spec, ...r, wallS: (Date.now() - t0) / 1000 };
    } finally {
      clearTimeout(timer);
    }
  } catch (e) {
    const msg = String(e?.message ?? e).replace(/^page\.evaluate: (Error: )?/, '').split('\n')[0];
    return { ...spec, error: msg, wallS: (Date.now() - t0) / 1000, console: log.slice(-20) };
  } finally {
    await context.close();
  }
}

function describe(r) {
  if (r.error) return `ERROR: ${r.error}`;
  const where = r.engine === 'agq' ? `agq on ${r.backend}${r.adapter ? ` (${r.adapter})` : ''}` : `tfjs ${r.version} on ${r.backend}${r.env?.adapter ? ` (${r.env.adapter})` : ''}${r.env?.simd != null ? ` simd=${r.env.simd} threads=${r.env.threads}` : ''}`;
  return `${r.imagesPerS.toFixed(1)} images/s (${r.steps} steps in ${r.seconds.toFixed(2)} s) ${where}; loss ${r.lossFirst.toFixed(3)} -> ${r.lossLast.toFixed(3)}; wall ${r.wallS.toFixed(0)} s`;
}

async function measureTraining(browser, base) {
  const runs = [];
  const go = async (spec) => {
    process.stdout.write(`bench: ${spec.net} ${spec.engine} ${spec.backend}${spec.convGrad ? ` (conv grad ${spec.convGrad})` : ''}, ${spec.warmup} + ${spec.steps} steps ... `);
    const load0 = os.loadavg()[0];
    const r = await measure(browser, base, spec);
    r.loadavg1 = [load0, os.loadavg()[0]];
    console.log(describe(r));
    runs.push(r);
    return r;
  };
  for (const net of ['lenet300', 'lenet5']) {
    for (const cls of ['cpu', 'webgpu']) {
      const common = { net, batch: BATCH, warmup: WARMUP[cls][net], steps: STEPS[cls][net], cls };
      await go({ ...common, engine: 'agq', backend: cls });
      const peer = cls === 'cpu' ? 'wasm' : 'webgpu';
      if (net === 'lenet5' && peer === 'wasm') {
        // tf.conv2d's own gradient first (1 step): tfjs-backend-wasm 4.22 has no
        // Conv2DBackpropFilter kernel; the error it gives is recorded. Then the timed row with
        // the filter gradient computed by tf.customGrad as a conv2d (bench.js).
        const probe = await go({ ...common, engine: 'tfjs', backend: peer, convGrad: 'builtin', warmup: 1, steps: 1, probe: true });
        if (!probe.error) {
          await go({ ...common, engine: 'tfjs', backend: peer, convGrad: 'builtin' });
        }
        await go({ ...common, engine: 'tfjs', backend: peer, convGrad: 'custom' });
      } else {
        await go({ ...common, engine: 'tfjs', backend: peer });
      }
    }
  }
  return runs;
}

// ---------------------------------------------------------------- main

function machineInfo(browserVersion) {
  const { cpu, cores, chromium: chromiumVersion } = machine();
  const tfjs = JSON.parse(readFileSync(path.join(HERE, 'node_modules', '@tensorflow', 'tfjs', 'package.json'), 'utf8')).version;
  return {
    cpu, cores, arch: os.arch(), memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), os: `${os.type()} ${os.release()}`,
    chromium: chromiumVersion, browserVersion, node: process.version, tfjs,
  };
}

async function main() {
  for (const p of [path.join(ROOT, 'index.html'), path.join(ROOT, 'pkg', 'agq.js'), path.join(ROOT, 'pkg', 'agq_bg.wasm'),
    path.join(ROOT, 'pkg', 'agq_gpu.js'), path.join(ROOT, 'pkg', 'agq_gpu_bg.wasm'),
    path.join(ROOT, 'www', 'data', 'mnist', 'train-images-idx3-ubyte.gz'), path.join(HERE, 'node_modules', '@tensorflow', 'tfjs', 'dist', 'tf.min.js')]) {
    if (!existsSync(p)) throw new Error(`${p} is missing (the page: make build; TensorFlow.js: npm install in bench/browser)`);
  }
  if (!path.resolve(HERE).startsWith(ROOT)) throw new Error(`bench/browser must be under the served root ${ROOT}`);
  mkdirSync(OUT, { recursive: true });
  // harness.mjs waits 15 s for python's server; on a loaded machine that can be short, so try again
  let server;
  for (let attempt = 1; !server; attempt++) {
    try {
      server = await startServer(ROOT);
    } catch (e) {
      if (attempt >= 4) throw e;
      console.log(`bench: ${e.message}; starting the server again`);
    }
  }
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    const info = { ...machineInfo(browser.version()), date: new Date().toISOString(), batch: BATCH, steps: STEPS, warmup: WARMUP, quick, only };
    info.loadavgAtStart = os.loadavg();
    console.log(`bench: browser part on ${info.cpu} (${info.cores} cores), ${info.chromium || `Chromium ${info.browserVersion}`}, TensorFlow.js ${info.tfjs}`);
    const result = { info };
    if (!only || only === 'start') {
      console.log('bench: page start (cold, warm, reload) ...');
      result.start = await measureStart(browser, server.base);
      for (const where of ['context', 'profile']) {
        const st = result.start[where];
        if (st.error) {
          console.log(`bench:   ${where}: ERROR: ${st.error}`);
          continue;
        }
        for (const k of ['cold', 'warm', 'reload']) {
          const s = st[k];
          console.log(`bench:   ${where} ${k}: Train enabled at ${s.trainEnabledS.toFixed(2)} s, ${s.requests} requests (${s.bodiesFromServer} bodies from the server), ${s.bytesRaw} bytes raw, ${s.bytesGzip} bytes gzipped [${s.backendBadge}]`);
        }
      }
    }
    if (only !== 'start' && only !== 'quantize') result.training = await measureTraining(browser, server.base);
    if (only !== 'start' && only !== 'train') {
      process.stdout.write('bench: VGG-16 snapshot in wasm: PTQ + accounting + encoding, re-accounting, memory ... ');
      const q = await measure(browser, server.base, { quantize: true, runs: quick ? 1 : 5 });
      console.log(q.error ? `ERROR: ${q.error}` : `${q.params} parameters: compress ${q.compressS.toFixed(3)} s, re-account ${q.reaccountMs.toFixed(1)} ms, memory ${(q.memoryBytes / 2 ** 20).toFixed(0)} MiB`);
      result.quantize = q;
    }
    info.loadavgAtEnd = os.loadavg();
    const file = path.join(OUT, 'browser.json');
    writeFileSync(file, `${JSON.stringify(result, null, 1)}\n`);
    console.log(`bench: wrote ${path.relative(process.cwd(), file)}`);
  } finally {
    await browser?.close();
    server.stop();
  }
  if (!process.argv.includes('--no-summary')) {
    const { markdown } = summarize({ browser: path.join(OUT, 'browser.json'), ptq: process.env.AGQ_BENCH_PTQ_JSON || null, out: OUT });
    console.log(`\n${markdown}`);
  }
}

main().catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(1);
});
