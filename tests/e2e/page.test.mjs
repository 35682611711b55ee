// End-to-end test of the page: serve the repository root (after `make build`) with
// python's http.server, drive Debian's Chromium through playwright-core.
//
//   cd tests/e2e && npm install && npm test
//
// Environment: AGQ_ROOT (folder to serve, default the repository root), AGQ_CHROMIUM
// (browser, default /usr/bin/chromium), AGQ_RUN_TIMEOUT_MS (training run, default 15 min),
// AGQ_PYTHON (the Python with the project's `agq` module, default .tools/py/bin/python),
// AGQ_SCREENSHOT (a path: the page with an opened snapshot is saved there as a PNG).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, ROOT, openLoggedPage, startServer } from './harness.mjs';

const RUN_TIMEOUT_MS = Number(process.env.AGQ_RUN_TIMEOUT_MS ?? 15 * 60 * 1000);
/** The repository (the Python module and its example scripts live there). */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The command line that reads the downloaded files (AGQ_BIN, default target/release/agq). */
const AGQ = process.env.AGQ_BIN ?? path.join(ROOT, 'target', 'release', 'agq');

let server;
let browser;
let base;

before(async () => {
  assert.ok(existsSync(path.join(ROOT, 'index.html')), `no index.html in ${ROOT}`);
  server = await startServer(ROOT);
  base = server.base;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** A page in a fresh context that records its console (and its workers' console). */
function openPage() {
  return openLoggedPage(browser, { acceptDownloads: true });
}

const text = (page, id) => page.locator(`[data-testid="${id}"]`).textContent().then((t) => (t ?? '').trim());
const value = (page, id) => page.locator(`[data-testid="${id}"]`).inputValue();

/**
 * Runs `body` on a fresh page (openPage) and closes its context after; a failure's message
 * gets the page's state and log (describe).
 */
async function withPage(body) {
  const { context, page, log } = await openPage();
  try {
    await body({ context, page, log });
  } catch (e) {
    e.message += `\n${await describe(page, log)}`;
    throw e;
  } finally {
    await context.close();
  }
}

/** The wasm builds `page` requests from now on, in order (a live list: `agq_bg.wasm`, `agq_gpu_bg.wasm`). */
function wasmDownloads(page) {
  const modules = [];
  page.on('request', (r) => {
    const m = /\/pkg\/(agq(?:_gpu)?_bg\.wasm)$/.exec(new URL(r.url()).pathname);
    if (m) modules.push(m[1]);
  });
  return modules;
}

async function describe(page, log) {
  let message = '';
  let status = '';
  try {
    status = await text(page, 'status');
    message = (await page.locator('#message').textContent())?.trim() ?? '';
  } catch {
    // the page may be gone
  }
  return `status: ${status}\nmessage: ${message}\nconsole:\n${log.join('\n')}`;
}

/**
 * Types new widths on a loaded snapshot and waits for the accounting (no evaluation):
 * `{ ratio, ms }`, `ms` being the worker's time for `lab.account`.
 */
async function reaccount(page, widths, oldRatio) {
  await page.locator('[data-testid="widths"]').fill(widths);
  await page.waitForFunction((old) => {
    const t = document.querySelector('[data-testid="status"]')?.textContent ?? '';
    const r = Number(document.querySelector('[data-testid="ratio"]')?.textContent);
    return t.startsWith('accounted in') && Number.isFinite(r) && r !== old;
  }, oldRatio, { timeout: 60_000, polling: 100 });
  const ms = Number((await text(page, 'status')).match(/accounted in ([0-9.]+) ms/)?.[1]);
  assert.ok(Number.isFinite(ms), 'the status says how long the accounting took');
  return { ratio: Number(await text(page, 'ratio')), ms };
}

/**
 * The "Size by encoding" table once every encoding is sized: `{ csr: { bits, bpp, ratio,
 * bytes }, relative: ..., entropy: ... }` (the numbers behind the shown text).
 */
async function encodingSizes(page) {
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll('#encodings-body tr');
    return rows.length === 3 && [...rows].every((r) => !r.classList.contains('pending'));
  }, null, { timeout: 60_000, polling: 100 });
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#encodings-body tr')].map((tr) => [
    tr.dataset.encoding,
    Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map((td) => [td.dataset.field, Number(td.dataset.value)])),
  ])));
}

/** Waits for the status to end in "done" or "error"; returns the final status text. */
async function waitForEnd(page, timeout) {
  await page.waitForFunction(() => {
    const t = document.querySelector('[data-testid="status"]')?.textContent?.trim() ?? '';
    return t.endsWith('done') || t.endsWith('error');
  }, null, { timeout, polling: 500 });
  return text(page, 'status');
}

function requireWasm() {
  for (const js of ['agq.js', 'agq_gpu.js']) {
    assert.ok(existsSync(path.join(ROOT, 'pkg', js)), `pkg/${js} is missing under ${ROOT}: build the site first (make build)`);
  }
  assert.ok(existsSync(path.join(ROOT, 'www', 'data', 'mnist', 'train-images-idx3-ubyte.gz')),
    `www/data/mnist/ is missing under ${ROOT}: make build copies MNIST there`);
}

/**
 * Opens a link that trains at once and checks that the page ends in an error whose message
 * matches `pattern`, with its controls still there and Train disabled (never a blank page).
 */
async function expectStartError(page, pattern) {
  await page.goto(`${base}/?v=1&net=lenet300&run=1`);
  const status = await waitForEnd(page, 30_000);
  assert.ok(status.endsWith('error'), `status: ${status}`);
  const message = page.locator('#message');
  assert.ok(await message.isVisible(), 'the error message is visible');
  assert.match(await message.textContent(), pattern);
  assert.ok(await page.locator('[data-testid="net"]').isVisible(), 'the controls are still there');
  assert.equal(await page.locator('[data-testid="train"]').isDisabled(), true);
}

