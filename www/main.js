// Wiring: the worker, the link, the controls, the charts and the results.
// Nothing from a link or from the worker is ever inserted as HTML (textContent only).

import {
  readControls, applyConfig, markIssues, shareUrl, setAddress, LinkClient,
  TRAINABLE_NETS, SNAPSHOT_NETS, SNAPSHOT_TEST, NET_NAMES, snapshotFile, METHOD_NAMES, controlOf, FIELDS,
  OPENED_NET, MAX_SNAPSHOT_BYTES,
} from './state.js';
import { bindControls, setPhase, showMethodGroups } from './controls.js';
import { LineChart, CategoryChart, HistogramChart, ScatterChart, drawPixelMap, clearPixelMap } from './charts.js';
import { showResult, clearResult, downloadAgq, downloadReport, entriesOf, showEncoding, replaceAgq, resultEncoding } from './results.js';
import { setSizes, chooseSize, sizesPending, clearSizes } from './encodings.js';
import { ImportanceCurves } from './importance.js';
import { initialBackend, rememberChoice } from './backend_choice.js';

// ---------------------------------------------------------------- references

/** Compression ratios of the thesis abstract (no accuracies are given there). */
const THESIS = {
  lenet300: { ptq: 7.62, itq: 22.08, combined: 57.22 },
  lenet5: { ptq: 10.87, itq: 21.05, combined: 50.19 },
  alexnet: { ptq: 6.39, itq: 7.95, combined: 13.15 },
  vgg16: { ptq: 12.43, itq: 12.71, combined: 13.53 },
};
/** Deep Compression (Han et al., ICLR 2016), pruning + quantization without Huffman coding. */
const DEEP_COMPRESSION = [
  { ratio: 32, accuracy: 98.42, label: 'Deep Compression, LeNet-300-100' },
  { ratio: 33, accuracy: 99.26, label: 'Deep Compression, LeNet-5' },
];
const THESIS_LINES = Object.fromEntries(Object.entries(THESIS).map(([net, r]) => [net, [
  { ratio: r.ptq, label: `thesis PTQ ${r.ptq}×` },
  { ratio: r.itq, label: `thesis ITQ ${r.itq}×` },
  { ratio: r.combined, label: `thesis combined ${r.combined}×` },
]]));

// ---------------------------------------------------------------- page state

const $ = (id) => document.getElementById(id);

const app = {
  worker: null,
  autoBackendReason: null, // why the page chose its backend by itself (backend_choice.js, the timing)
  probeBackend: false, // time WebGPU against the CPU before the first LeNet run (backend_choice.js)
  link: null,
  phase: 'starting', // starting | ready | running | failed
  ready: false,
  config: null, // the checked config of the controls
  query: null, // its link (no '?')
  pendingRun: false, // run=1 in the opened link
  runConfig: null, // config of the run in progress / last run
  trainedConfig: null, // config of the network the worker holds (for re-quantize)
  resultConfig: null, // config the next result belongs to
  stopping: false,
  requantizing: false,
  epochCount: 0,
  runCount: 0,
  lossEma: null,
  speed: [],
  linkIssues: [],
  linkBlockedRun: false,
  settingsIssues: [],
  errors: [],
  snapshot: null, // { net, file, params, provenance, hasWidths } of the snapshot the worker holds
  // The snapshot file the user opened, while it is the active network: the worker's
  // `opened` info plus linkNet (the built-in network the link names meanwhile).
  opened: null,
  openedFile: null, // its File (read again when the backend is switched)
  openingFile: null, // the File being opened
  pendingOpen: null, // a File to open once the (new) worker is ready
  resultFromFile: false, // the next result is the opened file's
  backendKind: null, // 'webgpu' | 'cpu' of the ready worker
  sweeping: false, // the worker is sweeping the importances of the trained LeNet
  trainedAccuracy: NaN, // test accuracy (%) of the trained LeNet after its last epoch
};

/** Whether Re-quantize has something to quantize: a trained network or an opened file. */
const canRequantize = () => !!app.trainedConfig || !!app.opened;
/** Whether the importance sweep can run: a LeNet trained in the page, and it is selected. */
const canSweep = () => !!app.trainedConfig && TRAINABLE_NETS.has(app.trainedConfig.net) && !app.opened
  && app.config?.net === app.trainedConfig.net;
/** What the buttons of the ready phase may do now. */
const readyState = () => ({ canRequantize: canRequantize(), canSweep: canSweep() });

// ---------------------------------------------------------------- status & messages

function setStatus(text, state = '') {
  const el = $('status');
  el.textContent = text;
  if (state) el.dataset.state = state;
  else delete el.dataset.state;
}

function showError(text) {
  app.errors.push(String(text));
  app.errors = app.errors.slice(-3);
  $('message-text').textContent = app.errors.join('\n');
  $('message').hidden = false;
}

function hideError() {
  app.errors = [];
  $('message-text').textContent = '';
  $('message').hidden = true;
}

/** An error: visible message, status ending in "error", buttons back to a usable state. */
function fail(text) {
  showError(text);
  setStatus('error', 'error');
  if (!app.ready) {
    app.phase = 'failed';
    const badge = $('backend');
    if (badge.classList.contains('badge-pending')) {
      badge.className = 'badge badge-error';
      badge.textContent = 'backend: unavailable';
    }
  } else {
    app.phase = 'ready';
  }
  app.stopping = false;
  app.requantizing = false;
  app.resultFromFile = false;
  setPhase(app.phase, readyState());
}

function renderIssues() {
  const body = $('issues-body');
  body.replaceChildren();
  const section = (title, issues) => {
    if (!issues.length) return;
    const p = document.createElement('p');
    p.className = 'issues-title';
    p.textContent = title;
    const ul = document.createElement('ul');
    for (const i of issues) {
      const li = document.createElement('li');
      li.textContent = `${String(i.field)}: ${String(i.message)}`;
      ul.append(li);
    }
    body.append(p, ul);
  };
  section(app.linkBlockedRun
    ? 'The link has fields that were not used, so it did not start training (press Train to run with the defaults shown):'
    : 'The link has fields that were not used:', app.linkIssues);
  section('Some settings are invalid (the link uses their defaults; fix them to train):', app.settingsIssues);
  $('issues').hidden = !app.linkIssues.length && !app.settingsIssues.length;
}

// ---------------------------------------------------------------- charts

