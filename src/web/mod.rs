//! The wasm-bindgen layer used by `www/worker.js`: the only code that touches JS types.
//! Long-lived state (data sets, the training run, the last result) stays in Rust behind
//! one opaque [`Lab`] handle; every value returned is a typed view ([`views`]), every error
//! a typed error (the pipeline's, or [`error::WebError`]) crossing as `JsError`.

mod backend;
mod convert;
mod encodings;
pub mod error;
mod sweep;
mod views;

use crate::config::RunConfig;
use crate::data::{Dataset, cifar10, mnist};
use crate::nn::session::Session;
use crate::nn::snapshot_eval::{LoadedSnapshot, TestSets, UserSnapshot};
use crate::pixel_map::pixel_map;
use crate::snapshot::Snapshot;
use backend::Backend;
use error::{Missing, WebError};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Installs the panic hook once, so a Rust panic shows in the console with its message.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Reads a page link: `{ config, issues: [{field, message}], run }`. Never throws for a bad
/// link: each invalid or unknown field is named and replaced by its default.
#[wasm_bindgen(js_name = parseLink)]
pub fn parse_link(query: &str) -> Result<JsValue, JsError> {
    views::link_info(&RunConfig::parse_query(query))
}

/// The built-in networks, in link order: `[{ net, name, dataset, trainsInPage,
/// fromSnapshot, snapshotFiles }]` (`snapshotFiles`: the file in www/snapshots/ per method
/// word, null for a network trained in the page). The page's lists (www/state.js) are
/// checked against it (tests/e2e/catalog.test.mjs).
#[wasm_bindgen(js_name = netCatalog)]
pub fn net_catalog() -> Result<JsValue, JsError> {
    views::net_catalog()
}

/// The link of a configuration (`v=1&...`, no leading `?`); throws on an invalid one.
#[wasm_bindgen(js_name = encodeLink)]
pub fn encode_link(config: JsValue) -> Result<String, JsError> {
    let config: RunConfig = convert::from_js(config)?;
    config.check()?;
    Ok(config.to_query())
}

/// The default configuration.
#[wasm_bindgen(js_name = defaultConfig)]
pub fn default_config() -> Result<JsValue, JsError> {
    convert::to_js(&RunConfig::default())
}

#[derive(Default)]
struct State {
    train: Option<Dataset>,
    test: Option<Dataset>,
    session: Option<Session>,
    /// The loaded gradient snapshot (AlexNet, VGG-16) and the CIFAR-10 test images.
    snapshot: Option<LoadedSnapshot>,
    cifar_test: Option<Dataset>,
    /// The snapshot file the user opened (any architecture).
    opened: Option<UserSnapshot>,
    /// The `.agq` file of the last result.
    agq: Option<LastFile>,
}

/// The `.agq` file of the last result and what made it (for re-encoding it and its report).
struct LastFile {
    bytes: Vec<u8>,
    config: RunConfig,
    /// Top-1 accuracy (%) of the decoded file, when measured.
    accuracy: Option<f64>,
}

/// The loaded snapshot if it is of `config`'s network.
fn snapshot_for<'a>(snapshot: Option<&'a mut LoadedSnapshot>, config: &RunConfig) -> Result<&'a mut LoadedSnapshot, WebError> {
    let loaded = snapshot.ok_or(Missing::Snapshot)?;
    if loaded.kind != config.net {
        return Err(WebError::WrongSnapshot { loaded: loaded.kind, asked: config.net });
    }
    Ok(loaded)
}

impl Lab {
    /// The pacer of a stoppable evaluation: clears an earlier stop request first.
    fn stoppable<'a>(&'a self, progress: Option<&'a js_sys::Function>) -> convert::Pacer<'a> {
        self.stop.requested.set(false);
        self.stop.ended.set(false);
        convert::Pacer::new(progress, Some(&self.stop))
    }
}

/// The error of a call made while another one (awaiting) holds the lab's state.
fn busy<E>(_: E) -> WebError {
    WebError::Busy
}

/// One page's laboratory: the compute backend, the data, the run and its result.
#[wasm_bindgen]
pub struct Lab {
    backend: Backend,
    state: Rc<RefCell<State>>,
    /// Set by `requestStop`: the evaluation in progress ends at its next batch.
    stop: Rc<convert::StopState>,
}

#[wasm_bindgen]
impl Lab {
    /// WebGPU through burn-wgpu when `prefer_gpu` and an adapter exists, else burn's CPU
    /// backend; `backend()` says which and why.
    pub async fn create(prefer_gpu: bool) -> Lab {
        Lab { backend: Backend::init(prefer_gpu).await, state: Rc::default(), stop: Rc::default() }
    }

    /// Ends the evaluation in progress (`finish`, `finishOpened`, `sweepPoint`) at its next
    /// batch, within a second: it then throws `stopped`. An epoch's evaluation is not
    /// stopped (the run stops after it).
    #[wasm_bindgen(js_name = requestStop)]
    pub fn request_stop(&self) {
        self.stop.requested.set(true);
    }

