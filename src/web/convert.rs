//! Conversions between Rust results and the plain JS objects of docs/WORKER_PROTOCOL.md.

use crate::nn::session::{EpochInfo, Outcome, Session};
use crate::nn::snapshot_eval::UserOutcome;
use crate::compress::{Compressed, ImportanceHistogram};
use crate::opened_snapshot::LayerShape;
use crate::pixel_map::PixelMap;
use crate::summary::{RunReport, Summary, summary, summary_of};
use crate::live_account::Accounted;
use crate::config::RunConfig;
use crate::quant::settings::CheckedSettings;
use crate::nn::NnError;
use crate::nn::eval::Progress;
use serde::Serialize;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

/// Any serializable value as a plain JS object (maps as objects, 64-bit integers as numbers).
///
/// Through one JSON text and `JSON.parse`: building the object field by field from Rust
/// (as serde-wasm-bindgen does) costs one JS call per field, which took about 0.4 s for a 5 KB
/// result once the module's memory held a large network (measured in Chromium).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string(value)?;
    js_sys::JSON::parse(&text).map_err(|_| JsError::new("could not build a result object"))
}

/// A JS object as a Rust value (through `JSON.stringify`); the error names what did not fit.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, JsError> {
    let text = js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| JsError::new("invalid configuration: not a plain object"))?;
    serde_json::from_str(&text).map_err(|e| JsError::new(&format!("invalid configuration: {e}")))
}

/// A JS configuration, checked: the configuration (its network and link) and its
/// quantization settings, the only form the pipeline takes them in.
pub fn checked(value: JsValue) -> Result<(RunConfig, CheckedSettings), JsError> {
    let config: RunConfig = from_js(value)?;
    let settings = config.checked_quant()?;
    Ok((config, settings))
}

/// A Stop request and whether it ended the last stoppable evaluation (`Lab.requestStop`,
/// `Lab.endedByStop`): the worker asks the second instead of reading an error's text.
#[derive(Default)]
pub struct StopState {
    pub requested: Cell<bool>,
    pub ended: Cell<bool>,
}

/// The page's side of a long evaluation ([`Progress`]): `progress(done, total)` in JS (when
/// given, JS errors ignored) and, between batches, a `setTimeout(0)` wait so the worker
/// answers its messages meanwhile; then a Stop request ends it ([`NnError::Stopped`]).
pub struct Pacer<'a> {
    callback: Option<&'a js_sys::Function>,
    /// `None`: never stopped (an epoch's evaluation runs to its end).
    stop: Option<&'a StopState>,
}

impl<'a> Pacer<'a> {
    pub fn new(callback: Option<&'a js_sys::Function>, stop: Option<&'a StopState>) -> Self {
        Self { callback, stop }
    }
}

impl Progress for Pacer<'_> {
    fn report(&mut self, done: usize, total: usize) {
        if let Some(f) = self.callback {
            let _ = f.call2(&JsValue::NULL, &JsValue::from(done as f64), &JsValue::from(total as f64));
        }
    }

    fn pause(&mut self) -> Pin<Box<dyn Future<Output = Result<(), NnError>> + '_>> {
        Box::pin(async move {
            next_task().await;
            match self.stop {
                Some(stop) if stop.requested.get() => {
                    stop.ended.set(true);
                    Err(NnError::Stopped)
                }
                _ => Ok(()),
            }
        })
    }
}

/// Resolves in a later task of the event loop (`setTimeout(resolve, 0)` on the global
/// scope), after the messages that arrived meanwhile; at once where there is no timer.
async fn next_task() {
    let global = js_sys::global();
    let Ok(timer) = js_sys::Reflect::get(&global, &JsValue::from_str("setTimeout")) else { return };
    let Some(timer) = timer.dyn_ref::<js_sys::Function>().cloned() else { return };
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = timer.call2(&global, &resolve, &JsValue::from(0));
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// `{ params: [{name, shape}], stepsPerEpoch, totalParams }` of a started run.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartView {
    /// Every parameter tensor, output-major shapes, in network order.
    params: Vec<LayerShape>,
    steps_per_epoch: usize,
    total_params: usize,
}

pub fn start_info(session: &Session) -> StartView {
    let infos = session.trainer.infos();
    StartView {
        params: infos.iter().map(|i| LayerShape { name: i.name.clone(), shape: i.shape.clone() }).collect(),
        steps_per_epoch: session.trainer.steps_per_epoch(),
        total_params: infos.iter().map(|i| i.len()).sum(),
    }
}

