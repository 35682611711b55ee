//! The values the wasm layer hands to JS, one `#[derive(Serialize)]` type each (camelCase
//! fields, as docs/WORKER_PROTOCOL.md documents them), built from the pipeline's results;
//! bulk data (losses, a pixel map) rides along as typed arrays ([`convert::with_array`]).

use super::convert::{self, to_js};
use crate::choices::{Method, Net};
use crate::compress::{Compressed, ImportanceHistogram};
use crate::config::{FieldIssue, ParsedQuery, RunConfig};
use crate::live_account::Accounted;
use crate::nn::session::{Advance, EpochInfo, Outcome, Session};
use crate::nn::snapshot_eval::UserOutcome;
use crate::opened_snapshot::{LayerShape, SnapshotInfo};
use crate::pixel_map::PixelMap;
use crate::quant::encoding::Encoding;
use crate::summary::{RunReport, Summary, summary, summary_of};
use serde::Serialize;
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

/// `{ config, issues: [{field, message}], run }` of `parseLink`.
#[derive(Serialize)]
pub struct LinkView<'a> {
    /// The configuration, every invalid field at its default.
    config: &'a RunConfig,
    /// One per invalid, unknown or repeated field.
    issues: &'a [FieldIssue],
    /// `run=1`: start the run at once.
    run: bool,
}

pub fn link_info(parsed: &ParsedQuery) -> Result<JsValue, JsError> {
    to_js(&LinkView { config: &parsed.config, issues: &parsed.issues, run: parsed.run })
}

/// One built-in network of `netCatalog` (the page's network list, from [`Net`]).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetView {
    /// The word in links (`lenet300`, ...).
    net: Net,
    /// The name shown (`LeNet-300-100`, ...).
    name: &'static str,
    /// `MNIST` or `CIFAR-10`.
    dataset: &'static str,
    /// Whether the page trains it ([`Net::trains_in_page`]).
    trains_in_page: bool,
    /// Whether the page quantizes it from a committed snapshot ([`Net::from_snapshot`]).
    from_snapshot: bool,
    /// The snapshot file in www/snapshots/ per method word ([`Net::snapshot_file`]); null
    /// for a network trained in the page.
    snapshot_files: Option<BTreeMap<&'static str, String>>,
}

/// `[NetView]` of every built-in network, in link order.
pub fn net_catalog() -> Result<JsValue, JsError> {
    let views: Vec<NetView> = Net::ALL
        .iter()
        .map(|&net| NetView {
            net,
            name: net.display_name(),
            dataset: net.dataset(),
            trains_in_page: net.trains_in_page(),
            from_snapshot: net.from_snapshot(),
            snapshot_files: net.from_snapshot().then(|| {
                Method::ALL.iter().filter_map(|&m| Some((m.as_str(), net.snapshot_file(m)?))).collect()
            }),
        })
        .collect();
    to_js(&views)
}

/// `{ importances, keeps }` of `sweepPlan`.
#[derive(Serialize)]
pub struct SweepPlanView {
    /// The importance words, in sweep order.
    pub importances: &'static [&'static str],
    /// Kept fractions of the parameters (0..1), ascending.
    pub keeps: &'static [f64],
}

/// `{ params: [{name, shape}], stepsPerEpoch, totalParams }` of a started run.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartView {
    /// Every parameter tensor, output-major shapes, in network order.
    params: Vec<LayerShape>,
    /// Optimizer steps per epoch.
    steps_per_epoch: usize,
    /// Values over all tensors.
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

/// `openSnapshot`'s description of the file: [`SnapshotInfo`] and the file's name.
#[derive(Serialize)]
pub struct OpenedView {
    #[serde(flatten)]
    pub info: SnapshotInfo,
    /// The name of the file the user chose.
    pub file: String,
}

/// What `Lab.advance` did (without the typed array `losses` of `trained`).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
enum AdvanceView {
    /// `{ kind: 'trained', steps, firstStep, doneInEpoch, stepsPerEpoch, losses }`.
    Trained {
        /// Optimizer steps run by this call.
        steps: usize,
        /// Index of the first of them since the run started.
        first_step: usize,
        /// Steps of the epoch run so far; `stepsPerEpoch` when the next call ends it.
        done_in_epoch: usize,
        steps_per_epoch: usize,
    },
    /// `{ kind: 'epochEnded', info: { epoch, accuracy, ...Summary }, finished }`.
    EpochEnded {
        info: EpochView,
        /// Whether it was the last configured epoch.
        finished: bool,
    },
    /// `{ kind: 'finished' }`: every configured epoch had run.
    Finished,
}

/// `advance` as the JS object above; `finished`: whether the session has run every epoch.
pub fn advance_info(advance: &Advance, finished: bool) -> Result<JsValue, JsError> {
    match advance {
        Advance::Trained(t) => {
            let view = AdvanceView::Trained {
                steps: t.steps,
                first_step: t.first_step,
                done_in_epoch: t.done_in_epoch,
                steps_per_epoch: t.steps_per_epoch,
            };
            convert::with_array(to_js(&view)?, "losses", &js_sys::Float32Array::from(t.losses.as_slice()))
        }
        Advance::EpochEnded(info) => to_js(&AdvanceView::EpochEnded { info: epoch_view(info)?, finished }),
        Advance::Finished => to_js(&AdvanceView::Finished),
    }
}

/// `{ epoch, accuracy, ...Summary }` of an epoch end.
#[derive(Serialize)]
struct EpochView {
    /// Completed epochs.
    epoch: usize,
    /// Test accuracy (%) of the network as it trains.
    accuracy: f64,
    #[serde(flatten)]
    summary: Summary,
}

fn epoch_view(info: &EpochInfo) -> Result<EpochView, JsError> {
    Ok(EpochView { epoch: info.epoch, accuracy: info.accuracy, summary: summary(&info.compressed)? })
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

/// `{ encoding, bytes, report }` of `reencode`.
#[derive(Serialize)]
pub struct ReencodedView {
    pub encoding: Encoding,
    /// The new file's size in bytes.
    pub bytes: u64,
    /// Its JSON report ([`RunReport`]), keys sorted.
    pub report: serde_json::Value,
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
    let pixel_js: JsValue = match map {
        Some(map) => js_sys::Float32Array::from(map.values.as_slice()).into(),
        None => JsValue::NULL,
    };
    convert::with_array(to_js(&view)?, "pixelMap", &pixel_js)
}

/// The accounting of a snapshot's setting without an evaluation.
pub fn account_info(accounted: &Accounted, config: &RunConfig) -> Result<JsValue, JsError> {
    to_js(&AccountView {
        summary: summary_of(&accounted.report, &accounted.widths),
        report: serde_json::to_value(RunReport::of(&accounted.report, config, None))?,
        importance: &accounted.importance_histogram,
    })
}