function makeCharts() {
  const stub = new Proxy({}, { get: () => () => {} });
  const safe = (make) => {
    try {
      return make();
    } catch (e) {
      console.error(e);
      showError(`A chart could not be created: ${e?.message ?? e}`);
      return stub;
    }
  };
  return {
    loss: safe(() => new LineChart($('c-loss'), {
      xLabel: 'step', yLabel: 'loss', integerX: true,
      series: [{ label: 'loss', color: '#93b4f5', width: 1 }, { label: 'smoothed', color: '#1d4ed8', width: 2 }],
      digits: 4,
    })),
    accuracy: safe(() => new LineChart($('c-accuracy'), {
      xLabel: 'epoch', yLabel: 'accuracy (%)', points: true, digits: 2, integerX: true,
      series: [{ label: 'test accuracy', color: '#16a34a' }],
      yRange: (min, max) => (min == null ? [80, 100] : [Math.max(0, Math.floor(min - 2)), Math.min(100, Math.ceil(max + 1))]),
    })),
    ratio: safe(() => new LineChart($('c-ratio'), {
      xLabel: 'epoch', yLabel: 'ratio (×)', points: true, digits: 2, integerX: true,
      series: [{ label: 'compression ratio', color: '#9333ea' }],
      yRange: (min, max) => [0, max == null ? 10 : Math.max(2, max * 1.15)],
    })),
    widths: safe(() => new CategoryChart($('c-widths'), {
      xLabel: 'bits', yLabel: 'parameters (%)',
      bar: { label: 'share of parameters (%)', color: '#0891b2', digits: 2 },
    })),
    layers: safe(() => new CategoryChart($('c-layers'), {
      xLabel: 'tensor', yLabel: 'stored bits / parameter',
      bar: { label: 'bits per parameter', color: '#2563eb', digits: 2 },
      line: { label: 'sparsity (%)', axis: 'sparsity (%)', color: '#e11d48', range: [0, 100], digits: 1 },
      rotate: -25,
    })),
    scatter: safe(() => new ScatterChart($('c-scatter'), { points: DEEP_COMPRESSION, lines: THESIS_LINES })),
    importance: safe(() => new HistogramChart($('c-importance'), {
      xLabel: 'log10 accumulated |gradient|', yLabel: 'parameters',
    })),
  };
}

const charts = makeCharts();

/** "Importance at equal size", from the committed sweep results (never breaks the page). */
const importanceCurves = (() => {
  try {
    return new ImportanceCurves({
      figure: $('importance-card'), chart: $('c-importance-curves'), message: $('importance-message'), caption: $('importance-source'),
    });
  } catch (e) {
    console.error(e);
    const none = () => {};
    return { show: none, startLive: none, addLive: none, endLive: none, dropLive: none };
  }
})();
/** The network whose sweep the chart shows: the selected one, a built-in opened file's, else none. */
const sweepNet = (net) => (app.opened ? (app.opened.builtin ? app.opened.net : null) : net);

function setWidths(widths) {
  const rows = entriesOf(widths)
    .map(([w, c]) => [Number(w), Number(c)])
    .filter(([w, c]) => Number.isFinite(w) && Number.isFinite(c))
    .sort((a, b) => a[0] - b[0]);
  const total = rows.reduce((a, [, c]) => a + c, 0) || 1;
  charts.widths.set(rows.map(([w]) => (w === 0 ? '0 (pruned)' : w === 32 ? '32 (float)' : String(w))), rows.map(([, c]) => (100 * c) / total));
}

function setLayers(layers) {
  if (!Array.isArray(layers)) return;
  const names = layers.map((l) => String(l.name ?? ''));
  const bits = layers.map((l) => (Number(l.params) > 0 ? Number(l.bits) / Number(l.params) : null));
  const sparsity = layers.map((l) => (Number(l.params) > 0 ? 100 * (1 - Number(l.nnz) / Number(l.params)) : null));
  charts.layers.set(names, bits, sparsity);
}

/** Labels of the PTQ cluster boundaries: the quantile fractions, else "1|2", "2|3", ... */
function boundaryLabels(config, n) {
  const m = /^quantile:(.*)$/.exec(String(config?.clusters ?? ''));
  const q = m ? m[1].split(',').map(Number) : [];
  return Array.from({ length: n }, (_, i) => (q.length === n && Number.isFinite(q[i]) ? `${+(q[i] * 100).toFixed(2)}%` : `${i + 1}|${i + 2}`));
}

function setImportance(imp, config) {
  if (!imp) {
    charts.importance.reset();
    return;
  }
  const boundaries = Array.from(imp.boundaries ?? [], Number);
  const labels = boundaryLabels(config, boundaries.length);
  charts.importance.set(imp.log10Edges, imp.counts, boundaries.map((x, i) => ({ x, label: labels[i] })));
}

function resetRunCharts() {
  charts.loss.reset();
  charts.accuracy.reset();
  charts.ratio.reset();
  charts.widths.reset();
  charts.layers.reset();
  charts.importance.reset();
  clearPixelMap($('pixel-map'));
  clearSizes();
  app.lossEma = null;
  app.speed = [];
}

// ---------------------------------------------------------------- metrics & progress

const fmt2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : '–');

function setMetrics(accuracy, ratio) {
  $('accuracy').textContent = fmt2(Number(accuracy));
  $('ratio').textContent = fmt2(Number(ratio));
}

function setBar(name, done, total, text) {
  const bar = $(`p-${name}`);
  if (total > 0) {
    bar.max = total;
    bar.value = Math.min(done, total);
  } else if (done > 0) {
    bar.removeAttribute('value'); // indeterminate
  } else {
    bar.max = 1;
    bar.value = 0;
  }
  $(`t-${name}`).textContent = text;
}

function resetBars() {
  setBar('epoch', 0, 0, '–');
  setBar('eval', 0, 0, '–');
  $('l-epoch').textContent = 'Epoch';
  $('epoch-count').textContent = '–';
  $('speed').textContent = '–';
}

const mb = (n) => (n / 1e6).toFixed(1);

function onProgress(m) {
  const done = Number(m.done) || 0;
  const total = Number(m.total) || 0;
  if (m.phase === 'download') {
    const text = total ? `${mb(done)} / ${mb(total)} MB` : `${mb(done)} MB`;
    setBar('download', done, total, m.cached ? `${text} (cached)` : text);
  } else if (m.phase === 'epoch') {
    const of = app.runConfig?.epochs ?? '?';
    $('l-epoch').textContent = `Epoch ${Math.min(app.epochCount + 1, Number(of) || Infinity)} of ${of}`;
    setBar('epoch', done, total, `${done} / ${total} steps`);
  } else if (m.phase === 'eval') {
    setBar('eval', done, total, total && done >= total ? 'done' : 'evaluating…');
  }
}

