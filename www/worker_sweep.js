// The importance sweep of the LeNet trained in the page, run by the worker (worker.js):
// every importance at every kept fraction of the plan (pkg's sweepPlan), one lab.sweepPoint
// call per point, posted as it comes so the page draws the curves live. The kept fractions
// go from the largest down, all importances at each, so a stopped sweep still compares them.

/**
 * Runs the sweep: a `sweepPoint` message per point (`row`: a SweepRow, `done`, `total`),
 * then `sweepDone` (`done`, `total`, `stopped`). `shouldStop()` is asked before each point;
 * `between()` is awaited after each (it lets a `stop` message in).
 */
export async function runSweep({ lab, plan, post, shouldStop, between, progress }) {
  const importances = Array.from(plan.importances, String);
  const keeps = Array.from(plan.keeps, Number).sort((a, b) => b - a);
  const total = importances.length * keeps.length;
  let done = 0;
  for (const keep of keeps) {
    for (const importance of importances) {
      if (shouldStop()) {
        post({ type: 'sweepDone', done, total, stopped: true });
        return;
      }
      const row = await lab.sweepPoint(importance, keep, progress);
      done += 1;
      post({ type: 'sweepPoint', row, done, total });
      await between();
    }
  }
  post({ type: 'sweepDone', done, total, stopped: false });
}
