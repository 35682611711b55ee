//! The link door: the page link's query string read into run settings
//! (`RunConfig::parse_query`). Properties checked beside "no panic": the settings read
//! always pass `check()`, and their own link reads back to them without an issue.

use crate::Door;
use crate::mutate::{Pick, mutate_bytes, number, random_bytes};
use agq::config::{FIELDS, Net, RunConfig};
use agq::rng::SplitMix64;

/// Valid and nearly valid values per link key.
fn values(key: &str) -> &'static [&'static str] {
    match key {
        "net" => &["lenet300", "lenet5", "alexnet", "vgg16", "LeNet5", "resnet", "lenet300 "],
        "method" => &["none", "ptq", "itq", "combined", "PTQ", "both"],
        "importance" => &["grad", "magnitude", "random", "taylor", "gradient", "hessian"],
        "clusters" => &[
            "quantile:0.5,0.8,0.95",
            "quantile:0.65,0.85,0.95",
            "quantile:0.8,0.92,0.98",
            "quantile:0.5",
            "quantile:",
            "quantile:0.5,0.5",
            "quantile:0.9,0.1",
            "quantile:0,1",
            "quantile:NaN",
            "quantile:inf",
            "quantile:1e-300,0.5",
            "kmeans:4",
            "kmeans:1",
            "kmeans:0",
            "kmeans:17",
            "kmeans:18",
            "kmeans:256",
            "kmeans:18446744073709551615",
            "kmeans:18446744073709551616",
            "kmeans:-1",
            "kmeans",
            "kmeans:4:5",
            ":",
        ],
        "widths" | "schedule" => &[
            "0,4,6,8", "8,6,4,2,0", "0,3,4,6", "0,4,5,6", "0,4,32", "16,8,8,2", "32", "0", "", ",", "0,,4", "1,2", "17",
            "33", "255", "256", "-1", "0,4,6,8,10", "8,6,4", "32,16,2,0",
        ],
        "mode" => &["freeze", "project", "Freeze"],
        "encoding" => &["csr", "relative", "entropy", "CSR", "huffman", ""],
        "optimizer" => &["sgd", "adam", "adamw"],
        "run" => &["1", "0", "true", "false", "yes", ""],
        "v" => &["1", "2", "0", "", "01"],
        _ => &["0", "1", "2", "0.5", "0.95", "1.0", "0.01", "10", "100", "200", "201", "4096", "4097", "60000", "60001", "99"],
    }
}

/// A number as link text, at the edges of the fields' ranges or far outside them.
fn odd_number(rng: &mut SplitMix64) -> String {
    match rng.index(6) {
        0 => number(rng).to_string(),
        1 => format!("-{}", number(rng)),
        2 => rng
            .pick(&[
                "NaN", "nan", "inf", "-inf", "infinity", "1e309", "-1e309", "1e-320", "-0", "0.0", "0.5000000000000001",
                "0.9999999999999999", "1e-7", "10.000000001", "0x10", "+5", " 5", "5 ", "1_000", "1e2", ".5", "5.",
                "18446744073709551615", "18446744073709551616", "340282366920938463463374607431768211456", "4294967296",
            ])
            .to_string(),
        3 => format!("{}", f64::from_bits(rng.next_u64())),
        4 => format!("{:.*}", rng.index(20), (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0),
        _ => "9".repeat(1 + rng.index(400)),
    }
}

/// Text that is not a value: broken escapes, invalid UTF-8 once decoded, markup, long runs.
fn garbage(rng: &mut SplitMix64) -> String {
    match rng.index(8) {
        0 => rng
            .pick(&[
                "%", "%%", "%G1", "%4", "%e2%82", "%ff%fe", "%00", "%C3%A9", "%2C", "%26", "%3D", "+", "++", "%2B", "<script>",
                "\"'", "\u{e9}", "\u{1F600}", "\u{0}", "\r\n", "&", "=", "==", "?", "#frag",
            ])
            .to_string(),
        1 => String::from_utf8_lossy(&random_bytes(rng, 24)).into_owned(),
        2 => (0..rng.index(3000)).map(|_| *rng.pick(&['a', '0', ',', '.', '%', ':', '-'])).collect(),
        3 => {
            // a long list of numbers
            let n = rng.index(1200);
            (0..n).map(|_| (rng.next_u64() % 40).to_string()).collect::<Vec<_>>().join(",")
        }
        4 => {
            let n = rng.index(600);
            let fr: Vec<String> = (0..n).map(|i| format!("{}", (i + 1) as f64 / (n + 2) as f64)).collect();
            format!("quantile:{}", fr.join(","))
        }
        5 => format!("kmeans:{}", number(rng)),
        6 => String::new(),
        _ => odd_number(rng),
    }
}

/// `%XX` for every byte of `s` (a valid escape of any text).
fn escape_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Links the page writes, for every network and method, with and without `run=1`.
fn seeds() -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (i, &net) in Net::ALL.iter().enumerate() {
        for method in ["none", "ptq", "itq", "combined"] {
            let mut c = RunConfig::for_net(net);
            c.method = method.parse().unwrap();
            let q = c.to_query();
            let mut pairs: Vec<(String, String)> = q
                .split('&')
                .map(|p| p.split_once('=').map_or((p.to_string(), String::new()), |(k, v)| (k.into(), v.into())))
                .collect();
            if i % 2 == 0 {
                pairs.push(("run".into(), "1".into()));
            }
            out.push(pairs);
        }
    }
    out.push(Vec::new());
    out.push(vec![("net".into(), "lenet5".into())]);
    out.push(vec![("v".into(), "1".into()), ("method".into(), "ptq".into()), ("clusters".into(), "kmeans:3".into()), ("widths".into(), "0,4,8".into())]);
    out
}

