// Seconds per epoch in the browser: LeNet-300-100 and LeNet-5 trained by the page
// (method none, 1 epoch) in headless Chromium, on WebGPU (SwiftShader, with
// --enable-unsafe-webgpu) and on burn's CPU backend (WebAssembly; the page's
// "Use WebGPU when the browser offers it" checkbox unticked).
//
//   cd tests/e2e && npm install && node epoch-timing.mjs            # the runs of docs/BENCHMARKS.md
//   node epoch-timing.mjs --quick                                    # tiny runs, checks the script
//   node epoch-timing.mjs --runs lenet5:webgpu:640,lenet5:cpu:6400 --json /tmp/t.json
//
// Not a test (node --test does not pick it up): it serves the repository root with python's
// http.server, like page.test.mjs, opens `/?v=1&net=NET&method=none&epochs=1&train_size=N&batch=B`
// (no run=1, so the backend can be chosen first), waits for the backend badge, clicks Train,
// and times the worker's messages as the page receives them (an init script adds a listener
// to every Worker the page creates; the page itself is not changed).
//
// What is timed, per run (all from the worker's messages):
//   download    Train clicked -> MNIST fetched ("reading MNIST"; the four .gz files, 11.6 MB)
//   read        gunzip + IDX parsing in wasm ("building the network")
//   start       lab.start (network built) -> the epoch's first progress message
//   first call  the first lab.advance call (1 step): on WebGPU it includes compiling the shaders
//               (and burn's autotuning), so it is reported apart
//   s/step      the remaining steps of the epoch: (end of the last call - end of the first) / steps
//   epoch end   the lab.advance call that ends the epoch: the test-set evaluation (10,000 images, batches of 500) plus the
//               parameter read-back and the compression accounting of the epoch
//   eval        the test-set evaluation alone, on the CPU backend only: start of the epoch end -> the
//               evaluation's last progress callback (8,000 images), scaled to 10,000 images
//               (on WebGPU the batches are queued, not run, when the callbacks come)
//   finish      lab.finish: quantize/encode, decode, and a second test-set evaluation
// Extrapolated: a full 60,000-image epoch = ceil(60000 / batch) steps x s/step (+ epoch end).
//
// Environment: AGQ_ROOT (folder to serve, default the repository root), AGQ_CHROMIUM
// (browser, default /usr/bin/chromium).

import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, ROOT, machine, openLoggedPage, startServer } from './harness.mjs';

const FULL_TRAIN = 60000;
const TEST_IMAGES = 10000;

const DEFAULT_RUNS = 'lenet300:webgpu:6400,lenet300:cpu:6400,lenet5:webgpu:640,lenet5:cpu:6400';
const QUICK_RUNS = 'lenet300:webgpu:128,lenet300:cpu:128,lenet5:webgpu:128,lenet5:cpu:128';

// ---------------------------------------------------------------- arguments

function usage(code) {
  console.log(`usage: node epoch-timing.mjs [--quick] [--runs NET:BACKEND:TRAIN_SIZE,...] [--batch N]
                            [--timeout-min M] [--json FILE]
  NET: lenet300 | lenet5; BACKEND: webgpu | cpu; TRAIN_SIZE: 100..60000 images
  default runs: ${DEFAULT_RUNS}
  --quick:      ${QUICK_RUNS}
  --batch:      images per step (default 64)
  --timeout-min: limit per run (default 60)
  --json:       also writes every run's numbers and the worker's message timeline`);
  process.exit(code);
}

const opts = { runs: DEFAULT_RUNS, batch: 64, timeoutMin: 60, json: null };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const next = () => {
      if (i + 1 >= a.length) usage(2);
      return a[++i];
    };
    switch (a[i]) {
      case '--quick': opts.runs = QUICK_RUNS; break;
      case '--runs': opts.runs = next(); break;
      case '--batch': opts.batch = Number(next()); break;
      case '--timeout-min': opts.timeoutMin = Number(next()); break;
      case '--json': opts.json = next(); break;
      case '-h': case '--help': usage(0); break;
      default: console.error(`unknown argument: ${a[i]}`); usage(2);
    }
  }
}
if (!Number.isInteger(opts.batch) || opts.batch < 1) usage(2);
const RUNS = opts.runs.split(',').filter(Boolean).map((s) => {
  const [netName, backend, size] = s.split(':');
  const trainSize = Number(size);
  if (!['lenet300', 'lenet5'].includes(netName) || !['webgpu', 'cpu'].includes(backend)
    || !Number.isInteger(trainSize) || trainSize < 100 || trainSize > FULL_TRAIN) {
    console.error(`bad run: ${s}`);
    usage(2);
  }
  return { net: netName, backend, trainSize };
});

