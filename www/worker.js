// The module worker that owns the wasm module (wasm-pack --target web).
// Protocol: docs/WORKER_PROTOCOL.md. Every message is a plain object with a `type`.
//
// Two builds of the same Rust layer: pkg/agq.js (burn's CPU backend only: what every visitor
// downloads) and pkg/agq_gpu.js (the same with burn's WebGPU backend, whose kernel compiler
// is most of its code), imported only where WebGPU is used: by a worker started for it (the
// `init` message says which build), or by the first training run's timing of WebGPU against
// the CPU backend. The module is imported dynamically, so that a missing or broken build
// becomes a clear `error` message instead of a worker that never starts.
// The network list and the snapshot file names come from the module (netCatalog, the Rust
// `Net`); training is the module's epoch driver (lab.advance), paced from here.

import { runSweep } from './worker_sweep.js';
import { fasterLab } from './worker_probe.js';

const MNIST_FILES = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
];


/** Cache API store of the downloaded snapshots and CIFAR-10 images (a reload reuses them). */
const CACHE_NAME = 'agq-snapshots-v1';
const CIFAR_TEST = 'test_batch_first1000.bin.gz';


/** Aim for one lab.advance(k) call of training steps to take about this long (ms), so `stop` is prompt. */
const TARGET_CALL_MS = 200;

let lab = null;
let nets = new Map(); // net word -> its netCatalog() entry, once the module is loaded
let running = false;
let stopRequested = false;
let mnistLoaded = false;
let mnistFiles = null; // the four MNIST files as downloaded (a second lab loads them too)
let trained = false;
let sweepable = false; // the lab holds a LeNet trained in the page (lab.sweepPoint works)
let snapshotLoaded = null; // file name of the snapshot the lab holds
let cifarLoaded = false;
let opened = null; // info of the snapshot file the user opened (lab.openSnapshot), or null

const post = (msg, transfer = []) => self.postMessage(msg, transfer);
const status = (text) => post({ type: 'status', text });
const yieldToEventLoop = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Text of anything thrown (wasm-bindgen throws Error objects, strings or plain values). */
function errText(e) {
  if (e instanceof Error) return e.message || String(e);
  if (typeof e === 'string') return e;
  if (e && typeof e.message === 'string') return e.message;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

/**
 * A structured-clone friendly, page-friendly copy of a value from the wasm side:
 * Maps become objects, BigInts numbers, typed arrays are copied (never views into wasm
 * memory, whose whole buffer postMessage would otherwise clone), a JSON string report
 * is parsed.
 */
function plain(v) {
  if (v == null) return v;
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v)) return v.slice();
  if (v instanceof Map) {
    const o = {};
    for (const [k, x] of v) o[String(k)] = plain(x);
    return o;
  }
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]);
    return o;
  }
  return v;
}

/**
 * Whether this browser's WebAssembly has fixed-width SIMD, which the module is built with
 * (.cargo/config.toml): a tiny module using `i8x16.splat` and `i8x16.popcnt` validates.
 */
function hasWasmSimd() {
  const bytes = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11];
  return WebAssembly.validate(new Uint8Array(bytes));
}

/** The two builds of the module: `{ js, wasm }` under pkg/ (`make build` makes both). */
const MODULES = {
  cpu: { js: 'agq.js', wasm: 'agq_bg.wasm' },
  webgpu: { js: 'agq_gpu.js', wasm: 'agq_gpu_bg.wasm' },
};

let chooseModule;
/** The build `init` asked for: `MODULES.cpu` or `MODULES.webgpu`. */
const moduleChosen = new Promise((resolve) => (chooseModule = resolve));

/** A build of the module (`MODULES.cpu` or `MODULES.webgpu`), imported and started. */
async function loadModule(files) {
  if (!hasWasmSimd()) {
    throw new Error('This browser runs WebAssembly without SIMD, which agq needs (Chrome and Edge 91+, Firefox 89+, Safari 16.4+): please update it.');
  }
  let mod;
  try {
    mod = await import(`../pkg/${files.js}`);
  } catch (e) {
    throw new Error(`The WebAssembly module could not be loaded (pkg/${files.js}: ${errText(e)}). Build it first: make build.`);
  }
  try {
    await mod.default();
  } catch (e) {
    throw new Error(`The WebAssembly module could not be started (pkg/${files.wasm}: ${errText(e)}).`);
  }
  return mod;
}

