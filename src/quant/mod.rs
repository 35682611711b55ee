//! The pure-Rust quantization core: importance, clustering, PTQ/ITQ widths, dynamic fixed
//! point, CSR accounting (and the relative-index and entropy-coded encodings) and the
//! `.agq` codec. No burn, no web APIs.

pub mod bits;
pub mod boundaries;
pub mod cluster;
pub mod codec;
pub mod csr;
pub mod encoding;
pub mod entropy;
pub mod error;
pub mod fixed_point;
pub mod importance;
pub mod itq;
pub mod layout;
pub mod log_histogram;
pub mod model;
pub mod ptq;
pub mod reaccount;
pub mod relative;
pub mod report;
pub mod settings;
pub mod sorted_tensor;
pub mod sweep;
pub mod tensor;

pub use cluster::{ClusterMethod, Clustering, assign_clusters, cluster};
pub use codec::{CodecError, decode, encode};
pub use csr::{TensorBits, account};
pub use error::QuantError;
pub use encoding::{Encoding, account_with, encode_with, encode_with_bits};
pub use fixed_point::{dequantize_code, frac_len, quantize_code};
pub use importance::ImportanceSource;
pub use itq::{ItqMode, combine, itq_step, schedule_width};
pub use model::{QuantModel, QuantTensor, quantize_model};
pub use ptq::{Ptq, ptq, ptq_widths};
pub use report::{Report, TensorReport};
pub use settings::{
    CheckedItqSettings, CheckedSettings, ItqSettings, PtqSettings, QuantSettings, SettingsError,
};
pub use tensor::ParamTensor;