function onLosses(m) {
  const values = Array.from(m.values ?? [], Number);
  const first = Number(m.firstStep) || 0;
  const xs = [];
  const ema = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    xs.push(first + i + 1);
    if (Number.isFinite(v)) app.lossEma = app.lossEma == null ? v : app.lossEma + 0.05 * (v - app.lossEma);
    ema.push(app.lossEma);
  }
  charts.loss.pushMany(xs, [values, ema]);
  // steps per second over the last few seconds
  const now = performance.now();
  app.speed.push([now, first + values.length]);
  while (app.speed.length > 2 && now - app.speed[0][0] > 4000) app.speed.shift();
  if (app.speed.length >= 2) {
    const [t0, s0] = app.speed[0];
    const [t1, s1] = app.speed[app.speed.length - 1];
    if (t1 > t0) $('speed').textContent = `${((1000 * (s1 - s0)) / (t1 - t0)).toFixed(1)} steps/s`;
  }
}

function onEpoch(m) {
  app.epochCount += 1;
  const x = app.epochCount;
  charts.accuracy.push(x, Number(m.accuracy));
  charts.ratio.push(x, Number(m.ratio));
  setWidths(m.widths);
  setLayers(m.layers);
  setMetrics(m.accuracy, m.ratio);
  app.trainedAccuracy = Number(m.accuracy);
  setSizes(m.encodings, chosenEncoding(), `(after epoch ${x})`);
  $('epoch-count').textContent = `${x} / ${app.runConfig?.epochs ?? '?'}`;
}

/** The widths of a config as "0,4,6,8" (the config holds the link text; a list also works). */
const widthsText = (w) => (Array.isArray(w) || ArrayBuffer.isView(w) ? Array.from(w).join(',') : String(w ?? ''));

/** What the first layer's map shows (`pixelGrid`: src/pixel_map.rs). */
function pixelNote({ grid, tensor, width, height }) {
  if (grid === 'pixels') {
    return `Accumulated |gradient| of the first layer's weights, summed for each of the ${width}×${height} input pixels (scaled min to max): where the network looks.`;
  }
  return `Accumulated |gradient| of the first convolution (${tensor}), summed over its output and input channels for each of its ${width}×${height} kernel offsets (scaled min to max): which part of its receptive field it uses. A convolution shares its weights over positions, so there is no per-pixel map.`;
}

function runLabel(config, { requantized, stopped }) {
  const net = NET_NAMES[config?.net] ?? String(config?.net);
  const method = METHOD_NAMES[config?.method] ?? String(config?.method);
  let s = `${net}, ${method}`;
  if (config?.method !== 'none' && config?.method !== 'itq') s += `, ${config.clusters} → ${widthsText(config.widths)} bits`;
  if (SNAPSHOT_NETS.has(config?.net)) {
    s += `, snapshot ${app.snapshot?.file ?? ''}, accuracy on the ${SNAPSHOT_TEST}`;
  } else {
    if (config?.method === 'itq' || config?.method === 'combined') s += `, split ${config.split}`;
    s += `, ${config?.epochs} epoch${config?.epochs === 1 ? '' : 's'}, ${config?.train_size} images`;
  }
  if (requantized) s += ' (re-quantized)';
  if (stopped) s += ' (stopped early)';
  return s;
}

/** The label of a result of the opened file. */
function fileLabel(config, opened) {
  const method = METHOD_NAMES[config?.method] ?? String(config?.method);
  let s = `${opened.net} (opened file ${opened.file}), ${method}`;
  if (config?.method !== 'none' && config?.method !== 'itq') s += `, ${config.clusters} → ${widthsText(config.widths)} bits`;
  if (config?.importance && config.importance !== 'grad') s += `, importance ${config.importance}`;
  s += opened.builtin ? `, accuracy on ${accuracyScopeOf(opened)}` : ', accuracy not measured';
  return s;
}

/** Where an opened built-in network's accuracy is measured. */
function accuracyScopeOf(opened) {
  return opened.dataset === 'MNIST' ? 'the MNIST test set (10,000 images)' : `the ${SNAPSHOT_TEST} of CIFAR-10`;
}

function onResult(m) {
  const config = app.resultConfig ?? app.runConfig;
  const fromFile = app.resultFromFile && app.opened;
  const requantized = app.requantizing;
  const stopped = app.stopping && !requantized && !fromFile;
  app.runCount += 1;
  const tag = `#${app.runCount}`;
  const label = `${tag} ${fromFile ? fileLabel(config, app.opened) : runLabel(config, { requantized, stopped })}`;
  const accuracy = m.accuracy == null ? NaN : Number(m.accuracy);
  const ratio = Number(m.ratio);
  setMetrics(accuracy, ratio);
  if (m.widths) setWidths(m.widths);
  if (m.layers) setLayers(m.layers);
  setSizes(m.encodings, chosenEncoding(), '(the result)');
  setImportance(m.importance, config);
  const canvas = $('pixel-map');
  const grid = m.pixelGrid;
  if (m.pixelMap && grid && m.pixelMap.length === grid.width * grid.height) {
    drawPixelMap(canvas, m.pixelMap, grid.width, grid.height);
    $('pixel-note').textContent = pixelNote(grid);
  } else {
    clearPixelMap(canvas);
    $('pixel-note').textContent = 'No pixel map for this network (its first weight tensor does not read an image).';
  }
  if (Number.isFinite(accuracy) && Number.isFinite(ratio)) {
    charts.scatter.addRun({ ratio, accuracy, tag });
    const li = document.createElement('li');
    li.textContent = `${label}: ${accuracy.toFixed(2)} % at ${ratio.toFixed(2)}×`;
    $('runs-list').append(li);
  } else if (fromFile && Number.isFinite(ratio)) {
    const li = document.createElement('li');
    li.textContent = `${label}: ${ratio.toFixed(2)}× (accuracy not measured, so not on the chart)`;
    $('runs-list').append(li);
  }
  const file = fromFile ? {
    net: app.opened.net,
    accuracyLabel: app.opened.builtin && app.opened.dataset !== 'MNIST' ? `Test accuracy (${SNAPSHOT_TEST})` : 'Test accuracy',
    notMeasured: app.opened.builtin ? '' : `not measured: ${app.opened.notBuiltin}`,
  } : null;
  showResult(m, { config, label, stopped, requantized, file });
  if (!requantized && !fromFile) app.trainedConfig = app.runConfig;
}

