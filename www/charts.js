// Small wrappers over uPlot: each chart owns its data and offers push / set / reset.
// Redraws are batched to one per animation frame; charts follow their container's width.

import uPlot from './vendor/uplot/uPlot.esm.js';

export const PALETTE = ['#2563eb', '#e11d48', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#475569'];
const HEIGHT = 240;
const INK = '#475569';
const GRID = '#e8ecf2';

const px = (n) => Math.round(n * uPlot.pxRatio);
const font = (size, weight = 500) => `${weight} ${px(size)}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;

function axis(label, extra = {}) {
  return {
    stroke: INK,
    label,
    labelSize: label ? 18 : 0,
    labelFont: '600 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    font: '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    grid: { stroke: GRID, width: 1 },
    ticks: { stroke: GRID, width: 1, size: 4 },
    ...extra,
  };
}

function fmt(v, digits = 3) {
  if (v == null || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return Number(v.toFixed(digits)).toString();
}

/** Labels 1, 2 and 5 times a power of ten on a log axis, nothing at the other ticks. */
function logLabel(v) {
  if (v == null || !(v > 0)) return '';
  const m = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
  return [1, 2, 5].some((x) => Math.abs(m - x) < 1e-6) ? `${fmt(v, 2)}×` : '';
}

const INT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000];

function widthOf(el) {
  return Math.max(220, Math.floor(el.clientWidth || el.parentElement?.clientWidth || 400));
}

/** Shared machinery: creation, resizing, batched redraws. */
class Base {
  constructor(el) {
    this.el = el;
    this.pending = false;
  }

  mount(opts, data) {
    this.u = new uPlot({ width: widthOf(this.el), height: HEIGHT, ...opts }, data, this.el);
    if (typeof ResizeObserver === 'function') {
      let w = this.u.width;
      new ResizeObserver(() => {
        const nw = widthOf(this.el);
        if (nw !== w) {
          w = nw;
          this.u.setSize({ width: nw, height: HEIGHT });
        }
      }).observe(this.el);
    }
  }

  /** Schedules a redraw with this.data (at most one per frame). */
  redraw() {
    if (this.pending) return;
    this.pending = true;
    const run = () => {
      this.pending = false;
      this.u.setData(this.data);
    };
    if (typeof requestAnimationFrame === 'function' && document.visibilityState !== 'hidden') requestAnimationFrame(run);
    else setTimeout(run, 50);
  }
}

/** Lines over a numeric x (steps, epochs). */
export class LineChart extends Base {
  /**
   * @param {HTMLElement} el
   * @param {{ xLabel: string, yLabel: string, series: {label: string, color?: string, width?: number}[],
   *           points?: boolean, digits?: number, integerX?: boolean,
   *           yRange?: (min: number|null, max: number|null) => [number, number] }} o
   */
  constructor(el, o) {
    super(el);
    this.n = o.series.length;
    this.data = this.empty();
    const digits = o.digits ?? 3;
    const yRange = o.yRange;
    this.mount({
      scales: {
        x: { time: false },
        y: yRange ? { range: (u, min, max) => yRange(min, max) } : { auto: true },
      },
      axes: [axis(o.xLabel, o.integerX ? { incrs: INT_INCRS } : {}), axis(o.yLabel, { size: 56 })],
      series: [
        { label: o.xLabel, value: (u, v) => (v == null ? '–' : String(v)) },
        ...o.series.map((s, i) => ({
          label: s.label,
          stroke: s.color ?? PALETTE[i],
          width: s.width ?? 2,
          points: { show: o.points ?? false, size: 7, fill: s.color ?? PALETTE[i] },
          value: (u, v) => fmt(v, digits),
        })),
      ],
      cursor: { drag: { x: true, y: false } },
    }, this.data);
  }

  empty() {
    return [[], ...Array.from({ length: this.n }, () => [])];
  }

  /** Appends one x with one y per series. */
  push(x, ...ys) {
    this.data[0].push(x);
    for (let i = 0; i < this.n; i++) this.data[i + 1].push(ys[i] ?? null);
    this.changed();
  }

  /** Appends many rows: xs[j] with ysPerSeries[i][j]. */
  pushMany(xs, ysPerSeries) {
    for (let j = 0; j < xs.length; j++) {
      this.data[0].push(xs[j]);
      for (let i = 0; i < this.n; i++) this.data[i + 1].push(ysPerSeries[i]?.[j] ?? null);
    }
    this.changed();
  }

  /** Redraws, and says on the element how many x values the chart holds (`data-points`). */
  changed() {
    this.el.dataset.points = String(this.length);
    this.redraw();
  }

  get length() {
    return this.data[0].length;
  }

  reset() {
    this.data = this.empty();
    this.el.dataset.points = '0';
    this.u.setData(this.data);
  }
}

/**
 * Bars over named categories (bit widths, tensors), optionally with a second series
 * drawn as points and a line on its own right-hand axis.
 */
export class CategoryChart extends Base {
  /**
   * @param {{ xLabel: string, yLabel: string, bar: {label: string, color?: string, digits?: number},
   *           line?: {label: string, axis: string, color?: string, range?: [number, number], digits?: number},
   *           rotate?: number }} o
   */
  constructor(el, o) {
    super(el);
    this.labels = [];
    this.hasLine = !!o.line;
    this.data = this.empty();
    const barColor = o.bar.color ?? PALETTE[0];
    const lineColor = o.line?.color ?? PALETTE[1];
    const rotate = o.rotate ?? 0;
    const axes = [
      axis(o.xLabel, {
        splits: () => this.labels.map((_, i) => i),
        values: (u, splits) => splits.map((i) => this.labels[i] ?? ''),
        rotate,
        size: rotate ? 64 : 36,
        grid: { show: false },
      }),
      axis(o.yLabel, { scale: 'y', size: 56 }),
    ];
    const series = [
      { label: o.xLabel, value: (u, i) => (i == null ? '–' : this.labels[i] ?? '–') },
      {
        label: o.bar.label,
        scale: 'y',
        fill: `${barColor}cc`,
        stroke: barColor,
        width: 1,
        paths: uPlot.paths.bars({ size: [0.6, 72], align: 0 }),
        points: { show: false },
        value: (u, v) => fmt(v, o.bar.digits ?? 2),
      },
    ];
    const scales = {
      x: { time: false, range: () => [-0.5, Math.max(1, this.labels.length) - 0.5] },
      y: { range: (u, min, max) => [0, max > 0 ? max * 1.12 : 1] },
    };
    if (o.line) {
      scales.l = o.line.range ? { range: o.line.range } : { auto: true };
      axes.push(axis(o.line.axis, { scale: 'l', side: 1, size: 50, grid: { show: false } }));
      series.push({
        label: o.line.label,
        scale: 'l',
        stroke: lineColor,
        width: 2,
        points: { show: true, size: 8, fill: lineColor },
        value: (u, v) => fmt(v, o.line.digits ?? 1),
      });
    }
    this.mount({ scales, axes, series, cursor: { drag: { x: false, y: false } } }, this.data);
  }

  empty() {
    return this.hasLine ? [[], [], []] : [[], []];
  }

  /** labels[i] with bars[i] (and line[i]). */
  set(labels, bars, line = null) {
    this.labels = labels.map(String);
    const xs = this.labels.map((_, i) => i);
    this.data = this.hasLine ? [xs, bars.slice(), line ? line.slice() : xs.map(() => null)] : [xs, bars.slice()];
    this.u.setScale('x', { min: -0.5, max: Math.max(1, xs.length) - 0.5 });
    this.redraw();
  }

  reset() {
    this.labels = [];
    this.data = this.empty();
    this.u.setData(this.data);
  }
}

/** A histogram from bin edges and counts, with labelled vertical marker lines. */
export class HistogramChart extends Base {
  constructor(el, { xLabel, yLabel, color = PALETTE[3], lineColor = '#e11d48' }) {
    super(el);
    this.lines = [];
    this.edges = [];
    this.data = [[], []];
    this.lineColor = lineColor;
    this.mount({
      scales: {
        x: {
          time: false,
          range: (u, min, max) => (this.edges.length > 1 ? [this.edges[0], this.edges[this.edges.length - 1]] : [min ?? 0, max ?? 1]),
        },
        y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [axis(xLabel), axis(yLabel, { size: 60 })],
      series: [
        { label: xLabel, value: (u, v) => fmt(v, 2) },
        {
          label: yLabel,
          fill: `${color}b3`,
          stroke: color,
          width: 1,
          paths: uPlot.paths.bars({ size: [1, Infinity], gap: 0.5, align: 0 }),
          points: { show: false },
          value: (u, v) => (v == null ? '–' : String(Math.round(v))),
        },
      ],
      cursor: { drag: { x: true, y: false } },
      hooks: { draw: [(u) => this.drawLines(u)] },
    }, this.data);
  }

  /** edges: n+1 numbers, counts: n numbers, lines: [{ x, label }] drawn as vertical lines. */
  set(edges, counts, lines = []) {
    this.edges = Array.from(edges ?? [], Number);
    const c = Array.from(counts ?? [], Number);
    const n = Math.min(c.length, Math.max(0, this.edges.length - 1));
    const centers = [];
    for (let i = 0; i < n; i++) centers.push((this.edges[i] + this.edges[i + 1]) / 2);
    this.lines = lines.filter((l) => Number.isFinite(l.x));
    this.data = [centers, c.slice(0, n)];
    if (this.edges.length > 1) this.u.setScale('x', { min: this.edges[0], max: this.edges[this.edges.length - 1] });
    this.redraw();
  }

  reset() {
    this.edges = [];
    this.lines = [];
    this.data = [[], []];
    this.u.setData(this.data);
  }

  drawLines(u) {
    if (!this.lines.length) return;
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    ctx.strokeStyle = this.lineColor;
    ctx.fillStyle = this.lineColor;
    ctx.lineWidth = px(1.5);
    ctx.setLineDash([px(5), px(4)]);
    ctx.font = font(10, 600);
    ctx.textBaseline = 'top';
    this.lines.forEach((l, i) => {
      const x = u.valToPos(l.x, 'x', true);
      if (x < left - 1 || x > left + width + 1) return;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      if (l.label) {
        // staggered rows, so that close boundaries keep readable labels
        const w = ctx.measureText(l.label).width;
        const right = x + px(3) + w < left + width;
        ctx.textAlign = right ? 'left' : 'right';
        ctx.fillText(l.label, right ? x + px(3) : x - px(3), top + px(2) + (i % 3) * px(12));
      }
    });
    ctx.restore();
  }
}

/**
 * Accuracy (y) against compression ratio (x, log scale): this session's runs as points,
 * reference points (squares), and reference ratios without accuracies as labelled
 * vertical lines.
 */
export class ScatterChart extends Base {
  /**
   * @param {{ points: {ratio: number, accuracy: number, label: string}[],
   *           lines: Record<string, {ratio: number, label: string}[]> }} refs
   *   points: reference points always shown; lines: per network, vertical ratio lines.
   */
  constructor(el, refs) {
    super(el);
    this.refPoints = refs.points ?? [];
    this.refLines = refs.lines ?? {};
    this.net = null;
    this.runs = [];
    this.rows = [];
    this.data = this.build();
    const runColor = PALETTE[0];
    const refColor = '#0f766e';
    this.mount({
      scales: {
        x: { time: false, distr: 3, log: 10, range: () => this.xRange() },
        y: { range: () => this.yRange() },
      },
      axes: [
        axis('compression ratio (×, log scale)', { space: 16, filter: (u, splits) => splits, values: (u, splits) => splits.map(logLabel) }),
        axis('test accuracy (%)', { size: 56 }),
      ],
      series: [
        { label: 'ratio', value: (u, v) => (v == null ? '–' : `${fmt(v, 2)}×`) },
        {
          label: 'runs (this session)',
          stroke: runColor,
          fill: runColor,
          paths: () => null,
          points: { show: true, size: 10, width: 2, stroke: runColor, fill: '#ffffff' },
          value: (u, v) => (v == null ? '–' : `${fmt(v, 2)}%`),
        },
        {
          label: 'Deep Compression',
          stroke: refColor,
          fill: refColor,
          paths: () => null,
          points: { show: true, size: 9, width: 2, stroke: refColor, fill: refColor },
          value: (u, v) => (v == null ? '–' : `${fmt(v, 2)}%`),
        },
      ],
      cursor: { drag: { x: false, y: false }, points: { size: 12 } },
      hooks: { draw: [(u) => this.drawOverlay(u)] },
    }, this.data);
  }

  build() {
    const rows = [
      ...this.runs.map((r) => ({ x: r.ratio, run: r.accuracy, ref: null, label: r.tag })),
      ...this.refPoints.map((p) => ({ x: p.ratio, run: null, ref: p.accuracy, label: p.label })),
    ].filter((r) => Number.isFinite(r.x) && r.x > 0);
    rows.sort((a, b) => a.x - b.x);
    this.rows = rows;
    return [rows.map((r) => r.x), rows.map((r) => r.run), rows.map((r) => r.ref)];
  }

  xRange() {
    const xs = [...this.rows.map((r) => r.x), ...(this.refLines[this.net] ?? []).map((l) => l.ratio)];
    const lo = Math.min(1, ...xs);
    const hi = Math.max(64, ...xs);
    return [lo / 1.25, hi * 1.3];
  }

  yRange() {
    const ys = this.rows.flatMap((r) => [r.run, r.ref]).filter((v) => Number.isFinite(v));
    const lo = ys.length ? Math.min(...ys) : 95;
    return [Math.max(0, Math.floor(lo - 1.5)), 100];
  }

  /** Adds a run: { ratio, accuracy, tag } (tag: a short label such as "#3"). */
  addRun(run) {
    this.runs.push(run);
    this.data = this.build();
    this.refreshScales();
  }

  /** Which network's reference lines to show. */
  setNet(net) {
    if (net === this.net) return;
    this.net = net;
    this.refreshScales();
  }

  refreshScales() {
    const [xlo, xhi] = this.xRange();
    const [ylo, yhi] = this.yRange();
    this.u.batch(() => {
      this.u.setData(this.data, false);
      this.u.setScale('x', { min: xlo, max: xhi });
      this.u.setScale('y', { min: ylo, max: yhi });
    });
  }

  drawOverlay(u) {
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    // reference ratios (no accuracy): dashed vertical lines, labelled along the line
    ctx.font = font(10, 600);
    for (const l of this.refLines[this.net] ?? []) {
      const x = u.valToPos(l.ratio, 'x', true);
      dashedLine(ctx, [x, top], [x, top + height], '#9333ea');
      ctx.fillStyle = '#7e22ce';
      // written upwards from the bottom, away from the accuracies near the top
      ctx.save();
      ctx.translate(x - px(4), top + height - px(4));
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.textBaseline = 'bottom';
      ctx.fillText(l.label, 0, 0);
      ctx.restore();
    }
    ctx.setLineDash([]);
    // labels next to the points
    ctx.font = font(10, 600);
    ctx.textBaseline = 'middle';
    this.rows.forEach((r) => {
      const y = r.run ?? r.ref;
      if (!Number.isFinite(y) || !r.label) return;
      const x = u.valToPos(r.x, 'x', true);
      const yy = u.valToPos(y, 'y', true);
      ctx.fillStyle = r.run != null ? '#1e3a8a' : '#0f766e';
      const w = ctx.measureText(r.label).width;
      const right = x + px(8) + w < left + width;
      ctx.textAlign = right ? 'left' : 'right';
      ctx.fillText(r.label, right ? x + px(8) : x - px(8), yy);
    });
    ctx.restore();
  }
}

// ---------------------------------------------------------------- the pixel heat map

const MAP_STOPS = [
  [13, 8, 135], [126, 3, 168], [204, 71, 120], [248, 149, 64], [240, 249, 33],
];

function colour(t) {
  const s = Math.min(0.999999, Math.max(0, t)) * (MAP_STOPS.length - 1);
  const i = Math.floor(s);
  const f = s - i;
  const a = MAP_STOPS[i];
  const b = MAP_STOPS[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f));
}

/** Draws `width` x `height` values (row-major) on a canvas of that many pixels, scaled min..max (not a chart). */
export function drawPixelMap(canvas, values, width = 28, height = 28) {
  const ctx = canvas.getContext('2d');
  canvas.width = width;
  canvas.height = height;
  const img = ctx.createImageData(width, height);
  const v = Array.from(values ?? [], Number);
  const finite = v.filter(Number.isFinite);
  const lo = finite.length ? Math.min(...finite) : 0;
  const hi = finite.length ? Math.max(...finite) : 1;
  const span = hi - lo || 1;
  for (let i = 0; i < width * height; i++) {
    const x = v[i];
    const [r, g, b] = Number.isFinite(x) ? colour((x - lo) / span) : [230, 232, 238];
    img.data[i * 4] = r;
    img.data[i * 4 + 1] = g;
    img.data[i * 4 + 2] = b;
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

export function clearPixelMap(canvas) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
}

/** A dashed reference line from `a` to `b` (canvas pixels) in `color`; leaves the dash set. */
function dashedLine(ctx, a, b, color) {
  ctx.strokeStyle = color;
  ctx.lineWidth = px(1.5);
  ctx.setLineDash([px(6), px(4)]);
  ctx.beginPath();
  ctx.moveTo(a[0], a[1]);
  ctx.lineTo(b[0], b[1]);
  ctx.stroke();
}

/**
 * Curves over a log x, each with its own points (accuracy against compression ratio, one
 * curve per importance), joined across the other curves' x values, with an optional
 * dashed horizontal reference line. The series are rebuilt on every `set`.
 */
export class CurvesChart {
  /** @param {{ xLabel: string, yLabel: string, xDigits?: number, yDigits?: number, ySuffix?: string }} o */
  constructor(el, o) {
    this.el = el;
    this.o = o;
    this.u = null;
    this.ref = null;
    if (typeof ResizeObserver === 'function') {
      new ResizeObserver(() => {
        if (this.u && widthOf(this.el) !== this.u.width) this.u.setSize({ width: widthOf(this.el), height: HEIGHT });
      }).observe(this.el);
    }
  }

  /**
   * curves: [{ label, color?, points: [[x, y], ...] }]; ref: { y, label } or null.
   * Points with a non-positive or non-finite x or a non-finite y are left out; of two
   * points at the same x in one curve, the higher y is kept.
   */
  set(curves, ref = null) {
    const clean = curves.map((c) => {
      const best = new Map();
      for (const [x, y] of c.points ?? []) {
        if (!(Number.isFinite(x) && x > 0 && Number.isFinite(y))) continue;
        if (!best.has(x) || best.get(x) < y) best.set(x, y);
      }
      return { ...c, best };
    });
    const xs = [...new Set(clean.flatMap((c) => [...c.best.keys()]))].sort((a, b) => a - b);
    const data = [xs, ...clean.map((c) => xs.map((x) => (c.best.has(x) ? c.best.get(x) : null)))];
    const ys = clean.flatMap((c) => [...c.best.values()]);
    this.ref = ref && Number.isFinite(ref.y) ? ref : null;
    if (this.ref) ys.push(this.ref.y);
    const ylo = ys.length ? Math.max(0, Math.floor(Math.min(...ys) / 5) * 5 - 2) : 0;
    const yhi = ys.length ? Math.min(100, Math.ceil(Math.max(...ys)) + 2) : 100;
    const xlo = xs.length ? xs[0] / 1.25 : 1;
    const xhi = xs.length ? xs[xs.length - 1] * 1.25 : 100;
    const { xLabel, yLabel, xDigits = 2, yDigits = 2, ySuffix = '' } = this.o;
    const opts = {
      width: widthOf(this.el),
      height: HEIGHT,
      scales: {
        x: { time: false, distr: 3, log: 10, range: () => [xlo, xhi] },
        y: { range: () => [ylo, yhi] },
      },
      axes: [
        axis(xLabel, { space: 16, filter: (u, splits) => splits, values: (u, splits) => splits.map(logLabel) }),
        axis(yLabel, { size: 56 }),
      ],
      series: [
        { label: 'ratio', value: (u, v) => (v == null ? '–' : `${fmt(v, xDigits)}×`) },
        ...clean.map((c, i) => ({
          label: c.label,
          stroke: c.color ?? PALETTE[i % PALETTE.length],
          width: 2,
          spanGaps: true,
          points: { show: true, size: 6, fill: c.color ?? PALETTE[i % PALETTE.length] },
          value: (u, v) => (v == null ? '–' : `${fmt(v, yDigits)}${ySuffix}`),
        })),
      ],
      cursor: { drag: { x: false, y: false } },
      hooks: { draw: [(u) => this.drawRef(u)] },
    };
    this.u?.destroy();
    this.el.replaceChildren();
    this.u = new uPlot(opts, data, this.el);
  }

  /** Removes the chart. */
  clear() {
    this.u?.destroy();
    this.u = null;
    this.el.replaceChildren();
  }

  drawRef(u) {
    if (!this.ref) return;
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const y = u.valToPos(this.ref.y, 'y', true);
    if (y < top || y > top + height) return;
    ctx.save();
    dashedLine(ctx, [left, y], [left + width, y], '#0f766e');
    ctx.fillStyle = '#0f766e';
    if (this.ref.label) {
      ctx.font = font(10, 600);
      ctx.textAlign = 'right';
      ctx.textBaseline = 'bottom';
      ctx.fillText(this.ref.label, left + width - px(4), y - px(3));
    }
    ctx.restore();
  }
}