    /// Whether a Stop ended the last stoppable evaluation (its call threw `stopped`).
    #[wasm_bindgen(js_name = endedByStop)]
    pub fn ended_by_stop(&self) -> bool {
        self.stop.ended.get()
    }

    /// `{ kind: 'webgpu' | 'cpu', adapter, note }`.
    pub fn backend(&self) -> Result<JsValue, JsError> {
        convert::to_js(&self.backend.info)
    }

    /// Parses the four MNIST IDX files (gzipped or not).
    #[wasm_bindgen(js_name = loadMnist)]
    pub fn load_mnist(&self, train_images: &[u8], train_labels: &[u8], test_images: &[u8], test_labels: &[u8]) -> Result<(), JsError> {
        let train = mnist::load(train_images, train_labels).map_err(|error| WebError::Data { what: "MNIST training set", error })?;
        let test = mnist::load(test_images, test_labels).map_err(|error| WebError::Data { what: "MNIST test set", error })?;
        let mut state = self.state.borrow_mut();
        state.train = Some(train);
        state.test = Some(test);
        Ok(())
    }

    /// Reads a gradient snapshot (safetensors, `agq-snapshot/1`) of a built-in network:
    /// `{ net, params, tensors, hasWidths, provenance }` (`provenance`: the parsed
    /// `agq.provenance` JSON object, or null). `finish` and `account` then quantize it.
    #[wasm_bindgen(js_name = loadSnapshot)]
    pub fn load_snapshot(&self, bytes: &[u8]) -> Result<JsValue, JsError> {
        let snapshot = Snapshot::from_bytes(bytes).map_err(WebError::Snapshot)?;
        let mut state = self.state.borrow_mut();
        state.snapshot = None; // the old one is freed before the new one is checked
        state.agq = None;
        let loaded = LoadedSnapshot::new(snapshot, &self.backend.device)?;
        let info = views::LoadedView {
            net: loaded.snapshot.net.clone(),
            params: loaded.snapshot.num_values(),
            tensors: loaded.snapshot.params.len(),
            has_widths: loaded.snapshot.params.iter().any(|p| p.width.is_some()),
            provenance: loaded.snapshot.provenance(),
        };
        state.snapshot = Some(loaded);
        convert::to_js(&info)
    }

    /// Parses CIFAR-10 test records (gzipped or not), e.g. `test_batch_first1000.bin.gz`;
    /// returns the number of images.
    #[wasm_bindgen(js_name = loadCifarTest)]
    pub fn load_cifar_test(&self, bytes: &[u8]) -> Result<usize, JsError> {
        let test = cifar10::load(bytes).map_err(|error| WebError::Data { what: "CIFAR-10 test set", error })?;
        let n = test.n;
        self.state.borrow_mut().cifar_test = Some(test);
        Ok(n)
    }

    /// Accounts the loaded snapshot quantized with `config` without evaluating it: the
    /// result object of `finish` without `accuracy`, `report`'s accuracy and `pixelMap`.
    pub fn account(&self, config: JsValue) -> Result<JsValue, JsError> {
        let (config, settings) = convert::checked(config)?;
        let mut state = self.state.borrow_mut();
        let accounted = snapshot_for(state.snapshot.as_mut(), &config)?.account(&settings)?;
        views::account_info(&accounted, &config)
    }

    /// Starts a run: `{ params: [{name, shape}], stepsPerEpoch, totalParams }`.
    pub fn start(&self, config: JsValue) -> Result<JsValue, JsError> {
        let config: RunConfig = convert::from_js(config)?;
        let mut state = self.state.borrow_mut();
        let (Some(train), Some(test)) = (state.train.clone(), state.test.clone()) else {
            return Err(Missing::Mnist.into());
        };
        let session = Session::start(&config, train, test, &self.backend.device)?;
        let info = views::start_info(&session);
        state.session = Some(session);
        state.agq = None;
        convert::to_js(&info)
    }

    /// The run's epoch driver ([`Session::advance`]), one bounded piece per call: up to
    /// `max_steps` training steps (`{ kind: 'trained', steps, firstStep, doneInEpoch,
    /// stepsPerEpoch, losses: Float32Array }`), or, once the epoch has no batch left, its end
    /// (`{ kind: 'epochEnded', info: { epoch, accuracy, ...Summary }, finished }`;
    /// `progress(done, total)` follows the evaluation, which a Stop does not end), or
    /// `{ kind: 'finished' }` after the last epoch.
    pub async fn advance(&self, max_steps: usize, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let state = self.state.clone();
        let mut state = state.try_borrow_mut().map_err(busy)?;
        let session = state.session.as_mut().ok_or(Missing::Run)?;
        let mut report = convert::Pacer::new(progress.as_ref(), None);
        let advance = session.advance(max_steps, &mut report).await?;
        views::advance_info(&advance, session.finished())
    }