fn join(pairs: &[(String, String)], rng: &mut SplitMix64) -> String {
    let mut q = String::new();
    if rng.one_in(8) {
        q.push_str(*rng.pick(&["?", "??", "&", "?&"]));
    }
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            q.push('&');
        }
        q.push_str(k);
        if !(v.is_empty() && rng.one_in(4)) {
            q.push('=');
            q.push_str(v);
        }
    }
    q
}

/// One structure-aware mutation of a link's key-value pairs.
fn mutate_pairs(rng: &mut SplitMix64, pairs: &mut Vec<(String, String)>) {
    let all_keys: Vec<&str> = FIELDS.iter().map(|f| f.key).chain(["v", "run"]).collect();
    let n = pairs.len();
    match rng.index(11) {
        // a field set to another (maybe valid, maybe out-of-range) value
        0..=2 if n > 0 => {
            let p = rng.index(n);
            let key = pairs[p].0.clone();
            pairs[p].1 = match rng.index(4) {
                0 | 1 => rng.pick(values(&key)).to_string(),
                2 => odd_number(rng),
                _ => garbage(rng),
            };
        }
        3 if n > 0 => {
            pairs.remove(rng.index(n));
        }
        4 if n > 0 => {
            // duplicated, the copy maybe changed
            let mut dup = pairs[rng.index(n)].clone();
            if rng.one_in(2) {
                dup.1 = rng.pick(values(&dup.0)).to_string();
            }
            pairs.insert(rng.index(n + 1), dup);
        }
        5 if n > 1 => {
            let (a, b) = (rng.index(n), rng.index(n));
            pairs.swap(a, b);
        }
        6 => {
            // a key added: known, unknown, odd
            let key = match rng.index(4) {
                0 | 1 => rng.pick(&all_keys).to_string(),
                2 => rng.pick(&["nets", "NET", "", " net", "net ", "__proto__", "constructor", "v2", "a%3Db"]).to_string(),
                _ => garbage(rng),
            };
            let value = if rng.one_in(2) { rng.pick(values(&key)).to_string() } else { garbage(rng) };
            pairs.insert(rng.index(n + 1), (key, value));
        }
        7 if n > 0 => {
            // a key or value escaped as %XX throughout (reads the same), or a key renamed
            let p = rng.index(n);
            match rng.index(3) {
                0 => pairs[p].0 = escape_all(&pairs[p].0),
                1 => pairs[p].1 = escape_all(&pairs[p].1),
                _ => pairs[p].0 = rng.pick(&all_keys).to_string(),
            }
        }
        8 if n > 0 => {
            // garbage glued to a key or value
            let p = rng.index(n);
            let g = garbage(rng);
            if rng.one_in(2) { pairs[p].1.push_str(&g) } else { pairs[p].0.insert_str(0, &g) }
        }
        9 => {
            // every field from the defaults of another network, in a random order
            let mut c = RunConfig::for_net(*rng.pick(Net::ALL));
            c.seed = number(rng);
            let q = c.to_query();
            *pairs = q.split('&').map(|p| p.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).unwrap()).collect();
            rng.shuffle(pairs);
        }
        _ if n > 0 => {
            // a value of another field
            let (a, b) = (rng.index(n), rng.index(n));
            pairs[a].1 = pairs[b].1.clone();
        }
        _ => {}
    }
}

pub fn door() -> Door {
    let seeds = seeds();
    let texts: Vec<Vec<u8>> = seeds.iter().map(|s| join(s, &mut SplitMix64::new(0)).into_bytes()).collect();
    Door {
        name: "link",
        generate: Box::new(move |rng| match rng.index(16) {
            0 => random_bytes(rng, 200),
            1 => {
                // random text from the link alphabet
                let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789&=%+,.:-_?";
                (0..rng.index(120)).map(|_| *rng.pick(alphabet)).collect()
            }
            2 | 3 => {
                let mut bytes = rng.pick(&texts).clone();
                mutate_bytes(rng, &mut bytes, 6, 0, &texts);
                bytes
            }
            _ => {
                let mut pairs = rng.pick(&seeds).clone();
                for _ in 0..1 + rng.index(4) {
                    mutate_pairs(rng, &mut pairs);
                }
                let mut bytes = join(&pairs, rng).into_bytes();
                if rng.one_in(8) {
                    mutate_bytes(rng, &mut bytes, 3, 0, &texts);
                }
                bytes
            }
        }),
        run,
    }
}

/// The link as the page reads it (JavaScript strings are text: invalid UTF-8 cannot reach
/// the reader, so bytes are read as UTF-8 with replacement characters).
fn run(bytes: &[u8]) -> String {
    let query = String::from_utf8_lossy(bytes);
    let parsed = RunConfig::parse_query(&query);
    if let Err(e) = parsed.config.check() {
        panic!("the settings read from a link fail check(): {e}");
    }
    let again = RunConfig::parse_query(&parsed.config.to_query());
    assert!(again.issues.is_empty(), "the link of the settings read has issues: {:?}", again.issues);
    assert!(again.config == parsed.config, "the link of the settings read gives other settings");
    for issue in &parsed.issues {
        assert!(
            issue.field.len() <= 32 && issue.field.bytes().all(|c| c.is_ascii_alphanumeric() || b"_.-?".contains(&c)),
            "an issue names an unsanitized field {:?}",
            issue.field
        );
    }
    match (parsed.issues.len(), parsed.run) {
        (0, false) => "clean".into(),
        (0, true) => "clean+run".into(),
        (1, _) => "1 issue".into(),
        (2..=4, _) => "2-4 issues".into(),
        _ => "5+ issues".into(),
    }
}
