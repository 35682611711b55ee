// "Importance at equal size": accuracy of the quantized network against its CSR compression
// ratio, one curve per importance, read from the committed sweep results
// docs/results/importance-NET.json (`agq sweep`, scripts/importance_sweep.sh), or, for a
// LeNet trained in this page, live: the worker's sweep of the trained network, point by
// point (`sweepPoint` rows of the same shape). This module only reads and draws; every
// number comes from the file or the worker. Text only, never HTML.

import { CurvesChart, PALETTE } from './charts.js';
import { NET_NAMES } from './state.js';

/** The importances in legend order, with their names and colours. */
const IMPORTANCES = [
  ['grad', 'accumulated |gradient| (thesis)', PALETTE[0]],
  ['grad-magnitude', 'accumulated |gradient| × |w|', PALETTE[3]],
  ['magnitude', 'magnitude |w|', PALETTE[2]],
  ['random', 'random', PALETTE[6]],
  ['taylor', 'Taylor |w · gradient|', PALETTE[4]],
];
/** Networks with a committed sweep, and where their accuracy is measured. */
const DATASETS = {
  lenet300: 'MNIST', lenet5: 'MNIST', alexnet: 'CIFAR-10', vgg16: 'CIFAR-10',
};

/** The results file of `net`, relative to the page (served from the repository root). */
export const resultsFile = (net) => `docs/results/importance-${net}.json`;

/**
 * The curves of a parsed results file: `[{ key, label, color, points: [[ratio, accuracy]] }]`,
 * one per importance present (unknown ones after the known, in file order). Throws on a
 * file that is not an importance sweep.
 */
