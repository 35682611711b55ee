//! Conversions between Rust results and the plain JS objects of docs/WORKER_PROTOCOL.md.

use crate::nn::session::{EpochInfo, Outcome, Session};
use crate::nn::snapshot_eval::UserOutcome;
use crate::compress::Compressed;
use crate::summary::{summary, summary_of};
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

/// The page's side of a long evaluation ([`Progress`]): `progress(done, total)` in JS (when
/// given, JS errors ignored) and, between batches, a `setTimeout(0)` wait so the worker
/// answers its messages meanwhile; then `stop` (set by `Lab.requestStop`) ends it.
pub struct Pacer<'a> {
    callback: Option<&'a js_sys::Function>,
    /// `None`: never stopped (an epoch's evaluation runs to its end).
    stop: Option<&'a Cell<bool>>,
}

impl<'a> Pacer<'a> {
    pub fn new(callback: Option<&'a js_sys::Function>, stop: Option<&'a Cell<bool>>) -> Self {
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
                Some(stop) if stop.get() => Err(NnError::Stopped),
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ParamShape {
    name: String,
    shape: Vec<usize>,
}

/// `{ params: [{name, shape}], stepsPerEpoch, totalParams }` of a started run.
pub fn start_info(session: &Session) -> serde_json::Value {
    let infos = session.trainer.infos();
    let params: Vec<ParamShape> =
        infos.iter().map(|i| ParamShape { name: i.name.clone(), shape: i.shape.clone() }).collect();
    serde_json::json!({
        "params": params,
        "stepsPerEpoch": session.trainer.steps_per_epoch(),
        "totalParams": infos.iter().map(|i| i.len()).sum::<usize>(),
    })
}

/// `{ steps, losses: Float32Array, epochDone, step }`.
pub fn train_info(steps: usize, losses: &[f32], epoch_done: bool, step: usize) -> Result<JsValue, JsError> {
    let value = to_js(&serde_json::json!({ "steps": steps, "epochDone": epoch_done, "step": step }))?;
    js_sys::Reflect::set(&value, &"losses".into(), &js_sys::Float32Array::from(losses))
        .map_err(|_| JsError::new("could not build the step result"))?;
    Ok(value)
}

/// A serializable value as a JSON value (for adding fields before it crosses to JS).
fn json<T: Serialize>(value: &T) -> Result<serde_json::Value, JsError> {
    serde_json::to_value(value).map_err(|e| JsError::new(&e.to_string()))
}

/// `{ epoch, accuracy, ...Summary }` (src/summary.rs).
pub fn epoch_info(info: &EpochInfo) -> Result<JsValue, JsError> {
    let mut value = json(&summary(&info.compressed)?)?;
    value["epoch"] = info.epoch.into();
    value["accuracy"] = info.accuracy.into();
    to_js(&value)
}

/// The final result object (see docs/WORKER_PROTOCOL.md); `pixelMap` only for LeNet-300-100.
pub fn outcome_info(outcome: &Outcome, config: &RunConfig) -> Result<JsValue, JsError> {
    result_info(&outcome.compressed, Some(outcome.accuracy), crate::compress::pixel_map(&outcome.params), config)
}

/// The result object of an opened snapshot (`accuracy` null when it was not evaluated).
pub fn user_outcome_info(outcome: &UserOutcome, config: &RunConfig) -> Result<JsValue, JsError> {
    result_info(&outcome.compressed, outcome.accuracy, outcome.pixel_map.clone(), config)
}

fn result_info(compressed: &Compressed, accuracy: Option<f64>, pixel_map: Option<Vec<f32>>, config: &RunConfig) -> Result<JsValue, JsError> {
    let mut value = json(&summary(compressed)?)?;
    value["accuracy"] = accuracy.into();
    value["report"] = crate::compress::full_report(compressed, config, accuracy);
    value["importance"] = serde_json::to_value(&compressed.importance_histogram)
        ?;
    let js = to_js(&value)?;
    let pixel_js: JsValue = match pixel_map {
        Some(map) => js_sys::Float32Array::from(map.as_slice()).into(),
        None => JsValue::NULL,
    };
    js_sys::Reflect::set(&js, &"pixelMap".into(), &pixel_js).map_err(|_| JsError::new("could not build the result"))?;
    Ok(js)
}

/// The accounting of a snapshot's setting without an evaluation: the CSR `Summary` (its
/// `encodings` has CSR only) with `report` and `importance`.
pub fn account_info(accounted: &Accounted, config: &RunConfig) -> Result<JsValue, JsError> {
    let mut value = json(&summary_of(&accounted.report, &accounted.widths))?;
    value["report"] = crate::compress::full_report_of(&accounted.report, config, None);
    value["importance"] = serde_json::to_value(&accounted.importance_histogram)
        ?;
    to_js(&value)
}