// ---------------------------------------------------------------- server & browser

/**
 * Runs in the page before its scripts: every Worker gets one more 'message' listener that
 * records (page time, a small summary of the message); postMessage to it is recorded too.
 */
function installRecorder() {
  const Native = window.Worker;
  const workers = [];
  window.__agqTiming = { workers };
  const summary = (m) => {
    if (!m || typeof m !== 'object') return { type: String(m) };
    const s = { type: m.type };
    for (const k of ['phase', 'done', 'total', 'firstStep', 'text', 'message', 'epoch', 'accuracy', 'ratio']) {
      if (m[k] !== undefined && typeof m[k] !== 'object') s[k] = m[k];
    }
    if (m.values && m.values.length !== undefined) s.steps = m.values.length;
    if (m.backend) s.backend = { kind: m.backend.kind, adapter: m.backend.adapter, note: m.backend.note };
    return s;
  };
  window.Worker = class extends Native {
    constructor(url, options) {
      super(url, options);
      const rec = { url: String(url), created: performance.now(), events: [] };
      workers.push(rec);
      this.addEventListener('message', (ev) => {
        rec.events.push({ t: performance.now(), dir: 'in', ...summary(ev.data) });
      });
      const post = this.postMessage.bind(this);
      this.postMessage = (msg, ...rest) => {
        rec.events.push({ t: performance.now(), dir: 'out', type: msg?.type });
        return post(msg, ...rest);
      };
    }
  };
}

// ---------------------------------------------------------------- one run

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function runOne(browser, base, run) {
  const { context, page, log } = await openLoggedPage(browser);
  await context.addInitScript(installRecorder);
  const text = async (sel) => ((await page.locator(sel).textContent()) ?? '').trim();
  try {
    const query = `v=1&net=${run.net}&method=none&epochs=1&train_size=${run.trainSize}&batch=${opts.batch}`;
    await page.goto(`${base}/?${query}`);
    await page.waitForSelector('body[data-config="applied"]', { timeout: 120_000 });
    const badgeReady = () => page.waitForFunction(() => {
      const b = document.querySelector('[data-testid="backend"]');
      return b && !b.classList.contains('badge-pending');
    }, null, { timeout: 120_000, polling: 100 });
    await badgeReady();
    if (run.backend === 'cpu') {
      await page.locator('#prefer-gpu').uncheck(); // restarts the worker on the CPU backend
      await page.waitForFunction(() => {
        const b = document.querySelector('[data-testid="backend"]');
        return b && !b.classList.contains('badge-pending') && /cpu/i.test(b.textContent);
      }, null, { timeout: 120_000, polling: 100 });
    }
    const badge = await text('[data-testid="backend"]');
    if (!badge.toLowerCase().startsWith(run.backend)) {
      throw new Error(`wanted ${run.backend}, the page runs on: ${badge} (${await text('#backend-note')})`);
    }
    const issues = await page.locator('#issues').isVisible() ? await text('#issues') : '';
    if (issues) throw new Error(`the link has issues: ${issues}`);
    await page.waitForFunction(() => !document.querySelector('[data-testid="train"]').disabled, null, { timeout: 60_000 });
    const wall0 = Date.now();
    await page.locator('[data-testid="train"]').click();
    await page.waitForFunction(() => {
      const t = document.querySelector('[data-testid="status"]')?.textContent?.trim() ?? '';
      return t.endsWith('done') || t.endsWith('error');
    }, null, { timeout: opts.timeoutMin * 60_000, polling: 500 });
    const wall = (Date.now() - wall0) / 1000;
    const status = await text('[data-testid="status"]');
    const message = await page.locator('#message').isVisible() ? await text('#message-text') : '';
    const recorded = await page.evaluate(() => window.__agqTiming);
    const worker = recorded.workers[recorded.workers.length - 1];
    const result = analyse(run, worker.events);
    Object.assign(result, { badge, status, message, wall_s: wall, accuracyShown: await text('[data-testid="accuracy"]') });
    if (!status.endsWith('done')) result.error = `the run ended with "${status}": ${message}`;
    result.console = log;
    result.events = worker.events;
    return result;
  } catch (e) {
    return { ...run, error: String(e?.message ?? e), console: log };
  } finally {
    await context.close();
  }
}