/** The wasm module, once `init` has chosen it and it is loaded and started. */
const wasmReady = moduleChosen.then(async (files) => {
  const mod = await loadModule(files);
  nets = new Map(mod.netCatalog().map((n) => [n.net, n]));
  return mod;
});
wasmReady.catch(() => {}); // reported once, by `init`

/** The network of `config` as the module lists it (undefined for an unknown word). */
const netOf = (config) => nets.get(config?.net);

/** The snapshot file (www/snapshots/) `config` is quantized from; null for a network trained here. */
const snapshotFileOf = (config) => netOf(config)?.snapshotFiles?.[config?.method] ?? null;

// ---------------------------------------------------------------- messages

self.onmessage = (event) => {
  const msg = event.data ?? {};
  switch (msg.type) {
    case 'init': onInit(msg); break;
    case 'link': onLink(msg); break;
    case 'encode': onEncode(msg); break;
    case 'train': onTrain(msg); break;
    case 'stop': onStop(); break;
    case 'requantize': onRequantize(msg); break;
    case 'account': onAccount(msg); break;
    case 'open': onOpen(msg); break;
    case 'reencode': onReencode(msg); break;
    case 'close': onClose(); break;
    case 'sweep': onSweep(); break;
    default: post({ type: 'error', message: `The worker got an unknown message: ${String(msg.type)}` });
  }
};

/** Stop: training ends after its current steps, an evaluation at its next batch. */
function onStop() {
  if (!running) return;
  stopRequested = true;
  try {
    lab?.requestStop();
  } catch {
    // an older module without requestStop: the run still stops between steps
  }
}

/** Whether the call that threw was an evaluation ended by `requestStop` (the module says so). */
function isStopped() {
  try {
    return stopRequested && !!lab?.endedByStop();
  } catch {
    return false; // a crashed module
  }
}

/**
 * Reports what a call into the module threw: a WebAssembly trap (a Rust panic, a lost
 * device) leaves the module unusable, so it is a `crashed` message (the page starts a new
 * worker); anything else an `error`.
 */
function postError(e, prefix = '') {
  if (e instanceof WebAssembly.RuntimeError) post({ type: 'crashed', message: errText(e) });
  else post({ type: 'error', message: prefix + errText(e) });
}

/** Ends a run that threw: a stopped evaluation ends quietly (`done`), anything else is reported. */
function endWithError(e) {
  if (isStopped()) {
    status('stopped; the accuracy was not measured');
    post({ type: 'done' });
  } else {
    postError(e);
  }
}

async function onInit({ preferGpu }) {
  chooseModule(preferGpu ? MODULES.webgpu : MODULES.cpu);
  try {
    const mod = await wasmReady;
    status(preferGpu ? 'looking for WebGPU' : 'starting the CPU backend');
    lab = await mod.Lab.create(!!preferGpu);
    const backend = plain(lab.backend());
    if (backend.kind === 'webgpu') backend.adapter = await describeAdapter(backend.adapter);
    post({ type: 'ready', backend });
  } catch (e) {
    post({ type: 'error', message: errText(e) });
  }
}

/**
 * The browser's own description of its WebGPU adapter (vendor, architecture, device), which
 * wgpu cannot read on the web; falls back to `fallback` when the browser says nothing.
 */
async function describeAdapter(fallback) {
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    const info = adapter?.info ?? (await adapter?.requestAdapterInfo?.());
    const parts = [info?.vendor, info?.architecture, info?.device, info?.description]
      .map((p) => String(p ?? '').trim())
      .filter((p, i, all) => p && all.indexOf(p) === i);
    return parts.length ? parts.join(' · ') : fallback;
  } catch {
    return fallback;
  }
}