test('without the wasm module the page shows a clear error, never a blank page', { timeout: 60_000 }, async () => {
  await withPage(async ({ context, page, log }) => {
    await context.route(/\/pkg\/agq\.js(\?.*)?$/, (route) => route.fulfill({ status: 404, body: 'not built' }));
    await expectStartError(page, /pkg\/agq\.js/);
  });
});

test('a browser without WebAssembly SIMD is told so, and the page stays usable', { timeout: 60_000 }, async () => {
  requireWasm();
  await withPage(async ({ context, page, log }) => {
    // the worker as a browser without SIMD sees it: its feature probe fails to validate
    await context.route(/\/www\/worker\.js(\?.*)?$/, async (route) => {
      const original = await route.fetch();
      const body = `WebAssembly.validate = () => false;\n${await original.text()}`;
      await route.fulfill({ response: original, body });
    });
    await expectStartError(page, /WebAssembly without SIMD/);
  });
});

test('a link with invalid fields names them and keeps the defaults', { timeout: 120_000 }, async () => {
  requireWasm();
  await withPage(async ({ context, page, log }) => {
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-config="applied"]', { timeout: 60_000 });
    const defaultEpochs = await value(page, 'epochs');

    await page.goto(`${base}/?v=1&epochs=banana&bogus=1&train_size=1000`);
    await page.waitForSelector('body[data-config="applied"]', { timeout: 60_000 });
    const issues = page.locator('#issues');
    assert.ok(await issues.isVisible(), 'the issues message is visible');
    const t = await issues.textContent();
    assert.match(t, /epochs/);
    assert.match(t, /bogus/);
    assert.equal(await value(page, 'epochs'), defaultEpochs, 'epochs keeps its default');
    assert.equal(await value(page, 'train-size'), '1000', 'valid fields are still read');
    // the link no longer carries the bad fields
    const share = await value(page, 'share');
    assert.ok(!share.includes('bogus') && !share.includes('banana'), share);
    // nothing from the link became markup
    assert.equal(await page.locator('#issues script, #issues img').count(), 0);
  });
});

test('edits made while the page is still loading survive the link\'s settings', { timeout: 120_000 }, async () => {
  requireWasm();
  await withPage(async ({ context, page, log }) => {
    // the module arrives late, so the link is applied well after the first edit
    await context.route(/\/pkg\/agq_bg\.wasm$/, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await route.continue();
    });
    await page.goto(`${base}/?v=1&net=lenet300&epochs=7&train_size=2000`);
    await page.locator('[data-testid="epochs"]').fill('1');
    assert.notEqual(await page.evaluate(() => document.body.dataset.config), 'applied', 'edited before the link was applied');
    await page.waitForSelector('body[data-config="applied"]', { timeout: 60_000 });
    assert.equal(await value(page, 'epochs'), '1', 'the edit survives');
    assert.equal(await value(page, 'train-size'), '2000', 'the link\'s other settings are applied');
    await page.waitForFunction(() => /[?&]epochs=1(&|$)/.test(location.search), null, { timeout: 30_000 });
    assert.match(await value(page, 'share'), /[?&]epochs=1&/);
    assert.match(await value(page, 'share'), /[?&]train_size=2000(&|$)/);
  });
});

test('a crashed worker is replaced: the page says so, keeps its settings and trains again', { timeout: RUN_TIMEOUT_MS + 60_000 }, async () => {
  requireWasm();
  await withPage(async ({ context, page, log }) => {
    await page.goto(`${base}/?v=1&net=lenet300&method=ptq&epochs=1&train_size=1000`);
    await page.waitForFunction(() => !document.querySelector('[data-testid="train"]')?.disabled && document.body.dataset.config === 'applied',
      null, { timeout: 120_000 });
    const worker = page.workers().find((w) => w.url().endsWith('/www/worker.js'));
    assert.ok(worker, 'the page runs its worker');
    // what a Rust panic or a lost device looks like from the page: a trap escaping the worker
    await worker.evaluate(() => setTimeout(() => { throw new WebAssembly.RuntimeError('unreachable'); }, 0));
    await page.waitForFunction(() => /The compute worker crashed \(.*unreachable.*\)\. It was restarted/.test(document.querySelector('#message-text')?.textContent ?? ''),
      null, { timeout: 30_000 });
    await page.waitForFunction(() => !document.querySelector('[data-testid="train"]')?.disabled, null, { timeout: 120_000 });
    assert.equal(await value(page, 'train-size'), '1000', 'the settings stay');
    await page.click('[data-testid="train"]');
    const status = await waitForEnd(page, RUN_TIMEOUT_MS);
    assert.equal(status, 'done', 'the new worker trains');
    assert.ok(Number(await text(page, 'accuracy')) > 10, 'and evaluates');
  });
});

