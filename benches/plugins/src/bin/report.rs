//! `report`: BENCHMARKS.md's tables and the plots under `docs/benchmarks/`,
//! from criterion's output of the `plugins` benchmark.
//!
//! ```text
//! cargo run --release -p plugins-bench --bin report [-- --criterion DIR --out REPO_ROOT]
//! ```
//!
//! It reads `DIR/<group>/<function>/new/estimates.json` (criterion's median
//! and its 95% confidence interval, in nanoseconds) and the optional notes
//! file `DIR/plugins-notes.json` (`{"group/function": "short text"}`), then
//! rewrites what lies between `<!-- report:begin -->` and
//! `<!-- report:end -->` in `REPO_ROOT/BENCHMARKS.md` (everything outside the
//! markers stays as it is) and writes one SVG per workload plus
//! `overview.svg` into `REPO_ROOT/docs/benchmarks/`.
//!
//! The machine, toolchain and crate versions written are those of where the
//! report runs (`scripts/bench-plugins` runs it right after the benchmark,
//! on the same machine) and of this repository's Cargo.lock.
//!
//! The same input gives byte-identical files. A missing estimate is "—", never
//! a panic.
//!
//! The plots are drawn with plotters' SVG backend without its `ttf` feature:
//! the SVG backend writes `<text>` elements and leaves the glyphs to whatever
//! renders the SVG, so no font is needed here. Plotters then measures text
//! with a crude built-in estimate, which only places the axis labels; the
//! bars' labels are placed by this file from its own width estimate.

use plotters::coord::combinators::BindKeyPoints;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::UNIX_EPOCH;

/// The workloads, in the table's order.
const GROUPS: [&str; 7] =
    ["call_overhead", "integrate_10k", "integrate_100k", "boids_2k", "events_10k", "load_instantiate", "hot_reload"];
/// The systems, in the table's order; other functions found follow them.
const SYSTEMS: [&str; 7] = ["native", "wasm_mod", "lua", "rhai", "dylib", "rpc", "json_boundary"];
/// The systems of the "how much faster wasm_mod is" table.
const VS_WASM: [&str; 4] = ["lua", "rhai", "rpc", "json_boundary"];
const BEGIN: &str = "<!-- report:begin -->";
const END: &str = "<!-- report:end -->";
const NOTES_FILE: &str = "plugins-notes.json";
const PLOTS_DIR: &str = "docs/benchmarks";
const USAGE: &str = "usage: report [--criterion DIR] [--out REPO_ROOT]

  --criterion DIR   criterion's output (default: $CRITERION_HOME, else
                    $CARGO_TARGET_DIR/criterion, else REPO/target/criterion)
  --out REPO_ROOT   where BENCHMARKS.md and docs/benchmarks/ are written
                    (default: this crate's repository)";

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("report: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args, &Environment::collect(&plugins_bench::repo())) {
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("report: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, PartialEq)]
struct Args {
    criterion: PathBuf,
    out: PathBuf,
}

impl Args {
    /// `Ok(None)` for `--help`.
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
        let (mut criterion, mut out) = (None, None);
        while let Some(arg) = args.next() {
            let slot = match arg.as_str() {
                "--criterion" => &mut criterion,
                "--out" => &mut out,
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown argument `{other}`")),
            };
            *slot = Some(PathBuf::from(args.next().ok_or_else(|| format!("{arg} needs a value"))?));
        }
        let criterion = criterion.unwrap_or_else(plugins_bench::criterion_dir);
        Ok(Some(Args { criterion, out: out.unwrap_or_else(plugins_bench::repo) }))
    }
}

/// Reads the estimates, writes BENCHMARKS.md and the plots; returns the files
/// written.
fn run(args: &Args, env: &Environment) -> Result<Vec<PathBuf>, String> {
    let results = Results::load(&args.criterion);
    for warning in &results.warnings {
        eprintln!("report: warning: {warning}");
    }
    let count = results.groups.iter().flat_map(|g| &g.cells).filter(|(_, c)| c.estimate.is_some()).count();
    if count == 0 {
        return Err(format!(
            "no estimates under {} (expected <group>/<function>/new/estimates.json): nothing written",
            args.criterion.display()
        ));
    }
    println!("read {count} estimates from {}", args.criterion.display());
    let mut written = Vec::new();
    let plots = args.out.join(PLOTS_DIR);
    fs::create_dir_all(&plots).map_err(|e| format!("cannot create {}: {e}", plots.display()))?;
    let mut svgs: Vec<(String, String)> =
        results.groups.iter().map(|g| Ok((format!("{}.svg", g.name), group_svg(g)?))).collect::<Result<_, String>>()?;
    svgs.push(("overview.svg".into(), overview_svg(&results.groups)?));
    for (name, svg) in svgs {
        let path = plots.join(name);
        fs::write(&path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    let md_path = args.out.join("BENCHMARKS.md");
    let old = match fs::read_to_string(&md_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => SKELETON.to_string(),
        Err(e) => return Err(format!("cannot read {}: {e}", md_path.display())),
    };
    let new = splice(&old, &markdown(&results, env))?;
    fs::write(&md_path, new).map_err(|e| format!("cannot write {}: {e}", md_path.display()))?;
    written.insert(0, md_path);
    Ok(written)
}

// ---------------------------------------------------------------------------
// Reading criterion's output.

/// Criterion's median and its confidence interval, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Estimate {
    median: f64,
    lower: f64,
    upper: f64,
}

impl Estimate {
    fn parse(text: &str) -> Result<Estimate, String> {
        let json: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let median = &json["median"];
        let number = |v: &Value, what: &str| {
            v.as_f64().filter(|x| x.is_finite() && *x >= 0.0).ok_or_else(|| format!("no valid {what}"))
        };
        let point = number(&median["point_estimate"], "median.point_estimate")?;
        let ci = &median["confidence_interval"];
        // An interval is optional: without one the whisker is empty.
        let lower = number(&ci["lower_bound"], "").unwrap_or(point);
        let upper = number(&ci["upper_bound"], "").unwrap_or(point);
        Ok(Estimate { median: point, lower: lower.min(point), upper: upper.max(point) })
    }
}

#[derive(Debug, Default)]
struct Cell {
    estimate: Option<Estimate>,
    note: Option<String>,
}

/// One workload: the functions that have an estimate or a note, in order.
#[derive(Debug)]
struct Group {
    name: &'static str,
    cells: Vec<(String, Cell)>,
}

impl Group {
    fn estimate(&self, function: &str) -> Option<Estimate> {
        self.cells.iter().find(|(f, _)| f == function).and_then(|(_, c)| c.estimate)
    }

    fn cell(&self, function: &str) -> Option<&Cell> {
        self.cells.iter().find(|(f, _)| f == function).map(|(_, c)| c)
    }

    /// What the ratios are to: `native`, else `wasm_mod`.
    fn baseline(&self) -> Option<(&'static str, f64)> {
        ["native", "wasm_mod"]
            .into_iter()
            .find_map(|f| self.estimate(f).filter(|e| e.median > 0.0).map(|e| (f, e.median)))
    }
}

#[derive(Debug)]
struct Results {
    groups: Vec<Group>,
    /// The table's columns: every system, then the other functions found.
    columns: Vec<String>,
    /// The oldest and newest estimates' modification times, in Unix seconds.
    measured: Option<(u64, u64)>,
    warnings: Vec<String>,
}

impl Results {
    fn load(criterion: &Path) -> Results {
        let mut warnings = Vec::new();
        let mut notes = read_notes(&criterion.join(NOTES_FILE), &mut warnings);
        let mut measured: Option<(u64, u64)> = None;
        let mut extras = Vec::new();
        let mut groups = Vec::new();
        for name in GROUPS {
            let mut found: BTreeMap<String, Cell> = BTreeMap::new();
            let mut entries: Vec<_> = match fs::read_dir(criterion.join(name)) {
                Ok(dir) => dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
                Err(_) => Vec::new(),
            };
            entries.sort();
            for function in entries {
                let path = criterion.join(name).join(&function).join("new/estimates.json");
                let Ok(text) = fs::read_to_string(&path) else { continue };
                match Estimate::parse(&text) {
                    Ok(estimate) => found.entry(function).or_default().estimate = Some(estimate),
                    Err(e) => {
                        warnings.push(format!("{}: {e}", path.display()));
                        continue;
                    }
                }
                let mtime = fs::metadata(&path).and_then(|m| m.modified()).ok();
                if let Some(secs) = mtime.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs()) {
                    measured = Some(measured.map_or((secs, secs), |(a, b)| (a.min(secs), b.max(secs))));
                }
            }
            let prefix = format!("{name}/");
            let keys: Vec<String> = notes.keys().filter(|k| k.starts_with(&prefix)).cloned().collect();
            for key in keys {
                let note = notes.remove(&key).unwrap_or_default();
                found.entry(key[prefix.len()..].to_string()).or_default().note = Some(note);
            }
            let mut cells = Vec::new();
            for system in SYSTEMS {
                if let Some(cell) = found.remove(system) {
                    cells.push((system.to_string(), cell));
                }
            }
            for (function, cell) in found {
                if !extras.contains(&function) {
                    extras.push(function.clone());
                }
                cells.push((function, cell));
            }
            groups.push(Group { name, cells });
        }
        for key in notes.keys() {
            warnings.push(format!("note `{key}` names no known group/function; known groups: {}", GROUPS.join(", ")));
        }
        extras.sort();
        let columns = SYSTEMS.iter().map(|s| s.to_string()).chain(extras).collect();
        Results { groups, columns, measured, warnings }
    }
}

fn read_notes(path: &Path, warnings: &mut Vec<String>) -> BTreeMap<String, String> {
    let Ok(text) = fs::read_to_string(path) else { return BTreeMap::new() };
    match serde_json::from_str::<BTreeMap<String, Value>>(&text) {
        Ok(map) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                other => {
                    warnings.push(format!("{}: note `{k}` is not a string: {other}", path.display()));
                    None
                }
            })
            .collect(),
        Err(e) => {
            warnings.push(format!("{}: {e}", path.display()));
            BTreeMap::new()
        }
    }
}

