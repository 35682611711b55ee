//! The importance sweep of the LeNet trained in the page (`agq sweep`, live): one point per
//! call, so the worker can draw each point as it comes and stop between points.

use super::error::Missing;
use super::views::SweepPlanView;
use super::{Lab, busy, convert};
use crate::config::Importance;
use crate::quant::settings::parse_word;
use crate::quant::sweep::DEFAULT_KEEP;
use wasm_bindgen::prelude::*;

/// The sweep's points: `{ importances: ['grad', 'magnitude', 'random', 'taylor'], keeps }`
/// (`keeps`: kept fractions of the parameters, ascending; each importance at each).
#[wasm_bindgen(js_name = sweepPlan)]
pub fn sweep_plan() -> Result<JsValue, JsError> {
    convert::to_js(&SweepPlanView { importances: Importance::WORDS, keeps: &DEFAULT_KEEP })
}

#[wasm_bindgen]
impl Lab {
    /// One point of the sweep of the trained state: PTQ by `importance` (`grad`,
    /// `magnitude`, `random` with the run's seed, `taylor`) keeping the fraction `keep`, in
    /// the network's default cluster shape and widths, sized in three encodings and
    /// evaluated on the MNIST test set: a `SweepRow` (src/quant/sweep.rs) as an object.
    /// `progress(done, total)` follows the evaluation.
    #[wasm_bindgen(js_name = sweepPoint)]
    pub async fn sweep_point(&self, importance: String, keep: f64, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let importance: Importance = parse_word("importance", &importance)?;
        let cell = self.state.clone();
        let state = cell.try_borrow().map_err(busy)?;
        let session = state.session.as_ref().ok_or(Missing::RunToSweep)?;
        let source = importance.source(session.config.seed);
        let mut report = self.stoppable(progress.as_ref());
        let row = session.sweep_point(&source, keep, &mut report).await?;
        convert::to_js(&row)
    }
}
