// The results table and the downloads (.agq bitstream, JSON report).
// Everything is written with textContent; nothing is ever parsed as HTML.

import { ENCODING_NAMES, sizesOf } from './encodings.js';

/** The parts of a tensor's bits (src/quant/report.rs TensorBits), in table order. */
const CATEGORIES = [
  ['values', 'values'],
  ['indices', 'column indices'],
  ['tags', 'width tags'],
  ['row_ptr', 'row pointers'],
  ['fillers', 'filler entries'],
  ['tables', 'code tables, stream modes'],
  ['meta', 'meta (width, fraction)'],
  ['header', 'tensor headers'],
];
/** Parts only some encodings have (shown only when present). */
const OPTIONAL = new Set(['fillers', 'tables']);

const $ = (id) => document.getElementById(id);
const nf = new Intl.NumberFormat('en-US');
const nf1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const nf2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

// { agq: Uint8Array, report, base, encoding (the file's), sizes: Map(encoding -> EncodingSize) }
let current = null;

/**
 * Float baselines (method none) at the default settings, measured with
 * `scripts/results.sh` (docs/RESULTS.md); used until this session trains its own.
 */
const REFERENCE_BASELINES = { lenet300: 97.81, lenet5: 99.09 };
const TRAINING_KEYS = ['net', 'epochs', 'batch', 'lr', 'lr_schedule', 'optimizer', 'momentum', 'decay', 'train_size', 'seed'];
const sessionBaselines = new Map(); // training settings -> float accuracy (%) of this session

const trainingKey = (config) => TRAINING_KEYS.map((k) => String(config?.[k])).join('|');

/** The float baseline to compare with: this session's own, else the documented reference. */
function baselineFor(config) {
  const own = sessionBaselines.get(trainingKey(config));
  if (own !== undefined) return { accuracy: own, source: 'float run of this session, same training settings' };
  const ref = REFERENCE_BASELINES[config?.net];
  if (ref !== undefined) return { accuracy: ref, source: 'float run at the default settings, docs/RESULTS.md' };
  return null;
}

/** Entries of an object or a Map, keys as strings. */
export function entriesOf(x) {
  if (!x) return [];
  if (x instanceof Map) return [...x].map(([k, v]) => [String(k), v]);
  return Object.entries(x);
}

const num = (v) => (typeof v === 'bigint' ? Number(v) : Number(v));

function row(tbody, cells, { header = false, className = '' } = {}) {
  const tr = document.createElement('tr');
  if (className) tr.className = className;
  cells.forEach((c, i) => {
    const cell = document.createElement(i === 0 && header ? 'th' : 'td');
    if (i === 0 && header) cell.scope = 'row';
    const { text, numeric } = typeof c === 'object' && c !== null ? c : { text: c, numeric: i > 0 };
    cell.textContent = text == null ? '–' : String(text);
    if (numeric) cell.className = 'num';
    tr.append(cell);
  });
  tbody.append(tr);
}

/** Clears the tables and disables the downloads. */
export function clearResult() {
  current = null;
  $('results-tables').hidden = true;
  $('results-empty').hidden = false;
  $('run-label').textContent = '';
  $('run-label').hidden = true;
  for (const id of ['summary-body', 'storage-body', 'layers-body']) $(id).replaceChildren();
  $('download-agq').disabled = true;
  $('download-agq').textContent = 'Download .agq';
  delete $('download-agq').dataset.encoding;
  $('download-report').disabled = true;
}

/** A file name part from any text (a network name of an opened snapshot). */
const fileSafe = (s) => String(s).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'model';

/**
 * Fills the tables from a `result` message.
 * @param result the worker's result ({ accuracy, ratio, bytes, params, total_bits, report, layers, agq, ... })
 * @param info { config, label, stopped, requantized, file } where `file`, for a snapshot file
 *   the user opened, is { net, accuracyLabel, notMeasured } (notMeasured: why there is no
 *   accuracy, or '')
 */
