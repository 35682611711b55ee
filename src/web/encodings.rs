//! The storage encodings in the page: the size of a setting under each encoding (asked after
//! the millisecond CSR accounting, since it quantizes the whole network), and the last
//! result's `.agq` file re-encoded in the encoding the user picks.

use super::error::Missing;
use super::views::ReencodedView;
use super::{Lab, busy, convert, snapshot_for};
use crate::quant::codec::decode;
use crate::summary::RunReport;
use crate::quant::encoding::{Encoding, account_with, encode_with};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Lab {
    /// The `.agq` file of the loaded snapshot quantized with `config` (PTQ, accounting and
    /// encoding; no evaluation): what `finish` writes, without its minutes of evaluation.
    #[wasm_bindgen(js_name = compressSnapshot)]
    pub fn compress_snapshot(&self, config: JsValue) -> Result<js_sys::Uint8Array, JsError> {
        let (config, settings) = convert::checked(config)?;
        let mut state = self.state.try_borrow_mut().map_err(busy)?;
        let compressed = snapshot_for(state.snapshot.as_mut(), &config)?.compress(&settings)?;
        Ok(js_sys::Uint8Array::from(compressed.bytes.as_slice()))
    }

    /// The loaded snapshot quantized with `config`, sized in every encoding: `[EncodingSize]`
    /// (src/quant/report.rs), CSR first. No evaluation and no file; it quantizes the whole
    /// network (a few hundred milliseconds for VGG-16), so the page asks after `account`.
    #[wasm_bindgen(js_name = accountEncodings)]
    pub fn account_encodings(&self, config: JsValue) -> Result<JsValue, JsError> {
        let (config, settings) = convert::checked(config)?;
        let mut state = self.state.try_borrow_mut().map_err(busy)?;
        let sizes = snapshot_for(state.snapshot.as_mut(), &config)?.sizes(&settings)?;
        convert::to_js(&sizes)
    }

    /// `accountEncodings` of the opened snapshot file.
    #[wasm_bindgen(js_name = accountOpenedEncodings)]
    pub fn account_opened_encodings(&self, config: JsValue) -> Result<JsValue, JsError> {
        let (_, settings) = convert::checked(config)?;
        let state = self.state.try_borrow().map_err(busy)?;
        let opened = state.opened.as_ref().ok_or(Missing::OpenedFile)?;
        convert::to_js(&opened.sizes(&settings)?)
    }

    /// Writes the last result's `.agq` file again in `encoding` (`csr`, `relative` or
    /// `entropy`): the same quantized network, decoded and encoded. Returns `{ encoding,
    /// bytes, report }` (`bytes`: the new file's size; `report`: its JSON report); `agqBytes`
    /// then gives the new file.
    pub fn reencode(&self, encoding: &str) -> Result<JsValue, JsError> {
        let encoding: Encoding = encoding.parse()?;
        let mut state = self.state.try_borrow_mut().map_err(busy)?;
        let last = state.agq.as_mut().ok_or(Missing::Result)?;
        let model = decode(&last.bytes)?;
        let mut report = account_with(&model, encoding)?;
        last.bytes = encode_with(&model, encoding)?;
        last.config.encoding = encoding;
        report.bytes = last.bytes.len() as u64;
        let full = RunReport { encoding: Some(encoding), ..RunReport::of(&report, &last.config, last.accuracy) };
        convert::to_js(&ReencodedView { encoding, bytes: report.bytes, report: serde_json::to_value(full)? })
    }
}