export function curvesOf(data) {
  if (!data || typeof data !== 'object' || !Array.isArray(data.rows)) throw new Error('no "rows" list');
  const byKey = new Map();
  for (const r of data.rows) {
    const key = String(r?.importance ?? '');
    const x = Number(r?.ratio_csr);
    const y = r?.accuracy_percent == null ? NaN : Number(r.accuracy_percent);
    if (!key || !Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push([x, y]);
  }
  const known = IMPORTANCES.filter(([k]) => byKey.has(k)).map(([key, label, color]) => ({ key, label, color }));
  const other = [...byKey.keys()].filter((k) => !IMPORTANCES.some(([i]) => i === k)).map((key) => ({ key, label: key }));
  return [...known, ...other].map((c) => ({ ...c, points: byKey.get(c.key).sort((a, b) => a[0] - b[0]) }));
}

/** Where the file's accuracies are measured, in words. */
function scopeOf(net, data) {
  const n = Number(data?.images);
  const count = Number.isFinite(n) && n > 0 ? n.toLocaleString('en-US') : null;
  if (DATASETS[net] === 'MNIST') return `the MNIST test set${count ? ` (${count} images)` : ''}`;
  if (DATASETS[net] === 'CIFAR-10') return `the first ${count ?? '1,000'} CIFAR-10 test images`;
  return count ? `${count} test images` : 'its test images';
}

/**
 * The chart card: `figure` (data-state: loading | ready | message; data-curves: the number
 * of curves drawn), `chart` (the plot), `message` (shown in the chart's place) and
 * `caption` (source and scope).
 */
export class ImportanceCurves {
  constructor({ figure, chart, message, caption }) {
    this.figure = figure;
    this.chartEl = chart;
    this.messageEl = message;
    this.captionEl = caption;
    this.chart = new CurvesChart(chart, { xLabel: 'CSR compression ratio (×, log scale)', yLabel: 'accuracy (%)', ySuffix: '%' });
    this.net = undefined;
    this.seq = 0;
    this.files = new Map(); // net -> Promise<parsed file>
    /** The live sweep of the network trained in the page: { net, rows, float, done, total, end }. */
    this.live = null;
  }

  /**
   * Shows the sweep of `net` (null: none, e.g. an opened file of another network): the live
   * one when the page swept a trained `net`, else the committed file.
   */
  async show(net) {
    if (net === this.net) return;
    this.net = net;
    const seq = ++this.seq;
    if (net && this.live?.net === net) {
      this.drawLive();
      return;
    }
    if (!net) {
      this.showMessage('No committed importance sweep for an opened snapshot file; pick a built-in network.');
      return;
    }
    const file = resultsFile(net);
    this.figure.dataset.state = 'loading';
    this.captionEl.textContent = `Reading ${file}…`;
    let data;
    try {
      if (!this.files.has(net)) this.files.set(net, this.load(file));
      data = await this.files.get(net);
    } catch (e) {
      this.files.delete(net); // a later visit tries again
      if (seq === this.seq) this.showMessage(`No importance curves for ${net}: ${e?.message ?? e}`);
      return;
    }
    if (seq !== this.seq) return;
    try {
      const curves = curvesOf(data);
      if (!curves.length) throw new Error(`${file} has no points`);
      this.chartEl.hidden = false;
      this.messageEl.hidden = true;
      const float = Number(data.float_accuracy_percent);
      this.chart.set(curves, Number.isFinite(float) ? { y: float, label: `float ${float}%` } : null);
      this.figure.dataset.state = 'ready';
      this.figure.dataset.curves = String(curves.length);
      const skipped = Array.isArray(data.skipped) && data.skipped.length ? ` Not in the file: ${data.skipped.map(String).join('; ')}.` : '';
      this.captionEl.textContent = `Source: ${file} (agq sweep, PTQ at kept fractions 1% to 60%). `
        + `Accuracy of the quantized network on ${scopeOf(net, data)}; dashed: the float network.${skipped}`;
    } catch (e) {
      this.showMessage(`No importance curves for ${net}: ${file} could not be drawn (${e?.message ?? e}).`);
    }
  }

  /** Starts the live curves of `net` trained in the page (`float`: its test accuracy, %). */
  startLive(net, float, total) {
    this.live = { net, rows: [], float, done: 0, total, end: null };
    this.net = net;
    ++this.seq; // a committed file still loading is not drawn over the live curves
    this.drawLive();
  }

  /** Adds one point of the live sweep (a `SweepRow`); `done` of `total` points so far. */
  addLive(row, done, total) {
    if (!this.live) return;
    this.live.rows.push(row);
    this.live.done = Number(done) || this.live.rows.length;
    this.live.total = Number(total) || this.live.total;
    if (this.net === this.live.net) this.drawLive();
  }

  /** Ends the live sweep: `{ stopped, error }` say how. */
  endLive({ stopped = false, error = null } = {}) {
    if (!this.live) return;
    this.live.end = error ? `failed: ${error}` : stopped ? 'stopped' : 'done';
    if (this.net === this.live.net) this.drawLive();
  }

  /** Forgets the live sweep (a new run replaces the trained network); shows the committed file. */
  dropLive() {
    if (!this.live) return;
    const net = this.live.net;
    this.live = null;
    if (this.net === net) {
      this.net = undefined;
      this.show(net);
    }
  }

  drawLive() {
    const { net, rows, float, done, total, end } = this.live;
    const curves = curvesOf({ rows });
    this.chartEl.hidden = false;
    this.messageEl.hidden = true;
    this.chart.set(curves, Number.isFinite(float) ? { y: float, label: `trained ${float}%` } : null);
    this.figure.dataset.state = end === 'done' ? 'live' : end ? 'live-ended' : 'live-running';
    this.figure.dataset.curves = String(curves.length);
    this.figure.dataset.points = String(rows.length);
    const state = end ? `${done} of ${total} points, ${end}` : `${done} of ${total} points so far`;
    this.captionEl.textContent = `Live: the network trained in this page, PTQ by each importance at kept fractions 3% to 60% `
      + `(${NET_NAMES[net] ?? net}'s default cluster shape and widths, as agq sweep). Accuracy on ${scopeOf(net, { images: 10000 })}; `
      + `dashed: the trained network. ${state}. Committed reference: ${resultsFile(net)}.`;
  }

  async load(file) {
    let res;
    try {
      res = await fetch(file, { cache: 'no-cache' });
    } catch (e) {
      throw new Error(`${file} could not be fetched (${e?.message ?? e})`);
    }
    if (!res.ok) throw new Error(`${file} is missing (HTTP ${res.status})`);
    try {
      return await res.json();
    } catch (e) {
      throw new Error(`${file} is not valid JSON (${e?.message ?? e})`);
    }
  }

  showMessage(text) {
    this.chart.clear();
    this.chartEl.hidden = true;
    this.messageEl.hidden = false;
    this.messageEl.textContent = text;
    this.captionEl.textContent = '';
    this.figure.dataset.state = 'message';
    this.figure.dataset.curves = '0';
  }
}
