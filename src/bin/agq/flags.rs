//! A refused setting as the command line words it: the flags at fault, then the rule.

use agq::quant::settings::SettingsError;
use agq::quantize::QuantizeError;

/// `--clusters/--widths: 3 widths for 4 clusters` (flags: link keys with `-` for `_`).
pub fn refused(e: &SettingsError) -> String {
    let flags: Vec<String> = e.fields().iter().map(|f| format!("--{}", f.replace('_', "-"))).collect();
    format!("{}: {}", flags.join("/"), e.rule())
}

/// A quantization request refused by `agq quantize`, worded with its flags.
pub fn quantize_refused(e: &QuantizeError) -> String {
    match e {
        QuantizeError::Settings(e) => refused(e),
        QuantizeError::NoTaylor(e) => format!("--importance: {e}"),
        QuantizeError::NoItqWidths => e.to_string(),
        QuantizeError::Quant(e) => e.to_string(),
    }
}