// Both answers keep the order of the requests (the page matches them in order).
async function onLink({ query }) {
  let mod;
  try {
    mod = await wasmReady;
  } catch {
    post({ type: 'config', config: null, issues: [], run: false });
    return;
  }
  try {
    const p = mod.parseLink(String(query ?? ''));
    post({ type: 'config', config: p.config, issues: plain(p.issues) ?? [], run: !!p.run });
  } catch (e) {
    post({ type: 'config', config: null, issues: [], run: false });
    post({ type: 'error', message: `The link could not be read: ${errText(e)}` });
  }
}

async function onEncode({ config }) {
  let mod;
  try {
    mod = await wasmReady;
  } catch {
    post({ type: 'link', query: null });
    return;
  }
  try {
    post({ type: 'link', query: String(mod.encodeLink(config)) });
  } catch (e) {
    post({ type: 'link', query: null, message: errText(e) });
  }
}

// ---------------------------------------------------------------- data

/** Downloads MNIST once, with streamed progress, and hands it to the lab. */
async function ensureMnist() {
  if (mnistLoaded) return;
  status('downloading MNIST');
  const urls = MNIST_FILES.map((f) => new URL(`./data/mnist/${f}`, import.meta.url));
  let responses;
  try {
    responses = await Promise.all(urls.map((u) => fetch(u)));
  } catch (e) {
    throw new Error(`MNIST could not be downloaded (${errText(e)}).`);
  }
  responses.forEach((r, i) => {
    if (!r.ok) {
      throw new Error(`MNIST could not be downloaded: www/data/mnist/${MNIST_FILES[i]} answered HTTP ${r.status}. `
        + 'The data files are copied there by make build.');
    }
  });
  const lengths = responses.map((r) => Number(r.headers.get('Content-Length')) || 0);
  const encoded = responses.some((r) => r.headers.get('Content-Encoding'));
  const total = !encoded && lengths.every((n) => n > 0) ? lengths.reduce((a, b) => a + b, 0) : 0;
  let loaded = 0;
  let last = 0;
  const progress = (force) => {
    const now = performance.now();
    if (!force && now - last < 80) return;
    last = now;
    post({ type: 'progress', phase: 'download', done: loaded, total: total ? Math.max(total, loaded) : 0 });
  };
  progress(true);
  const buffers = await Promise.all(responses.map(async (r) => {
    if (!r.body) {
      const b = new Uint8Array(await r.arrayBuffer());
      loaded += b.length;
      progress(false);
      return b;
    }
    const reader = r.body.getReader();
    const chunks = [];
    let n = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      n += value.length;
      loaded += value.length;
      progress(false);
    }
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }));
  post({ type: 'progress', phase: 'download', done: loaded, total: loaded });
  status('reading MNIST');
  try {
    await lab.loadMnist(buffers[0], buffers[1], buffers[2], buffers[3]);
    mnistFiles = buffers;
  } catch (e) {
    throw new Error(`MNIST could not be read: ${errText(e)}`);
  }
  mnistLoaded = true;
}

/**
 * Downloads `url` with streamed progress (phase 'download'), through the Cache API when the
 * browser has it: a cached copy is used without a download, a fresh one is stored.
 * A missing file (HTTP 404) throws `missing` (or a generic message).
 */
