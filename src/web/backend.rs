//! Choosing the compute backend: WebGPU when the browser has an adapter, else burn's CPU
//! backend, and saying which one runs (never a silent fallback).

use burn::tensor::Device;
use serde::Serialize;

/// What the page's badge shows.
#[derive(Clone, Debug, Serialize)]
pub struct BackendInfo {
    /// `webgpu` or `cpu`.
    pub kind: &'static str,
    /// The adapter's name and driver, or the CPU backend's name.
    pub adapter: String,
    /// Why this backend was chosen.
    pub note: String,
}

/// The device every tensor of the page lives on.
pub struct Backend {
    pub device: Device,
    pub info: BackendInfo,
}

impl Backend {
    /// Tries WebGPU first when `prefer_gpu`, else (or on failure) the CPU backend.
    pub async fn init(prefer_gpu: bool) -> Self {
        let note = if !prefer_gpu {
            "CPU backend chosen in the page".to_string()
        } else {
            match Device::wgpu_options().init_with_setup_async().await {
                Ok((device, setup)) => {
                    let info = setup.adapter.get_info();
                    let adapter = format!("{} ({:?}, {})", info.name, info.backend, info.driver).trim().to_string();
                    return Self {
                        device,
                        info: BackendInfo { kind: "webgpu", adapter, note: "WebGPU adapter found".into() },
                    };
                }
                Err(e) => format!("WebGPU unavailable ({e}); running on the CPU backend"),
            }
        };
        Self {
            device: Device::flex(),
            info: BackendInfo { kind: "cpu", adapter: "burn flex (WebAssembly)".into(), note },
        }
    }
}