function onDone() {
  if (app.sweeping) {
    const stopped = app.stopping;
    app.sweeping = false;
    app.phase = 'ready';
    app.stopping = false;
    setPhase('ready', readyState());
    setStatus(`importance sweep ${stopped ? 'stopped' : 'done'}`, 'done');
    return;
  }
  const evaluationStopped = app.stopping && (app.resultFromFile || SNAPSHOT_NETS.has(app.runConfig?.net));
  const text = evaluationStopped ? 'stopped; the accuracy was not measured'
    : app.resultFromFile ? 'quantized, done' : app.requantizing ? 're-quantized, done' : app.stopping ? 'stopped early, done' : 'done';
  app.phase = 'ready';
  app.stopping = false;
  app.requantizing = false;
  app.resultFromFile = false;
  setPhase('ready', readyState());
  setStatus(text, 'done');
}

function onReady(backend) {
  app.ready = true;
  showBackend(backend);
  if (app.phase === 'starting' || app.phase === 'failed') app.phase = 'ready';
  setPhase(app.phase, readyState());
  if (app.phase === 'ready') setStatus('ready');
  if (app.pendingOpen && app.phase === 'ready') {
    const file = app.pendingOpen;
    app.pendingOpen = null;
    openFile(file);
    return;
  }
  maybeAutoRun();
}

/**
 * The worker timed both backends before a run (www/worker_probe.js): the badge shows the
 * backend it kept and the note the measurement (`backend` null: the timing failed, nothing
 * changed but the note).
 */
function onBackendTimed({ backend, reason }) {
  if (backend?.kind) $('prefer-gpu').checked = backend.kind === 'webgpu';
  app.autoBackendReason = String(reason ?? '');
  if (backend) showBackend(backend);
  else $('backend-note').textContent = app.autoBackendReason;
}

/** The badge and note of the compute backend. */
function showBackend(backend) {
  const kind = String(backend?.kind ?? 'unknown').toLowerCase();
  app.backendKind = kind;
  const adapter = String(backend?.adapter ?? '').trim();
  const note = String(backend?.note ?? '').trim();
  const badge = $('backend');
  badge.className = `badge ${kind === 'webgpu' ? 'badge-webgpu' : 'badge-cpu'}`;
  badge.textContent = adapter ? `${kind} · ${adapter}` : kind;
  badge.title = `Compute backend: ${kind}${adapter ? ` (${adapter})` : ''}${note ? `. ${note}` : ''}`;
  const noteEl = $('backend-note');
  const gpuWanted = $('prefer-gpu').checked;
  const autoNote = kind === 'cpu' && !gpuWanted ? app.autoBackendReason : null;
  noteEl.textContent = autoNote || note || (kind !== 'webgpu' && gpuWanted ? 'WebGPU was not used (no reason given).' : '');
  noteEl.classList.toggle('warn', kind !== 'webgpu' && gpuWanted);
  if (kind === 'webgpu' && app.autoBackendReason) noteEl.textContent = app.autoBackendReason;
  if (autoNote) badge.title += `. ${autoNote}`;
}

// ---------------------------------------------------------------- the worker

function onWorkerMessage(worker, m) {
  if (worker !== app.worker || !m || typeof m !== 'object') return;
  if (app.link?.handle(m)) return;
  switch (m.type) {
    case 'ready': onReady(m.backend); break;
    case 'status': if (app.phase !== 'failed') setStatus(String(m.text ?? '')); break;
    case 'progress': onProgress(m); break;
    case 'losses': onLosses(m); break;
    case 'epoch': onEpoch(m); break;
    case 'result': onResult(m); break;
    case 'done': onDone(); break;
    case 'snapshot': onSnapshot(m); break;
    case 'opened': onOpened(m); break;
    case 'accounted': onAccounted(m); break;
    case 'encodings': onEncodings(m); break;
    case 'agq': onAgq(m); break;
    case 'sweepPoint': importanceCurves.addLive(m.row, m.done, m.total); break;
    case 'sweepDone': importanceCurves.endLive(m); break;
    case 'error': fail(String(m.message ?? 'unknown error')); break;
    case 'backend': onBackendTimed(m); break;
    case 'crashed': recoverFromCrash(String(m.message ?? 'a trap in the WebAssembly module')); break;
    default: console.warn('unknown message from the worker', m.type);
  }
}

function startWorker(preferGpu) {
  if (app.worker) {
    app.worker.terminate();
    app.link?.drop();
  }
  // an opened file lived in the old worker: the new one reads it again once ready
  const reopen = app.opened ? app.openedFile : null;
  leaveOpened();
  app.pendingOpen = reopen;
  app.ready = false;
  app.phase = 'starting';
  app.trainedConfig = null;
  app.snapshot = null;
  setPhase('starting');
  const badge = $('backend');
  badge.className = 'badge badge-pending';
  badge.textContent = 'backend: starting';
  $('backend-note').textContent = '';
  let w;
  try {
    w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  } catch (e) {
    app.worker = null;
    app.link = null;
    fail(`The background worker could not be created: ${e?.message ?? e}`);
    return;
  }
  app.worker = w;
  app.link = new LinkClient(w);
  w.onmessage = (ev) => onWorkerMessage(w, ev.data);
  w.onerror = (ev) => {
    ev.preventDefault?.();
    if (w !== app.worker) return;
    if (app.ready) {
      recoverFromCrash(ev.message || 'an uncaught error');
      return;
    }
    app.link?.drop();
    fail(`The background worker failed: ${ev.message || 'its script could not be loaded or it threw an error'}.`);
  };
  w.onmessageerror = () => fail('A message from the background worker could not be read.');
  setStatus('loading the WebAssembly module');
  w.postMessage({ type: 'init', preferGpu: !!preferGpu });
}

/**
 * The worker stopped working (a trap in the WebAssembly module such as a Rust panic or a
 * lost WebGPU device, or an uncaught error): a new worker takes its place, on the CPU
 * backend when the old one ran on WebGPU. The settings, charts and results so far stay
 * (the trained network itself is gone: Train runs again).
 */
function recoverFromCrash(message) {
  const wasGpu = app.backendKind === 'webgpu';
  app.sweeping = false;
  app.stopping = false;
  app.requantizing = false;
  app.resultFromFile = false;
  importanceCurves.endLive({ error: 'the worker crashed' });
  showError(`The compute worker crashed (${message}). It was restarted${wasGpu ? ' on the CPU backend' : ''}; `
    + 'the settings, charts and results so far are kept. Press Train to run again.');
  if (wasGpu) {
    $('prefer-gpu').checked = false;
    app.autoBackendReason = 'Started on the CPU backend after the WebGPU worker crashed; tick the box to try WebGPU again.';
  }
  startWorker($('prefer-gpu').checked);
  setStatus('the worker crashed; restarting it');
}

// ---------------------------------------------------------------- link & config

