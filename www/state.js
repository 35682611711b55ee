// The run configuration on the page: one table maps every config field to its control,
// and the link (URL query) is read and written only by the wasm side (parseLink /
// encodeLink in the worker), so the page never parses or validates values itself.
//
// Controls -> config: the controls' texts are written as a query (`v=1&net=...`) and
// sent to the worker's parseLink, which answers with the checked config and one issue
// per invalid field. Config -> controls: `format` turns each config value into the
// control's text. Config -> link: encodeLink in the worker.
//
// The network list (NET_CATALOG) is a checked copy of the wasm module's (see there); nothing
// at this module's top level touches the document, so node tests import it too.

const text = (v) => String(v);
const list = (v) => (Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v, String).join(',') : String(v));

/**
 * key: the config field and link key (the same name); id: the control's element id;
 * group: which fieldset it belongs to; format: config value -> control text.
 */
export const FIELDS = [
  { key: 'net', id: 'f-net', group: 'network', format: text },
  { key: 'method', id: 'f-method', group: 'network', format: text },
  { key: 'importance', id: 'f-importance', group: 'network', format: text },
  { key: 'clusters', id: 'f-clusters', group: 'ptq', format: text },
  { key: 'widths', id: 'f-widths', group: 'ptq', format: list },
  { key: 'split', id: 'f-split', group: 'itq', format: text },
  { key: 'warmup', id: 'f-warmup', group: 'itq', format: text },
  { key: 'schedule', id: 'f-schedule', group: 'itq', format: list },
  { key: 'mode', id: 'f-mode', group: 'itq', format: text },
  { key: 'epochs', id: 'f-epochs', group: 'training', format: text },
  { key: 'batch', id: 'f-batch', group: 'training', format: text },
  { key: 'lr', id: 'f-lr', group: 'training', format: text },
  { key: 'lr_schedule', id: 'f-lr-schedule', group: 'training', format: text },
  { key: 'optimizer', id: 'f-optimizer', group: 'training', format: text },
  { key: 'momentum', id: 'f-momentum', group: 'training', format: text },
  { key: 'decay', id: 'f-decay', group: 'training', format: text },
  { key: 'train_size', id: 'f-train-size', group: 'training', format: text },
  { key: 'seed', id: 'f-seed', group: 'training', format: text },
  { key: 'encoding', id: 'f-encoding', group: 'storage', format: text },
];

/** `snapshotFiles` of a snapshot network (netCatalog): the ITQ-trained file for itq and combined. */
const filesOf = (net) => ({
  none: `${net}.safetensors`, ptq: `${net}.safetensors`, itq: `${net}-itq.safetensors`, combined: `${net}-itq.safetensors`,
});

/**
 * The built-in networks, in link order: a copy of the wasm module's netCatalog() (the Rust
 * `Net`, src/choices.rs) for the page before, or without, the module. The worker uses the
 * module's own; tests/e2e/catalog.test.mjs fails when this copy differs from it.
 */
export const NET_CATALOG = [
  { net: 'lenet300', name: 'LeNet-300-100', dataset: 'MNIST', trainsInPage: true, fromSnapshot: false, snapshotFiles: null },
  { net: 'lenet5', name: 'LeNet-5', dataset: 'MNIST', trainsInPage: true, fromSnapshot: false, snapshotFiles: null },
  { net: 'alexnet', name: 'AlexNet', dataset: 'CIFAR-10', trainsInPage: false, fromSnapshot: true, snapshotFiles: filesOf('alexnet') },
  { net: 'vgg16', name: 'VGG-16', dataset: 'CIFAR-10', trainsInPage: false, fromSnapshot: true, snapshotFiles: filesOf('vgg16') },
];

/** Networks the page trains (on MNIST). */
export const TRAINABLE_NETS = new Set(NET_CATALOG.filter((n) => n.trainsInPage).map((n) => n.net));

/** Networks quantized from a gradient snapshot trained offline (no training in the page). */
export const SNAPSHOT_NETS = new Set(NET_CATALOG.filter((n) => n.fromSnapshot).map((n) => n.net));

/**
 * The committed snapshot file (www/snapshots/) a configuration of a snapshot network needs
 * (the float-trained one, or the ITQ-trained one with width/P for itq and combined); null
 * for a network trained in the page.
 */
