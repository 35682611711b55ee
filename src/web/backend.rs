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
        let note = if prefer_gpu {
            match Self::webgpu().await {
                Ok(backend) => return backend,
                Err(why) => format!("WebGPU unavailable ({why}); running on the CPU backend"),
            }
        } else {
            "CPU backend chosen in the page".to_string()
        };
        Self {
            device: Device::flex(),
            info: BackendInfo { kind: "cpu", adapter: "burn flex (WebAssembly)".into(), note },
        }
    }

    /// burn-wgpu on the browser's WebGPU adapter.
    #[cfg(feature = "webgpu")]
    async fn webgpu() -> Result<Self, String> {
        let (device, setup) = Device::wgpu_options().init_with_setup_async().await.map_err(|e| e.to_string())?;
        let info = setup.adapter.get_info();
        let adapter = format!("{} ({:?}, {})", info.name, info.backend, info.driver).trim().to_string();
        Ok(Self { device, info: BackendInfo { kind: "webgpu", adapter, note: "WebGPU adapter found".into() } })
    }

    /// This module is built without WebGPU (pkg/agq): the page loads pkg/agq_gpu for it.
    #[cfg(not(feature = "webgpu"))]
    async fn webgpu() -> Result<Self, String> {
        Err("this module is built for the CPU backend only".into())
    }
}