// ---------------------------------------------------------------------------
// Formatting.

/// `x` rounded to `digits` significant digits.
fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// `x` with `digits` significant digits (more for large integers: 1234 stays 1234).
fn fmt_sig(x: f64, digits: i32) -> String {
    let r = round_sig(x, digits);
    if r == 0.0 || !r.is_finite() {
        return format!("{r}");
    }
    let decimals = (digits - 1 - r.abs().log10().floor() as i32).max(0) as usize;
    format!("{r:.decimals$}")
}

/// A time in nanoseconds with a unit and 3 significant digits: `190 µs`.
fn fmt_time(ns: f64) -> String {
    let (value, unit) = scale_time(round_sig(ns, 3));
    format!("{} {unit}", fmt_sig(value, 3))
}

/// An axis tick: `1 µs`, `200 ns`, `2.5 ms`.
fn fmt_tick(ns: f64) -> String {
    let (value, unit) = scale_time(round_sig(ns, 3));
    let mut text = fmt_sig(value, 3);
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{text} {unit}")
}

fn scale_time(ns: f64) -> (f64, &'static str) {
    match ns.abs() {
        x if x < 1e3 => (ns, "ns"),
        x if x < 1e6 => (ns / 1e3, "µs"),
        x if x < 1e9 => (ns / 1e6, "ms"),
        _ => (ns / 1e9, "s"),
    }
}

/// An axis tick: `0.001×`, `1×`, `10×`.
fn fmt_tick_ratio(r: f64) -> String {
    let text = fmt_sig(r, 2);
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    format!("{text}×")
}

/// A ratio: `2.1×`, `38×`, `0.47×`, `1250×`.
fn fmt_ratio(r: f64) -> String {
    if r >= 100.0 { format!("{r:.0}×") } else { format!("{}×", fmt_sig(r, 2)) }
}

/// A note inside a markdown table cell.
fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Year, month, day, hour, minute (UTC) of a Unix time.
fn utc(secs: u64) -> (i64, u32, u32, u32, u32) {
    // Howard Hinnant's civil_from_days.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let rem = secs % 86_400;
    (year, month, day, (rem / 3_600) as u32, (rem % 3_600 / 60) as u32)
}

/// `2025-06-01 14:03–14:41 UTC`, or with two dates when the run crossed midnight.
fn fmt_span((from, to): (u64, u64)) -> String {
    let date = |(y, m, d, _, _): (i64, u32, u32, u32, u32)| format!("{y:04}-{m:02}-{d:02}");
    let time = |(_, _, _, h, min): (i64, u32, u32, u32, u32)| format!("{h:02}:{min:02}");
    let (a, b) = (utc(from), utc(to));
    if (date(a), time(a)) == (date(b), time(b)) {
        format!("{} {} UTC", date(a), time(a))
    } else if date(a) == date(b) {
        format!("{} {}–{} UTC", date(a), time(a), time(b))
    } else {
        format!("{} {} UTC – {} {} UTC", date(a), time(a), date(b), time(b))
    }
}

// ---------------------------------------------------------------------------
// The machine and the versions.