test('on a software WebGPU adapter the page starts on the CPU backend and says why; the user\'s choice is kept', { timeout: 120_000 }, async () => {
  requireWasm();
  await withPage(async ({ context, page, log }) => {
    const modules = wasmDownloads(page);
    await page.goto(`${base}/?v=1&net=lenet300`);
    await page.waitForFunction(() => document.querySelector('[data-testid="backend"]')?.textContent.includes('·'), null, { timeout: 60_000 });
    const adapter = await page.evaluate(async () => {
      const a = await navigator.gpu?.requestAdapter();
      const i = a?.info ?? {};
      return [i.vendor, i.architecture, i.device, i.description, a?.isFallbackAdapter || i.isFallbackAdapter ? 'fallback' : ''].join(' ').toLowerCase();
    });
    const software = /swiftshader|llvmpipe|lavapipe|software|fallback|warp/.test(adapter);
    const badge = (await text(page, 'backend')).toLowerCase();
    console.log(`adapter: ${adapter.trim() || 'none'}; badge: ${badge}`);
    if (software) {
      assert.match(badge, /^cpu/, 'a software adapter starts the page on the CPU backend');
      assert.match(await page.locator('#backend-note').textContent(), /chosen automatically: .*software/);
      assert.equal(await page.locator('#prefer-gpu').isChecked(), false);
      assert.deepEqual(modules, ['agq_bg.wasm'], 'the CPU start downloads the CPU build only');
      // the user's explicit choice wins, and is kept on the next visit
      await page.locator('#prefer-gpu').check();
      await page.waitForFunction(() => document.querySelector('[data-testid="backend"]')?.textContent.startsWith('webgpu'), null, { timeout: 60_000 });
      assert.deepEqual(modules, ['agq_bg.wasm', 'agq_gpu_bg.wasm'], 'WebGPU loads the WebGPU build');
      await page.reload();
      await page.waitForFunction(() => document.querySelector('[data-testid="backend"]')?.textContent.startsWith('webgpu'), null, { timeout: 60_000 });
      assert.equal(await page.locator('#prefer-gpu').isChecked(), true);
    }
  });
});

test('on an adapter that looks like hardware the page starts on the CPU build; the first run loads the WebGPU build, times both and keeps the faster', { timeout: RUN_TIMEOUT_MS + 120_000 }, async () => {
  requireWasm();
  await withPage(async ({ context, page, log }) => {
    // this browser's adapter (SwiftShader, software) dressed up as a hardware GPU for the
    // page's choice; the worker still trains on the real one
    await context.addInitScript(() => {
      if (typeof GPUAdapter === 'undefined') return;
      Object.defineProperty(GPUAdapter.prototype, 'info', { get: () => ({ vendor: 'example', architecture: 'discrete-gpu', device: '', description: '' }) });
      Object.defineProperty(GPUAdapter.prototype, 'isFallbackAdapter', { get: () => false });
    });
    const modules = wasmDownloads(page);
    await page.goto(`${base}/?v=1&net=lenet300&method=ptq&epochs=1&train_size=1000`);
    await page.waitForFunction(() => !document.querySelector('[data-testid="train"]')?.disabled && document.body.dataset.config === 'applied',
      null, { timeout: 120_000 });
    const hasAdapter = await page.evaluate(async () => !!(await navigator.gpu?.requestAdapter()));
    if (!hasAdapter) {
      console.log('no WebGPU adapter in this browser: nothing to time');
      return;
    }
    assert.match(await text(page, 'backend'), /^cpu/, 'the page starts on the CPU backend');
    assert.match(await page.locator('#backend-note').textContent(), /first training run of a LeNet times it/);
    assert.deepEqual(modules, ['agq_bg.wasm'], 'only the CPU build before Train');
    await page.click('[data-testid="train"]');
    const status = await waitForEnd(page, RUN_TIMEOUT_MS);
    assert.equal(status, 'done');
    assert.deepEqual(modules, ['agq_bg.wasm', 'agq_gpu_bg.wasm'], 'the WebGPU build is loaded for the timing');
    const note = await page.locator('#backend-note').textContent();
    console.log(`after timing: ${await text(page, 'backend')}; ${note}`);
    assert.match(note, /timed 3 training steps of this run: CPU [0-9.]+ steps\/s, WebGPU [0-9.]+ steps\/s/);
    // SwiftShader is far slower than the CPU backend: the CPU is kept, and said so
    assert.match(await text(page, 'backend'), /^cpu/);
    assert.match(note, /^CPU backend chosen automatically/);
    assert.equal(await page.locator('#prefer-gpu').isChecked(), false);
    assert.ok(Number(await text(page, 'accuracy')) > 10, 'the run went on, on the CPU');
  });
});

test('the importance chart draws a curve per importance from the committed results, and a missing file leaves a message', { timeout: 120_000 }, async () => {
  await withPage(async ({ context, page, log }) => {
    await page.goto(`${base}/?v=1&net=lenet300`);
    const card = page.locator('[data-testid="importance-chart"]');
    await page.waitForSelector('[data-testid="importance-chart"][data-state="ready"]', { timeout: 60_000 });
    assert.ok(await card.isVisible(), 'the importance chart is visible');
    assert.ok(Number(await card.getAttribute('data-curves')) >= 3, 'at least 3 curves');
    // the legend names the curves (the first row is the x series)
    const legend = await card.locator('.u-legend .u-series').allTextContents();
    assert.ok(legend.length - 1 >= 3, `legend: ${legend.join(' | ')}`);
    assert.ok(legend.some((t) => /accumulated \|gradient\|/.test(t)) && legend.some((t) => /magnitude/.test(t)) && legend.some((t) => /random/.test(t)), legend.join(' | '));
    assert.equal(await card.locator('canvas').count(), 1, 'one plot');
    assert.match(await page.locator('#importance-source').textContent(), /docs\/results\/importance-lenet300\.json.*quantized network.*MNIST/);
    assert.ok(await page.locator('[data-testid="importance"] option[value="taylor"]').count() === 1, 'taylor is selectable');

    // a missing results file: a message in the chart's place, the page still works
    await page.waitForSelector('body[data-config="applied"]', { timeout: 60_000 });
    await context.route(/\/docs\/results\/importance-lenet5\.json(\?.*)?$/, (route) => route.fulfill({ status: 404, body: 'missing' }));
    await page.selectOption('[data-testid="net"]', 'lenet5');
    await page.waitForSelector('[data-testid="importance-chart"][data-state="message"]', { timeout: 30_000 });
    const message = page.locator('[data-testid="importance-message"]');
    assert.ok(await message.isVisible(), 'the message is visible');
    assert.match(await message.textContent(), /importance-lenet5\.json is missing \(HTTP 404\)/);
    assert.equal(await card.locator('canvas').count(), 0, 'no plot');
    assert.equal(await page.locator('[data-testid="net"]').isDisabled(), false, 'the controls still work');
  });
});