function updateShare() {
  if (app.query) $('share').value = shareUrl(app.query, $('share-run').checked);
  const note = $('share-note');
  if (app.opened) {
    const net = NET_NAMES[app.opened.linkNet] ?? app.opened.linkNet;
    note.textContent = `This link carries the settings, not the opened file (${app.opened.file}): a file on your `
      + `computer cannot travel in a link. Whoever opens it gets ${net} with these settings.`;
    note.hidden = false;
  } else {
    note.textContent = '';
    note.hidden = true;
  }
}

async function publishLink() {
  if (!app.link || !app.config) return;
  const q = await app.link.encode(app.config);
  if (q) {
    app.query = q;
    setAddress(q);
    updateShare();
  }
}

function adoptConfig(config) {
  app.config = config;
  showMethodGroups(config.method, app.opened ? OPENED_NET : config.net);
  charts.scatter.setNet(app.opened ? (app.opened.builtin ? app.opened.net : null) : config.net);
  importanceCurves.show(sweepNet(config.net));
  showAccuracyScope(config.net);
  if (app.phase === 'ready') setPhase('ready', readyState());
}

/**
 * Says where the accuracy is measured (the first 1,000 CIFAR-10 test images for a
 * snapshot; nowhere for an opened file of another network) and shows the snapshot panel.
 */
function showAccuracyScope(net) {
  const o = app.opened;
  let label = SNAPSHOT_NETS.has(net) ? `Test accuracy (${SNAPSHOT_TEST})` : 'Test accuracy';
  if (o) label = !o.builtin ? 'Test accuracy: not measured' : o.dataset === 'MNIST' ? 'Test accuracy' : `Test accuracy (${SNAPSHOT_TEST})`;
  $('accuracy-label').textContent = label;
  renderSnapshotInfo(net);
}


const PROVENANCE_LABELS = {
  interim: 'still training', generator: 'made by', method: 'trained with', epochs: 'epochs', dataset: 'data set',
  training_data: 'training data', accuracy_percent: 'accuracy (%)', accuracy_on: 'accuracy on',
  itq_low_fraction: 'ITQ low fraction', hardware: 'hardware', wall_time_seconds: 'training time (s)',
  date: 'date', config: 'settings', command: 'command', epoch_accuracy: 'accuracy per epoch (%)',
  taylor: 'Taylor sums', continued_from: 'continued from',
};

/**
 * The `interim` entry of a snapshot exported from a run still going (scripts/train_snapshot.py
 * --export-interim) in words; anything else as JSON.
 */
function interimText(v) {
  if (!v || typeof v !== 'object') return String(v);
  const n = (x, digits) => (Number.isFinite(Number(x)) ? (digits ? Number(x).toPrecision(digits) : Number(x)) : '?');
  const steps = n(v.steps_into_next_epoch);
  return `exported after ${n(v.epochs_done)} of ${n(v.float_epochs_planned)} float epochs`
    + `${steps ? ` and ${steps} steps` : ''}, learning rate then ${n(v.learning_rate_now, 3)}`
    + `${v.note ? `: ${v.note}` : ''}`;
}

/** The loaded snapshot of a built-in network (www/snapshots). */
function onSnapshot(m) {
  app.snapshot = { net: String(m.net ?? ''), file: String(m.file ?? ''), params: Number(m.params), provenance: m.provenance ?? null, hasWidths: !!m.hasWidths };
  showAccuracyScope(app.config?.net ?? app.snapshot.net);
}

const count = (n) => (Number.isFinite(n) ? n.toLocaleString('en-US') : '?');

/** A provenance object (the `agq.provenance` JSON) as a definition list, text only. */
function fillProvenance(dl, prov, extra = []) {
  dl.replaceChildren();
  const add = (k, v) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dl.append(dt, dd);
  };
  for (const [k, v] of extra) add(k, v);
  if (prov && typeof prov === 'object' && !Array.isArray(prov)) {
    const keys = Object.keys(prov);
    const ordered = [...Object.keys(PROVENANCE_LABELS).filter((k) => keys.includes(k)), ...keys.filter((k) => !(k in PROVENANCE_LABELS))];
    for (const k of ordered) {
      const v = prov[k];
      const text = k === 'interim' ? interimText(v) : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
      add(PROVENANCE_LABELS[k] ?? k, text);
    }
  } else {
    add('provenance', 'none recorded in the snapshot (no agq.provenance)');
  }
}

/**
 * The snapshot panel: the opened file (name, tensors, whether its accuracy is measured,
 * provenance), else the downloaded snapshot of `net`, else hidden. Text only.
 */