/// Where the numbers were measured and with what.
#[derive(Debug, Clone, PartialEq)]
struct Environment {
    cpu: String,
    memory: String,
    kernel: String,
    rustc: String,
    crates: String,
}

impl Environment {
    fn collect(repo: &Path) -> Environment {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim()))
            .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| "unknown CPU".into());
        let logical = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
        let cores =
            if logical > 0 { logical } else { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) };
        let memory = fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                let line = m.lines().find(|l| l.starts_with("MemTotal:"))?.to_string();
                let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
                Some(format!("{:.1} GiB", kb / (1024.0 * 1024.0)))
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .or_else(|| command_output("uname", &["-r"]))
            .map(|k| format!("Linux {}", k.trim()))
            .unwrap_or_else(|| "unknown".into());
        let rustc = command_output("rustc", &["-V"]).map(|v| v.trim().to_string()).unwrap_or_else(|| "unknown".into());
        let lock = fs::read_to_string(repo.join("Cargo.lock")).unwrap_or_default();
        Environment {
            cpu: format!("{model}, {cores} logical cores"),
            memory,
            kernel,
            rustc,
            crates: crate_versions(&parse_lock(&lock), &cargo_home()),
        }
    }
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_default()
}

#[derive(Debug, PartialEq)]
struct LockPackage {
    name: String,
    version: String,
    dependencies: Vec<String>,
}

/// The `[[package]]` entries of a Cargo.lock (only what is needed here).
fn parse_lock(text: &str) -> Vec<LockPackage> {
    let mut packages: Vec<LockPackage> = Vec::new();
    let mut in_deps = false;
    let unquote = |s: &str| s.trim().trim_end_matches(',').trim_matches('"').to_string();
    for line in text.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            packages.push(LockPackage { name: String::new(), version: String::new(), dependencies: Vec::new() });
            in_deps = false;
        } else if let Some(package) = packages.last_mut() {
            if in_deps {
                if line.starts_with(']') {
                    in_deps = false;
                } else {
                    package.dependencies.push(unquote(line));
                }
            } else if let Some(v) = line.strip_prefix("name = ") {
                package.name = unquote(v);
            } else if let Some(v) = line.strip_prefix("version = ") {
                package.version = unquote(v);
            } else if line.starts_with("dependencies = [") {
                in_deps = !line.ends_with(']');
            } else if line.starts_with('[') {
                in_deps = false;
            }
        }
    }
    packages
}

/// The version of `name` that `user` depends on; for a crate `user` does not
/// depend on directly, every version in the lock file.
fn lock_version(packages: &[LockPackage], user: &str, name: &str) -> Option<String> {
    let versions: Vec<&str> = packages.iter().filter(|p| p.name == name).map(|p| p.version.as_str()).collect();
    let direct = packages.iter().find(|p| p.name == user).and_then(|p| {
        p.dependencies.iter().find_map(|d| {
            let mut words = d.split_whitespace();
            (words.next() == Some(name)).then(|| words.next().map(str::to_string))
        })
    });
    match direct {
        Some(Some(version)) => Some(version),
        _ if versions.is_empty() => None,
        _ => Some(versions.join(" and ")),
    }
}

/// `bevy 0.19.1, wasmtime 48.0.8, mlua 0.12.2 (Lua 5.4.9, vendored by lua-src 551.0.2), …`.
fn crate_versions(packages: &[LockPackage], cargo_home: &Path) -> String {
    let user = "plugins-bench";
    let version = |name: &str| lock_version(packages, user, name).unwrap_or_else(|| "?".into());
    let lua_src = lock_version(packages, user, "lua-src");
    // lua-src bundles every Lua release it can build; mlua's `lua54` feature
    // builds its `lua-5.4.*` directory, whose name is the exact release.
    let lua = lua_src.as_deref().and_then(|v| lua54_release(cargo_home, v)).unwrap_or_else(|| "5.4".into());
    let lua_src = lua_src.map(|v| format!(", vendored by lua-src {v}")).unwrap_or_default();
    let mut parts = Vec::new();
    for name in ["bevy", "wasmtime", "mlua", "rhai", "libloading", "postcard", "serde_json", "criterion"] {
        let mut part = format!("{name} {}", version(name));
        if name == "mlua" {
            let _ = write!(part, " (Lua {lua}{lua_src})");
        }
        parts.push(part);
    }
    parts.join(", ")
}

/// `5.4.9` from the sources of lua-src `version` in cargo's registry.
fn lua54_release(cargo_home: &Path, version: &str) -> Option<String> {
    let mut registries: Vec<PathBuf> =
        fs::read_dir(cargo_home.join("registry/src")).ok()?.flatten().map(|e| e.path()).collect();
    registries.sort();
    registries.into_iter().find_map(|registry| {
        let mut names: Vec<String> = fs::read_dir(registry.join(format!("lua-src-{version}")))
            .ok()?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_prefix("lua-5.4.").map(|p| format!("5.4.{p}")))
            .collect();
        names.sort();
        names.pop()
    })
}

// ---------------------------------------------------------------------------
// BENCHMARKS.md.

const SKELETON: &str = "# Benchmarks

<!-- What is measured and how to read it: written by hand, kept by `report`. -->

<!-- report:begin -->
<!-- report:end -->
";

/// `old` with the lines between the markers replaced by `inside`; the
/// markers are appended when `old` has none.
fn splice(old: &str, inside: &str) -> Result<String, String> {
    let line_start = |marker: &str| {
        let mut offset = 0;
        for line in old.split_inclusive('\n') {
            if line.trim() == marker {
                return Some((offset, offset + line.len()));
            }
            offset += line.len();
        }
        None
    };
    match (line_start(BEGIN), line_start(END)) {
        (Some((_, after_begin)), Some((before_end, _))) if after_begin <= before_end => {
            Ok(format!("{}{inside}{}", &old[..after_begin], &old[before_end..]))
        }
        (None, None) => {
            let sep = if old.is_empty() || old.ends_with("\n\n") {
                ""
            } else if old.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            Ok(format!("{old}{sep}{BEGIN}\n{inside}{END}\n"))
        }
        _ => Err(format!("BENCHMARKS.md has a misplaced or missing `{BEGIN}` or `{END}` line: fix it by hand")),
    }
}