export function showResult(result, info) {
  const { config, file } = info;
  const agq = result.agq instanceof Uint8Array ? result.agq : new Uint8Array(result.agq ?? []);
  const net = file ? fileSafe(file.net) : config?.net ?? 'model';
  const encoding = String(result.encoding ?? 'csr');
  current = { agq, report: result.report ?? null, base: `${net}-${config?.method ?? 'run'}`, encoding, sizes: sizesOf(result.encodings) };

  const summary = $('summary-body');
  summary.replaceChildren();
  const acc = result.accuracy == null ? NaN : num(result.accuracy);
  const ratio = num(result.ratio);
  const params = num(result.params);
  const totalBits = num(result.total_bits);
  const snapshotNet = config?.net === 'alexnet' || config?.net === 'vgg16';
  const accLabel = file ? file.accuracyLabel : snapshotNet ? 'Test accuracy (first 1,000 official test images)' : 'Test accuracy';
  const accText = Number.isFinite(acc) ? `${nf2.format(acc)} %` : file?.notMeasured ? { text: file.notMeasured, numeric: false } : null;
  row(summary, [accLabel, accText], { header: true });
  if (!file && config?.method === 'none' && Number.isFinite(acc) && !info.stopped) sessionBaselines.set(trainingKey(config), acc);
  const baseline = file ? null : baselineFor(config);
  if (baseline && config?.method !== 'none' && Number.isFinite(acc)) {
    const cost = acc - baseline.accuracy;
    row(summary, ['Accuracy cost', `${cost >= 0 ? '+' : ''}${nf2.format(cost)} points`], { header: true });
    row(summary, ['Float baseline', { text: `${nf2.format(baseline.accuracy)} % (${baseline.source})`, numeric: false }], { header: true });
  }
  row(summary, ['Compression ratio (CSR, the thesis\'s)', Number.isFinite(ratio) ? `${nf2.format(ratio)} ×` : null], { header: true });
  row(summary, ['Parameters', Number.isFinite(params) ? nf.format(params) : null], { header: true });
  row(summary, ['Stored bits (CSR)', Number.isFinite(totalBits) ? nf.format(totalBits) : null], { header: true });
  if (Number.isFinite(params) && Number.isFinite(totalBits) && params > 0) {
    row(summary, ['Bits per parameter (CSR)', nf2.format(totalBits / params)], { header: true });
  }
  fileRows(summary, result.bytes);
  if (info.stopped) row(summary, ['Note', { text: 'stopped early; the trained state so far was quantized', numeric: false }], { header: true });
  showEncoding(encoding);

  $('run-label').textContent = info.label;
  $('run-label').hidden = false;
  $('results-tables').hidden = false;
  $('results-empty').hidden = true;
  $('download-agq').disabled = agq.length === 0;
  $('download-report').disabled = current.report == null;
  labelDownload();
}

/** The summary rows of the .agq file: its encoding and size (`bytes`: the reported size). */
function fileRows(summary, bytes) {
  row(summary, ['.agq encoding', { text: ENCODING_NAMES[current.encoding] ?? current.encoding, numeric: false }], { header: true, className: 'file-row' });
  row(summary, ['.agq file', `${nf.format(current.agq.length)} B`], { header: true, className: 'file-row' });
  if (Number.isFinite(num(bytes))) row(summary, ['Reported bytes', `${nf.format(num(bytes))} B`], { header: true, className: 'file-row' });
}

function labelDownload() {
  const button = $('download-agq');
  button.textContent = `Download .agq (${current.encoding})`;
  button.dataset.encoding = current.encoding;
}