function renderSnapshotInfo(net) {
  const o = app.opened;
  const accuracy = $('snapshot-accuracy');
  const layers = $('snapshot-layers');
  if (o) {
    $('snapshot-title').textContent = `Opened file: ${o.file}, network ${JSON.stringify(o.net)}, ${count(o.params)} parameters in `
      + `${count(o.tensors)} tensors, ITQ widths: ${o.hasWidths ? 'yes' : 'none (in-training and combined need them)'}`;
    accuracy.textContent = o.builtin
      ? `The built-in ${NET_NAMES[o.net] ?? o.net}: the accuracy is measured on ${accuracyScopeOf(o)}.`
      : `Accuracy not measured: ${o.notBuiltin}.`;
    accuracy.classList.toggle('not-measured', !o.builtin);
    accuracy.hidden = false;
    fillProvenance($('snapshot-prov'), o.provenance, [['source', 'a file on this computer, read in this browser (nothing was uploaded)']]);
    $('snapshot-layers-title').textContent = `Tensors (${count(o.tensors)})`;
    const body = $('snapshot-layers-body');
    body.replaceChildren();
    for (const l of o.layers) {
      const tr = document.createElement('tr');
      const shape = Array.isArray(l?.shape) ? l.shape.map(Number) : [];
      for (const [text, cls] of [[String(l?.name ?? ''), ''], [`[${shape.join(', ')}]`, ''], [count(shape.reduce((a, b) => a * b, 1)), 'num']]) {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      body.append(tr);
    }
    layers.hidden = false;
    $('snapshot-info').hidden = false;
    return;
  }
  accuracy.hidden = true;
  layers.hidden = true;
  const s = app.snapshot;
  if (!(SNAPSHOT_NETS.has(net) && s?.net === net)) {
    $('snapshot-info').hidden = true;
    return;
  }
  $('snapshot-title').textContent = `Snapshot: ${NET_NAMES[s.net] ?? s.net}, www/snapshots/${s.file}`
    + (Number.isFinite(s.params) ? `, ${s.params.toLocaleString('en-US')} parameters` : '');
  fillProvenance($('snapshot-prov'), s.provenance);
  $('snapshot-info').hidden = false;
}

// ---------------------------------------------------------------- an opened snapshot file

/**
 * Opens a snapshot file the user chose (the file input or a drop): refused before reading
 * when it is larger than MAX_SNAPSHOT_BYTES, else read here and transferred to the worker
 * (nothing is uploaded). A bad file leaves everything as it was.
 */
async function openFile(file) {
  if (!file) return;
  const name = String(file.name || 'snapshot');
  if (!app.worker || app.phase !== 'ready') {
    showError(`${name} was not opened: wait for the page to be ready (or the run to finish), then open it again.`);
    return;
  }
  if (file.size > MAX_SNAPSHOT_BYTES) {
    showError(`${name} was not opened: it has ${mb(file.size)} MB, and the page opens snapshots of up to 256 MiB `
      + `(${mb(MAX_SNAPSHOT_BYTES)} MB). The command line (agq quantize, docs/CLI.md) has no such limit.`);
    return;
  }
  if (file.size === 0) {
    showError(`${name} was not opened: the file is empty.`);
    return;
  }
  hideError();
  app.phase = 'running';
  setPhase('running', { stopping: true });
  setStatus(`reading ${name}`);
  let bytes;
  try {
    bytes = await file.arrayBuffer();
  } catch (e) {
    fail(`${name} could not be read: ${e?.message ?? e}`);
    return;
  }
  app.openingFile = file;
  app.worker.postMessage({ type: 'open', bytes, name }, [bytes]);
}

/** Disables in-training and combined while the opened file has no ITQ widths; true when the method had to change. */
function setMethodOptions() {
  const noWidths = !!app.opened && !app.opened.hasWidths;
  const select = $('f-method');
  for (const o of select.options) {
    if (o.value !== 'itq' && o.value !== 'combined') continue;
    o.disabled = noWidths;
    o.title = noWidths ? 'The opened snapshot has no ITQ widths (width/P)' : '';
  }
  if (noWidths && (select.value === 'itq' || select.value === 'combined')) {
    select.value = 'ptq';
    return true;
  }
  return false;
}

/** The worker opened a file: it becomes the active network and is quantized at once. */
function onOpened(m) {
  // builtin: agq.net names a built-in network and every tensor matches it (the wasm decides)
  const builtin = !!m.builtin && (TRAINABLE_NETS.has(String(m.net)) || SNAPSHOT_NETS.has(String(m.net)));
  const linkNet = builtin ? String(m.net) : app.opened?.linkNet ?? app.config?.net ?? 'lenet300';
  app.opened = {
    file: String(m.file ?? 'snapshot'),
    net: String(m.net ?? ''),
    builtin,
    notBuiltin: String(m.notBuiltin ?? ''),
    dataset: String(m.dataset ?? ''),
    params: Number(m.params),
    tensors: Number(m.tensors),
    hasWidths: !!m.hasWidths,
    provenance: m.provenance ?? null,
    layers: Array.isArray(m.layers) ? m.layers : [],
    linkNet,
  };
  app.openedFile = app.openingFile;
  app.openingFile = null;
  let option = $('net-file');
  if (!option) {
    option = document.createElement('option');
    option.id = 'net-file';
    option.value = OPENED_NET;
    $('f-net').append(option);
  }
  option.textContent = `Opened file: ${app.opened.net} (${app.opened.file})`;
  $('f-net').value = OPENED_NET;
  const methodChanged = setMethodOptions();
  resetRunCharts();
  resetBars();
  setMetrics(NaN, NaN);
  showAccuracyScope(linkNet);
  updateShare();
  if (methodChanged) showError(`${app.opened.file} has no ITQ widths (width/P), which in-training and combined need: it is quantized post-training (PTQ).`);
  quantizeOpened();
}

/** Back to the built-in networks: the opened file is closed (the worker frees it). */
function leaveOpened() {
  if (!app.opened) return;
  const { linkNet } = app.opened;
  app.opened = null;
  app.openedFile = null;
  const wasFile = $('f-net').value === OPENED_NET;
  $('net-file')?.remove();
  if (wasFile) $('f-net').value = linkNet; // the network the link named meanwhile
  setMethodOptions();
  app.worker?.postMessage({ type: 'close' });
  updateShare();
  showAccuracyScope($('f-net').value);
  if (app.phase === 'ready') setPhase('ready', readyState());
}

/** Quantizes the opened file with the controls' method, importance, clusters and widths. */
async function quantizeOpened() {
  if (!app.opened || !app.worker || (app.phase !== 'ready' && app.phase !== 'running')) return;
  app.phase = 'running';
  setPhase('running', { stopping: true });
  const parsed = await syncFromControls();
  const keys = ['method', 'importance', 'clusters', 'widths', 'seed'];
  const bad = parsed ? parsed.issues.filter((i) => keys.includes(String(i.field))) : [];
  if (!parsed || bad.length || !app.opened) {
    app.phase = 'ready';
    setPhase('ready', readyState());
    if (bad.length) {
      setStatus('fix the settings to quantize');
      focusFirstIssue(bad);
    }
    return;
  }
  const config = parsed.config;
  app.resultConfig = config;
  app.resultFromFile = true;
  app.requantizing = false;
  app.stopping = false;
  setStatus(`quantizing ${app.opened.file}`);
  app.worker.postMessage({ type: 'requantize', config, opened: true });
  setPhase('running'); // Stop ends its evaluation
}

/** New clusters or widths on a loaded snapshot: the accounting at once, accuracy on Re-quantize. */
function onAccounted(m) {
  const then = app.opened && !app.opened.builtin ? 'press Re-quantize for the .agq file of these settings'
    : 'press Re-quantize to evaluate the accuracy';
  if (m.error) {
    setStatus(`these settings cannot be accounted: ${m.error}`);
    return;
  }
  $('ratio').textContent = fmt2(Number(m.ratio));
  $('accuracy').textContent = '–';
  if (m.widths) setWidths(m.widths);
  if (m.layers) setLayers(m.layers);
  // CSR at once; the worker sizes the other encodings a moment later (an `encodings` message)
  if (app.phase === 'running') setSizes(m.encodings, chosenEncoding(), '(sizing the other encodings…)');
  else setSizes(m.encodings, chosenEncoding(), '(these settings; sizing the other encodings…)');
  setImportance(m.importance, app.config);
  const took = Number.isFinite(m.ms) ? ` in ${m.ms < 10 ? m.ms.toFixed(1) : Math.round(m.ms)} ms` : '';
  if (app.phase !== 'running') setStatus(`accounted${took}; ${then}`);
}

/** The encoding the controls pick for the .agq file. */
const chosenEncoding = () => String(app.config?.encoding ?? 'csr');

/** Every encoding's size of the settings just accounted (the worker's `encodings` message). */
function onEncodings(m) {
  if (m.error) {
    sizesPending(true);
    setStatus(`the encodings could not be sized: ${m.error}`);
    return;
  }
  const took = Number.isFinite(m.ms) ? ` in ${m.ms < 10 ? m.ms.toFixed(1) : Math.round(m.ms)} ms` : '';
  setSizes(m.encodings, chosenEncoding(), `(these settings, sized${took}; Re-quantize writes the file)`);
}

/**
 * The encoding control changed: the tables show its parts, and the last result's .agq file
 * is written again in it (the same quantized network; no re-quantization).
 */
function encodingChanged() {
  const encoding = chosenEncoding();
  chooseSize(encoding);
  showEncoding(encoding);
  const file = resultEncoding();
  if (file && file !== encoding && app.phase === 'ready' && app.worker) {
    setStatus(`writing the .agq file in the ${encoding} encoding`);
    app.worker.postMessage({ type: 'reencode', encoding });
  }
}

/** The last result's file in another encoding (the worker's `agq` message). */
function onAgq(m) {
  if (m.error) {
    showError(`The .agq file could not be written in the ${m.encoding} encoding: ${m.error}`);
    return;
  }
  replaceAgq(m);
  if (app.phase === 'ready') setStatus(`the .agq file is now ${m.encoding}-encoded (${Number(m.bytes).toLocaleString('en-US')} bytes), done`, 'done');
}

/** Asks the worker to re-account the loaded snapshot with the controls' settings. */
function accountSnapshot() {
  const config = app.config;
  if (app.opened) {
    if (config && app.phase === 'ready' && app.worker && !app.settingsIssues.length) app.worker.postMessage({ type: 'account', config, opened: true });
    return;
  }
  if (!config || !SNAPSHOT_NETS.has(config.net) || app.phase !== 'ready' || !app.worker) return;
  if (!app.snapshot || app.snapshot.net !== config.net || app.snapshot.file !== snapshotFile(config)) return;
  if (app.settingsIssues.length) return;
  app.worker.postMessage({ type: 'account', config });
}

/** Reads the opened link: every control from it, its issues shown, run=1 remembered. */
/** Settings the user changed before the link was applied: field key -> the control's text. */
const earlyEdits = new Map();
const linkApplied = () => document.body.dataset.config === 'applied';

/** Records an edit made while the link is still being read (it is kept over the link's value). */
function noteEarlyEdit(field) {
  if (!linkApplied()) earlyEdits.set(field.key, controlOf(field)?.value ?? '');
}

/** Writes the early edits back over the link's values; the keys of the fields restored. */
function restoreEarlyEdits() {
  const keys = [];
  for (const f of FIELDS) {
    if (!earlyEdits.has(f.key) || !controlOf(f)) continue;
    controlOf(f).value = earlyEdits.get(f.key);
    keys.push(f.key);
  }
  earlyEdits.clear();
  return keys;
}

async function loadLink(search) {
  if (!app.link) return;
  const p = await app.link.parse(search);
  if (!p.config) {
    document.body.dataset.config = 'unavailable';
    return;
  }
  applyConfig(p.config);
  const edited = restoreEarlyEdits();
  app.linkIssues = p.issues.filter((i) => !edited.includes(String(i.field)));
  app.linkBlockedRun = p.run && app.linkIssues.length > 0;
  if (edited.length) {
    await syncFromControls(); // the link's settings with the user's edits, checked and published
  } else {
    adoptConfig(p.config);
    renderIssues();
    await publishLink();
  }
  document.body.dataset.config = 'applied';
  if (p.run && !app.linkBlockedRun) {
    app.pendingRun = true;
    maybeAutoRun();
  }
}

/** The PTQ settings whose defaults depend on the network (see docs/METHOD_NOTES.md). */
const NET_DEFAULT_KEYS = ['importance', 'clusters', 'widths'];

/**
 * When the network changes and its PTQ settings still hold the old network's defaults,
 * they take the new network's defaults (asked from the Rust side, never copied here).
 */
async function followNetDefaults() {
  const oldNet = app.config?.net;
  const newNet = $('f-net').value;
  if (!oldNet || oldNet === newNet || newNet === OPENED_NET) return;
  const [before, after] = await Promise.all([app.link.parse(`v=1&net=${oldNet}`), app.link.parse(`v=1&net=${encodeURIComponent(newNet)}`)]);
  if (!before.config || !after.config) return;
  const fields = FIELDS.filter((f) => NET_DEFAULT_KEYS.includes(f.key));
  const untouched = fields.every((f) => controlOf(f)?.value.trim() === f.format(before.config[f.key]));
  if (untouched) for (const f of fields) controlOf(f).value = f.format(after.config[f.key]);
}

let syncChain = Promise.resolve(null);
/** Controls -> checked config (+ issues) -> link in the address bar and share field. */
function syncFromControls() {
  const next = syncChain.then(async () => {
    if (!app.link) return null;
    await followNetDefaults();
    const parsed = await app.link.parse(readControls(app.opened ? { net: app.opened.linkNet } : {}));
    if (!parsed.config) return null;
    adoptConfig(parsed.config);
    app.settingsIssues = parsed.issues;
    markIssues(parsed.issues);
    renderIssues();
    await publishLink();
    return parsed;
  });
  syncChain = next.catch(() => null);
  return next;
}

function maybeAutoRun() {
  if (app.pendingRun && app.ready && app.phase === 'ready' && document.body.dataset.config === 'applied') {
    app.pendingRun = false;
    train();
  }
}

// ---------------------------------------------------------------- actions

function focusFirstIssue(issues) {
  const keys = new Set(issues.map((i) => String(i.field)));
  const f = FIELDS.find((x) => keys.has(x.key));
  if (f) controlOf(f)?.focus();
}

async function train() {
  if (app.phase !== 'ready' || !app.worker) return;
  if (app.opened) {
    quantizeOpened();
    return;
  }
  app.phase = 'running'; // blocks a second click while the settings are checked
  setPhase('running', { stopping: true });
  const parsed = await syncFromControls();
  if (!parsed || parsed.issues.length) {
    app.phase = 'ready';
    setPhase('ready', readyState());
    if (parsed) {
      setStatus('fix the settings to train');
      focusFirstIssue(parsed.issues);
    }
    return;
  }
  const config = parsed.config;
  if (!TRAINABLE_NETS.has(config.net) && !SNAPSHOT_NETS.has(config.net)) {
    app.phase = 'ready';
    setPhase('ready', readyState());
    showError(`${NET_NAMES[config.net] ?? config.net} cannot be run in the page.`);
    return;
  }
  hideError();
  app.runConfig = config;
  app.resultConfig = config;
  app.stopping = false;
  app.requantizing = false;
  app.epochCount = 0;
  app.trainedAccuracy = NaN;
  if (TRAINABLE_NETS.has(config.net)) importanceCurves.dropLive();
  resetRunCharts();
  resetBars();
  clearResult();
  setMetrics(NaN, NaN);
  // Stop ends training after its current steps, an evaluation at its next batch.
  setPhase('running');
  setStatus(SNAPSHOT_NETS.has(config.net) ? 'loading the snapshot' : 'starting the run');
  const probe = app.probeBackend && app.backendKind === 'cpu' && TRAINABLE_NETS.has(config.net);
  if (probe) app.probeBackend = false;
  app.worker.postMessage({ type: 'train', config, probe });
}

function stop() {
  if (app.phase !== 'running' || app.requantizing || !app.worker) return;
  app.stopping = true;
  app.worker.postMessage({ type: 'stop' });
  setPhase('running', { stopping: true });
  const evaluating = app.sweeping || app.resultFromFile || SNAPSHOT_NETS.has(app.runConfig?.net);
  setStatus(evaluating ? 'stopping the evaluation' : 'stopping after the current steps');
}

/** Sweeps the importances of the trained LeNet in the worker; the chart draws each point. */
function sweep() {
  if (app.phase !== 'ready' || !app.worker || !canSweep()) return;
  const net = app.trainedConfig.net;
  hideError();
  app.phase = 'running';
  app.sweeping = true;
  app.stopping = false;
  setPhase('running');
  setStatus('sweeping the importances');
  importanceCurves.startLive(net, app.trainedAccuracy, 0);
  app.worker.postMessage({ type: 'sweep' });
}

async function requantize() {
  if (app.opened) {
    quantizeOpened();
    return;
  }
  if (app.phase !== 'ready' || !app.trainedConfig || !app.worker) return;
  const parsed = await syncFromControls();
  if (!parsed) return;
  const bad = parsed.issues.filter((i) => i.field === 'clusters' || i.field === 'widths');
  if (bad.length) {
    setStatus('fix the PTQ settings to re-quantize');
    focusFirstIssue(bad);
    return;
  }
  const trained = app.trainedConfig;
  // Re-quantizing applies PTQ: a run trained without it is finished as ptq / combined.
  const method = trained.method === 'none' ? 'ptq' : trained.method === 'itq' ? 'combined' : trained.method;
  const config = { ...trained, method, clusters: parsed.config.clusters, widths: parsed.config.widths, encoding: parsed.config.encoding };
  hideError();
  app.resultConfig = config;
  app.requantizing = true;
  app.phase = 'running';
  setPhase('running', { stopping: true });
  setStatus('re-quantizing');
  app.worker.postMessage({ type: 'requantize', config });
}

// ---------------------------------------------------------------- start

window.addEventListener('error', (e) => {
  if (e?.message) fail(`Page error: ${e.message}`);
});
window.addEventListener('unhandledrejection', (e) => {
  fail(`Page error: ${e?.reason?.message ?? String(e?.reason)}`);
});

$('message-dismiss').addEventListener('click', hideError);
$('issues-dismiss').addEventListener('click', () => {
  app.linkIssues = [];
  app.linkBlockedRun = false;
  app.settingsIssues = [];
  renderIssues();
});
$('download-agq').addEventListener('click', downloadAgq);

// Opening a snapshot file: the file input, or a drop anywhere on the page.
$('open-snapshot').addEventListener('change', (e) => {
  const file = e.target.files?.[0];
  e.target.value = ''; // the same file can be chosen again
  if (file) openFile(file);
});
// Choosing a built-in network leaves the opened file (before the debounced config change).
$('f-net').addEventListener('change', () => {
  if (app.opened && $('f-net').value !== OPENED_NET) leaveOpened();
});
let dragDepth = 0;
const dragsFiles = (e) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
window.addEventListener('dragenter', (e) => {
  if (!dragsFiles(e)) return;
  e.preventDefault();
  dragDepth += 1;
  $('drop-hint').hidden = false;
});
window.addEventListener('dragover', (e) => {
  if (!dragsFiles(e)) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
});
window.addEventListener('dragleave', (e) => {
  if (!dragsFiles(e)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) $('drop-hint').hidden = true;
});
window.addEventListener('drop', (e) => {
  if (!dragsFiles(e)) return;
  e.preventDefault();
  dragDepth = 0;
  $('drop-hint').hidden = true;
  const files = e.dataTransfer.files;
  if (files?.length > 1) showError(`${files.length} files were dropped; only the first, ${files[0].name}, is opened.`);
  if (files?.length) openFile(files[0]);
});
$('download-report').addEventListener('click', downloadReport);
$('sweep').addEventListener('click', sweep);

for (const f of FIELDS) controlOf(f)?.addEventListener('input', () => noteEarlyEdit(f));
for (const f of FIELDS) controlOf(f)?.addEventListener('change', () => noteEarlyEdit(f));
bindControls({
  configChanged: () => {
    if (!linkApplied()) return; // loadLink applies the edit over the link's settings
    app.linkIssues = [];
    app.linkBlockedRun = false;
    syncFromControls().then((parsed) => {
      if (parsed) encodingChanged();
      if (parsed && !parsed.issues.length) accountSnapshot();
    });
  },
  train,
  stop,
  requantize,
  preferGpuChanged: (checked) => {
    if (app.phase === 'running') return;
    rememberChoice(checked);
    app.autoBackendReason = null;
    app.probeBackend = false;
    // a link whose settings the old worker had not applied yet is read again by the new one
    const linkPending = document.body.dataset.config !== 'applied';
    startWorker(checked);
    clearResult();
    if (linkPending) loadLink(location.search);
  },
  shareRunChanged: updateShare,
});

showMethodGroups($('f-method').value, $('f-net').value);
showAccuracyScope($('f-net').value);
charts.scatter.setNet($('f-net').value);
importanceCurves.show(sweepNet($('f-net').value));
resetBars();
clearResult();
// a software WebGPU adapter starts the page on the CPU backend (www/backend_choice.js); the
// user's own choice of the box, once made, is kept above the automatic one
initialBackend($('prefer-gpu').checked).then(({ preferGpu, reason, probe }) => {
  $('prefer-gpu').checked = preferGpu;
  app.autoBackendReason = reason;
  app.probeBackend = probe;
  startWorker(preferGpu);
  loadLink(location.search);
});