/** Seconds between page times (ms). */
const sec = (a, b) => (a == null || b == null ? null : (b - a) / 1000);

function analyse(run, events) {
  const ins = events.filter((e) => e.dir === 'in');
  const find = (pred, from = 0) => {
    for (let i = from; i < ins.length; i++) if (pred(ins[i])) return i;
    return -1;
  };
  const tOf = (i) => (i >= 0 ? ins[i].t : null);
  const trainPost = events.find((e) => e.dir === 'out' && e.type === 'train');
  const iRead = find((e) => e.type === 'status' && e.text === 'reading MNIST');
  const iBuild = find((e) => e.type === 'status' && e.text === 'building the network');
  const iStart = find((e) => e.type === 'progress' && e.phase === 'epoch' && e.done === 0, Math.max(iBuild, 0));
  const iEvalStart = find((e) => e.type === 'progress' && e.phase === 'eval', Math.max(iStart, 0));
  const iEpoch = find((e) => e.type === 'epoch', Math.max(iEvalStart, 0));
  const iResult = find((e) => e.type === 'result', Math.max(iEpoch, 0));
  const calls = [];
  for (let i = Math.max(iStart, 0); i < (iEvalStart >= 0 ? iEvalStart : ins.length); i++) {
    if (ins[i].type === 'losses') calls.push({ t: ins[i].t, steps: ins[i].steps });
  }
  const out = { ...run, batch: opts.batch };
  out.stepsPerEpoch = Math.ceil(run.trainSize / opts.batch);
  out.fullSteps = Math.ceil(FULL_TRAIN / opts.batch);
  out.download_s = sec(trainPost?.t, tOf(iRead));
  out.read_s = sec(tOf(iRead), tOf(iBuild));
  out.start_s = sec(tOf(iBuild), tOf(iStart));
  out.calls = calls.length;
  out.steps = calls.reduce((a, c) => a + c.steps, 0);
  if (calls.length) {
    out.firstCall_s = sec(tOf(iStart), calls[0].t);
    out.firstCallSteps = calls[0].steps;
    out.train_s = sec(tOf(iStart), calls[calls.length - 1].t);
  }
  if (calls.length >= 2) {
    const rest = calls.slice(1).reduce((a, c) => a + c.steps, 0);
    out.restSteps = rest;
    out.stepSeconds = sec(calls[0].t, calls[calls.length - 1].t) / rest;
    // the median over the calls after the first (each call's time / its steps)
    const per = calls.slice(1).map((c, i) => (c.t - calls[i].t) / 1000 / c.steps).sort((a, b) => a - b);
    out.stepSecondsMedian = per[Math.floor(per.length / 2)];
  }
  out.epochEnd_s = sec(tOf(iEvalStart), tOf(iEpoch));
  out.finish_s = sec(tOf(iEpoch), tOf(iResult));
  // The evaluation's own progress callbacks (images done of all) inside the epoch's end. On the
  // CPU backend every batch is computed when it is issued, so "eval start -> last callback"
  // times that many images; on WebGPU the batches are only queued there (the wait is at the
  // end, with the read-back), so the evaluation cannot be split from the epoch end.
  if (run.backend === 'cpu' && iEvalStart >= 0 && iEpoch >= 0) {
    let last = null;
    for (let i = iEvalStart; i < iEpoch; i++) {
      const e = ins[i];
      if (e.type === 'progress' && e.phase === 'eval' && e.total > 1 && e.done > 0) last = e;
    }
    if (last) {
      out.evalImages = last.done;
      out.eval_s = (sec(tOf(iEvalStart), last.t) * (last.total || TEST_IMAGES)) / last.done;
    }
  }
  const epoch = iEpoch >= 0 ? ins[iEpoch] : null;
  out.accuracy = epoch?.accuracy ?? null;
  if (out.stepSeconds != null) {
    out.fullTrain_s = out.stepSeconds * out.fullSteps;
    if (out.epochEnd_s != null) out.fullEpoch_s = out.fullTrain_s + out.epochEnd_s;
  }
  return out;
}