/** The encoding whose parts the storage and per-tensor tables show (the last result's sizes). */
export function showEncoding(encoding) {
  if (!current) return;
  const size = current.sizes.get(encoding) ?? current.sizes.get(current.encoding);
  const name = ENCODING_NAMES[size?.encoding] ?? size?.encoding ?? 'CSR';
  $('storage-caption').textContent = `Storage by category (${name})`;
  $('layers-caption').textContent = `Per tensor (${name}): where the bits go`;
  const storage = $('storage-body');
  storage.replaceChildren();
  const tensors = Array.isArray(size?.tensors) ? size.tensors : [];
  if (!tensors.length) {
    row(storage, [{ text: 'the report lists no tensors', numeric: false }, '', '']);
  }
  const parts = CATEGORIES.filter(([k]) => !OPTIONAL.has(k) || tensors.some((t) => num(t.bits?.[k]) > 0));
  const total = num(size?.total_bits);
  if (tensors.length) {
    for (const [k, label] of parts) {
      const bits = num(size.parts?.[k] ?? 0);
      row(storage, [label, nf1.format(bits / 8), total > 0 ? `${nf1.format((100 * bits) / total)} %` : '–'], { header: true });
    }
    row(storage, ['total', nf1.format(total / 8), '100 %'], { header: true, className: 'total' });
  }
  // per tensor: the parts (meta and header together), then the total, bits / param and ratio
  const columns = parts.filter(([k]) => k !== 'meta' && k !== 'header').map(([k, label]) => [k, label.split(' (')[0].split(',')[0]]);
  const head = $('layers-head');
  head.replaceChildren();
  const tr = document.createElement('tr');
  for (const [text, numeric] of [['Tensor', false], ['Parameters', true], ['Non-zero', true], ...columns.map(([, l]) => [l, true]),
    ['meta + headers', true], ['Bits', true], ['Bits / param', true], ['Ratio', true]]) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = text;
    if (numeric) th.className = 'num';
    tr.append(th);
  }
  head.append(tr);
  const layers = $('layers-body');
  layers.replaceChildren();
  const fmt = (v) => (Number.isFinite(num(v)) ? nf.format(num(v)) : null);
  for (const t of tensors) {
    const p = num(t.params);
    const b = num(t.total);
    row(layers, [
      String(t.name ?? ''),
      fmt(p),
      fmt(t.nnz),
      ...columns.map(([k]) => fmt(t.bits?.[k] ?? 0)),
      fmt(num(t.bits?.meta ?? 0) + num(t.bits?.header ?? 0)),
      fmt(b),
      p > 0 && Number.isFinite(b) ? nf2.format(b / p) : null,
      b > 0 ? `${nf2.format((32 * p) / b)} ×` : null,
    ], { header: true });
  }
}

/**
 * The last result's file re-encoded (the worker's `agq` message: { encoding, bytes, report,
 * agq }): the download, the file rows and the tables follow it.
 */
export function replaceAgq(m) {
  if (!current || !(m.agq instanceof Uint8Array)) return;
  current.agq = m.agq;
  current.encoding = String(m.encoding);
  if (m.report) current.report = m.report;
  const summary = $('summary-body');
  const old = [...summary.querySelectorAll('tr.file-row')];
  const rows = document.createElement('tbody');
  fileRows(rows, m.bytes);
  for (const tr of [...rows.children]) summary.insertBefore(tr, old[0] ?? null);
  for (const tr of old) tr.remove();
  showEncoding(current.encoding);
  labelDownload();
}

/** The encoding of the last result's file (null without a result). */
export function resultEncoding() {
  return current?.encoding ?? null;
}

/** JSON.stringify that copes with Maps, BigInts and typed arrays. */
export function toJson(value) {
  return JSON.stringify(value, (k, v) => {
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    if (v instanceof Map) return Object.fromEntries([...v].map(([a, b]) => [String(a), b]));
    if (ArrayBuffer.isView(v)) return Array.from(v);
    return v;
  }, 2);
}

function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function downloadAgq() {
  if (!current?.agq?.length) return;
  save(new Blob([current.agq], { type: 'application/octet-stream' }), `${current.base}.agq`);
}

export function downloadReport() {
  if (current?.report == null) return;
  save(new Blob([toJson(current.report)], { type: 'application/json' }), `${current.base}-report.json`);
}