/// What goes between the markers.
fn markdown(results: &Results, env: &Environment) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(
        w,
        "<!-- Generated by `scripts/bench-plugins` (benches/plugins/src/bin/report.rs): edits between these markers are overwritten. -->\n"
    );
    let _ = writeln!(w, "### Where and with what\n");
    let measured = results.measured.map(fmt_span).unwrap_or_else(|| "unknown".into());
    let _ = writeln!(w, "- Measured: {measured} (criterion's estimate files).");
    let _ = writeln!(w, "- Machine: {}, {} memory, {}.", env.cpu, env.memory, env.kernel);
    let _ = writeln!(w, "- Toolchain: {}.", env.rustc);
    let _ = writeln!(w, "- Crates: {}.\n", env.crates);

    let _ = writeln!(w, "### Median time per iteration\n");
    let _ = writeln!(
        w,
        "Each cell is criterion's median and, in brackets, how many times `native`'s median in the same row it is \
         (lower is better).\n"
    );
    let columns = &results.columns;
    let _ = writeln!(w, "| workload | {} |", columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(w, "| --- |{}", " ---: |".repeat(columns.len()));
    let mut footnotes = Vec::new();
    let mut vs_wasm_rows = Vec::new();
    for group in &results.groups {
        let baseline = group.baseline();
        let mut label = format!("`{}`", group.name);
        if let Some(("wasm_mod", _)) = baseline {
            label.push_str(" (÷ `wasm_mod`)");
            vs_wasm_rows.push(group.name);
        }
        let cells: Vec<String> = columns.iter().map(|f| cell_text(group, f, &mut footnotes)).collect();
        let _ = writeln!(w, "| {label} | {} |", cells.join(" | "));
    }
    if !vs_wasm_rows.is_empty() {
        let _ = writeln!(
            w,
            "\nRows marked (÷ `wasm_mod`) have no `native` median: their ratios are to `wasm_mod`'s instead."
        );
    }
    if !footnotes.is_empty() {
        let _ = writeln!(w);
        for (i, note) in footnotes.iter().enumerate() {
            let _ = writeln!(w, "{}. {note}", i + 1);
        }
    }

    let _ = writeln!(w, "\n### How much faster `wasm_mod` is\n");
    let _ = writeln!(
        w,
        "The other system's median ÷ `wasm_mod`'s, in the same row: above 1× `wasm_mod` is faster, below 1× slower.\n"
    );
    let _ = writeln!(w, "| workload | {} |", VS_WASM.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(w, "| --- |{}", " ---: |".repeat(VS_WASM.len()));
    for group in &results.groups {
        let wasm = group.estimate("wasm_mod");
        let cells: Vec<String> = VS_WASM
            .iter()
            .map(|f| match (group.estimate(f), wasm) {
                (Some(other), Some(wasm)) if wasm.median > 0.0 => fmt_ratio(other.median / wasm.median),
                _ => "—".into(),
            })
            .collect();
        let _ = writeln!(w, "| `{}` | {} |", group.name, cells.join(" | "));
    }

    let _ = writeln!(w, "\n### Plots\n");
    let _ = writeln!(
        w,
        "Every system's median ÷ `native`'s, per workload (log scale):\n\n![Ratios to native per workload]({PLOTS_DIR}/overview.svg)\n"
    );
    let links: Vec<String> = results.groups.iter().map(|g| format!("[`{0}`]({PLOTS_DIR}/{0}.svg)", g.name)).collect();
    let _ = writeln!(w, "Each workload's medians with their 95% confidence intervals: {}.", links.join(" · "));
    md
}

/// One cell of the main table: `190 µs (2.1×)`, a note, or `—`.
fn cell_text(group: &Group, function: &str, footnotes: &mut Vec<String>) -> String {
    let Some(cell) = group.cell(function) else { return "—".into() };
    match (&cell.estimate, &cell.note) {
        (Some(e), note) => {
            let mut text = fmt_time(e.median);
            if let Some((base, value)) = group.baseline()
                && base != function
                && value > 0.0
            {
                let _ = write!(text, " ({})", fmt_ratio(e.median / value));
            }
            if let Some(note) = note {
                footnotes.push(format!("`{}/{function}`: {}", group.name, note.replace(['\n', '\r'], " ")));
                let _ = write!(text, " <sup>{}</sup>", footnotes.len());
            }
            text
        }
        (None, Some(note)) => format!("*{}*", escape_cell(note)),
        (None, None) => "—".into(),
    }
}

// ---------------------------------------------------------------------------
// Plots.

const WIDTH: u32 = 900;
const MARGIN: u32 = 12;
const CAPTION: u32 = 34;
const X_AXIS: u32 = 50;
const Y_LABELS: u32 = 150;
/// Pixels per character of the 13 px sans-serif labels, a little generous.
const CHAR_PX: f64 = 7.6;
const FONT: &str = "sans-serif";

fn color(function: &str) -> RGBColor {
    match function {
        "native" => RGBColor(0x55, 0x55, 0x55),
        "wasm_mod" => RGBColor(0x65, 0x4f, 0xf0),
        "lua" => RGBColor(0x1f, 0x4e, 0x9c),
        "rhai" => RGBColor(0x2c, 0xa0, 0x2c),
        "dylib" => RGBColor(0x8c, 0x56, 0x4b),
        "rpc" => RGBColor(0x17, 0xa2, 0xb8),
        "json_boundary" => RGBColor(0xd6, 0x27, 0x28),
        _ => RGBColor(0xa0, 0xa0, 0xa0),
    }
}

fn plot_error(e: impl std::fmt::Display) -> String {
    format!("drawing a plot: {e}")
}

/// Label width in pixels.
fn text_px(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR_PX + 10.0
}

/// The upper end of a log axis starting at `lo` over `plot_px` pixels, so
/// that each `(end, label_px)` label, drawn right of `end`, fits.
fn fit_log_axis(lo: f64, plot_px: f64, items: &[(f64, f64)]) -> f64 {
    let mut decades: f64 = 1.0;
    for &(end, label_px) in items {
        let span = (end / lo).log10().max(0.0);
        decades = decades.max(span + 0.05);
        let room = (plot_px - label_px).max(plot_px / 4.0);
        decades = decades.max(span * plot_px / room);
    }
    lo * 10f64.powf(decades)
}

/// Powers of ten within `lo..=hi` (and 2× and 5× when there are few), and
/// the 2×…9× points in between for the light grid lines.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let (first, last) = (lo.log10().ceil() as i32, hi.log10().floor() as i32);
    let inside = |x: &f64| *x >= lo * (1.0 - 1e-9) && *x <= hi * (1.0 + 1e-9);
    // At most 8 labelled decades: every 2nd or 3rd past that, keeping 1.
    let every = ((last - first + 1).max(1) + 7) / 8;
    let decades: Vec<f64> = (first..=last).filter(|k| k.rem_euclid(every) == 0).map(|k| 10f64.powi(k)).collect();
    let all_steps = |steps: &[f64]| -> Vec<f64> {
        (first - 1..=last)
            .flat_map(|k| steps.iter().map(move |s| round_sig(s * 10f64.powi(k), 3)))
            .filter(inside)
            .collect()
    };
    let bold = if decades.len() >= 3 || every > 1 { decades } else { all_steps(&[1.0, 2.0, 5.0]) };
    let light = all_steps(&[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    (bold, light)
}

/// The y axis of `rows` rows, row 0 at the top, with a key point (a label)
/// per row. Plotters' own f64 axis with custom key points has no default
/// label formatting, which its mesh needs even with a label formatter.
struct Rows {
    rows: usize,
    /// The rows that have a label.
    labelled: Vec<usize>,
}

impl Rows {
    fn all(rows: usize) -> Rows {
        Rows { rows, labelled: (0..rows).collect() }
    }
}

impl Ranged for Rows {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range()).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.labelled.iter().map(|&i| row_y(self.rows, i)).collect()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.rows as f64
    }
}