async function download(url, { missing } = {}) {
  let cache = null;
  try {
    cache = self.caches ? await self.caches.open(CACHE_NAME) : null;
  } catch {
    cache = null; // e.g. an insecure context: download every time
  }
  if (cache) {
    try {
      const hit = await cache.match(url);
      if (hit && !(await isStale(hit, url))) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        post({ type: 'progress', phase: 'download', done: bytes.length, total: bytes.length, cached: true });
        return bytes;
      }
    } catch {
      // a broken cache entry: download again
    }
  }
  let r;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new Error(`${url.pathname ?? url} could not be downloaded (${errText(e)}).`);
  }
  if (!r.ok) {
    if (r.status === 404 && missing) throw new Error(missing);
    throw new Error(`${url.pathname ?? url} answered HTTP ${r.status}.`);
  }
  const length = Number(r.headers.get('Content-Length')) || 0;
  const total = r.headers.get('Content-Encoding') ? 0 : length;
  let loaded = 0;
  let last = 0;
  post({ type: 'progress', phase: 'download', done: 0, total });
  let bytes;
  if (!r.body) {
    bytes = new Uint8Array(await r.arrayBuffer());
  } else {
    const reader = r.body.getReader();
    const chunks = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      const now = performance.now();
      if (now - last > 80) {
        last = now;
        post({ type: 'progress', phase: 'download', done: loaded, total: total ? Math.max(total, loaded) : 0 });
      }
    }
    bytes = new Uint8Array(loaded);
    let o = 0;
    for (const c of chunks) {
      bytes.set(c, o);
      o += c.length;
    }
  }
  post({ type: 'progress', phase: 'download', done: bytes.length, total: bytes.length });
  if (cache) {
    try {
      const headers = { 'Content-Type': 'application/octet-stream' };
      for (const h of VERSION_HEADERS) {
        const v = r.headers.get(h);
        if (v) headers[`x-agq-${h}`] = v;
      }
      await cache.put(url, new Response(bytes, { headers }));
    } catch {
      // quota or private mode: works without the cache
    }
  }
  return bytes;
}

/** Response headers that tell one version of a file from another. */
const VERSION_HEADERS = ['etag', 'last-modified', 'content-length'];

/**
 * Whether a cached copy is out of date: a HEAD request compares the server's version
 * headers with those recorded at download time (a newly committed snapshot of the same
 * name is downloaded again). Offline or without such headers the copy is used.
 */
async function isStale(cached, url) {
  let head;
  try {
    head = await fetch(url, { method: 'HEAD', cache: 'no-store' });
  } catch {
    return false;
  }
  if (!head.ok) return head.status === 404; // the file is gone: report it, not an old copy
  return VERSION_HEADERS.some((h) => {
    const was = cached.headers.get(`x-agq-${h}`);
    const now = head.headers.get(h);
    return was && now && was !== now;
  });
}

/** Downloads (or takes from the cache) the snapshot `config` needs and hands it to the lab. */
async function ensureSnapshot(config) {
  const file = snapshotFileOf(config);
  if (snapshotLoaded === file) return null;
  const name = netOf(config)?.name ?? config.net;
  const itq = file !== netOf(config).snapshotFiles.none; // the ITQ-trained one
  status(`downloading the ${name} snapshot`);
  const bytes = await download(new URL(`./snapshots/${file}`, import.meta.url), {
    missing: `No ${name} ${itq ? 'ITQ-trained ' : ''}snapshot is committed yet (www/snapshots/${file}); see docs/NETWORKS.md.`,
  });
  status(`reading the ${name} snapshot`);
  snapshotLoaded = null;
  let info;
  try {
    info = plain(lab.loadSnapshot(bytes));
  } catch (e) {
    throw new Error(`The ${name} snapshot (www/snapshots/${file}) could not be read: ${errText(e)}`);
  }
  snapshotLoaded = file;
  return { ...info, file };
}

/** Downloads the first 1,000 official CIFAR-10 test images once. */
async function ensureCifar() {
  if (cifarLoaded) return;
  status('downloading the CIFAR-10 test images');
  const bytes = await download(new URL(`./data/cifar10/${CIFAR_TEST}`, import.meta.url), {
    missing: `The CIFAR-10 test images (www/data/cifar10/${CIFAR_TEST}) are missing.`,
  });
  try {
    lab.loadCifarTest(bytes);
  } catch (e) {
    throw new Error(`The CIFAR-10 test images could not be read: ${errText(e)}`);
  }
  cifarLoaded = true;
}

/** AlexNet / VGG-16: load the snapshot and the test images, then quantize (no training). */
async function runSnapshot(config) {
  const info = await ensureSnapshot(config);
  if (info) post({ type: 'snapshot', ...info });
  await ensureCifar();
  trained = true;
  // The ratio first (milliseconds once the snapshot is indexed), the accuracy after the
  // evaluation; an accounting error is reported by the quantization that follows.
  status('accounting the snapshot');
  try {
    postAccounted(config);
  } catch {
    // sendResult reports it
  }
  status('quantizing the snapshot');
  await sendResult(config);
}