    /// Quantizes the trained state (AlexNet, VGG-16: the loaded snapshot) with `config`'s
    /// method and PTQ settings and evaluates the decoded result (AlexNet, VGG-16: on the
    /// loaded CIFAR-10 test images); callable again with other settings. See docs/WORKER_PROTOCOL.md for the shape.
    pub async fn finish(&self, config: JsValue, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let (config, settings) = convert::checked(config)?;
        let state = self.state.clone();
        let mut state = state.borrow_mut();
        let mut report = self.stoppable(progress.as_ref());
        let (outcome, map) = if config.net.from_snapshot() {
            let State { snapshot, cifar_test, .. } = &mut *state;
            let loaded = snapshot_for(snapshot.as_mut(), &config)?;
            let test = cifar_test.as_ref().ok_or(Missing::CifarTest)?;
            let outcome = loaded.finish(&settings, test, &self.backend.device, &mut report).await?;
            (outcome, pixel_map(&loaded.snapshot.params))
        } else {
            let session = state.session.as_ref().ok_or(Missing::RunToQuantize)?;
            let outcome = session.finish(&settings, &mut report).await?;
            let map = pixel_map(&outcome.params);
            (outcome, map)
        };
        let value = views::outcome_info(&outcome, map.as_ref(), &config)?;
        state.agq = Some(LastFile { bytes: outcome.compressed.bytes, config, accuracy: Some(outcome.accuracy) });
        Ok(value)
    }

    /// Opens a snapshot file the user chose (`agq-snapshot/1`, any architecture, at most
    /// 256 MiB): `{ net, builtin, notBuiltin, dataset, params, tensors, hasWidths,
    /// provenance, layers: [{name, shape}], file }`. `builtin` is true when `agq.net` names a
    /// built-in network and every tensor name and shape matches it (then `finishOpened`
    /// measures the accuracy on `dataset`'s test set); `notBuiltin` says why not. An invalid
    /// file throws and leaves the previously opened one in place.
    #[wasm_bindgen(js_name = openSnapshot)]
    pub fn open_snapshot(&self, bytes: &[u8], file_name: &str) -> Result<JsValue, JsError> {
        let opened = UserSnapshot::open(bytes, &self.backend.device)
            .map_err(|error| WebError::Open { file: file_name.to_string(), error })?;
        let info = views::OpenedView { info: opened.info(), file: file_name.to_string() };
        let mut state = self.state.try_borrow_mut().map_err(busy)?;
        state.opened = Some(opened);
        state.agq = None;
        convert::to_js(&info)
    }

    /// Frees the opened snapshot (the page went back to a built-in network).
    #[wasm_bindgen(js_name = closeSnapshot)]
    pub fn close_snapshot(&self) -> Result<(), JsError> {
        self.state.try_borrow_mut().map_err(busy)?.opened = None;
        Ok(())
    }

    /// `account` of the opened snapshot: `config`'s method, importance, clusters and widths
    /// (its network and training settings are not used). itq and combined throw when the
    /// snapshot has no ITQ widths.
    #[wasm_bindgen(js_name = accountOpened)]
    pub fn account_opened(&self, config: JsValue) -> Result<JsValue, JsError> {
        let (config, settings) = convert::checked(config)?;
        let mut state = self.state.try_borrow_mut().map_err(busy)?;
        let opened = state.opened.as_mut().ok_or(Missing::OpenedFile)?;
        let accounted = opened.account(&settings)?;
        views::account_info(&accounted, &config)
    }

    /// `finish` of the opened snapshot: the result object with `accuracy` null unless it is
    /// a built-in network (evaluated on the loaded MNIST or CIFAR-10 test set); the `.agq`
    /// file (`agqBytes`) carries the snapshot's own `agq.net`.
    #[wasm_bindgen(js_name = finishOpened)]
    pub async fn finish_opened(&self, config: JsValue, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let (config, settings) = convert::checked(config)?;
        let cell = self.state.clone();
        let outcome = {
            let state = cell.try_borrow().map_err(busy)?;
            let mut report = self.stoppable(progress.as_ref());
            let opened = state.opened.as_ref().ok_or(Missing::OpenedFile)?;
            let tests = TestSets { mnist: state.test.as_ref(), cifar10: state.cifar_test.as_ref() };
            opened.finish(&settings, tests, &self.backend.device, &mut report).await?
        };
        let value = views::user_outcome_info(&outcome, &config)?;
        let accuracy = outcome.accuracy;
        cell.try_borrow_mut().map_err(busy)?.agq = Some(LastFile { bytes: outcome.compressed.bytes, config, accuracy });
        Ok(value)
    }

    /// The `.agq` file of the last result (in its config's encoding, or the one `reencode`
    /// chose since).
    #[wasm_bindgen(js_name = agqBytes)]
    pub fn agq_bytes(&self) -> Result<js_sys::Uint8Array, JsError> {
        let state = self.state.borrow();
        let agq = state.agq.as_ref().ok_or(Missing::Result)?;
        Ok(js_sys::Uint8Array::from(agq.bytes.as_slice()))
    }
}