test('training from a link finishes, and the share link restores the configuration', { timeout: RUN_TIMEOUT_MS + 120_000 }, async () => {
  requireWasm();
  await withPage(async ({ context, page, log }) => {
    // warmup=0: the in-training quantization step runs at the end of the one epoch too.
    await page.goto(`${base}/?v=1&net=lenet300&method=combined&epochs=1&train_size=6000&warmup=0&run=1`);
    const backend = (await page.locator('[data-testid="backend"]').textContent()) ?? '';
    const status = await waitForEnd(page, RUN_TIMEOUT_MS);
    assert.ok(status.endsWith('done'), `the run ended with: ${status}`);
    console.log(`backend: ${await text(page, 'backend')} (at start: ${backend.trim()})`);
    assert.match((await text(page, 'backend')).toLowerCase(), /webgpu|cpu/);

    const accuracy = Number(await text(page, 'accuracy'));
    const ratio = Number(await text(page, 'ratio'));
    console.log(`accuracy ${accuracy} %, ratio ${ratio}x`);
    assert.ok(accuracy > 80, `accuracy ${accuracy}`);
    assert.ok(ratio > 1, `ratio ${ratio}`);
    assert.equal(await page.locator('#download-agq').isDisabled(), false, 'the .agq download is enabled');

    // The downloaded .agq file decodes with the command line, to the ratio the page shows.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-agq')]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agq-e2e-'));
    const file = path.join(dir, download.suggestedFilename());
    await download.saveAs(file);
    const inspected = execFileSync(AGQ, ['inspect', file], { encoding: 'utf8' });
    const shown = Number(/ratio ([0-9.]+)x/.exec(inspected)?.[1]);
    assert.ok(Math.abs(shown - ratio) < 0.01, `agq inspect says ${shown}x, the page ${ratio}x`);
    execFileSync(AGQ, ['decode', file, '--out', path.join(dir, 'decoded.safetensors')]);
    assert.ok(readFileSync(path.join(dir, 'decoded.safetensors')).length > 266_610 * 4, 'every weight decoded');

    // The three encodings side by side; CSR, the reference, gives the ratio shown above.
    const sizes = await encodingSizes(page);
    console.log(`sizes by encoding: ${JSON.stringify(sizes)}`);
    assert.deepEqual(Object.keys(sizes), ['csr', 'relative', 'entropy']);
    assert.match(await page.locator('[data-testid="size-csr"] th').textContent(), /CSR \(the thesis's reference\)/);
    assert.ok(Math.abs(sizes.csr.ratio - ratio) < 0.01, `CSR's ratio ${sizes.csr.ratio} is the page's ${ratio}`);
    assert.equal(sizes.csr.bytes, readFileSync(file).length, 'the CSR file has the size shown');
    assert.ok(sizes.entropy.bits < sizes.csr.bits, `entropy coding is smaller than CSR: ${sizes.entropy.bits} vs ${sizes.csr.bits}`);

    // Entropy picked: the file is written again in it, with exactly the size shown for it.
    await page.selectOption('[data-testid="encoding"]', 'entropy');
    await page.waitForSelector('[data-testid="download-agq"][data-encoding="entropy"]', { timeout: 60_000 });
    assert.match(await page.locator('#layers-caption').textContent(), /Entropy coded/);
    assert.ok((await page.locator('#layers-head').textContent()).includes('code tables'), 'the per-tensor table shows the code tables');
    assert.match(await page.locator('[data-testid="size-entropy"]').textContent(), /download/);
    const [entropyDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-agq')]);
    const entropyFile = path.join(dir, `entropy-${entropyDownload.suggestedFilename()}`);
    await entropyDownload.saveAs(entropyFile);
    assert.equal(readFileSync(entropyFile).length, sizes.entropy.bytes, 'the entropy-coded file has the size shown');
    const entropyInspected = execFileSync(AGQ, ['inspect', entropyFile], { encoding: 'utf8' });
    assert.match(entropyInspected, /entropy encoding/);
    const entropyRatio = Number(/ratio ([0-9.]+)x/.exec(entropyInspected)?.[1]);
    assert.ok(Math.abs(entropyRatio - sizes.entropy.ratio) < 0.01, `agq inspect says ${entropyRatio}x, the page ${sizes.entropy.ratio}x`);
    assert.match(await value(page, 'share'), /&encoding=entropy(&|$)/, 'the link carries the encoding');

    const share = await value(page, 'share');
    assert.match(share, /^http:\/\/127\.0\.0\.1:\d+\/.*\?v=1&/);
    const expected = {};
    for (const id of ['net', 'method', 'epochs', 'train-size', 'encoding']) expected[id] = await value(page, id);
    assert.deepEqual(expected, { net: 'lenet300', method: 'combined', epochs: '1', 'train-size': '6000', encoding: 'entropy' });

    const second = await context.newPage();
    second.on('console', (m) => log.push(`[share page ${m.type()}] ${m.text()}`));
    await second.goto(share);
    await second.waitForSelector('body[data-config="applied"]', { timeout: 60_000 });
    for (const id of Object.keys(expected)) {
      assert.equal(await value(second, id), expected[id], `${id} from the share link`);
    }
    assert.equal(await value(second, 'share'), share, 'the share link is stable');
    await second.close();

    // The importance sweep of the trained network, live: every importance at the largest
    // kept fractions first, drawn point by point; Stop ends it between points.
    const card = page.locator('[data-testid="importance-chart"]');
    assert.equal(await page.locator('[data-testid="sweep"]').isDisabled(), false, 'the sweep can start');
    await page.click('[data-testid="sweep"]');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="importance-chart"]')?.dataset.points) >= 8,
      null, { timeout: RUN_TIMEOUT_MS, polling: 250 });
    await page.click('[data-testid="stop"]');
    await page.waitForFunction(() => /^importance sweep (stopped|done)$/.test(document.querySelector('[data-testid="status"]')?.textContent?.trim() ?? ''),
      null, { timeout: 120_000, polling: 250 });
    assert.match(await card.getAttribute('data-state'), /^live(-ended)?$/);
    const points = Number(await card.getAttribute('data-points'));
    assert.ok(points >= 8 && points < 50, `stopped after ${points} of 50 points`);
    assert.equal(await card.getAttribute('data-curves'), '5', 'one curve per importance, Taylor included');
    const legend = (await card.locator('.u-legend .u-series').allTextContents()).join(' | ');
    assert.ok(/Taylor/.test(legend) && /random/.test(legend) && /× \|w\|/.test(legend), legend);
    const caption = await page.locator('#importance-source').textContent();
    assert.match(caption, /^Live: the network trained in this page.*MNIST test set \(10,000 images\).*stopped/);
    assert.equal(await page.locator('[data-testid="train"]').isDisabled(), false, 'Train works again');
    assert.equal(await page.locator('[data-testid="sweep"]').isDisabled(), false, 'the sweep can run again');
  });
});

test('Stop mid-training keeps the charts and quantizes the network trained so far', { timeout: RUN_TIMEOUT_MS + 120_000 }, async () => {
  requireWasm();
  await withPage(async ({ context, page, log }) => {
    await page.goto(`${base}/?v=1&net=lenet300&method=combined&epochs=3&train_size=60000&warmup=0&run=1`);
    await page.waitForFunction(() => Number(document.querySelector('#c-loss')?.dataset.points) >= 150,
      null, { timeout: RUN_TIMEOUT_MS, polling: 100 });
    await page.click('[data-testid="stop"]');
    const status = await waitForEnd(page, RUN_TIMEOUT_MS);
    assert.equal(status, 'stopped early, done');
    const losses = Number(await page.locator('#c-loss').getAttribute('data-points'));
    assert.ok(losses >= 150 && losses < 3 * 937, `the loss chart keeps its ${losses} steps`);
    assert.match((await page.locator('#epoch-count').textContent()).trim(), /^(–|[0-2] \/ 3)$/, 'stopped before the last epoch');
    const accuracy = Number(await text(page, 'accuracy'));
    assert.ok(accuracy > 50 && accuracy <= 100, `the network trained so far is quantized and evaluated: ${accuracy} %`);
    assert.ok(Number(await text(page, 'ratio')) > 1, 'with its ratio');
    assert.equal(await page.locator('#download-agq').isDisabled(), false, 'and its .agq file');
    assert.equal(await page.locator('[data-testid="train"]').isDisabled(), false, 'Train works again');
  });
});

test('an AlexNet snapshot from a link is downloaded, cached and quantized on the first 1,000 test images', { timeout: RUN_TIMEOUT_MS + 120_000 }, async () => {
  requireWasm();
  assert.ok(existsSync(path.join(ROOT, 'www', 'snapshots', 'alexnet.safetensors')),
    `www/snapshots/alexnet.safetensors is missing under ${ROOT} (made by agq snapshot, see docs/NETWORKS.md)`);
  await withPage(async ({ context, page, log }) => {
    await page.goto(`${base}/?v=1&net=alexnet&method=ptq&run=1`);
    const status = await waitForEnd(page, RUN_TIMEOUT_MS);
    assert.ok(status.endsWith('done'), `the run ended with: ${status}`);
    const accuracy = Number(await text(page, 'accuracy'));
    const ratio = Number(await text(page, 'ratio'));
    console.log(`AlexNet snapshot: accuracy ${accuracy} % (first 1,000 test images), ratio ${ratio}x, backend ${await text(page, 'backend')}`);
    assert.ok(Number.isFinite(accuracy) && accuracy >= 0 && accuracy <= 100, `accuracy ${accuracy}`);
    assert.ok(Number.isFinite(ratio) && ratio > 1, `ratio ${ratio}`);
    assert.match(await page.locator('#accuracy-label').textContent(), /first 1,000 official test images/);
    assert.ok(await page.locator('[data-testid="snapshot-info"]').isVisible(), 'the provenance is shown');
    assert.match(await page.locator('#snapshot-title').textContent(), /alexnet\.safetensors/);
    assert.equal(await page.locator('[data-testid="epochs"]').isDisabled(), true, 'training settings do not apply');
    assert.equal(await page.locator('#download-agq').isDisabled(), false, 'the .agq download is enabled');

    // New widths re-account at once (no evaluation): the ratio changes, the accuracy waits.
    const { ratio: accounted, ms } = await reaccount(page, '0,2,3,4', ratio);
    console.log(`AlexNet snapshot: widths 0,2,3,4 re-accounted in ${ms} ms to ${accounted}x`);
    assert.ok(accounted > ratio, `fewer bits, higher ratio: ${accounted} vs ${ratio}`);
    // Re-quantize evaluates it.
    await page.click('[data-testid="requantize"]');
    const again = await waitForEnd(page, RUN_TIMEOUT_MS);
    assert.ok(again.endsWith('done'), `re-quantize ended with: ${again}`);
    assert.ok(Number.isFinite(Number(await text(page, 'accuracy'))), 'the re-quantized accuracy is shown');
    assert.ok(Math.abs(Number(await text(page, 'ratio')) - accounted) < 0.01, 'the evaluated ratio is the accounted one');

    // Opening the link again takes the snapshot from the Cache API (no second download).
    await page.goto(`${base}/?v=1&net=alexnet&method=ptq&run=1`);
    const reloaded = await waitForEnd(page, RUN_TIMEOUT_MS);
    assert.ok(reloaded.endsWith('done'), `the reloaded run ended with: ${reloaded}`);
    assert.match(await page.locator('#t-download').textContent(), /cached/);
  });
});

test('VGG-16: the accounted ratio shows before the evaluation, and new widths re-account in milliseconds', { timeout: RUN_TIMEOUT_MS + 180_000 }, async () => {
  requireWasm();
  assert.ok(existsSync(path.join(ROOT, 'www', 'snapshots', 'vgg16.safetensors')),
    `www/snapshots/vgg16.safetensors is missing under ${ROOT} (made by agq snapshot, see docs/NETWORKS.md)`);
  await withPage(async ({ context, page, log }) => {
    // burn's CPU backend: in this headless browser WebGPU is SwiftShader, a CPU emulation
    // many times slower than the CPU backend for a network of VGG-16's size.
    await page.goto(`${base}/?v=1&net=vgg16&method=ptq`);
    await page.locator('#prefer-gpu').uncheck();
    await page.waitForFunction(() => /^cpu/.test(document.querySelector('[data-testid="backend"]')?.textContent ?? '')
      && !document.querySelector('[data-testid="train"]')?.disabled && document.body.dataset.config === 'applied',
    null, { timeout: 120_000 });
    assert.equal(await value(page, 'net'), 'vgg16', 'switching the backend keeps the link\'s settings');
    assert.equal(await value(page, 'importance'), 'grad-magnitude', "VGG-16's default importance (docs/METHOD_NOTES.md)");
    const started = Date.now();
    await page.click('[data-testid="train"]');
    // The ratio arrives while the accuracy is still being measured.
    await page.waitForFunction(() => {
      const r = Number(document.querySelector('[data-testid="ratio"]')?.textContent);
      const a = document.querySelector('[data-testid="accuracy"]')?.textContent?.trim();
      return Number.isFinite(r) && r > 1 && a === '–';
    }, null, { timeout: 180_000, polling: 100 });
    const accountedAfter = (Date.now() - started) / 1000;
    const ratio = Number(await text(page, 'ratio'));
    assert.match(await page.locator('#snapshot-title').textContent(), /vgg16\.safetensors, 14,719,818 parameters/);
    const { metadata } = snapshotHeader(path.join(ROOT, 'www', 'snapshots', 'vgg16.safetensors'));
    const interim = 'interim' in JSON.parse(metadata['agq.provenance'] ?? '{}');
    if (interim) {
      // a snapshot of a run still going says so, in words
      assert.match(await page.locator('#snapshot-prov').textContent(), /still trainingexported after \d+ of \d+ float epochs/);
    }
    const status = await waitForEnd(page, RUN_TIMEOUT_MS);
    assert.ok(status.endsWith('done'), `the run ended with: ${status}`);
    const evaluatedAfter = (Date.now() - started) / 1000;
    const accuracy = Number(await text(page, 'accuracy'));
    assert.ok(Number.isFinite(accuracy) && accuracy >= 0 && accuracy <= 100, `accuracy ${accuracy}`);
    assert.ok(Math.abs(Number(await text(page, 'ratio')) - ratio) < 0.01, 'the evaluated ratio is the accounted one');

    const { ratio: accounted, ms } = await reaccount(page, '0,2,3,4', ratio);
    console.log(`VGG-16 snapshot: ratio ${ratio}x after ${accountedAfter.toFixed(1)} s, accuracy ${accuracy} % `
      + `(first 1,000 test images) after ${evaluatedAfter.toFixed(1)} s, backend ${await text(page, 'backend')}; `
      + `widths 0,2,3,4 re-accounted in ${ms} ms to ${accounted}x`);
    assert.ok(accounted > ratio, `fewer bits, higher ratio: ${accounted} vs ${ratio}`);

    // Stop mid-evaluation: the evaluation ends at its next batch, the page stays usable.
    await page.click('[data-testid="train"]');
    await page.waitForFunction(() => {
      const bar = document.querySelector('#p-eval');
      return bar.max > 1 && bar.value >= 20 && bar.value < bar.max * 0.8;
    }, null, { timeout: 180_000, polling: 100 });
    assert.equal(await page.locator('[data-testid="stop"]').isDisabled(), false, 'Stop is enabled during the evaluation');
    const evaluated = await page.locator('#p-eval').evaluate((b) => `${b.value} of ${b.max}`);
    const stopAt = Date.now();
    await page.click('[data-testid="stop"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent?.trim() === 'stopped; the accuracy was not measured',
      null, { timeout: 60_000, polling: 50 });
    const stopSeconds = (Date.now() - stopAt) / 1000;
    console.log(`VGG-16 evaluation stopped after ${evaluated} images, ${stopSeconds.toFixed(2)} s after Stop`);
    assert.equal(await text(page, 'accuracy'), '–', 'no accuracy from a stopped evaluation');
    assert.ok(Math.abs(Number(await text(page, 'ratio')) - accounted) < 0.01, 'the accounted ratio stays');
    assert.equal(await page.locator('[data-testid="train"]').isDisabled(), false, 'Train works again');
    assert.equal(await page.locator('[data-testid="stop"]').isDisabled(), true, 'Stop is off again');
  });
});

test('a missing snapshot gives a clear message and a usable page', { timeout: 120_000 }, async () => {
  requireWasm();
  await withPage(async ({ context, page, log }) => {
    await context.route(/\/snapshots\/vgg16\.safetensors(\?.*)?$/, (route) => route.fulfill({ status: 404, body: 'missing' }));
    await page.goto(`${base}/?v=1&net=vgg16&method=ptq&run=1`);
    const status = await waitForEnd(page, 60_000);
    assert.ok(status.endsWith('error'), `status: ${status}`);
    const message = page.locator('#message');
    assert.ok(await message.isVisible(), 'the message is visible');
    assert.match(await message.textContent(), /No VGG-16 snapshot is committed yet.*docs\/NETWORKS\.md/);
    assert.equal(await page.locator('[data-testid="train"]').isDisabled(), false, 'Train works again');
    assert.equal(await page.locator('[data-testid="net"]').isDisabled(), false, 'the controls work again');
  });
});

/**
 * Writes the example snapshot of a custom network (conv + linear, importances and ITQ
 * widths, agq.net "custom-cnn") with the project's Python module: `AGQ_PYTHON` (default
 * .tools/py/bin/python) runs python/examples/custom_snapshot.py OUT.
 */
function customSnapshot(out) {
  const python = process.env.AGQ_PYTHON ?? path.join(REPO, '.tools', 'py', 'bin', 'python');
  const script = path.join(REPO, 'python', 'examples', 'custom_snapshot.py');
  if (python.includes('/')) {
    assert.ok(existsSync(python), `no Python at ${python}: install the project's Python module (python/, `
      + 'into the venv .tools/py) or point AGQ_PYTHON at a Python that has it');
  }
  assert.ok(existsSync(script), `${script} is missing: it writes the custom-network snapshot this test opens`);
  try {
    execFileSync(python, [script, out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (e) {
    assert.fail(`${python} ${script} ${out} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  assert.ok(existsSync(out), `${script} wrote no ${out}`);
}

/** `{ metadata, params }` of a safetensors snapshot: params in network order (agq.params, else by name). */
function snapshotHeader(file) {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const metadata = header.__metadata__ ?? {};
  const names = Object.keys(header).filter((k) => k.startsWith('weight/')).map((k) => k.slice('weight/'.length));
  const params = metadata['agq.params'] ? metadata['agq.params'].split(',').map((s) => s.trim()) : names.sort();
  return { metadata, params, shapes: Object.fromEntries(params.map((p) => [p, header[`weight/${p}`].shape])) };
}

test('a snapshot file of a custom network opens, quantizes under its own name, and a bad file leaves the page working', { timeout: RUN_TIMEOUT_MS + 180_000 }, async () => {
  requireWasm();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agq-e2e-open-'));
  const file = path.join(dir, 'custom_cnn.safetensors');
  customSnapshot(file);
  const { metadata, params } = snapshotHeader(file);
  const net = metadata['agq.net'];
  assert.equal(net, 'custom-cnn', 'the example names its network custom-cnn');
  assert.ok(params.length >= 2, `tensors: ${params}`);
  await withPage(async ({ context, page, log }) => {
    // burn's CPU backend (SwiftShader's WebGPU is a slow emulation; see the VGG-16 test)
    await page.goto(`${base}/?v=1&net=lenet300&method=combined`);
    await page.locator('#prefer-gpu').uncheck();
    await page.waitForFunction(() => /^cpu/.test(document.querySelector('[data-testid="backend"]')?.textContent ?? '')
      && !document.querySelector('[data-testid="train"]')?.disabled && document.body.dataset.config === 'applied',
    null, { timeout: 120_000 });
    assert.match(await page.locator('#h-open').textContent(), /nothing is uploaded/);

    // Open it through the file input: it is quantized at once (no accuracy: not built-in).
    await page.setInputFiles('[data-testid="open-snapshot"]', file);
    const status = await waitForEnd(page, RUN_TIMEOUT_MS);
    assert.ok(status.endsWith('done'), `opening ended with: ${status}`);
    const ratio = Number(await text(page, 'ratio'));
    console.log(`custom snapshot (${params.length} tensors): ratio ${ratio}x, status "${status}"`);
    assert.ok(Number.isFinite(ratio) && ratio > 1, `ratio ${ratio}`);
    assert.equal(await text(page, 'accuracy'), '–', 'no accuracy is shown');
    assert.equal(await value(page, 'net'), 'file', 'the network selector shows the opened file');
    assert.match(await page.locator('#net-file').textContent(), /custom-cnn \(custom_cnn\.safetensors\)/);
    assert.match(await text(page, 'snapshot-accuracy'), /Accuracy not measured: "custom-cnn" is not a built-in network/);
    assert.match(await page.locator('#accuracy-label').textContent(), /not measured/);
    assert.match(await page.locator('#summary-body').textContent(), /not measured: "custom-cnn" is not a built-in network/);
    assert.match(await page.locator('#snapshot-title').textContent(), /Opened file: custom_cnn\.safetensors, network "custom-cnn"/);
    assert.match(await page.locator('#snapshot-prov').textContent(), /nothing was uploaded/);
    // The method the link asked for (combined) works: the file carries ITQ widths.
    assert.equal(await value(page, 'method'), 'combined');
    const rows = await page.locator('#layers-body tr th').allTextContents();
    assert.deepEqual(rows.map((r) => r.trim()), params, 'one table row per tensor of the file, in its order');
    // The link keeps the settings but cannot carry the file, and says so.
    assert.ok(await page.locator('[data-testid="share-note"]').isVisible(), 'the share note is visible');
    assert.match(await text(page, 'share-note'), /carries the settings, not the opened file \(custom_cnn\.safetensors\)/);
    const share = await value(page, 'share');
    assert.match(share, /\?v=1&net=lenet300&method=combined&/);
    if (process.env.AGQ_SCREENSHOT) await page.screenshot({ path: process.env.AGQ_SCREENSHOT, fullPage: true });

    // New widths re-account at once; Re-quantize writes the .agq file of them.
    const { ratio: accounted, ms } = await reaccount(page, '0,2,3,4', ratio);
    console.log(`custom snapshot: widths 0,2,3,4 re-accounted in ${ms} ms to ${accounted}x`);
    assert.ok(accounted > ratio, `fewer bits, higher ratio: ${accounted} vs ${ratio}`);
    // every encoding follows the live re-accounting
    const sizes = await encodingSizes(page);
    assert.ok(Math.abs(sizes.csr.ratio - accounted) < 0.01, `CSR's size is the accounted one: ${JSON.stringify(sizes)}`);
    assert.ok(sizes.relative.bits > 0 && sizes.entropy.bits > 0, JSON.stringify(sizes));
    await page.click('[data-testid="requantize"]');
    const again = await waitForEnd(page, RUN_TIMEOUT_MS);
    assert.ok(again.endsWith('done'), `re-quantize ended with: ${again}`);
    const shown = Number(await text(page, 'ratio'));
    assert.ok(Math.abs(shown - accounted) < 0.01, `the quantized ratio ${shown} is the accounted one ${accounted}`);
    assert.match(await page.locator('#run-label').textContent(), /custom-cnn \(opened file custom_cnn\.safetensors\), combined, .* 0,2,3,4 bits/);

    // The .agq file carries the snapshot's own name, and the command line reads the page's ratio.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-agq')]);
    assert.equal(download.suggestedFilename(), 'custom-cnn-combined.agq');
    const agqFile = path.join(dir, download.suggestedFilename());
    await download.saveAs(agqFile);
    const inspected = execFileSync(AGQ, ['inspect', agqFile], { encoding: 'utf8' });
    assert.match(inspected, /net custom-cnn,/);
    const inspectedRatio = Number(/ratio ([0-9.]+)x/.exec(inspected)?.[1]);
    assert.ok(Math.abs(inspectedRatio - shown) < 0.01, `agq inspect says ${inspectedRatio}x, the page ${shown}x`);
    for (const p of params) assert.ok(inspected.includes(p), `agq inspect lists ${p}`);

    // A truncated file: a clear message; the opened file stays usable.
    const broken = path.join(dir, 'broken.safetensors');
    const bytes = readFileSync(file);
    writeFileSync(broken, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await page.setInputFiles('[data-testid="open-snapshot"]', broken);
    const failed = await waitForEnd(page, 60_000);
    assert.ok(failed.endsWith('error'), `status: ${failed}`);
    assert.ok(await page.locator('#message').isVisible(), 'the message is visible');
    assert.match(await page.locator('#message').textContent(),
      /The snapshot file could not be opened: broken\.safetensors: not a valid agq-snapshot\/1 file: (truncated|not a safetensors)/);
    assert.equal(await value(page, 'net'), 'file', 'the opened file is still the network');
    const { ratio: still } = await reaccount(page, '0,4,6,8', accounted);
    assert.ok(still > 1 && still < accounted, `re-accounted after the bad file: ${still}`);

    // A dropped file that is not safetensors at all: the drop hint shows while dragging, then a clear message.
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['hello, not a snapshot'], 'notes.txt', { type: 'text/plain' }));
      window.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    assert.ok(await page.locator('[data-testid="drop-hint"]').isVisible(), 'the drop hint shows while a file is dragged');
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['hello, not a snapshot'], 'notes.txt', { type: 'text/plain' }));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    assert.ok(await page.locator('[data-testid="drop-hint"]').isHidden(), 'the drop hint is gone after the drop');
    await page.waitForFunction(() => /notes\.txt: not a valid agq-snapshot\/1 file/.test(document.querySelector('#message')?.textContent ?? ''),
      null, { timeout: 60_000 });
    assert.ok((await text(page, 'status')).endsWith('error'));

    // Choosing a built-in network returns to the normal flow: LeNet-300-100 trains.
    await page.selectOption('[data-testid="net"]', 'lenet300');
    await page.waitForFunction(() => !document.querySelector('#net-file') && document.querySelector('[data-testid="share-note"]')?.hidden,
      null, { timeout: 10_000 });
    assert.ok(await page.locator('[data-testid="snapshot-info"]').isHidden(), 'the file panel is gone');
    await page.locator('[data-testid="epochs"]').fill('1');
    await page.locator('[data-testid="train-size"]').fill('256');
    await page.selectOption('[data-testid="method"]', 'ptq');
    await page.click('[data-testid="train"]');
    // (the status still ends in "error" from the dropped file until the run starts)
    await page.waitForFunction(() => {
      const t = document.querySelector('[data-testid="status"]')?.textContent?.trim() ?? '';
      const label = document.querySelector('#run-label')?.textContent ?? '';
      return (t.endsWith('done') && /LeNet-300-100, post-training/.test(label)) || (t.endsWith('error') && !/notes\.txt/.test(document.querySelector('#message')?.textContent ?? ''));
    }, null, { timeout: RUN_TIMEOUT_MS, polling: 500 });
    const trained = await text(page, 'status');
    assert.ok(trained.endsWith('done'), `training after the file ended with: ${trained}`);
    const accuracy = Number(await text(page, 'accuracy'));
    assert.ok(Number.isFinite(accuracy) && accuracy > 10, `LeNet-300-100 accuracy ${accuracy}`);
  });
});
