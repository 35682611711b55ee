// Which backend trains faster here, timed (worker.js asks before the first LeNet run when
// the page found a WebGPU adapter that looks like hardware and the user has not chosen): a few
// training steps of the run's own configuration on the CPU lab and on a WebGPU lab, the CPU first
// (it is the quick one), then WebGPU within a time budget, so a slow adapter is found out in
// seconds.

/** Timed training steps per backend (after one warm-up step, which compiles the shaders). */
export const PROBE_STEPS = 3;
/** WebGPU gets at most this many times the CPU's time for its steps. */
const BUDGET_FACTOR = 3;

/** Whether the epoch has steps left after `r`, a `lab.advance` answer (never time an epoch's end). */
const stepsLeft = (r) => r?.kind === 'trained' && r.doneInEpoch < r.stepsPerEpoch;

/** Training steps per second of `lab` on `config`, stopping early after `budgetMs`. */
async function stepsPerSecond(lab, config, budgetMs) {
  await lab.start(config);
  let more = stepsLeft(await lab.advance(1));
  const t0 = performance.now();
  let steps = 0;
  while (steps < PROBE_STEPS && more) {
    const r = await lab.advance(1);
    steps += Number(r?.steps) || 0;
    more = stepsLeft(r);
    if (performance.now() - t0 > budgetMs) break;
  }
  return steps / Math.max((performance.now() - t0) / 1000, 1e-6);
}

const rate = (x) => (x >= 10 ? x.toFixed(0) : x.toFixed(2));

/**
 * Times `gpuLab` against `cpuLab` (both with MNIST loaded; they may come from different
 * builds of the module). Returns `{ lab, cpu, text }`: the faster lab (the other one is
 * freed), whether it is the CPU one, and the measurement in words.
 */
export async function fasterLab({ gpuLab, cpuLab, config }) {
  const cpuRate = await stepsPerSecond(cpuLab, config, Infinity);
  const gpuRate = await stepsPerSecond(gpuLab, config, (BUDGET_FACTOR * 1000 * PROBE_STEPS) / cpuRate);
  const text = `timed ${PROBE_STEPS} training steps of this run: CPU ${rate(cpuRate)} steps/s, WebGPU ${rate(gpuRate)} steps/s`;
  if (cpuRate > gpuRate) {
    gpuLab.free();
    return { lab: cpuLab, cpu: true, text };
  }
  cpuLab.free();
  return { lab: gpuLab, cpu: false, text };
}