// ---------------------------------------------------------------- report

const f = (v, d = 2) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(d));
const s3 = (v) => (v == null || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));

function table(results) {
  const rows = [
    '| network | backend | images (steps) measured | download / read / build (s) | first call (s) | s/step (median) | epoch end (s) | eval 10k (s) | finish (s) | extrapolated 60k epoch: train + end (s) | accuracy (%) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    if (r.error) {
      rows.push(`| ${r.net} | ${r.backend} | ${r.trainSize} | error: ${String(r.error).replace(/\|/g, '/').split('\n')[0]} |||||||`);
      continue;
    }
    rows.push(`| ${r.net} | ${r.backend} | ${r.trainSize} (${r.steps}) | ${f(r.download_s)} / ${f(r.read_s)} / ${f(r.start_s)} | ${s3(r.firstCall_s)} (${r.firstCallSteps} step) | ${s3(r.stepSeconds)} (${s3(r.stepSecondsMedian)}) | ${s3(r.epochEnd_s)} | ${s3(r.eval_s)} | ${s3(r.finish_s)} | ${s3(r.fullTrain_s)} + ${s3(r.epochEnd_s)} = ${s3(r.fullEpoch_s)} | ${f(r.accuracy)} |`);
  }
  return rows.join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  for (const p of [path.join(ROOT, 'index.html'), path.join(ROOT, 'pkg', 'agq.js'),
    path.join(ROOT, 'www', 'data', 'mnist', 'train-images-idx3-ubyte.gz')]) {
    if (!existsSync(p)) throw new Error(`${p} is missing: build the site first (make build)`);
  }
  const server = await startServer(ROOT);
  const { base } = server;
  let browser;
  const results = [];
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    const info = { ...machine(), browserVersion: browser.version(), batch: opts.batch, date: new Date().toISOString() };
    console.log(`CPU: ${info.cpu} (${info.cores} cores); ${info.chromium || 'Chromium'} (playwright reports ${info.browserVersion}); batch ${opts.batch}`);
    for (const run of RUNS) {
      process.stdout.write(`${run.net} on ${run.backend}, ${run.trainSize} images ... `);
      const load0 = os.loadavg()[0];
      const r = await runOne(browser, base, run);
      r.loadavg1 = [load0, os.loadavg()[0]]; // 1-minute load average before / after the run
      results.push(r);
      if (r.error) {
        console.log(`ERROR: ${r.error}`);
        if (r.console?.length) console.log(r.console.join('\n'));
      } else {
        console.log(`${r.steps} steps, first call ${s3(r.firstCall_s)} s, ${s3(r.stepSeconds)} s/step, `
          + `epoch end ${s3(r.epochEnd_s)} s, wall ${f(r.wall_s, 1)} s [${r.badge}]; `
          + `load average ${f(r.loadavg1[0], 1)} -> ${f(r.loadavg1[1], 1)} on ${os.cpus().length} cores`);
        const noisy = r.console.filter((l) => !l.startsWith('[worker started]'));
        if (noisy.length) console.log(`  console:\n  ${noisy.join('\n  ')}`);
      }
      await sleep(500);
    }
    console.log(`\n${table(results)}\n`);
    console.log(`extrapolated: ceil(${FULL_TRAIN}/${opts.batch}) = ${Math.ceil(FULL_TRAIN / opts.batch)} steps x s/step, `
      + 'plus the measured epoch end; everything else is measured.');
    if (opts.json) {
      writeFileSync(opts.json, `${JSON.stringify({ info, results }, null, 1)}\n`);
      console.log(`wrote ${opts.json}`);
    }
  } finally {
    await browser?.close();
    server.stop();
  }
  if (results.some((r) => r.error)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(1);
});