/// `{ net, params, tensors, hasWidths, provenance }` of a loaded built-in snapshot.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadedView {
    /// `agq.net`.
    pub net: String,
    /// Values over all tensors.
    pub params: usize,
    pub tensors: usize,
    /// Whether any tensor has ITQ widths (itq and combined need them).
    pub has_widths: bool,
    /// `agq.provenance` parsed as JSON, or null.
    pub provenance: Option<serde_json::Value>,
}

/// `{ steps, losses, epochDone, step }` of `Lab.train`, without its typed array `losses`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepsView {
    /// Steps run by this call.
    steps: usize,
    epoch_done: bool,
    /// Steps run since the start.
    step: usize,
}

/// `{ steps, losses: Float32Array, epochDone, step }`.
pub fn train_info(steps: usize, losses: &[f32], epoch_done: bool, step: usize) -> Result<JsValue, JsError> {
    let value = to_js(&StepsView { steps, epoch_done, step })?;
    js_sys::Reflect::set(&value, &"losses".into(), &js_sys::Float32Array::from(losses))
        .map_err(|_| JsError::new("could not build the step result"))?;
    Ok(value)
}

/// `{ epoch, accuracy, ...Summary }` of an epoch end.
#[derive(Serialize)]
struct EpochView {
    epoch: usize,
    accuracy: f64,
    #[serde(flatten)]
    summary: Summary,
}

/// The result object (docs/WORKER_PROTOCOL.md, `Result`), without its typed array.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultView<'a> {
    #[serde(flatten)]
    summary: Summary,
    /// Top-1 accuracy (%) of the decoded file; null when not measured.
    accuracy: Option<f64>,
    /// A [`RunReport`] as a JSON value: its keys sorted, as the page's report download has them.
    report: serde_json::Value,
    importance: &'a ImportanceHistogram,
    /// What `pixelMap` is (its tensor, grid and size); null without a map.
    pixel_grid: Option<&'a PixelMap>,
}

/// An accounting: the CSR `Summary` (its `encodings` has CSR only) with `report` and `importance`.
#[derive(Serialize)]
struct AccountView<'a> {
    #[serde(flatten)]
    summary: Summary,
    /// A [`RunReport`], keys sorted (see [`ResultView`]).
    report: serde_json::Value,
    importance: &'a ImportanceHistogram,
}

/// `{ epoch, accuracy, ...Summary }` (src/summary.rs).
pub fn epoch_info(info: &EpochInfo) -> Result<JsValue, JsError> {
    to_js(&EpochView { epoch: info.epoch, accuracy: info.accuracy, summary: summary(&info.compressed)? })
}

/// The final result object (see docs/WORKER_PROTOCOL.md) with the first layer's `map`.
pub fn outcome_info(outcome: &Outcome, map: Option<&PixelMap>, config: &RunConfig) -> Result<JsValue, JsError> {
    result_info(&outcome.compressed, &outcome.importance, Some(outcome.accuracy), map, config)
}

/// The result object of an opened snapshot (`accuracy` null when it was not evaluated).
pub fn user_outcome_info(outcome: &UserOutcome, config: &RunConfig) -> Result<JsValue, JsError> {
    result_info(&outcome.compressed, &outcome.importance, outcome.accuracy, outcome.pixel_map.as_ref(), config)
}

fn result_info(
    compressed: &Compressed,
    importance: &ImportanceHistogram,
    accuracy: Option<f64>,
    map: Option<&PixelMap>,
    config: &RunConfig,
) -> Result<JsValue, JsError> {
    let view = ResultView {
        summary: summary(compressed)?,
        accuracy,
        report: serde_json::to_value(RunReport::of_file(compressed, config, accuracy))?,
        importance,
        pixel_grid: map,
    };
    let js = to_js(&view)?;
    let pixel_js: JsValue = match map {
        Some(map) => js_sys::Float32Array::from(map.values.as_slice()).into(),
        None => JsValue::NULL,
    };
    js_sys::Reflect::set(&js, &"pixelMap".into(), &pixel_js).map_err(|_| JsError::new("could not build the result"))?;
    Ok(js)
}

/// The accounting of a snapshot's setting without an evaluation.
pub fn account_info(accounted: &Accounted, config: &RunConfig) -> Result<JsValue, JsError> {
    to_js(&AccountView {
        summary: summary_of(&accounted.report, &accounted.widths),
        report: serde_json::to_value(RunReport::of(&accounted.report, config, None))?,
        importance: &accounted.importance_histogram,
    })
}