/**
 * Accounts the loaded snapshot (`fromFile`: the opened file) with new settings, no
 * evaluation: an `accounted` message.
 */
function onAccount({ config, opened: fromFile }) {
  if (running || !lab) return;
  if (fromFile ? !opened : !snapshotLoaded || snapshotFileOf(config) !== snapshotLoaded) return;
  try {
    postAccounted(config, !!fromFile);
  } catch (e) {
    post({ type: 'accounted', error: errText(e) });
    return;
  }
  scheduleSizes(config, !!fromFile);
}

/** Wait after an accounting before sizing every encoding (a newer accounting replaces it). */
const SIZES_DELAY_MS = 120;
let sizesTimer = null;

/**
 * The size under every encoding of the setting just accounted: an `encodings` message a
 * moment later, unless another accounting or a run came first (it quantizes the whole
 * network: a few hundred milliseconds for VGG-16, against milliseconds for CSR alone).
 */
function scheduleSizes(config, fromFile) {
  clearTimeout(sizesTimer);
  sizesTimer = setTimeout(() => {
    sizesTimer = null;
    if (running || !lab || (fromFile && !opened)) return;
    const started = performance.now();
    try {
      const encodings = plain(fromFile ? lab.accountOpenedEncodings(config) : lab.accountEncodings(config));
      post({ type: 'encodings', ms: performance.now() - started, encodings });
    } catch (e) {
      post({ type: 'encodings', error: errText(e) });
    }
  }, SIZES_DELAY_MS);
}

/**
 * The last result's .agq file in another encoding (the same quantized network): an `agq`
 * message with the new file, its size and its report.
 */
function onReencode({ encoding }) {
  if (running || !lab) return;
  try {
    const r = plain(lab.reencode(String(encoding)));
    const agq = new Uint8Array(lab.agqBytes()); // a copy we can transfer
    post({ type: 'agq', encoding: r.encoding, bytes: r.bytes, report: r.report, agq }, [agq.buffer]);
  } catch (e) {
    post({ type: 'agq', encoding, error: errText(e) });
  }
}

/** Accounts the loaded snapshot (or the opened file) and posts it with the time it took (`ms`). */
function postAccounted(config, fromFile = false) {
  const started = performance.now();
  const accounted = plain(fromFile ? lab.accountOpened(config) : lab.account(config));
  post({ type: 'accounted', ms: performance.now() - started, ...accounted });
}

// ---------------------------------------------------------------- an opened snapshot file

/**
 * Opens a snapshot file the user chose (`bytes`: its ArrayBuffer, transferred; nothing
 * leaves the browser): an `opened` message with its description, or an `error` (the
 * previously opened file, if any, stays open).
 */
function onOpen({ bytes, name }) {
  if (running) {
    post({ type: 'error', message: 'Wait for the run to finish before opening a snapshot.' });
    return;
  }
  if (!lab) {
    post({ type: 'error', message: 'The compute backend is not ready.' });
    return;
  }
  const file = String(name ?? 'snapshot');
  status(`reading ${file}`);
  let info;
  try {
    info = plain(lab.openSnapshot(new Uint8Array(bytes), file));
  } catch (e) {
    postError(e, 'The snapshot file could not be opened: ');
    return;
  }
  opened = info;
  post({ type: 'opened', ...info });
}

/** Frees the opened file (the page went back to a built-in network). */
function onClose() {
  if (!lab || !opened) return;
  try {
    lab.closeSnapshot();
    opened = null;
  } catch {
    // busy: it stays until the next open replaces it
  }
}

/** Quantizes the opened file: the ratio at once, then the result (evaluated when built-in). */
async function quantizeOpened(config) {
  status(`accounting ${opened.file}`);
  try {
    postAccounted(config, true);
  } catch {
    // sendResult reports it
  }
  if (opened.builtin && opened.dataset === 'MNIST') await ensureMnist();
  if (opened.builtin && opened.dataset === 'CIFAR-10') await ensureCifar();
  status(`quantizing ${opened.file}`);
  await sendResult(config, true);
}

// ---------------------------------------------------------------- training

