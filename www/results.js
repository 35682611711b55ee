// The results table and the downloads (.agq bitstream, JSON report).
// Everything is written with textContent; nothing is ever parsed as HTML.

const CATEGORIES = [
  ['values', 'values'],
  ['indices', 'column indices'],
  ['tags', 'width tags'],
  ['row_ptr', 'row pointers'],
  ['meta', 'meta (width, fraction)'],
  ['header', 'tensor headers'],
];

const $ = (id) => document.getElementById(id);
const nf = new Intl.NumberFormat('en-US');
const nf1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const nf2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

let current = null; // { agq: Uint8Array, report, base: string }

/**
 * Float baselines (method none) at the default settings, measured with
 * `scripts/results.sh` (docs/RESULTS.md); used until this session trains its own.
 */
const REFERENCE_BASELINES = { lenet300: 97.81, lenet5: 99.09 };
const TRAINING_KEYS = ['net', 'epochs', 'batch', 'lr', 'optimizer', 'momentum', 'decay', 'train_size', 'seed'];
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

/** Bits per storage category summed over report.tensors[*].bits (unknown keys kept too). */
export function bitsByCategory(report) {
  const sums = new Map(CATEGORIES.map(([k]) => [k, 0]));
  const tensors = Array.isArray(report?.tensors) ? report.tensors : [];
  for (const t of tensors) {
    for (const [k, v] of entriesOf(t?.bits)) {
      const n = num(v);
      if (Number.isFinite(n)) sums.set(k, (sums.get(k) ?? 0) + n);
    }
  }
  return { sums, found: tensors.length > 0 };
}

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
  current = { agq, report: result.report ?? null, base: `${net}-${config?.method ?? 'run'}` };

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
  row(summary, ['Compression ratio', Number.isFinite(ratio) ? `${nf2.format(ratio)} ×` : null], { header: true });
  row(summary, ['Parameters', Number.isFinite(params) ? nf.format(params) : null], { header: true });
  row(summary, ['Stored bits (CSR)', Number.isFinite(totalBits) ? nf.format(totalBits) : null], { header: true });
  if (Number.isFinite(params) && Number.isFinite(totalBits) && params > 0) {
    row(summary, ['Bits per parameter', nf2.format(totalBits / params)], { header: true });
  }
  row(summary, ['.agq file', `${nf.format(agq.length)} B`], { header: true });
  if (Number.isFinite(num(result.bytes))) row(summary, ['Reported bytes', `${nf.format(num(result.bytes))} B`], { header: true });
  if (info.stopped) row(summary, ['Note', { text: 'stopped early; the trained state so far was quantized', numeric: false }], { header: true });

  const storage = $('storage-body');
  storage.replaceChildren();
  const { sums, found } = bitsByCategory(result.report);
  if (!found) {
    row(storage, [{ text: 'the report lists no tensors', numeric: false }, '', '']);
  } else {
    const total = [...sums.values()].reduce((a, b) => a + b, 0);
    const names = new Map(CATEGORIES);
    for (const [k, bits] of sums) {
      const bytes = bits / 8;
      row(storage, [names.get(k) ?? k, nf1.format(bytes), total > 0 ? `${nf1.format((100 * bits) / total)} %` : '–'], { header: true });
    }
    row(storage, ['total', nf1.format(total / 8), '100 %'], { header: true, className: 'total' });
  }

  const layers = $('layers-body');
  layers.replaceChildren();
  for (const l of Array.isArray(result.layers) ? result.layers : []) {
    const p = num(l.params);
    const b = num(l.bits);
    row(layers, [
      String(l.name ?? ''),
      Number.isFinite(p) ? nf.format(p) : null,
      Number.isFinite(num(l.nnz)) ? nf.format(num(l.nnz)) : null,
      Number.isFinite(b) ? nf.format(b) : null,
      Number.isFinite(p) && p > 0 && Number.isFinite(b) ? nf2.format(b / p) : null,
      Number.isFinite(num(l.ratio)) ? `${nf2.format(num(l.ratio))} ×` : null,
    ], { header: true });
  }

  $('run-label').textContent = info.label;
  $('run-label').hidden = false;
  $('results-tables').hidden = false;
  $('results-empty').hidden = true;
  $('download-agq').disabled = agq.length === 0;
  $('download-report').disabled = current.report == null;
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
