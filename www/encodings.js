// "Size by encoding": the current quantized network's size in each storage encoding, side by
// side (the worker's `encodings` lists, src/quant/report.rs EncodingSize). Formatting only:
// every number comes from the Rust accounting. Text only, never HTML.

/** The encodings in table order, with their names on the page. */
export const ENCODINGS = [
  ['csr', 'CSR (the thesis\'s reference)'],
  ['relative', 'Relative indices'],
  ['entropy', 'Entropy coded (ANS)'],
];
export const ENCODING_NAMES = Object.fromEntries(ENCODINGS);

const $ = (id) => document.getElementById(id);
const nf = new Intl.NumberFormat('en-US');
const nf2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const nf3 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 3, maximumFractionDigits: 3 });

let shown = { sizes: new Map(), chosen: 'csr', note: '' };

/** The sizes by encoding name from a message's `encodings` list (entries without a name are skipped). */
export function sizesOf(list) {
  const sizes = new Map();
  for (const s of Array.isArray(list) ? list : []) if (s && typeof s.encoding === 'string') sizes.set(s.encoding, s);
  return sizes;
}

/**
 * Shows sizes (an `encodings` list): an encoding missing from it shows "…" (still being
 * sized). `chosen` is the download's encoding; `note` a short remark after the caption.
 */
export function setSizes(list, chosen, note = '') {
  shown = { sizes: sizesOf(list), chosen: chosen ?? shown.chosen, note };
  render();
}

/** Marks another encoding as the download's. */
export function chooseSize(chosen) {
  shown.chosen = chosen;
  render();
}

/** Every encoding still being sized (keeps the CSR row when `keepCsr`). */
export function sizesPending(keepCsr = true) {
  const csr = shown.sizes.get('csr');
  shown.sizes = new Map(keepCsr && csr ? [['csr', csr]] : []);
  render();
}

/** Hides the table (no network quantized yet). */
export function clearSizes() {
  shown = { sizes: new Map(), chosen: shown.chosen, note: '' };
  $('encodings').hidden = true;
}

function render() {
  const body = $('encodings-body');
  body.replaceChildren();
  for (const [key, name] of ENCODINGS) {
    const s = shown.sizes.get(key);
    const tr = document.createElement('tr');
    tr.dataset.testid = `size-${key}`;
    tr.dataset.encoding = key;
    if (key === 'csr') tr.classList.add('reference');
    if (key === shown.chosen) tr.classList.add('chosen');
    if (!s) tr.classList.add('pending');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = name;
    if (key === shown.chosen) {
      const tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = 'download';
      th.append(tag);
    }
    tr.append(th);
    const cells = [
      ['bits', s?.total_bits, (v) => nf.format(v)],
      ['bpp', s?.bits_per_param, (v) => nf3.format(v)],
      ['ratio', s?.ratio, (v) => `${nf2.format(v)} ×`],
      ['bytes', s?.bytes, (v) => `${nf.format(v)} B`],
    ];
    for (const [field, v, format] of cells) {
      const td = document.createElement('td');
      td.className = 'num';
      td.dataset.field = field;
      const n = Number(v);
      if (s && Number.isFinite(n)) {
        td.dataset.value = String(n);
        td.textContent = format(n);
      } else {
        td.textContent = '…';
      }
      tr.append(td);
    }
    body.append(tr);
  }
  $('encodings-note').textContent = shown.note;
  $('encodings').hidden = false;
}