async function onTrain({ config, probe }) {
  clearTimeout(sizesTimer);
  if (running) {
    post({ type: 'error', message: 'A run is already in progress.' });
    return;
  }
  if (!lab) {
    post({ type: 'error', message: 'The compute backend is not ready.' });
    return;
  }
  running = true;
  stopRequested = false;
  try {
    await (netOf(config)?.fromSnapshot ? runSnapshot(config) : runTraining(config, !!probe));
  } catch (e) {
    endWithError(e);
  } finally {
    running = false;
    stopRequested = false;
  }
}

/** Trains a LeNet on MNIST with `config`, posting progress, then quantizes the result. */
async function runTraining(config, probe) {
  await ensureMnist();
  if (probe && !stopRequested) await chooseFasterBackend(config);
  if (stopRequested) {
    status('stopped before training');
    post({ type: 'done' });
    return;
  }
  status('building the network');
  trained = false;
  snapshotLoaded = null; // lab.start replaces what finish quantizes
  sweepable = false;
  const info = plain(await lab.start(config));
  sweepable = true;
  const stepsPerEpoch = Math.max(1, Number(info?.stepsPerEpoch) || 1);
  const epochs = Math.max(1, Number(config?.epochs) || 1);
  trained = true; // from here on lab.finish has a state to quantize

  // The module's epoch driver does the work; this loop paces it: k training steps per call
  // (adapted to TARGET_CALL_MS), the messages, and a turn of the event loop between calls
  // so that a `stop` gets in. An epoch's last steps are followed by its end at once.
  let k = 1;
  let epoch = 0; // epochs ended so far
  status(`training, epoch 1 of ${epochs}`);
  post({ type: 'progress', phase: 'epoch', done: 0, total: stepsPerEpoch });
  for (;;) {
    const t0 = performance.now();
    const r = await lab.advance(k, evalProgress);
    const dt = performance.now() - t0;
    if (r.kind === 'trained') {
      const values = new Float32Array(r.losses); // a copy, never a view into wasm memory
      post({ type: 'losses', firstStep: r.firstStep, values }, [values.buffer]);
      post({ type: 'progress', phase: 'epoch', done: r.doneInEpoch, total: r.stepsPerEpoch });
      // Adapt the number of steps per call: grow at most 4x at a time, shrink at once.
      const want = Math.round(TARGET_CALL_MS / Math.max(dt / Math.max(r.steps, 1), 0.01));
      k = Math.max(1, Math.min(want, k * 4, r.stepsPerEpoch));
      if (r.doneInEpoch >= r.stepsPerEpoch) {
        status(`evaluating epoch ${epoch + 1} of ${epochs}`);
        post({ type: 'progress', phase: 'eval', done: 0, total: 1 });
        continue; // the next call ends the epoch
      }
    } else if (r.kind === 'epochEnded') {
      post({ type: 'progress', phase: 'eval', done: 1, total: 1 });
      post({ type: 'epoch', ...plain(r.info) });
      epoch = Number(r.info.epoch);
      if (r.finished || stopRequested) break;
      status(`training, epoch ${epoch + 1} of ${epochs}`);
      post({ type: 'progress', phase: 'epoch', done: 0, total: stepsPerEpoch });
    } else {
      break; // finished
    }
    if (stopRequested) break;
    await yieldToEventLoop(); // lets a `stop` message in
    if (stopRequested) break;
  }
  status(stopRequested ? 'stopped; quantizing the trained state' : 'quantizing');
  await sendResult(config);
}

/**
 * Times this run's training on WebGPU against the CPU backend (www/worker_probe.js) and
 * keeps the faster: a `backend` message with the lab now used and the measurement. The
 * worker runs on the CPU build; the WebGPU build is loaded here, for a lab of its own. A
 * browser where WebGPU does not start, or a failed measurement, leaves the CPU lab in place.
 */
