// Which compute backend the page starts on. A software WebGPU adapter (SwiftShader,
// llvmpipe/lavapipe, WARP, or one the browser flags as a fallback) trains far slower than
// burn's CPU backend in WebAssembly (docs/BENCHMARKS.md: LeNet-300-100 about 1,090 s per
// epoch on SwiftShader against about 23 s on the CPU backend), so the page starts on the
// CPU there and says why. A choice the user made with the "Use WebGPU" box is remembered
// (localStorage) and always wins over the automatic one. On a hardware-looking adapter the
// page starts on the CPU backend too (its build is the small one: pkg/agq.js), and the first
// training run loads the WebGPU build, times both backends and keeps the faster
// (www/worker_probe.js).

const STORAGE_KEY = 'agq.preferGpu';
const SOFTWARE = ['swiftshader', 'llvmpipe', 'lavapipe', 'software', 'microsoft basic render', 'warp'];

/** The user's remembered choice: true (WebGPU), false (CPU) or null (none made). */
export function explicitChoice() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v === '1' ? true : v === '0' ? false : null;
  } catch {
    return null;
  }
}

/** Remembers the user's choice of the "Use WebGPU" box. */
export function rememberChoice(preferGpu) {
  try {
    localStorage.setItem(STORAGE_KEY, preferGpu ? '1' : '0');
  } catch {
    // storage may be off (private mode): the choice then lasts until the page is closed
  }
}

/**
 * What WebGPU adapter this browser offers: `{ kind: 'none' }`, `{ kind: 'software', reason }`
 * (a short reason naming the software renderer) or `{ kind: 'hardware' }`.
 */
export async function adapterKind() {
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return { kind: 'none' };
    const info = adapter.info ?? {};
    if (adapter.isFallbackAdapter || info.isFallbackAdapter) return { kind: 'software', reason: 'the browser offers only a fallback (software) WebGPU adapter' };
    const text = [info.vendor, info.architecture, info.device, info.description].join(' ').toLowerCase();
    const name = SOFTWARE.find((s) => text.includes(s));
    return name ? { kind: 'software', reason: `the WebGPU adapter is a software renderer (${name})` } : { kind: 'hardware' };
  } catch {
    return { kind: 'none' };
  }
}

/**
 * The backend to start on: `{ preferGpu, reason, probe }`. Without a choice of the user's the
 * page starts on the CPU backend (its build is the small one); `reason` says why WebGPU is
 * not used yet, and `probe` is set on an adapter that looks like hardware: whether it beats
 * the CPU backend is then timed on the first training run (an integrated GPU can lose to the
 * CPU on a network as small as a LeNet). `boxChecked` is the "Use WebGPU" box as the page
 * loaded.
 */
export async function initialBackend(boxChecked) {
  const chosen = explicitChoice();
  if (chosen !== null) return { preferGpu: chosen, reason: null, probe: false };
  if (!boxChecked) return { preferGpu: false, reason: null, probe: false };
  const adapter = await adapterKind();
  if (adapter.kind === 'software') {
    return { preferGpu: false, reason: `CPU backend chosen automatically: ${adapter.reason}, which trains much slower than the CPU backend here. Tick "Use WebGPU" to use it anyway.`, probe: false };
  }
  if (adapter.kind === 'hardware') {
    return { preferGpu: false, reason: 'A WebGPU adapter was found: the first training run of a LeNet times it against the CPU backend and keeps the faster.', probe: true };
  }
  return { preferGpu: false, reason: 'This browser offers no WebGPU adapter: the page runs on the CPU backend.', probe: false };
}
