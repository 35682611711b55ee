// End-to-end test of the page: serve the repository root (after `make build`) with
// python's http.server, drive Debian's Chromium through playwright-core.
//
//   cd tests/e2e && npm install && npm test
//
// Environment: AGQ_ROOT (folder to serve, default the repository root), AGQ_CHROMIUM
// (browser, default /usr/bin/chromium), AGQ_RUN_TIMEOUT_MS (training run, default 15 min).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, ROOT, openLoggedPage, startServer } from './harness.mjs';

const RUN_TIMEOUT_MS = Number(process.env.AGQ_RUN_TIMEOUT_MS ?? 15 * 60 * 1000);

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

/** Waits for the status to end in "done" or "error"; returns the final status text. */
async function waitForEnd(page, timeout) {
  await page.waitForFunction(() => {
    const t = document.querySelector('[data-testid="status"]')?.textContent?.trim() ?? '';
    return t.endsWith('done') || t.endsWith('error');
  }, null, { timeout, polling: 500 });
  return text(page, 'status');
}

function requireWasm() {
  assert.ok(existsSync(path.join(ROOT, 'pkg', 'agq.js')),
    `pkg/agq.js is missing under ${ROOT}: build the site first (make build)`);
  assert.ok(existsSync(path.join(ROOT, 'www', 'data', 'mnist', 'train-images-idx3-ubyte.gz')),
    `www/data/mnist/ is missing under ${ROOT}: make build copies MNIST there`);
}

test('without the wasm module the page shows a clear error, never a blank page', { timeout: 60_000 }, async () => {
  const { context, page, log } = await openPage();
  try {
    await context.route(/\/pkg\/agq\.js(\?.*)?$/, (route) => route.fulfill({ status: 404, body: 'not built' }));
    await page.goto(`${base}/?v=1&net=lenet300&run=1`);
    const status = await waitForEnd(page, 30_000);
    assert.ok(status.endsWith('error'), `status: ${status}`);
    const message = await page.locator('#message');
    assert.ok(await message.isVisible(), 'the error message is visible');
    assert.match(await message.textContent(), /pkg\/agq\.js/);
    assert.ok(await page.locator('[data-testid="net"]').isVisible(), 'the controls are still there');
    assert.equal(await page.locator('[data-testid="train"]').isDisabled(), true);
  } catch (e) {
    e.message += `\n${await describe(page, log)}`;
    throw e;
  } finally {
    await context.close();
  }
});

test('a link with invalid fields names them and keeps the defaults', { timeout: 120_000 }, async () => {
  requireWasm();
  const { context, page, log } = await openPage();
  try {
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
  } catch (e) {
    e.message += `\n${await describe(page, log)}`;
    throw e;
  } finally {
    await context.close();
  }
});

test('training from a link finishes, and the share link restores the configuration', { timeout: RUN_TIMEOUT_MS + 120_000 }, async () => {
  requireWasm();
  const { context, page, log } = await openPage();
  try {
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
    const agq = path.join(ROOT, 'target', 'release', 'agq');
    const inspected = execFileSync(agq, ['inspect', file], { encoding: 'utf8' });
    const shown = Number(/ratio ([0-9.]+)x/.exec(inspected)?.[1]);
    assert.ok(Math.abs(shown - ratio) < 0.01, `agq inspect says ${shown}x, the page ${ratio}x`);
    execFileSync(agq, ['decode', file, '--out', path.join(dir, 'decoded.safetensors')]);
    assert.ok(readFileSync(path.join(dir, 'decoded.safetensors')).length > 266_610 * 4, 'every weight decoded');

    const share = await value(page, 'share');
    assert.match(share, /^http:\/\/127\.0\.0\.1:\d+\/.*\?v=1&/);
    const expected = {};
    for (const id of ['net', 'method', 'epochs', 'train-size']) expected[id] = await value(page, id);
    assert.deepEqual(expected, { net: 'lenet300', method: 'combined', epochs: '1', 'train-size': '6000' });

    const second = await context.newPage();
    second.on('console', (m) => log.push(`[share page ${m.type()}] ${m.text()}`));
    await second.goto(share);
    await second.waitForSelector('body[data-config="applied"]', { timeout: 60_000 });
    for (const id of Object.keys(expected)) {
      assert.equal(await value(second, id), expected[id], `${id} from the share link`);
    }
    assert.equal(await value(second, 'share'), share, 'the share link is stable');
  } catch (e) {
    e.message += `\n${await describe(page, log)}`;
    throw e;
  } finally {
    await context.close();
  }
});

test('an AlexNet snapshot from a link is downloaded, cached and quantized on the first 1,000 test images', { timeout: RUN_TIMEOUT_MS + 120_000 }, async () => {
  requireWasm();
  assert.ok(existsSync(path.join(ROOT, 'www', 'snapshots', 'alexnet.safetensors')),
    `www/snapshots/alexnet.safetensors is missing under ${ROOT} (made by agq snapshot, see docs/NETWORKS.md)`);
  const { context, page, log } = await openPage();
  try {
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
  } catch (e) {
    e.message += `\n${await describe(page, log)}`;
    throw e;
  } finally {
    await context.close();
  }
});

test('VGG-16: the accounted ratio shows before the evaluation, and new widths re-account in milliseconds', { timeout: RUN_TIMEOUT_MS + 180_000 }, async () => {
  requireWasm();
  assert.ok(existsSync(path.join(ROOT, 'www', 'snapshots', 'vgg16.safetensors')),
    `www/snapshots/vgg16.safetensors is missing under ${ROOT} (made by agq snapshot, see docs/NETWORKS.md)`);
  const { context, page, log } = await openPage();
  try {
    // burn's CPU backend: in this headless browser WebGPU is SwiftShader, a CPU emulation
    // many times slower than the CPU backend for a network of VGG-16's size.
    await page.goto(`${base}/?v=1&net=vgg16&method=ptq`);
    await page.locator('#prefer-gpu').uncheck();
    await page.waitForFunction(() => /^cpu/.test(document.querySelector('[data-testid="backend"]')?.textContent ?? '')
      && !document.querySelector('[data-testid="train"]')?.disabled && document.body.dataset.config === 'applied',
    null, { timeout: 120_000 });
    assert.equal(await value(page, 'net'), 'vgg16', 'switching the backend keeps the link\'s settings');
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
  } catch (e) {
    e.message += `\n${await describe(page, log)}`;
    throw e;
  } finally {
    await context.close();
  }
});

test('a missing snapshot gives a clear message and a usable page', { timeout: 120_000 }, async () => {
  requireWasm();
  const { context, page, log } = await openPage();
  try {
    await context.route(/\/snapshots\/vgg16\.safetensors(\?.*)?$/, (route) => route.fulfill({ status: 404, body: 'missing' }));
    await page.goto(`${base}/?v=1&net=vgg16&method=ptq&run=1`);
    const status = await waitForEnd(page, 60_000);
    assert.ok(status.endsWith('error'), `status: ${status}`);
    const message = page.locator('#message');
    assert.ok(await message.isVisible(), 'the message is visible');
    assert.match(await message.textContent(), /No VGG-16 snapshot is committed yet.*docs\/NETWORKS\.md/);
    assert.equal(await page.locator('[data-testid="train"]').isDisabled(), false, 'Train works again');
    assert.equal(await page.locator('[data-testid="net"]').isDisabled(), false, 'the controls work again');
  } catch (e) {
    e.message += `\n${await describe(page, log)}`;
    throw e;
  } finally {
    await context.close();
  }
});
