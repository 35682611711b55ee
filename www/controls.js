// DOM events -> state: the config controls, the run buttons, the share field.

import { FIELDS, controlOf, methodUses, SNAPSHOT_NETS, OPENED_NET } from './state.js';

const $ = (id) => document.getElementById(id);

function debounce(fn, ms) {
  let t = null;
  const wrapped = () => {
    clearTimeout(t);
    t = setTimeout(() => {
      t = null;
      fn();
    }, ms);
  };
  /** Runs a pending call now (true when there was one). */
  wrapped.flush = () => {
    if (t === null) return false;
    clearTimeout(t);
    t = null;
    fn();
    return true;
  };
  return wrapped;
}

/**
 * Wires the page's controls.
 * handlers: { configChanged(), train(), stop(), requantize(), preferGpuChanged(checked), shareRunChanged(checked) }
 * Returns { flush() } to apply a pending (debounced) config change at once.
 */
export function bindControls(handlers) {
  const changed = debounce(() => handlers.configChanged(), 200);
  for (const f of FIELDS) {
    const el = controlOf(f);
    if (!el) continue;
    // selects answer on change; text and number fields while typing (debounced)
    el.addEventListener(el.tagName === 'SELECT' ? 'change' : 'input', changed);
    if (el.tagName !== 'SELECT') el.addEventListener('change', () => changed.flush());
  }
  $('f-method').addEventListener('change', () => showMethodGroups($('f-method').value));
  $('f-net').addEventListener('change', () => showMethodGroups($('f-method').value));

  // Enter in a field trains (like submitting the form), unless a run is going on.
  $('config').addEventListener('submit', (e) => e.preventDefault());
  $('config').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target instanceof HTMLInputElement && e.target.type !== 'checkbox' && !$('train').disabled) {
      e.preventDefault();
      changed.flush();
      handlers.train();
    }
  });

  $('train').addEventListener('click', () => {
    changed.flush();
    handlers.train();
  });
  $('stop').addEventListener('click', () => handlers.stop());
  $('requantize').addEventListener('click', () => {
    changed.flush();
    handlers.requantize();
  });
  $('prefer-gpu').addEventListener('change', (e) => handlers.preferGpuChanged(e.target.checked));
  $('share-run').addEventListener('change', (e) => handlers.shareRunChanged(e.target.checked));
  $('share').addEventListener('focus', (e) => e.target.select());
  $('copy-share').addEventListener('click', async () => {
    const input = $('share');
    const btn = $('copy-share');
    try {
      await navigator.clipboard.writeText(input.value);
      btn.textContent = 'Copied';
    } catch {
      input.focus();
      input.select();
      btn.textContent = 'Select + copy';
    }
    setTimeout(() => { btn.textContent = 'Copy'; }, 1500);
  });
  return { flush: () => changed.flush() };
}

/** Dims the settings a method does not use (they stay editable and stay in the link). */
export function showMethodGroups(method, net = $('f-net')?.value) {
  const uses = methodUses(method);
  $('fs-ptq').classList.toggle('inactive', !uses.ptq);
  $('fs-itq').classList.toggle('inactive', !uses.itq);
  // A snapshot network (or an opened snapshot file) is trained offline: the ITQ and
  // training settings do not apply.
  const snapshot = SNAPSHOT_NETS.has(net) || net === OPENED_NET;
  for (const id of ['fs-itq', 'fs-training']) {
    const fs = $(id);
    fs.disabled = snapshot;
    fs.classList.toggle('not-applicable', snapshot);
    fs.title = snapshot ? 'Trained offline into the snapshot: not used for this network' : '';
  }
}

/**
 * Enables and disables buttons and settings for the page's phase.
 * phase: 'starting' | 'ready' | 'running' | 'failed'; canRequantize: a trained network exists.
 */
export function setPhase(phase, { canRequantize = false, canSweep = false, stopping = false } = {}) {
  const running = phase === 'running';
  $('train').disabled = phase !== 'ready';
  $('stop').disabled = !running || stopping;
  $('requantize').disabled = phase !== 'ready' || !canRequantize;
  $('sweep').disabled = phase !== 'ready' || !canSweep;
  $('prefer-gpu').disabled = running;
  for (const f of FIELDS) {
    const el = controlOf(f);
    if (el) el.disabled = running;
  }
  $('open-snapshot').disabled = phase !== 'ready';
  const net = $('f-net')?.value;
  const snapshot = SNAPSHOT_NETS.has(net) || net === OPENED_NET;
  $('train').textContent = running ? (snapshot ? 'Quantizing…' : 'Training…') : net === OPENED_NET ? 'Quantize' : 'Train';
}
