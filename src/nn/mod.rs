//! burn code: models, training with accumulated |grad|, evaluation, and parameter
//! read-out / write-back. One code path for every backend (burn's runtime `Device`).

pub mod accumulate;
pub mod batches;
pub mod constraint;
pub mod error;
pub mod eval;
pub mod load;
pub mod models;
pub mod params;
pub mod session;
pub mod snapshot_eval;
pub mod train;

pub use error::NnError;
