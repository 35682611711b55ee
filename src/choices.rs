//! The word lists of the settings: one enum per concept (network, method, importance,
//! ITQ mode, optimizer), spelled the same in links, on the command line (clap parses the
//! flags with [`FromStr`]), in JSON reports, snapshots and the Python module. Plain Rust:
//! the core, the burn code (`nn`), the CLI and the wasm layer all use these types.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A word that is not in its list; names the words that are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownWord {
    /// Every accepted word, in list order (aliases not included).
    pub words: &'static [&'static str],
}

impl fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not one of {}", self.words.join(", "))
    }
}

impl std::error::Error for UnknownWord {}

/// Declares a word enum: `Name { Variant = "word" (| "alias")*, ... }`. Gives `ALL`,
/// `WORDS`, `as_str`, `FromStr` (aliases accepted, surrounding spaces ignored), `Display`
/// and serde under the word.
macro_rules! words {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s $(, alias = $alias)*)] $var),+ }
        impl $name {
            /// Every value, in link order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The words of [`Self::ALL`].
            pub const WORDS: &'static [&'static str] = &[$($s),+];
            /// The word used in links, flags, reports and files.
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $s),+ } }
        }
        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, UnknownWord> {
                match s.trim() { $($s $(| $alias)* => Ok($name::$var),)+ _ => Err(UnknownWord { words: Self::WORDS }) }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

words!(
    /// A built-in network (and with it the data set: MNIST for the LeNets, CIFAR-10 otherwise).
    Net { LeNet300 = "lenet300", LeNet5 = "lenet5", AlexNet = "alexnet", Vgg16 = "vgg16" }
);
words!(
    /// Which quantization runs: none, post-training (PTQ), in-training (ITQ), or both.
    Method {
        /// Every value stays float.
        None = "none",
        /// Post-training only.
        Ptq = "ptq",
        /// In-training only (the final widths are the ITQ widths).
        Itq = "itq",
        /// ITQ during training, then PTQ; the final width is the minimum of both.
        Combined = "combined",
    }
);
words!(
    /// Where the importance of a parameter comes from. `gradient` is read as `grad`
    /// (documented for `agq quantize` and the Python module before the lists were merged).
    Importance {
        /// The accumulated `|grad|` in `ParamTensor::importance` (the method's `G`).
        Grad = "grad" | "gradient",
        /// `|w|` (a magnitude baseline).
        Magnitude = "magnitude",
        /// Uniform in `[0, 1)`, a function of (the run's seed, flat index) only.
        Random = "random",
        /// The accumulated Taylor importance `sum_t |θ(t) · dL/dθ(t)|` in `ParamTensor::taylor`.
        Taylor = "taylor",
        /// The accumulated `|grad|` times the current `|w|` (`G_j * |θ_j|`).
        GradMagnitude = "grad-magnitude",
    }
);
words!(
    /// ITQ: what happens to quantized parameters during the rest of training.
    ItqMode {
        /// No further updates.
        Freeze = "freeze",
        /// They keep training and are re-quantized to their width after every step.
        Project = "project",
    }
);
words!(
    /// How the learning rate moves over the run: held, or decayed along a half cosine from
    /// `lr` at the first step to 0 after the last (per step, over every epoch of the run).
    LrSchedule { Constant = "constant", Cosine = "cosine" }
);
impl Default for LrSchedule {
    /// What a link from before the setting means.
    fn default() -> Self {
        LrSchedule::Constant
    }
}

words!(
    /// The optimizer: SGD with classical momentum (no dampening), or Adam with burn's
    /// defaults (beta 0.9, 0.999).
    Optimizer { Sgd = "sgd", Adam = "adam" }
);

impl Net {
    /// Input image shape `[channels, height, width]`: MNIST for the LeNets, CIFAR-10 otherwise.
    pub fn input_shape(self) -> [usize; 3] {
        match self {
            Net::LeNet300 | Net::LeNet5 => [1, 28, 28],
            Net::AlexNet | Net::Vgg16 => [3, 32, 32],
        }
    }

    /// The data set the network is trained and evaluated on.
    pub fn dataset(self) -> &'static str {
        match self {
            Net::LeNet300 | Net::LeNet5 => "MNIST",
            Net::AlexNet | Net::Vgg16 => "CIFAR-10",
        }
    }

    /// The name shown to people (the page, reports in words).
    pub fn display_name(self) -> &'static str {
        match self {
            Net::LeNet300 => "LeNet-300-100",
            Net::LeNet5 => "LeNet-5",
            Net::AlexNet => "AlexNet",
            Net::Vgg16 => "VGG-16",
        }
    }

    /// Whether the page trains the network itself (the MNIST networks).
    pub fn trains_in_page(self) -> bool {
        !self.from_snapshot()
    }

    /// Whether the network is quantized from a gradient snapshot trained offline (`agq
    /// snapshot`, the CIFAR-10 networks) instead of being trained where it is quantized.
    pub fn from_snapshot(self) -> bool {
        matches!(self, Net::AlexNet | Net::Vgg16)
    }

    /// The committed snapshot file (in www/snapshots/) a snapshot network is quantized
    /// from with `method`: the ITQ-trained `NET-itq.safetensors` (with `width/P`) for
    /// methods that use ITQ widths, else the float-trained `NET.safetensors`. `None` for a
    /// network trained in the page.
    pub fn snapshot_file(self, method: Method) -> Option<String> {
        let itq = if method.uses_itq() { "-itq" } else { "" };
        self.from_snapshot().then(|| format!("{}{itq}.safetensors", self.as_str()))
    }
}

impl Method {
    /// Whether the PTQ clusters and widths take part.
    pub fn uses_ptq(self) -> bool {
        matches!(self, Method::Ptq | Method::Combined)
    }

    /// Whether the ITQ widths (trained, or a snapshot's `width/P`) take part.
    pub fn uses_itq(self) -> bool {
        matches!(self, Method::Itq | Method::Combined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_and_an_alias_reads_as_its_word() {
        for n in Net::ALL {
            assert_eq!(n.as_str().parse::<Net>(), Ok(*n));
        }
        assert_eq!(" gradient ".parse::<Importance>(), Ok(Importance::Grad));
        assert_eq!(Importance::Grad.to_string(), "grad");
        assert_eq!(serde_json::from_str::<Importance>("\"gradient\"").unwrap(), Importance::Grad);
    }

    #[test]
    fn snapshot_networks_name_their_float_and_itq_files() {
        assert_eq!(Net::AlexNet.snapshot_file(Method::Ptq).as_deref(), Some("alexnet.safetensors"));
        assert_eq!(Net::Vgg16.snapshot_file(Method::Combined).as_deref(), Some("vgg16-itq.safetensors"));
        assert_eq!(Net::LeNet5.snapshot_file(Method::Itq), None);
        let trained: Vec<&str> = Net::ALL.iter().filter(|n| n.trains_in_page()).map(|n| n.as_str()).collect();
        assert_eq!(trained, ["lenet300", "lenet5"]);
    }

    #[test]
    fn an_unknown_word_names_the_list() {
        let e = "qat".parse::<Method>().unwrap_err();
        assert_eq!(e.to_string(), "not one of none, ptq, itq, combined");
    }
}
