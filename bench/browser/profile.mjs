// Where the page's wasm spends its time quantizing the VGG-16 snapshot: Chromium's sampling
// profiler (DevTools protocol) around `runs` calls of `compressSnapshot` (after one untimed
// warm-up call, as bench.js measures it), self time summed per function, printed as a table. Run after `make build` with the module's function names
// kept (WASM_OPT_LEVEL=off, or copy target/wasm-opt/agq_bg.wasm over pkg/agq_bg.wasm):
//
//   node bench/browser/profile.mjs [--runs N] [--top N]
//   node bench/browser/profile.mjs --train lenet5 [--steps N] [--top N]   # training on the CPU backend instead
//
// Without names the rows read `wasm-function[N]`; the totals stay right.
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, ROOT, openLoggedPage, startServer } from '../../tests/e2e/harness.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt);
const runs = arg('--runs', 3);
const top = arg('--top', 30);
const train = argv.includes('--train') ? argv[argv.indexOf('--train') + 1] : null;
const steps = arg('--steps', 30);

/** Self time (ms) per function name of a DevTools CPU profile. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const name = node.callFrame.functionName || `(${path.basename(node.callFrame.url) || 'program'})`;
    ms.set(name, (ms.get(name) ?? 0) + (dt[i] ?? 0) / 1000);
  }
  return [...ms.entries()].sort((a, b) => b[1] - a[1]);
}

const server = await startServer(ROOT);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
try {
  const { context, page } = await openLoggedPage(browser);
  await page.goto(`${server.base}/bench/browser/index.html`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  let headline;
  if (train) {
    await cdp.send('Profiler.start');
    const r = await page.evaluate((spec) => window.agqBench.run(spec), { engine: 'agq', net: train, backend: 'cpu', batch: 64, steps, warmup: 3 });
    headline = `${train} training on the CPU backend: ${r.imagesPerS.toFixed(1)} images/s (${steps} steps after 3 warm-up steps, batch 64)`;
  } else {
    await page.evaluate(async () => {
      const { lab, config } = await window.agqBench.openVgg16();
      lab.compressSnapshot(config); // warm-up: the module's memory grows once
      window.profiled = () => lab.compressSnapshot(config).length;
    });
    await cdp.send('Profiler.start');
    const seconds = await page.evaluate((n) => {
      const t = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        window.profiled();
        t.push((performance.now() - t0) / 1000);
      }
      return t.sort((a, b) => a - b);
    }, runs);
    headline = `compressSnapshot of VGG-16: ${seconds.map((t) => t.toFixed(3)).join(', ')} s (${runs} runs after a warm-up)`;
  }
  const { profile } = await cdp.send('Profiler.stop');
  const rows = selfTimes(profile);
  const total = rows.reduce((s, [, t]) => s + t, 0);
  console.log(`${headline}; profile ${(total / 1000).toFixed(2)} s in all`);
  console.log('| self ms | share | function |\n|---:|---:|---|');
  for (const [name, t] of rows.slice(0, top)) console.log(`| ${t.toFixed(0)} | ${((100 * t) / total).toFixed(1)}% | \`${name.replace(/\|/g, '\\|').slice(0, 110)}\` |`);
  await context.close();
} finally {
  await browser.close();
  server.stop();
}
