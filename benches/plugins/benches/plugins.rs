//! Every way to extend a program, side by side: the same workloads run by
//! native Bevy, this project's wasm mods, Lua, Rhai, a dynamic library, an
//! out-of-process plugin and a per-entity JSON boundary (see the crate docs
//! in `benches/plugins/src/lib.rs` and `BENCHMARKS.md`).
//!
//! Run: `scripts/bench-plugins` (or `--quick`), which also regenerates
//! `BENCHMARKS.md` and its plots. An argument after `--` is a filter on
//! `group/function` (a substring; criterion takes one); systems filtered
//! out are not even set up.
//!
//! Every system is checked against the workload code's own result before it
//! is timed; a system that computes something else stops the run.

use criterion::{BatchSize, BenchmarkGroup, Criterion, measurement::WallTime};
use plugins_bench::wasm_mod::{Code, WasmMod};
use plugins_bench::workload::{self, Ping, Pong};
use plugins_bench::{
    Bodies, Columns, Guest, check_columns, fresh_copy, native::Native, read_bodies, reference_boids,
    reference_integrate,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One plugin system driven through [`Guest`].
struct GuestSystem {
    id: &'static str,
    file: PathBuf,
    load: Loader,
    /// How far its numbers may stray from the Rust workload code's.
    tolerance: f32,
}

/// Loads a plugin from its file.
type Loader = fn(&Path) -> Result<Box<dyn Guest>, String>;

fn boxed<G: Guest + 'static>(file: &Path) -> Result<Box<dyn Guest>, String> {
    Ok(Box::new(G::load(file)?))
}

/// Scripts compute in f64 and sum in their own order; compiled Rust runs
/// the same code as native.
const SCRIPT_TOLERANCE: f32 = 1e-2;
const RUST_TOLERANCE: f32 = 1e-4;

fn guest_systems(wanted: &Filter) -> Vec<GuestSystem> {
    use plugins_bench::{dylib, json_boundary, lua, rhai, rpc};
    /// A system, before its plugin file is built.
    struct Spec(&'static str, fn() -> PathBuf, Loader, f32);
    let all = [
        Spec("lua", lua::plugin_file, boxed::<lua::LuaGuest>, SCRIPT_TOLERANCE),
        Spec("rhai", rhai::plugin_file, boxed::<rhai::RhaiGuest>, SCRIPT_TOLERANCE),
        Spec("dylib", dylib::plugin_file, boxed::<dylib::DylibGuest>, RUST_TOLERANCE),
        Spec("rpc", rpc::plugin_file, boxed::<rpc::RpcGuest>, RUST_TOLERANCE),
        Spec("json_boundary", json_boundary::plugin_file, boxed::<json_boundary::JsonGuest>, RUST_TOLERANCE),
    ];
    all.into_iter()
        .filter(|s| wanted.system(s.0))
        .map(|Spec(id, file, load, tolerance)| GuestSystem { id, file: file(), load, tolerance })
        .collect()
}

/// The filters given after `--`: substrings of `group/function`.
struct Filter(Vec<String>);

impl Filter {
    fn from_args() -> Filter {
        Filter(std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect())
    }
    fn wants(&self, group: &str, function: &str) -> bool {
        let id = format!("{group}/{function}");
        self.0.is_empty() || self.0.iter().any(|f| id.contains(f.as_str()))
    }
    fn system(&self, function: &str) -> bool {
        GROUPS.iter().any(|g| self.wants(g, function))
    }
    fn group(&self, group: &str) -> bool {
        SYSTEMS.iter().any(|s| self.wants(group, s))
    }
}

const GROUPS: [&str; 7] =
    ["call_overhead", "integrate_10k", "integrate_100k", "boids_2k", "events_10k", "load_instantiate", "hot_reload"];
const SYSTEMS: [&str; 7] = ["native", "wasm_mod", "lua", "rhai", "dylib", "rpc", "json_boundary"];

/// `PLUGINS_QUICK=1` (`scripts/bench-plugins --quick`): short warm-up and
/// measurement, ten samples.
fn quick() -> bool {
    std::env::var_os("PLUGINS_QUICK").is_some_and(|v| v != "0")
}

fn group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut g = c.benchmark_group(name);
    if quick() {
        g.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1)).sample_size(10);
    } else {
        g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(30);
    }
    g
}

fn checked(what: &str, result: Result<(), String>) {
    if let Err(e) = result {
        panic!("{what} computes something else than the workload code, so it is not timed: {e}");
    }
}

/// Everything the run learned that is not a time: which systems cannot do
/// a workload, and why. `BENCHMARKS.md`'s report shows them.
#[derive(Default)]
struct Notes(BTreeMap<String, String>);

