//! agq: accumulated-gradient quantization and compression of neural networks.
//!
//! Layers (dependencies point down only): the pure core (`quant`, `compress`, `snapshot`,
//! `data`, `choices`, `config`, `rng`), then `nn` (burn), then `web` (wasm-bindgen) and the `agq`
//! command line. See docs/ARCHITECTURE.md.

pub mod choices;
pub mod quant;
pub mod data;
pub mod config;
pub mod snapshot;
pub mod rng;
pub mod compress;
pub mod summary;
pub mod pixel_map;
pub mod quantize;
pub mod live_account;
pub mod opened_snapshot;

#[cfg(feature = "nn")]
pub mod nn;

#[cfg(all(feature = "web", target_arch = "wasm32"))]
pub mod web;