async function chooseFasterBackend(config) {
  if (plain(lab.backend()).kind !== 'cpu') return;
  status('loading the WebGPU build to time it against the CPU backend');
  let chosen;
  try {
    const gpuMod = await loadModule(MODULES.webgpu);
    const gpuLab = await gpuMod.Lab.create(true);
    const gpuBackend = plain(gpuLab.backend());
    if (gpuBackend.kind !== 'webgpu') {
      gpuLab.free();
      post({ type: 'backend', backend: null, reason: `WebGPU did not start (${gpuBackend.note}); the CPU backend stays.` });
      return;
    }
    await gpuLab.loadMnist(mnistFiles[0], mnistFiles[1], mnistFiles[2], mnistFiles[3]);
    status('timing WebGPU against the CPU backend');
    chosen = await fasterLab({ gpuLab, cpuLab: lab, config });
  } catch (e) {
    post({ type: 'backend', backend: null, reason: `The backends could not be timed (${errText(e)}); the CPU backend stays.` });
    return;
  }
  if (!chosen.cpu) {
    lab = chosen.lab;
    // a snapshot, the CIFAR-10 images and an opened file lived in the old lab
    snapshotLoaded = null;
    cifarLoaded = false;
    opened = null;
  }
  const backend = plain(lab.backend());
  if (backend.kind === 'webgpu') backend.adapter = await describeAdapter(backend.adapter);
  post({
    type: 'backend',
    backend,
    reason: chosen.cpu
      ? `CPU backend chosen automatically: ${chosen.text}. Tick "Use WebGPU" to use it anyway.`
      : `WebGPU chosen: ${chosen.text}.`,
  });
}

/** Forwards the evaluation's progress (images done, images in all) to the page. */
function evalProgress(done, total) {
  post({ type: 'progress', phase: 'eval', done, total });
}

async function sendResult(config, fromFile = false) {
  post({ type: 'progress', phase: 'eval', done: 0, total: 1 });
  const result = plain(await (fromFile ? lab.finishOpened(config, evalProgress) : lab.finish(config, evalProgress)));
  post({ type: 'progress', phase: 'eval', done: 1, total: 1 });
  if (typeof result?.report === 'string') {
    try { result.report = JSON.parse(result.report); } catch { /* keep the text */ }
  }
  const agq = new Uint8Array(lab.agqBytes()); // a copy we can transfer
  post({ type: 'result', ...result, agq }, [agq.buffer]);
  post({ type: 'done' });
}

/** The importance sweep of the trained LeNet (www/worker_sweep.js); `stop` ends it between points. */
async function onSweep() {
  if (running) {
    post({ type: 'error', message: 'Wait for the run to finish before sweeping.' });
    return;
  }
  if (!lab || !sweepable) {
    post({ type: 'error', message: 'Train a LeNet first; the sweep quantizes the network trained in the page.' });
    return;
  }
  running = true;
  stopRequested = false;
  try {
    const mod = await wasmReady;
    status('sweeping the importances');
    await runSweep({
      lab,
      plan: plain(mod.sweepPlan()),
      post: (m) => post(m.row ? { ...m, row: plain(m.row) } : m),
      shouldStop: () => stopRequested,
      between: yieldToEventLoop,
      progress: evalProgress,
    });
  } catch (e) {
    if (isStopped()) {
      post({ type: 'sweepDone', stopped: true });
    } else {
      post({ type: 'sweepDone', error: errText(e) });
      postError(e, 'The importance sweep failed: ');
    }
  } finally {
    running = false;
    stopRequested = false;
    post({ type: 'done' });
  }
}

async function onRequantize({ config, opened: fromFile }) {
  if (running) {
    post({ type: 'error', message: 'Wait for the run to finish before re-quantizing.' });
    return;
  }
  if (fromFile) {
    if (!lab || !opened) {
      post({ type: 'error', message: 'Open a snapshot file first.' });
      return;
    }
    running = true;
    stopRequested = false;
    try {
      await quantizeOpened(config);
    } catch (e) {
      endWithError(e);
    } finally {
      running = false;
      stopRequested = false;
    }
    return;
  }
  if (!lab || !trained) {
    post({ type: 'error', message: 'Train a network first; re-quantizing works on a trained network.' });
    return;
  }
  running = true;
  stopRequested = false;
  try {
    status('re-quantizing');
    await sendResult(config);
  } catch (e) {
    endWithError(e);
  } finally {
    running = false;
    stopRequested = false;
  }
}