impl Notes {
    fn add(&mut self, group: &str, function: &str, note: impl Into<String>) {
        self.0.insert(format!("{group}/{function}"), note.into());
    }
    fn write(&self) {
        let path = plugins_bench::criterion_dir().join("plugins-notes.json");
        let mut all: BTreeMap<String, String> =
            std::fs::read_to_string(&path).ok().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
        all.extend(self.0.clone());
        std::fs::create_dir_all(path.parent().unwrap()).expect("can create criterion's directory");
        std::fs::write(&path, serde_json::to_string_pretty(&all).unwrap()).expect("can write the notes");
    }
}

fn call_overhead(c: &mut Criterion, wanted: &Filter, mod_file: &Path, guests: &[GuestSystem]) {
    let name = "call_overhead";
    let mut g = group(c, name);
    if wanted.wants(name, "native") {
        let mut native = Native::empty();
        g.bench_function("native", |b| b.iter(|| native.run()));
    }
    if wanted.wants(name, "wasm_mod") {
        let mut m = WasmMod::load(mod_file, 0, Code::Optimized).unwrap();
        let noop = m.system("noop");
        g.bench_function("wasm_mod", |b| b.iter(|| m.run(noop)));
    }
    for s in guests.iter().filter(|s| wanted.wants(name, s.id)) {
        let mut guest = (s.load)(&s.file).unwrap();
        g.bench_function(s.id, |b| b.iter(|| guest.call_empty()));
    }
    g.finish();
}

/// A frame workload on the bodies' columns: `integrate_*` or `boids_*`.
#[derive(Clone, Copy)]
enum Bodywork {
    Integrate,
    Boids,
}