export function snapshotFile(config) {
  return NET_CATALOG.find((n) => n.net === config?.net)?.snapshotFiles?.[config?.method] ?? null;
}

/**
 * The network selector's value while a snapshot file the user opened is active (never in a
 * link: the link keeps the last built-in network, see readControls).
 */
export const OPENED_NET = 'file';

/** The largest snapshot file the page opens (src/opened_snapshot.rs MAX_SNAPSHOT_BYTES). */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

/** Where a snapshot network's accuracy is measured (say it wherever it is shown). */
export const SNAPSHOT_TEST = 'first 1,000 official test images';

/** Display names. */
export const NET_NAMES = Object.fromEntries(NET_CATALOG.map((n) => [n.net, n.name]));
export const METHOD_NAMES = { none: 'no quantization', ptq: 'post-training', itq: 'in-training', combined: 'combined' };

/** Which quantization settings a method uses. */
export function methodUses(method) {
  return { ptq: method === 'ptq' || method === 'combined', itq: method === 'itq' || method === 'combined' };
}

export function controlOf(field) {
  return document.getElementById(field.id);
}

/**
 * The link query of the controls as they are now (texts unchecked; parseLink checks them);
 * `overrides` replaces some controls' texts (e.g. the network while a file is open).
 */
export function readControls(overrides = {}) {
  const parts = ['v=1'];
  for (const f of FIELDS) {
    const el = controlOf(f);
    const v = overrides[f.key] ?? (el ? el.value.trim() : '');
    parts.push(`${f.key}=${encodeURIComponent(v)}`);
  }
  return parts.join('&');
}

/** Sets every control from a config (fields missing from the config are left alone). */
export function applyConfig(config) {
  for (const f of FIELDS) {
    const el = controlOf(f);
    if (!el || config == null || config[f.key] === undefined || config[f.key] === null) continue;
    el.value = f.format(config[f.key]);
  }
}

/** Marks the controls named by issues as invalid (aria-invalid), clears the others. */
export function markIssues(issues) {
  const bad = new Set((issues ?? []).map((i) => String(i.field)));
  for (const f of FIELDS) {
    const el = controlOf(f);
    if (!el) continue;
    if (bad.has(f.key)) el.setAttribute('aria-invalid', 'true');
    else el.removeAttribute('aria-invalid');
  }
}

/** The full shareable address of a link query. */
export function shareUrl(query, run = false) {
  const base = new URL(location.href);
  base.search = '';
  base.hash = '';
  return `${base.href}?${query}${run ? '&run=1' : ''}`;
}

/** Puts the link into the address bar without a new history entry. */
export function setAddress(query) {
  try {
    history.replaceState(history.state, '', `?${query}${location.hash}`);
  } catch {
    // file:// pages and sandboxed frames may refuse; the share field still has the link.
  }
}

/**
 * Requests to the worker's parseLink / encodeLink. The worker answers them in the order
 * they were sent, so one queue per reply type matches answers to requests.
 */
export class LinkClient {
  constructor(worker) {
    this.worker = worker;
    this.parses = [];
    this.encodes = [];
  }

  /** -> Promise<{ config | null, issues, run }> (config null when the wasm is unavailable). */
  parse(query) {
    return new Promise((resolve) => {
      this.parses.push(resolve);
      this.worker.postMessage({ type: 'link', query: String(query ?? '') });
    });
  }

  /** -> Promise<string | null> (the query without '?', null when the config could not be encoded). */
  encode(config) {
    return new Promise((resolve) => {
      this.encodes.push(resolve);
      this.worker.postMessage({ type: 'encode', config });
    });
  }

  /** Consumes a worker message if it answers a request; true when it did. */
  handle(msg) {
    if (msg.type === 'config') {
      const resolve = this.parses.shift();
      if (resolve) resolve({ config: msg.config ?? null, issues: Array.isArray(msg.issues) ? msg.issues : [], run: !!msg.run });
      return true;
    }
    if (msg.type === 'link') {
      const resolve = this.encodes.shift();
      if (resolve) resolve(typeof msg.query === 'string' ? msg.query : null);
      return true;
    }
    return false;
  }

  /** Answers every open request with "unavailable" (the worker is gone). */
  drop() {
    for (const r of this.parses.splice(0)) r({ config: null, issues: [], run: false });
    for (const r of this.encodes.splice(0)) r(null);
  }
}