fn row_y(rows: usize, i: usize) -> f64 {
    rows as f64 - i as f64 - 0.5
}

fn row_of(rows: usize, y: f64) -> Option<usize> {
    let i = (rows as f64 - 0.5 - y).round();
    (i >= 0.0 && (i as usize) < rows).then_some(i as usize)
}

/// A plot's text: the message alone, when there is nothing to draw.
fn message_svg(title: &str, message: &str) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 120)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let style = TextStyle::from((FONT, 20).into_font()).color(&BLACK);
        root.draw(&Text::new(title.to_string(), (MARGIN as i32, MARGIN as i32), style)).map_err(plot_error)?;
        let style = TextStyle::from((FONT, 16).into_font()).color(&RGBColor(0x60, 0x60, 0x60));
        root.draw(&Text::new(message.to_string(), (MARGIN as i32, 60), style)).map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// One workload: a bar per system (its median), a whisker (its confidence
/// interval), the value and the ratio; a system with only a note shows it.
fn group_svg(group: &Group) -> Result<String, String> {
    let title = format!("{}: median time per iteration (whiskers: 95% confidence interval)", group.name);
    // A log axis cannot show 0: such a value is written, not drawn.
    let drawn = |c: &Cell| c.estimate.filter(|e| e.median > 0.0);
    let values: Vec<Estimate> = group.cells.iter().filter_map(|(_, c)| drawn(c)).collect();
    if values.is_empty() {
        return message_svg(&title, "no measurements yet");
    }
    let baseline = group.baseline();
    let labels: Vec<Option<String>> = group
        .cells
        .iter()
        .map(|(f, c)| {
            c.estimate.map(|e| match baseline {
                Some((base, value)) if base != f && value > 0.0 => {
                    format!("{} ({} {base})", fmt_time(e.median), fmt_ratio(e.median / value))
                }
                _ => fmt_time(e.median),
            })
        })
        .collect();
    let smallest = values
        .iter()
        .map(|e| if e.lower > 0.0 { e.lower.min(e.median) } else { e.median })
        .fold(f64::INFINITY, f64::min);
    let lo = 10f64.powf((smallest.log10() - 0.3).floor());
    let plot_px = f64::from(WIDTH - 2 * MARGIN - Y_LABELS);
    let items: Vec<(f64, f64)> = group
        .cells
        .iter()
        .zip(&labels)
        .filter_map(|((_, c), l)| Some((drawn(c)?.upper, text_px(l.as_deref()?))))
        .collect();
    let hi = fit_log_axis(lo, plot_px, &items);
    let (bold, light) = log_ticks(lo, hi);
    let rows = group.cells.len();
    let height = 2 * MARGIN + CAPTION + X_AXIS + 36 * rows as u32;
    let names: Vec<&str> = group.cells.iter().map(|(f, _)| f.as_str()).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, (FONT, 18))
            .margin(MARGIN)
            .x_label_area_size(X_AXIS)
            .y_label_area_size(Y_LABELS)
            .build_cartesian_2d((lo..hi).log_scale().with_key_points(bold).with_light_points(light), Rows::all(rows))
            .map_err(plot_error)?;
        let y_label = |y: &f64| row_of(rows, *y).map(|i| names[i].to_string()).unwrap_or_default();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("median time per iteration (log scale)")
            .x_label_formatter(&|v| fmt_tick(*v))
            .y_label_formatter(&y_label)
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 16))
            .bold_line_style(RGBColor(0xcc, 0xcc, 0xcc))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(plot_error)?;
        let whisker = ShapeStyle::from(&BLACK).stroke_width(1);
        let label_style = TextStyle::from((FONT, 16).into_font()).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        let note_style = TextStyle::from((FONT, 16).into_font().style(FontStyle::Italic))
            .color(&RGBColor(0x60, 0x60, 0x60))
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (i, ((function, cell), label)) in group.cells.iter().zip(&labels).enumerate() {
            let y = row_y(rows, i);
            match (drawn(cell), label) {
                (Some(e), Some(label)) => {
                    let lower = e.lower.max(lo);
                    let bar = Rectangle::new([(lo, y - 0.3), (e.median, y + 0.3)], color(function).filled());
                    chart.draw_series([bar]).map_err(plot_error)?;
                    let lines = [
                        vec![(lower, y), (e.upper, y)],
                        vec![(lower, y - 0.15), (lower, y + 0.15)],
                        vec![(e.upper, y - 0.15), (e.upper, y + 0.15)],
                    ];
                    chart.draw_series(lines.map(|l| PathElement::new(l, whisker))).map_err(plot_error)?;
                    let text = EmptyElement::at((e.upper, y)) + Text::new(label.clone(), (8, 0), label_style.clone());
                    chart.draw_series([text]).map_err(plot_error)?;
                }
                _ => {
                    let note = cell.note.as_deref().or(label.as_deref()).unwrap_or("—");
                    let max_chars = ((plot_px - 20.0) / CHAR_PX) as usize;
                    let note = if note.chars().count() > max_chars {
                        format!("{}…", note.chars().take(max_chars.saturating_sub(1)).collect::<String>())
                    } else {
                        note.to_string()
                    };
                    let text = EmptyElement::at((lo, y)) + Text::new(note, (8, 0), note_style.clone());
                    chart.draw_series([text]).map_err(plot_error)?;
                }
            }
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// One row of the overview: a workload's heading, or a system's ratio.
enum OverviewRow {
    Heading(String),
    Ratio(String, f64),
}

/// Every system's median ÷ the baseline's (native's, else wasm_mod's), per
/// workload: bars from 1× to the ratio on a log axis.
fn overview_svg(groups: &[Group]) -> Result<String, String> {
    let title = "Median time ÷ native's median, per workload (log scale; right of 1× is slower)";
    let mut rows = Vec::new();
    for group in groups {
        let Some((base, value)) = group.baseline().filter(|(_, v)| *v > 0.0) else { continue };
        let ratios: Vec<OverviewRow> = group
            .cells
            .iter()
            .filter(|(f, _)| f != base)
            .filter_map(|(f, c)| Some(OverviewRow::Ratio(f.clone(), c.estimate?.median / value)))
            .filter(|row| matches!(row, OverviewRow::Ratio(_, r) if *r > 0.0))
            .collect();
        if ratios.is_empty() {
            continue;
        }
        let heading =
            if base == "native" { group.name.to_string() } else { format!("{} (÷ {base}: no native)", group.name) };
        rows.push(OverviewRow::Heading(heading));
        rows.extend(ratios);
    }
    let ratios: Vec<f64> =
        rows.iter().filter_map(|r| if let OverviewRow::Ratio(_, r) = r { Some(*r) } else { None }).collect();
    if ratios.is_empty() {
        return message_svg(title, "no workload has both a baseline and another system measured yet");
    }
    let smallest = ratios.iter().copied().fold(1.0, f64::min);
    let lo = 10f64.powf((smallest.log10() - 0.3).floor());
    let plot_px = f64::from(WIDTH - 2 * MARGIN - Y_LABELS);
    let items: Vec<(f64, f64)> = ratios.iter().map(|r| (r.max(1.0), text_px(&fmt_ratio(*r)))).collect();
    let hi = fit_log_axis(lo, plot_px, &items);
    let (bold, light) = log_ticks(lo, hi);
    let n = rows.len();
    let labelled = (0..n).filter(|&i| matches!(rows[i], OverviewRow::Ratio(..))).collect();
    let height = 2 * MARGIN + CAPTION + X_AXIS + 22 * n as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(MARGIN)
            .x_label_area_size(X_AXIS)
            .y_label_area_size(Y_LABELS)
            .build_cartesian_2d(
                (lo..hi).log_scale().with_key_points(bold).with_light_points(light),
                Rows { rows: n, labelled },
            )
            .map_err(plot_error)?;
        let y_label = |y: &f64| match row_of(n, *y).map(|i| &rows[i]) {
            Some(OverviewRow::Ratio(f, _)) => f.clone(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("median ÷ the workload's native median, or wasm_mod's where marked (log scale)")
            .x_label_formatter(&|v| fmt_tick_ratio(*v))
            .y_label_formatter(&y_label)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .bold_line_style(RGBColor(0xcc, 0xcc, 0xcc))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(plot_error)?;
        let heading_style = TextStyle::from((FONT, 16).into_font().style(FontStyle::Bold))
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        let label_style = TextStyle::from((FONT, 15).into_font()).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        for (i, row) in rows.iter().enumerate() {
            let y = row_y(n, i);
            match row {
                OverviewRow::Heading(text) => {
                    let text = EmptyElement::at((lo, y)) + Text::new(text.clone(), (4, 0), heading_style.clone());
                    chart.draw_series([text]).map_err(plot_error)?;
                }
                OverviewRow::Ratio(function, r) => {
                    let bar = Rectangle::new([(1.0, y - 0.35), (*r, y + 0.35)], color(function).filled());
                    chart.draw_series([bar]).map_err(plot_error)?;
                    let text =
                        EmptyElement::at((r.max(1.0), y)) + Text::new(fmt_ratio(*r), (6, 0), label_style.clone());
                    chart.draw_series([text]).map_err(plot_error)?;
                }
            }
        }
        let one = PathElement::new(vec![(1.0, 0.0), (1.0, n as f64)], ShapeStyle::from(&BLACK).stroke_width(1));
        chart.draw_series([one]).map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn estimate_json(median: f64, lower: f64, upper: f64) -> String {
        format!(
            r#"{{"mean":{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0}},"point_estimate":1.5,"standard_error":0.1}},
"median":{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{lower},"upper_bound":{upper}}},"point_estimate":{median},"standard_error":0.1}}}}"#
        )
    }

    #[test]
    fn formats_times_with_three_significant_digits() {
        assert_eq!(fmt_time(0.512), "0.512 ns");
        assert_eq!(fmt_time(12.34), "12.3 ns");
        assert_eq!(fmt_time(999.4), "999 ns");
        assert_eq!(fmt_time(999.7), "1.00 µs");
        assert_eq!(fmt_time(190_000.0), "190 µs");
        assert_eq!(fmt_time(1_234_567.0), "1.23 ms");
        assert_eq!(fmt_time(999_999_999.0), "1.00 s");
        assert_eq!(fmt_time(12_345_678_901.0), "12.3 s");
        assert_eq!(fmt_time(0.0), "0 ns");
    }

    #[test]
    fn formats_ticks_and_ratios() {
        assert_eq!(fmt_tick(1_000.0), "1 µs");
        assert_eq!(fmt_tick(100.0), "100 ns");
        assert_eq!(fmt_tick(2_500_000.0), "2.5 ms");
        assert_eq!(fmt_tick(1e10), "10 s");
        assert_eq!(fmt_ratio(2.1234), "2.1×");
        assert_eq!(fmt_ratio(1.0), "1.0×");
        assert_eq!(fmt_ratio(38.4), "38×");
        assert_eq!(fmt_ratio(99.7), "100×");
        assert_eq!(fmt_ratio(1234.4), "1234×");
        assert_eq!(fmt_ratio(0.4712), "0.47×");
        assert_eq!(fmt_ratio(0.01), "0.010×");
        assert_eq!(fmt_tick_ratio(0.001), "0.001×");
        assert_eq!(fmt_tick_ratio(1.0), "1×");
        assert_eq!(fmt_tick_ratio(20.0), "20×");
        assert_eq!(fmt_tick_ratio(1000.0), "1000×");
    }

    #[test]
    fn parses_estimates() {
        let e = Estimate::parse(&estimate_json(92118.05, 87205.29, 94305.24)).unwrap();
        assert_eq!(e, Estimate { median: 92118.05, lower: 87205.29, upper: 94305.24 });
        let bare = Estimate::parse(r#"{"median":{"point_estimate":5.0}}"#).unwrap();
        assert_eq!(bare, Estimate { median: 5.0, lower: 5.0, upper: 5.0 });
        assert!(Estimate::parse(r#"{"mean":{"point_estimate":5.0}}"#).is_err());
        assert!(Estimate::parse(r#"{"median":{"point_estimate":-1.0}}"#).is_err());
        assert!(Estimate::parse("not json").is_err());
    }

    #[test]
    fn converts_unix_time_to_utc() {
        assert_eq!(utc(0), (1970, 1, 1, 0, 0));
        assert_eq!(utc(951_782_400), (2000, 2, 29, 0, 0));
        assert_eq!(utc(1_748_786_580), (2025, 6, 1, 14, 3));
        assert_eq!(fmt_span((1_748_786_580, 1_748_786_590)), "2025-06-01 14:03 UTC");
        assert_eq!(fmt_span((1_748_786_580, 1_748_788_860)), "2025-06-01 14:03–14:41 UTC");
        assert_eq!(fmt_span((1_748_786_580, 1_748_786_580 + 86_400)), "2025-06-01 14:03 UTC – 2025-06-02 14:03 UTC");
    }

    #[test]
    fn reads_versions_from_the_lock_file() {
        let lock = r#"
version = 4

[[package]]
name = "libloading"
version = "0.8.9"

[[package]]
name = "libloading"
version = "0.9.1"
dependencies = [
 "cfg-if",
]

[[package]]
name = "lua-src"
version = "551.0.2"

[[package]]
name = "plugins-bench"
version = "0.1.0"
dependencies = [
 "bevy",
 "libloading 0.9.1",
 "mlua",
]

[[package]]
name = "bevy"
version = "0.19.1"
"#;
        let packages = parse_lock(lock);
        assert_eq!(packages.len(), 5);
        assert_eq!(lock_version(&packages, "plugins-bench", "libloading").as_deref(), Some("0.9.1"));
        assert_eq!(lock_version(&packages, "plugins-bench", "bevy").as_deref(), Some("0.19.1"));
        assert_eq!(lock_version(&packages, "plugins-bench", "lua-src").as_deref(), Some("551.0.2"));
        assert_eq!(lock_version(&packages, "plugins-bench", "rhai"), None);
        let home = temp_dir("cargo-home");
        fs::create_dir_all(home.join("registry/src/index/lua-src-551.0.2/lua-5.4.9")).unwrap();
        fs::create_dir_all(home.join("registry/src/index/lua-src-551.0.2/lua-5.5.1")).unwrap();
        let versions = crate_versions(&packages, &home);
        assert!(
            versions.starts_with(
                "bevy 0.19.1, wasmtime ?, mlua ? (Lua 5.4.9, vendored by lua-src 551.0.2), rhai ?, libloading 0.9.1"
            ),
            "{versions}"
        );
        assert!(
            crate_versions(&packages, Path::new("/nonexistent")).contains("(Lua 5.4, vendored by lua-src 551.0.2)")
        );
        fs::remove_dir_all(home).unwrap();
    }

    #[test]
    fn splices_between_the_markers_only() {
        let old = "# Title\n\nhand-written\n<!-- report:begin -->\nold table\n<!-- report:end -->\nafter\n";
        assert_eq!(
            splice(old, "new\n").unwrap(),
            "# Title\n\nhand-written\n<!-- report:begin -->\nnew\n<!-- report:end -->\nafter\n"
        );
        assert_eq!(splice("# T\n", "x\n").unwrap(), "# T\n\n<!-- report:begin -->\nx\n<!-- report:end -->\n");
        assert_eq!(
            splice(SKELETON, "x\n").unwrap(),
            SKELETON.replace("-->\n<!-- report:end", "-->\nx\n<!-- report:end")
        );
        assert!(splice("<!-- report:end -->\n<!-- report:begin -->\n", "x").is_err());
        assert!(splice("<!-- report:begin -->\n", "x").is_err());
    }

    fn group(name: &'static str, cells: Vec<(&str, Option<f64>, Option<&str>)>) -> Group {
        Group {
            name,
            cells: cells
                .into_iter()
                .map(|(f, m, n)| {
                    let estimate = m.map(|m| Estimate { median: m, lower: m * 0.9, upper: m * 1.1 });
                    (f.to_string(), Cell { estimate, note: n.map(str::to_string) })
                })
                .collect(),
        }
    }

    #[test]
    fn cells_show_values_ratios_and_notes() {
        let g = group(
            "hot_reload",
            vec![
                ("native", None, Some("cannot: a rebuild | restart")),
                ("wasm_mod", Some(2e6), None),
                ("dylib", Some(1e6), Some("stays mapped")),
            ],
        );
        let mut notes = Vec::new();
        assert_eq!(g.baseline(), Some(("wasm_mod", 2e6)));
        assert_eq!(cell_text(&g, "native", &mut notes), "*cannot: a rebuild \\| restart*");
        assert_eq!(cell_text(&g, "wasm_mod", &mut notes), "2.00 ms");
        assert_eq!(cell_text(&g, "dylib", &mut notes), "1.00 ms (0.50×) <sup>1</sup>");
        assert_eq!(cell_text(&g, "lua", &mut notes), "—");
        assert_eq!(notes, ["`hot_reload/dylib`: stays mapped"]);
        let empty = group("boids_2k", vec![]);
        assert_eq!(empty.baseline(), None);
    }

    #[test]
    fn log_axis_fits_labels_and_ticks_decades() {
        let hi = fit_log_axis(1.0, 700.0, &[(1000.0, 140.0)]);
        // The label's 140 px after 3 decades: 3 * 700 / 560 decades.
        assert!((hi.log10() - 3.75).abs() < 1e-9, "{hi}");
        let (bold, light) = log_ticks(1.0, 1e4);
        assert_eq!(bold, [1.0, 10.0, 100.0, 1000.0, 10000.0]);
        assert!(light.contains(&20.0) && light.contains(&9000.0));
        let (bold, _) = log_ticks(0.5, 30.0);
        assert_eq!(bold, [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]);
        let (bold, _) = log_ticks(1e-4, 1e6);
        assert_eq!(bold, [1e-4, 0.01, 1.0, 100.0, 1e4, 1e6]);
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("plugins-report-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fixed_env() -> Environment {
        Environment {
            cpu: "Test CPU, 2 logical cores".into(),
            memory: "1.0 GiB".into(),
            kernel: "Linux 6.0".into(),
            rustc: "rustc 1.95.0".into(),
            crates: "bevy 0.19.1".into(),
        }
    }

    /// A fake criterion tree: most systems for some workloads, a note-only
    /// cell, a note on a measured cell, an extra function, a broken file and
    /// a workload without native.
    fn fake_criterion(dir: &Path) {
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_748_786_580);
        let write = |group: &str, function: &str, median: f64| {
            let path = dir.join(group).join(function).join("new");
            fs::create_dir_all(&path).unwrap();
            let file = path.join("estimates.json");
            fs::write(&file, estimate_json(median, median * 0.95, median * 1.08)).unwrap();
            fs::File::options().write(true).open(&file).unwrap().set_modified(when).unwrap();
        };
        for (system, factor) in [
            ("native", 1.0),
            ("wasm_mod", 2.1),
            ("lua", 35.0),
            ("rhai", 140.0),
            ("dylib", 1.1),
            ("rpc", 9.0),
            ("json_boundary", 300.0),
        ] {
            write("integrate_100k", system, 90_000.0 * factor);
            write("boids_2k", system, 4.2e6 * factor.sqrt());
        }
        write("integrate_100k", "wasm_mod_baseline", 2e5);
        write("call_overhead", "native", 0.9);
        write("call_overhead", "wasm_mod", 21.0);
        write("call_overhead", "rpc", 12_000.0);
        write("hot_reload", "wasm_mod", 3.5e8);
        write("hot_reload", "dylib", 2.0e7);
        write("hot_reload", "lua", 3.0e5);
        // Criterion's own report directory has no estimates: skipped.
        fs::create_dir_all(dir.join("hot_reload/report")).unwrap();
        let broken = dir.join("events_10k/lua/new");
        fs::create_dir_all(&broken).unwrap();
        fs::write(broken.join("estimates.json"), "{").unwrap();
        let notes = r#"{"hot_reload/native": "cannot: a rebuild and restart", "hot_reload/dylib": "the old library stays mapped", "nonsense/x": "?"}"#;
        fs::write(dir.join(NOTES_FILE), notes).unwrap();
    }

    #[test]
    fn writes_the_report_from_a_fake_criterion_tree() {
        let criterion = temp_dir("criterion");
        let out = temp_dir("out");
        fake_criterion(&criterion);
        let hand = "# Benchmarks\n\nHand-written intro.\n\n<!-- report:begin -->\nstale\n<!-- report:end -->\n\nHand-written end.\n";
        fs::write(out.join("BENCHMARKS.md"), hand).unwrap();
        let args = Args { criterion: criterion.clone(), out: out.clone() };

        let results = Results::load(&criterion);
        assert_eq!(results.warnings.len(), 2, "{:?}", results.warnings);
        assert_eq!(results.columns.last().map(String::as_str), Some("wasm_mod_baseline"));
        assert_eq!(results.measured, Some((1_748_786_580, 1_748_786_580)));

        let written = run(&args, &fixed_env()).unwrap();
        assert_eq!(written.len(), 1 + GROUPS.len() + 1);
        let md = fs::read_to_string(out.join("BENCHMARKS.md")).unwrap();
        assert!(md.starts_with("# Benchmarks\n\nHand-written intro.\n\n<!-- report:begin -->\n<!-- Generated"), "{md}");
        assert!(md.ends_with("<!-- report:end -->\n\nHand-written end.\n"), "{md}");
        assert!(!md.contains("stale"));
        assert!(md.contains("- Measured: 2025-06-01 14:03 UTC"), "{md}");
        assert!(md.contains("| `integrate_100k` | 90.0 µs | 189 µs (2.1×) | 3.15 ms (35×) | 12.6 ms (140×) | 99.0 µs (1.1×) | 810 µs (9.0×) | 27.0 ms (300×) | 200 µs (2.2×) |"), "{md}");
        assert!(
            md.contains("| `call_overhead` | 0.900 ns | 21.0 ns (23×) | — | — | — | 12.0 µs (13333×) | — | — |"),
            "{md}"
        );
        assert!(md.contains("| `hot_reload` (÷ `wasm_mod`) | *cannot: a rebuild and restart* | 350 ms | 300 µs (0.00086×) | — | 20.0 ms (0.057×) <sup>1</sup> | — | — | — |"), "{md}");
        assert!(md.contains("| `events_10k` | — | — | — | — | — | — | — | — |"), "{md}");
        assert!(md.contains("1. `hot_reload/dylib`: the old library stays mapped"), "{md}");
        assert!(md.contains("| `integrate_100k` | 17× | 67× | 4.3× | 143× |"), "{md}");
        assert!(md.contains("| `call_overhead` | — | — | 571× | — |"), "{md}");
        assert!(md.contains("![Ratios to native per workload](docs/benchmarks/overview.svg)"));

        let plot = fs::read_to_string(out.join("docs/benchmarks/integrate_100k.svg")).unwrap();
        assert!(plot.starts_with("<svg"), "{plot}");
        assert!(plot.contains("189 µs (2.1× native)"), "{plot}");
        assert!(plot.contains(">\njson_boundary\n<") || plot.contains("json_boundary"), "{plot}");
        let hot = fs::read_to_string(out.join("docs/benchmarks/hot_reload.svg")).unwrap();
        assert!(hot.contains("cannot: a rebuild and restart") && hot.contains("(0.057× wasm_mod)"), "{hot}");
        let empty = fs::read_to_string(out.join("docs/benchmarks/events_10k.svg")).unwrap();
        assert!(empty.contains("no measurements yet"));
        let overview = fs::read_to_string(out.join("docs/benchmarks/overview.svg")).unwrap();
        assert!(overview.contains("hot_reload (÷ wasm_mod: no native)") && overview.contains("300×"), "{overview}");

        // The same input gives the same bytes.
        let before: Vec<Vec<u8>> = written.iter().map(|p| fs::read(p).unwrap()).collect();
        let again = run(&args, &fixed_env()).unwrap();
        assert_eq!(again, written);
        let after: Vec<Vec<u8>> = again.iter().map(|p| fs::read(p).unwrap()).collect();
        assert!(before == after, "a second run changed a file");

        // No BENCHMARKS.md yet: the skeleton.
        let fresh = temp_dir("fresh");
        run(&Args { criterion: criterion.clone(), out: fresh.clone() }, &fixed_env()).unwrap();
        let md = fs::read_to_string(fresh.join("BENCHMARKS.md")).unwrap();
        assert!(md.starts_with("# Benchmarks\n\n<!--") && md.ends_with("<!-- report:end -->\n"), "{md}");

        // Nothing to report: an error, and nothing written.
        let nothing = temp_dir("nothing");
        assert!(run(&Args { criterion: nothing.clone(), out: nothing.clone() }, &fixed_env()).is_err());
        assert!(!nothing.join("BENCHMARKS.md").exists());

        for dir in [criterion, out, fresh, nothing] {
            fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn parses_arguments() {
        let parse = |a: &[&str]| Args::parse(a.iter().map(|s| s.to_string()));
        assert_eq!(
            parse(&["--criterion", "/c", "--out", "/o"]).unwrap(),
            Some(Args { criterion: "/c".into(), out: "/o".into() })
        );
        assert_eq!(parse(&["--help"]).unwrap(), None);
        assert!(parse(&["--out"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}
