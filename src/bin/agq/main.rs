//! `agq`, the native command line: quantize a gradient snapshot, decode an `.agq` file,
//! inspect either. Every failure prints ONE line `error: ...` on stderr and exits with
//! code 2; outputs are written through temporary files, so a failure leaves none behind.

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Declares the subcommand modules, the `Command` enum and its dispatch from one list:
/// each entry is `[#[cfg(...)]] /// doc` then `module::ArgsType => Variant`, where the
/// module has `pub fn run(args: ArgsType) -> Result<(), E>` with `E` a `String` or a [`Failure`].
macro_rules! commands {
    ($( $(#[cfg($cfg:meta)])? $(#[doc = $doc:expr])* $module:ident :: $args:ident => $variant:ident ),+ $(,)?) => {
        $( $(#[cfg($cfg)])? mod $module; )+

        #[derive(Subcommand, Debug)]
        enum Command {
            $( $(#[cfg($cfg)])? $(#[doc = $doc])* $variant($module::$args), )+
        }

        fn dispatch(command: Command) -> Result<(), Failure> {
            match command {
                $( $(#[cfg($cfg)])? Command::$variant(args) => $module::run(args).map_err(Into::into), )+
            }
        }
    };
}

commands! {
    /// Quantize a gradient snapshot (PTQ or combined) into an .agq file and a JSON report
    quantize::QuantizeArgs => Quantize,
    /// Decode an .agq file into a safetensors file of weight/P (f32)
    decode::DecodeArgs => Decode,
    /// Show the tensors of a gradient snapshot or an .agq file
    inspect::InspectArgs => Inspect,
    /// Apply one epoch-end ITQ step to a gradient snapshot (new widths, quantized values, grids)
    itq::ItqArgs => Itq,
    #[cfg(feature = "cpu")] /// Train LeNet-300-100 or LeNet-5 on MNIST (burn; CPU, or GPU with --features gpu), then quantize
    train::TrainArgs => Train,
    #[cfg(feature = "cpu")] /// Top-1 accuracy of a snapshot or a decoded .agq file
    eval::EvalArgs => Eval,
    #[cfg(feature = "cpu")] /// Train AlexNet or VGG-16 on CIFAR-10 in float and with ITQ; write both gradient snapshots
    snapshot::SnapshotArgs => Snapshot,
    #[cfg(feature = "cpu")] /// Compare importances at equal size: PTQ over a sweep of kept fractions, sizes and accuracy (JSON)
    sweep::SweepArgs => Sweep,
    #[cfg(feature = "cpu")] /// Images per second of one training step on random data (the engine comparison)
    bench_train::BenchTrainArgs => BenchTrain,
}

mod flags;
#[cfg(feature = "cpu")]
mod denormals;

/// A failed command: its message is the one line printed (a typed library error or text).
pub type Failure = Box<dyn std::error::Error>;

// Shared helpers of `train`, `eval` and `snapshot` (they need burn).
#[cfg(feature = "cpu")]
mod device;
#[cfg(feature = "cpu")]
mod files;
#[cfg(feature = "cpu")]
mod training_args;

#[derive(Parser, Debug)]
#[command(name = "agq", version, about = "Accumulated-gradient quantization and compression of neural networks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Helpers shared by the subcommands.
pub mod io {
    use std::path::{Path, PathBuf};

    /// The whole file, or an error naming it.
    pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }

    fn temp_path(path: &Path) -> PathBuf {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
    }

    /// Writes every `(path, bytes)` through a temporary file in the same folder and
    /// renames them only when all are written; on failure nothing is left behind.
    pub fn write_outputs(outputs: &[(&Path, &[u8])]) -> Result<(), String> {
        for (i, (a, _)) in outputs.iter().enumerate() {
            if outputs[..i].iter().any(|(b, _)| b == a) {
                return Err(format!("{} is named as two outputs", a.display()));
            }
        }
        let temps: Vec<PathBuf> = outputs.iter().map(|(p, _)| temp_path(p)).collect();
        let cleanup = |upto: usize| temps[..upto].iter().for_each(|t| drop(std::fs::remove_file(t)));
        for (i, ((path, bytes), tmp)) in outputs.iter().zip(&temps).enumerate() {
            if let Err(e) = std::fs::write(tmp, bytes) {
                cleanup(i + 1);
                return Err(format!("cannot write {}: {e}", path.display()));
            }
        }
        for (i, ((path, _), tmp)) in outputs.iter().zip(&temps).enumerate() {
            if let Err(e) = std::fs::rename(tmp, path) {
                temps[i..].iter().for_each(|t| drop(std::fs::remove_file(t)));
                outputs[..i].iter().for_each(|(p, _)| drop(std::fs::remove_file(p)));
                return Err(format!("cannot write {}: {e}", path.display()));
            }
        }
        Ok(())
    }
}

/// `error: ` + the message on one line.
fn report_error(message: &str) -> ExitCode {
    let line: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    eprintln!("error: {}", line.join("; "));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // A closed pipe (`agq inspect F | head`) ends the program like any Unix tool, instead of
    // a failed write to standard output.
    #[cfg(unix)]
    // SAFETY: setting a signal's action to its default at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string().replace('\n', "; ");
        eprintln!("error: internal error (a bug, please report it): {msg}");
    }));
    #[cfg(feature = "cpu")]
    if std::env::var_os("AGQ_KEEP_DENORMALS").is_none() {
        denormals::flush_everywhere();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            return report_error(first.trim_start_matches("error: "));
        }
    };
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report_error(&e.to_string()),
    }
}
