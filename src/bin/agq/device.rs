//! `--device cpu|gpu`: where `train`, `eval` and `snapshot` run. `cpu` is burn's flex
//! backend; `gpu` is burn's wgpu backend natively (Vulkan, Metal or DX12: the same code
//! path as WebGPU in the page), in an `agq` built with `--features gpu`.

use burn::tensor::Device;
use clap::Args;

#[derive(Args, Debug)]
pub struct DeviceArgs {
    /// cpu (burn flex) | gpu (burn wgpu: Vulkan, Metal or DX12; needs an agq built with
    /// --features gpu) | ndarray (burn ndarray, the other CPU backend; --features ndarray)
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// A device and a description of it for logs and provenance.
pub struct ChosenDevice {
    pub device: Device,
    /// e.g. `burn flex (CPU)` or `burn wgpu, NVIDIA H200 (Vulkan, 550.54)`.
    pub name: String,
}

impl DeviceArgs {
    /// Opens the chosen device; a GPU that cannot be opened is an error, never a silent
    /// fallback to the CPU.
    pub fn open(&self) -> Result<ChosenDevice, String> {
        match self.device.as_str() {
            "cpu" => Ok(ChosenDevice { device: Device::flex(), name: "burn flex (CPU)".into() }),
            "gpu" => open_gpu(),
            "ndarray" => open_ndarray(),
            other => Err(format!("--device: {other:?} is not cpu, gpu or ndarray")),
        }
    }
}

#[cfg(feature = "gpu")]
fn open_gpu() -> Result<ChosenDevice, String> {
    let (device, setup) = Device::wgpu_options().init_with_setup().map_err(|e| format!("--device gpu: no usable GPU adapter ({e})"))?;
    let info = setup.adapter.get_info();
    let name = format!("burn wgpu, {} ({:?}, {})", info.name, info.backend, info.driver).trim().to_string();
    Ok(ChosenDevice { device, name })
}

#[cfg(not(feature = "gpu"))]
fn open_gpu() -> Result<ChosenDevice, String> {
    Err("--device gpu: this agq was built without GPU support (cargo build --release --features gpu)".into())
}

#[cfg(feature = "ndarray")]
fn open_ndarray() -> Result<ChosenDevice, String> {
    Ok(ChosenDevice { device: Device::ndarray(), name: "burn ndarray (CPU)".into() })
}

#[cfg(not(feature = "ndarray"))]
fn open_ndarray() -> Result<ChosenDevice, String> {
    Err("--device ndarray: this agq was built without it; build with --features ndarray".into())
}
