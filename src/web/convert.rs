//! Conversions between Rust values and JS values (the typed objects of [`super::views`]
//! one way, configurations the other), and the page's side of a long evaluation.

use super::error::WebError;
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
    Ok(js_sys::JSON::parse(&text).map_err(|_| WebError::Build("a result object"))?)
}

/// `value` (an object from [`to_js`]) with the typed array `array` (bulk data: losses, a
/// pixel map) as its field `key`: copied once, never a JSON list of numbers.
pub fn with_array(value: JsValue, key: &str, array: &JsValue) -> Result<JsValue, JsError> {
    js_sys::Reflect::set(&value, &key.into(), array).map_err(|_| WebError::Build("a result object"))?;
    Ok(value)
}

/// A JS object as a Rust value (through `JSON.stringify`); the error names what did not fit.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, JsError> {
    let text = js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or(WebError::Config(None))?;
    Ok(serde_json::from_str(&text).map_err(|e| WebError::Config(Some(e.to_string())))?)
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

