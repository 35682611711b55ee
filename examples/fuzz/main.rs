//! Fuzzing the three doors through which untrusted input enters agq, on stable Rust:
//! the page link (`RunConfig::parse_query`), the gradient snapshot reader
//! (`OpenedSnapshot::from_bytes`, `Snapshot::from_bytes`, `weights_from_bytes`) and the
//! `.agq` decoder (`decode_with_limit`, every encoding). See docs/FUZZ.md.
//!
//! ```sh
//! make fuzz     # = cargo run --release --no-default-features --example fuzz -- --inputs 1000000 --seed 1
//! ```
//!
//! Each door gets `--inputs` inputs from a small deterministic mutator (SplitMix64 from
//! `--seed`): structure-aware mutations of valid inputs plus random bytes. Every input runs
//! under `catch_unwind` with a quiet panic hook that records the message. An input also
//! fails when one allocation asks for more than `--max-alloc` bytes, or when it runs longer
//! than `--hang-secs` (a watchdog thread prints it and ends the process). The first failure
//! of a door is reduced by deletion passes and printed as hex. The run ends with one line
//! per door, `fuzz link: 1,000,000 inputs, 0 panics`, and exits 1 if any door failed.

mod agq_door;
mod link_door;
mod mutate;
mod snapshot_door;

use agq::rng::SplitMix64;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, recording the largest single request since the last reset.
struct PeakAlloc;

static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        PEAK.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        PEAK.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        PEAK.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: PeakAlloc = PeakAlloc;

thread_local! {
    /// The message and location of the last panic on this thread (set by the quiet hook).
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether a door is running (a panic elsewhere, in the mutator, is printed at once).
    static IN_DOOR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The input now running, for the watchdog: (door, index, bytes).
static CURRENT: Mutex<(&str, u64, Vec<u8>)> = Mutex::new(("", 0, Vec::new()));
/// Inputs started so far (all doors); the watchdog sees progress through it.
static STARTED: AtomicU64 = AtomicU64::new(0);

/// One door: its name, a generator of inputs, and the code under test. `run` returns a
/// short label of the outcome (`ok`, an error variant...) for the statistics; it panics
/// when the door panics or a checked property of its result does not hold.
pub struct Door {
    pub name: &'static str,
    pub generate: Box<dyn FnMut(&mut SplitMix64) -> Vec<u8>>,
    pub run: fn(&[u8]) -> String,
}

/// How one input failed.
#[derive(Clone, Debug)]
struct Failure {
    /// `panic at FILE:LINE` or `allocation`: two failures with the same kind are the same bug
    /// for the reduction.
    kind: String,
    message: String,
}

/// Runs one input: `Ok(label)` or how it failed.
fn run_one(door: &Door, input: &[u8], max_alloc: usize) -> Result<String, Failure> {
    PEAK.store(0, Ordering::Relaxed);
    LAST_PANIC.with(|p| p.borrow_mut().take());
    IN_DOOR.with(|d| d.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| (door.run)(input)));
    IN_DOOR.with(|d| d.set(false));
    let peak = PEAK.load(Ordering::Relaxed);
    match result {
        Err(_) => {
            let message = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "panic".into());
            // `panic at FILE:LINE:COL ...` names the bug by FILE:LINE
            let mut parts = message.trim_start_matches("panic at ").splitn(3, ':');
            let kind = format!("{}:{}", parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            Err(Failure { kind, message })
        }
        Ok(_) if peak > max_alloc => Err(Failure {
            kind: "allocation".into(),
            message: format!("one allocation of {peak} bytes (more than --max-alloc {max_alloc}) for a {}-byte input", input.len()),
        }),
        Ok(label) => Ok(label),
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// CPU seconds this thread has used (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // the fields after the command name (which ends with the last ')'): utime is the 12th
    let fields: Vec<&str> = stat.rsplit_once(')').map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string())).collect()
}

struct Options {
    inputs: u64,
    seed: u64,
    doors: Vec<String>,
    max_alloc: usize,
    hang_secs: u64,
    replay: Option<(String, Vec<u8>)>,
}

const USAGE: &str = "usage: fuzz [--inputs N] [--seed N] [--door link|snapshot|agq]... [--max-alloc BYTES] [--hang-secs S]
       fuzz --replay DOOR HEX      run one input (e.g. a reduced failure) and print its outcome";

