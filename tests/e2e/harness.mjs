// What the page test and the timing script share: the repository root, Debian's Chromium
// and its flags, and a static server (python's http.server) on a free loopback port.

import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The folder served: AGQ_ROOT, else the repository root. */
export const ROOT = path.resolve(process.env.AGQ_ROOT ?? path.join(here, '..', '..'));
/** The browser: AGQ_CHROMIUM, else Debian's Chromium. */
export const CHROMIUM = process.env.AGQ_CHROMIUM ?? '/usr/bin/chromium';
/** Chromium's flags: WebGPU on (SwiftShader when headless), no background traffic. */
export const ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The machine in words: `{ cpu, cores, chromium }` (the CPU model, its cores, the browser's version). */
export function machine() {
  let cpu = '';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux
  }
  let chromium = '';
  try {
    chromium = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // the browser reports its version itself once started
  }
  return { cpu, cores: os.cpus().length, chromium };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForServer(url, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`the static server did not answer at ${url}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Serves `root` on 127.0.0.1 and a free port: `{ base, stop() }` once it answers. */
export async function startServer(root = ROOT) {
  const port = await freePort();
  const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server.stderr.on('data', () => {}); // request log; drained so the server never blocks
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForServer(`${base}/index.html`);
  } catch (e) {
    server.kill();
    throw e;
  }
  return { base, stop: () => server.kill() };
}

/**
 * A page in a fresh browser context that records its console, its errors, its workers'
 * console and failed requests into `log` (printed when a test or a run fails).
 */
export async function openLoggedPage(browser, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => log.push(`[page ${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[page error] ${e.message}`));
  page.on('worker', (w) => {
    log.push(`[worker started] ${w.url()}`);
    w.on('console', (m) => log.push(`[worker ${m.type()}] ${m.text()}`));
  });
  page.on('requestfailed', (r) => log.push(`[request failed] ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return { context, page, log };
}