impl Bodywork {
    /// The workload code's own result of one frame on `n` bodies.
    fn reference(self, n: usize) -> Columns {
        match self {
            Bodywork::Integrate => reference_integrate(n, 1),
            Bodywork::Boids => reference_boids(n, 1),
        }
    }
    fn native(self, n: usize) -> Native {
        match self {
            Bodywork::Integrate => Native::integrate(n),
            Bodywork::Boids => Native::boids(n),
        }
    }
    /// The wasm mod's system for it.
    fn mod_system(self) -> &'static str {
        match self {
            Bodywork::Integrate => "integrate",
            Bodywork::Boids => "flock",
        }
    }
    fn guest_frame(self, bodies: &mut Bodies, guest: &mut dyn Guest) {
        match self {
            Bodywork::Integrate => bodies.integrate(guest),
            Bodywork::Boids => bodies.boids(guest),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn bodywork(
    c: &mut Criterion,
    wanted: &Filter,
    name: &str,
    work: Bodywork,
    n: usize,
    mod_file: &Path,
    guests: &[GuestSystem],
) {
    let want = work.reference(n);
    let mut g = group(c, name);
    if wanted.wants(name, "native") {
        let mut native = work.native(n);
        native.run();
        checked("native", check_columns(name, &read_bodies(&mut native.world), &want, RUST_TOLERANCE));
        g.bench_function("native", |b| b.iter(|| native.run()));
    }
    if wanted.wants(name, "wasm_mod") {
        let mut m = WasmMod::load(mod_file, n, Code::Optimized).unwrap();
        let system = m.system(work.mod_system());
        m.run(system);
        checked("wasm_mod", check_columns(name, &read_bodies(&mut m.world), &want, RUST_TOLERANCE));
        g.bench_function("wasm_mod", |b| b.iter(|| m.run(system)));
    }
    for s in guests.iter().filter(|s| wanted.wants(name, s.id)) {
        let mut guest = (s.load)(&s.file).unwrap();
        let mut bodies = Bodies::new(n);
        work.guest_frame(&mut bodies, guest.as_mut());
        checked(s.id, check_columns(name, &read_bodies(&mut bodies.world), &want, s.tolerance));
        g.bench_function(s.id, |b| b.iter(|| work.guest_frame(&mut bodies, guest.as_mut())));
    }
    g.finish();
}

fn events(c: &mut Criterion, wanted: &Filter, mod_file: &Path, guests: &[GuestSystem]) {
    let name = "events_10k";
    let pings: Vec<Ping> = workload::pings(10_000);
    let mut g = group(c, name);
    if wanted.wants(name, "native") {
        let mut native = Native::events();
        native.events_frame(&pings);
        checked("native", workload::check_answers(name, &pings, native.pongs()));
        g.bench_function("native", |b| b.iter(|| native.events_frame(&pings)));
    }
    if wanted.wants(name, "wasm_mod") {
        let mut m = WasmMod::load(mod_file, 0, Code::Optimized).unwrap();
        let system = m.system("answer");
        m.events_frame(system, &pings);
        checked("wasm_mod", workload::check_answers(name, &pings, m.pongs()));
        g.bench_function("wasm_mod", |b| b.iter(|| m.events_frame(system, &pings)));
    }
    for s in guests.iter().filter(|s| wanted.wants(name, s.id)) {
        let mut guest = (s.load)(&s.file).unwrap();
        let mut pongs: Vec<Pong> = Vec::with_capacity(pings.len());
        guest.events(&pings, &mut pongs);
        checked(s.id, workload::check_answers(name, &pings, &pongs));
        g.bench_function(s.id, |b| {
            b.iter(|| {
                pongs.clear();
                guest.events(&pings, &mut pongs)
            })
        });
    }
    g.finish();
}

/// From a file never loaded before to the plugin's first call. The copy is
/// made outside the timed part; the loaded plugin is dropped outside it too.
fn load_instantiate(c: &mut Criterion, wanted: &Filter, notes: &mut Notes, mod_file: &Path, guests: &[GuestSystem]) {
    let name = "load_instantiate";
    notes.add(name, "native", "nothing to load: compiled into the game");
    let mut g = group(c, name);
    if wanted.wants(name, "wasm_mod") {
        let mut first = WasmMod::load(&fresh_copy(mod_file), 0, Code::Baseline).unwrap();
        assert_eq!(first.frames(), 0, "a fresh wasm_mod starts with no frames");
        g.bench_function("wasm_mod", |b| {
            b.iter_batched(
                || fresh_copy(mod_file),
                |file| {
                    let mut m = WasmMod::load(&file, 0, Code::Baseline).unwrap();
                    let noop = m.system("noop");
                    m.run(noop);
                    m
                },
                BatchSize::PerIteration,
            )
        });
    }
    for s in guests.iter().filter(|s| wanted.wants(name, s.id)) {
        let mut first = (s.load)(&fresh_copy(&s.file)).unwrap();
        assert_eq!(first.frames(), 0, "a fresh {} starts with no frames", s.id);
        g.bench_function(s.id, |b| {
            b.iter_batched(
                || fresh_copy(&s.file),
                |file| {
                    let mut guest = (s.load)(&file).unwrap();
                    guest.call_empty();
                    guest
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// Replacing the running plugin's code with a new file's, keeping its state
/// (the number of integrate frames it ran), up to its first call.
fn hot_reload(c: &mut Criterion, wanted: &Filter, notes: &mut Notes, mod_file: &Path, guests: &[GuestSystem]) {
    let name = "hot_reload";
    notes.add(name, "native", "cannot: native code changes need a rebuild and a restart of the game");
    let mut g = group(c, name);
    if wanted.wants(name, "wasm_mod") {
        let mut m = WasmMod::load(mod_file, 10, Code::Optimized).unwrap();
        let integrate = m.system("integrate");
        for _ in 0..3 {
            m.run(integrate);
        }
        m.reload(&fresh_copy(mod_file)).unwrap();
        m.run(integrate);
        assert_eq!(m.frames(), 4, "wasm_mod keeps its state over a reload");
        let noop = m.system("noop");
        g.bench_function("wasm_mod", |b| {
            b.iter_batched(
                || fresh_copy(mod_file),
                |file| {
                    m.reload(&file).unwrap();
                    m.run(noop)
                },
                BatchSize::PerIteration,
            )
        });
        assert_eq!(m.frames(), 4, "wasm_mod kept its state over every reload");
    }
    for s in guests.iter().filter(|s| wanted.wants(name, s.id)) {
        let mut guest = (s.load)(&s.file).unwrap();
        let mut bodies = Bodies::new(10);
        for _ in 0..3 {
            bodies.integrate(guest.as_mut());
        }
        guest.reload(&fresh_copy(&s.file)).unwrap();
        bodies.integrate(guest.as_mut());
        assert_eq!(guest.frames(), 4, "{} keeps its state over a reload", s.id);
        g.bench_function(s.id, |b| {
            b.iter_batched(
                || fresh_copy(&s.file),
                |file| {
                    guest.reload(&file).unwrap();
                    guest.call_empty()
                },
                BatchSize::PerIteration,
            )
        });
        assert_eq!(guest.frames(), 4, "{} kept its state over every reload", s.id);
    }
    g.finish();
}

fn main() {
    let wanted = Filter::from_args();
    let mut c = Criterion::default().configure_from_args();
    let mut notes = Notes::default();
    let mod_file = plugins_bench::wasm_mod::plugin_file();
    let guests = guest_systems(&wanted);
    if wanted.group("call_overhead") {
        call_overhead(&mut c, &wanted, &mod_file, &guests);
    }
    for (name, work, n) in [
        ("integrate_10k", Bodywork::Integrate, 10_000),
        ("integrate_100k", Bodywork::Integrate, 100_000),
        ("boids_2k", Bodywork::Boids, 2_000),
    ] {
        if wanted.group(name) {
            bodywork(&mut c, &wanted, name, work, n, &mod_file, &guests);
        }
    }
    if wanted.group("events_10k") {
        events(&mut c, &wanted, &mod_file, &guests);
    }
    if wanted.group("load_instantiate") {
        load_instantiate(&mut c, &wanted, &mut notes, &mod_file, &guests);
    }
    if wanted.group("hot_reload") {
        if wanted.system("dylib") {
            notes.add("hot_reload", "dylib", plugins_bench::dylib::unload_note());
        }
        hot_reload(&mut c, &wanted, &mut notes, &mod_file, &guests);
    }
    notes.write();
    c.final_summary();
}