fn options() -> Result<Options, String> {
    let mut o = Options {
        inputs: 1_000_000,
        seed: 1,
        doors: Vec::new(),
        max_alloc: 64 << 20,
        hang_secs: 10,
        replay: None,
    };
    let mut args = std::env::args().skip(1);
    let num = |v: Option<String>, what: &str| -> Result<u64, String> {
        let v = v.ok_or(format!("{what} needs a value"))?;
        v.replace([',', '_'], "").parse().map_err(|_| format!("{what}: {v:?} is not a whole number"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--inputs" => o.inputs = num(args.next(), "--inputs")?,
            "--seed" => o.seed = num(args.next(), "--seed")?,
            "--max-alloc" => o.max_alloc = num(args.next(), "--max-alloc")? as usize,
            "--hang-secs" => o.hang_secs = num(args.next(), "--hang-secs")?.max(1),
            "--door" => o.doors.extend(args.next().ok_or("--door needs a value")?.split(',').map(str::to_string)),
            "--replay" => {
                let door = args.next().ok_or("--replay needs a door and a hex input")?;
                let bytes = unhex(&args.next().ok_or("--replay needs a hex input")?)?;
                o.replay = Some((door, bytes));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(o)
}

/// Prints the input now running and ends the process when it has run `hang_secs`.
fn start_watchdog(hang_secs: u64) {
    std::thread::spawn(move || {
        let mut last = (u64::MAX, Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(250));
            let started = STARTED.load(Ordering::Relaxed);
            if started != last.0 {
                last = (started, Instant::now());
            } else if last.1.elapsed() >= Duration::from_secs(hang_secs) {
                let current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
                println!(
                    "fuzz {}: input {} has run for {hang_secs} s (a hang?); the input, {} bytes, as hex:\n{}",
                    current.0,
                    current.1,
                    current.2.len(),
                    hex(&current.2)
                );
                std::process::exit(2);
            }
        }
    });
}

/// The shortest input found by deleting chunks (halves, quarters, ... single bytes) while
/// the input still fails the same way; at most `budget` runs.
fn reduce(door: &Door, input: &[u8], kind: &str, max_alloc: usize, mut budget: usize) -> Vec<u8> {
    let mut best = input.to_vec();
    let fails = |candidate: &[u8], budget: &mut usize| {
        *budget = budget.saturating_sub(1);
        matches!(run_one(door, candidate, max_alloc), Err(f) if f.kind == kind)
    };
    loop {
        let before = best.len();
        let mut chunk = best.len().div_ceil(2).max(1);
        loop {
            let mut i = 0;
            while i < best.len() && budget > 0 {
                let mut candidate = best.clone();
                candidate.drain(i..(i + chunk).min(best.len()));
                if fails(&candidate, &mut budget) {
                    best = candidate;
                } else {
                    i += chunk;
                }
            }
            if chunk == 1 || budget == 0 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
        if best.len() == before || budget == 0 {
            return best;
        }
    }
}

/// What one door's run found.
struct Tally {
    name: &'static str,
    inputs: u64,
    failures: u64,
    seconds: f64,
}

fn fuzz_door(door: &mut Door, o: &Options) -> Tally {
    // each door draws from its own stream, so `--door agq` alone sees the same inputs
    let salt = door.name.bytes().fold(0u64, |h, b| agq::rng::splitmix64_mix(h ^ b as u64));
    let mut rng = SplitMix64::new(o.seed ^ salt);
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut kinds: BTreeMap<String, (u64, Failure, Vec<u8>)> = BTreeMap::new();
    let mut failures = 0u64;
    let (mut bytes_total, mut longest) = (0u64, 0usize);
    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    for index in 0..o.inputs {
        // a bug in the mutator is printed by the hook and skips the input, not the run
        let Ok(input) = catch_unwind(AssertUnwindSafe(|| (door.generate)(&mut rng))) else {
            *outcomes.entry("MUTATOR FAILED".into()).or_default() += 1;
            continue;
        };
        bytes_total += input.len() as u64;
        longest = longest.max(input.len());
        {
            let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
            current.0 = door.name;
            current.1 = index;
            current.2.clear();
            current.2.extend_from_slice(&input);
        }
        STARTED.fetch_add(1, Ordering::Relaxed);
        match run_one(door, &input, o.max_alloc) {
            Ok(label) => *outcomes.entry(label).or_default() += 1,
            Err(f) => {
                failures += 1;
                *outcomes.entry("FAILED".into()).or_default() += 1;
                kinds.entry(f.kind.clone()).or_insert((0, f, input)).0 += 1;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let mut labels: Vec<(String, u64)> = outcomes.into_iter().collect();
    labels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown: Vec<String> = labels.iter().take(12).map(|(l, n)| format!("{l} {}", thousands(*n))).collect();
    let more = labels.len().saturating_sub(12);
    println!(
        "{}: {} inputs in {seconds:.1} s ({cpu:.1} s of CPU, {}/s), mean {} bytes, longest {}; outcomes: {}{}",
        door.name,
        thousands(o.inputs),
        thousands((o.inputs as f64 / seconds.max(1e-9)) as u64),
        bytes_total / o.inputs.max(1),
        thousands(longest as u64),
        shown.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    );
    for (kind, (count, first, input)) in &kinds {
        println!("{}: {} failures at {kind}; the first: {}", door.name, thousands(*count), first.message);
        let reduced = reduce(door, input, kind, o.max_alloc, 20_000);
        println!("{}: reduced from {} to {} bytes, as hex:\n{}", door.name, input.len(), reduced.len(), hex(&reduced));
        if door.name == "link" {
            println!("{}: as text: {:?}", door.name, String::from_utf8_lossy(&reduced));
        }
    }
    Tally { name: door.name, inputs: o.inputs, failures, seconds }
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fuzz: {e}");
            std::process::exit(2);
        }
    };
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map_or("unknown".to_string(), |l| format!("{}:{}", l.file(), l.line()));
        let payload = info.payload();
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        // a panic inside the standard library (an overflow in `Iterator::product`, an index
        // out of bounds in a slice method) is placed by the first frame in this crate
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/");
        let in_crate = |path: &str| {
            let path = path.trim_start_matches(root).trim_start_matches("./");
            (path.starts_with("src/") || path.starts_with("examples/")).then(|| path.to_string())
        };
        let ours = match in_crate(&at) {
            Some(_) => None,
            None => {
                let trace = std::backtrace::Backtrace::force_capture().to_string();
                trace.lines().filter_map(|l| l.trim().strip_prefix("at ")).filter(|l| !l.contains("examples/fuzz/main.rs")).find_map(in_crate)
            }
        };
        let message = match ours {
            Some(frame) => format!("panic at {frame} (in {at}): {text}"),
            None => format!("panic at {}: {text}", in_crate(&at).unwrap_or(at)),
        };
        if !IN_DOOR.with(|d| d.get()) {
            eprintln!("fuzz: the fuzzer itself failed: {message}");
        }
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(message));
    }));
    let mut doors = vec![link_door::door(), snapshot_door::door(), agq_door::door()];
    if let Some((name, bytes)) = &o.replay {
        let Some(door) = doors.iter().find(|d| d.name == name) else {
            eprintln!("fuzz: no door {name:?} (link, snapshot, agq)");
            std::process::exit(2);
        };
        match run_one(door, bytes, o.max_alloc) {
            Ok(label) => println!("fuzz {name}: {label}"),
            Err(f) => {
                println!("fuzz {name}: FAILED: {}", f.message);
                std::process::exit(1);
            }
        }
        return;
    }
    if let Some(d) = o.doors.iter().find(|d| !doors.iter().any(|door| door.name == d.as_str())) {
        eprintln!("fuzz: no door {d:?} (link, snapshot, agq)");
        std::process::exit(2);
    }
    start_watchdog(o.hang_secs);
    let mut tallies = Vec::new();
    for door in doors.iter_mut().filter(|d| o.doors.is_empty() || o.doors.iter().any(|n| n == d.name)) {
        tallies.push(fuzz_door(door, &o));
    }
    let total: f64 = tallies.iter().map(|t| t.seconds).sum();
    println!("seed {}, {total:.1} s in all", o.seed);
    for t in &tallies {
        println!("fuzz {}: {} inputs, {} panics", t.name, thousands(t.inputs), thousands(t.failures));
    }
    if tallies.iter().any(|t| t.failures > 0) {
        std::process::exit(1);
    }
}
