//! [`WebError`]: why a call of the wasm layer failed before or around the pipeline (what
//! the pipeline itself refuses crosses as its own typed error). Every error reaches JS as a
//! `JsError` through `?`, its message the `Display` text.

use crate::choices::Net;
use crate::data::DataError;
use crate::opened_snapshot::OpenError;
use crate::snapshot::SnapshotError;
use std::fmt;

/// What a call needs that the lab does not hold yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// `loadMnist` first.
    Mnist,
    /// `loadCifarTest` first.
    CifarTest,
    /// `loadSnapshot` first.
    Snapshot,
    /// `openSnapshot` first.
    OpenedFile,
    /// `start` first (training calls).
    Run,
    /// `start` first (quantizing the trained state).
    RunToQuantize,
    /// `start` and training first (the importance sweep).
    RunToSweep,
    /// `finish` or `finishOpened` first.
    Result,
}

/// Why a call of the wasm layer failed.
#[derive(Debug)]
pub enum WebError {
    /// Another call (awaiting) holds the lab's state.
    Busy,
    /// The call needs something loaded or made first.
    Missing(Missing),
    /// A configuration object that does not read as a `RunConfig` (`None`: not a plain
    /// object; else serde's words).
    Config(Option<String>),
    /// The loaded snapshot is of another network than the settings ask for.
    WrongSnapshot { loaded: Net, asked: Net },
    /// A data file does not parse (`what`: which set).
    Data { what: &'static str, error: DataError },
    /// A built-in network's snapshot is not a valid `agq-snapshot/1`.
    Snapshot(SnapshotError),
    /// A snapshot file the user opened (`file`: its name) cannot be opened.
    Open { file: String, error: OpenError },
    /// A result could not be written as a JS value (`what`: which).
    Build(&'static str),
}

impl fmt::Display for WebError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebError::Busy => f.write_str("the lab is busy with another call; try again when it has finished"),
            WebError::Missing(missing) => missing.fmt(f),
            WebError::Config(None) => f.write_str("invalid configuration: not a plain object"),
            WebError::Config(Some(e)) => write!(f, "invalid configuration: {e}"),
            WebError::WrongSnapshot { loaded, asked } => {
                write!(f, "the loaded snapshot is of {loaded}, the settings ask for {asked}")
            }
            WebError::Data { what, error } => write!(f, "{what}: {error}"),
            WebError::Snapshot(e) => write!(f, "the snapshot is invalid: {e}"),
            WebError::Open { file, error } => write!(f, "{file}: {error}"),
            WebError::Build(what) => write!(f, "could not build {what}"),
        }
    }
}

impl std::error::Error for WebError {}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Missing::Mnist => "the MNIST data is not loaded yet",
            Missing::CifarTest => "the CIFAR-10 test images are not loaded yet",
            Missing::Snapshot => "no snapshot is loaded",
            Missing::OpenedFile => "no snapshot file is open",
            Missing::Run => "no run started",
            Missing::RunToQuantize => "no run to quantize",
            Missing::RunToSweep => "train a network first: the sweep quantizes the trained state",
            Missing::Result => "no result yet",
        })
    }
}

impl std::error::Error for Missing {}

impl From<Missing> for WebError {
    fn from(missing: Missing) -> Self {
        WebError::Missing(missing)
    }
}
