//! The cost of a hot reload, for the demo's largest mod (`rocks`):
//!
//! - `hot_reload/swap`: from the new module's bytes in memory to the new code
//!   having run once with the old version's state restored, as the game does
//!   it: baseline compile (winch), instantiate, hand the state over, run.
//! - `hot_reload/tier_up`: the background half that follows: the optimizing
//!   compile (cranelift) and the swap from baseline to optimized code. The
//!   mod runs its baseline code meanwhile.
//! - `hot_reload/compile_baseline`, `compile_optimized`,
//!   `instantiate_and_restore`: the parts.
//! - `hot_reload/file_to_new_code`: the whole path in the real game: from
//!   writing `rocks.wasm` into the watched mod folder to the end of the first
//!   frame that ran the new code, with the four demo mods running and frames
//!   paced at 60 per second, as a game's are. The saves fall evenly over
//!   the frame, as a modder's do.
//!
//! Run: `cargo bench -p rocks-game --bench reload` (builds the mods first).

use bevy::prelude::*;
use criterion::{Criterion, criterion_group};
use engine::runtime::{ModAsset, ModInstance, ModRegistry, Tier, WasmRuntime, compile, prepare_world};
use mod_api::abi::{FrameHeader, ScheduleLabel};
use rocks_game::{GameConfig, build_app};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The repository (this crate is `engine/rocks`).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

/// The demo game's mods, freshly built, largest last.
fn demo_mods() -> Vec<(String, Vec<u8>)> {
    let status =
        std::process::Command::new(repo().join("scripts/build-mods")).status().expect("scripts/build-mods runs");
    assert!(status.success(), "building the mods failed");
    let dir = repo().join("assets/mods");
    let mut mods: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("assets/mods")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    mods.sort_by_key(|(_, bytes)| bytes.len());
    mods
}

fn in_memory(c: &mut Criterion, file: &str, bytes: &[u8]) {
    let runtime = WasmRuntime::new(Default::default());
    let mut world = World::new();
    prepare_world(&mut world);
    let header = FrameHeader { delta_secs: 1.0 / 60.0, ..Default::default() };
    let state_dir = std::env::temp_dir();
    let start = |world: &mut World, module: &wasmtime::Module| {
        ModInstance::new(&runtime, module, file, world, None).expect("mod starts")
    };
    let baseline = runtime.compile(file, bytes).expect("mod compiles");
    assert_eq!(runtime.tier_of(&baseline.module), Tier::Baseline, "this platform has no baseline compiler");
    let optimized = compile(&runtime.engine, file, bytes).expect("mod compiles");
    let mut current = start(&mut world, &baseline.module);
    current.run_schedule(ScheduleLabel::Update, &mut world, &header).unwrap();
    let run_once = |next: &mut ModInstance, world: &mut World| {
        next.run_schedule(ScheduleLabel::Update, world, &header).unwrap();
    };

    let mut group = c.benchmark_group("hot_reload");
    group.sample_size(20);
    group.bench_function("swap", |b| {
        b.iter(|| {
            let asset: ModAsset = runtime.compile(file, bytes).expect("mod compiles");
            let mut next = start(&mut world, &asset.module);
            let warning = next.take_over_from(&mut current, &world, &state_dir).expect("state moves");
            assert!(warning.is_none(), "{warning:?}");
            run_once(&mut next, &mut world);
            current = next;
        })
    });
    group.bench_function("tier_up", |b| {
        b.iter(|| {
            let module = runtime.tier_up(&baseline).expect("baseline code").expect("mod compiles");
            let mut next = start(&mut world, &module);
            next.take_over_as_other_tier(&mut current, &world).expect("state moves");
            run_once(&mut next, &mut world);
            current = next;
        })
    });
    group.bench_function("compile_baseline", |b| b.iter(|| runtime.compile(file, bytes).expect("mod compiles")));
    group.bench_function("compile_optimized", |b| {
        b.iter(|| compile(&runtime.engine, file, bytes).expect("mod compiles"))
    });
    group.bench_function("instantiate_and_restore", |b| {
        b.iter(|| {
            let mut next = start(&mut world, &optimized.module);
            next.take_over_from(&mut current, &world, &state_dir).expect("state moves");
            run_once(&mut next, &mut world);
            current = next;
        })
    });
    group.finish();
}

const FRAME: Duration = Duration::from_micros(16_667);

/// Runs one frame and sleeps until the next 60 Hz tick.
fn paced_frame(app: &mut App, next_tick: &mut Instant) {
    app.update();
    pace(next_tick);
}

/// Sleeps until the next 60 Hz tick.
fn pace(next_tick: &mut Instant) {
    *next_tick += FRAME;
    let now = Instant::now();
    match next_tick.checked_duration_since(now) {
        Some(wait) => std::thread::sleep(wait),
        None => *next_tick = now,
    }
}

fn reloads(app: &App, file: &str) -> u32 {
    app.world().resource::<ModRegistry>().get(file).expect("the mod is loaded").reloads
}

/// `bytes` (a wasm module) with a custom section `bench-revision` holding
/// `n` appended: a different file that runs the same code.
fn revised(bytes: &[u8], n: u32) -> Vec<u8> {
    let name = b"bench-revision";
    let mut out = bytes.to_vec();
    out.extend_from_slice(&[0, (1 + name.len() + 4) as u8, name.len() as u8]);
    out.extend_from_slice(name);
    out.extend_from_slice(&n.to_le_bytes());
    out
}

fn optimized(app: &App, file: &str) -> bool {
    let registry = app.world().resource::<ModRegistry>();
    registry.get(file).and_then(|m| m.instance()).is_some_and(|i| i.tier() == Tier::Optimized)
}

fn file_to_new_code(c: &mut Criterion, mods: &[(String, Vec<u8>)]) {
    let dir = std::env::temp_dir().join(format!("reload-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, bytes) in mods {
        std::fs::write(dir.join(file), bytes).unwrap();
    }
    let (file, bytes) = mods.last().unwrap();
    // Every reload is a new module: the compile cache would only add its
    // writes (RELOAD_BENCH_CACHE=1 measures with them).
    let compile_cache = match std::env::var_os("RELOAD_BENCH_CACHE") {
        Some(_) => engine::runtime::CompileCache::InModsDir,
        None => engine::runtime::CompileCache::Off,
    };
    let config = GameConfig { mods_dir: dir.clone(), headless: true, log: false, compile_cache, ..Default::default() };
    let mut app = build_app(&config);
    app.finish();
    app.cleanup();
    let mut tick = Instant::now();
    while !app.world().resource::<ModRegistry>().settled() || !optimized(&app, file) {
        paced_frame(&mut app, &mut tick);
    }
    let staged = std::env::temp_dir().join(format!("reload-bench-staged-{}", std::process::id()));
    let mut group = c.benchmark_group("hot_reload");
    group.sample_size(20);
    let mut revision = 0u32;
    group.bench_function("file_to_new_code", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let before = reloads(&app, file);
                // A rebuild gives other bytes (the same bytes are not a new
                // version): the same code with a custom section of its own.
                revision += 1;
                std::fs::write(&staged, revised(bytes, revision)).unwrap();
                // As a build tool does: write elsewhere, rename into the
                // folder, at a moment that has nothing to do with the game's
                // frames (spread evenly over a frame from one save to the
                // next), from a thread of its own.
                let phase = FRAME.mul_f64((f64::from(revision) * 0.618_033_988_75).fract());
                let (from, to) = (staged.clone(), dir.join(file));
                let saver = std::thread::spawn(move || {
                    std::thread::sleep(phase);
                    let written = Instant::now();
                    std::fs::rename(from, to).unwrap();
                    written
                });
                // Until the end of the first frame that ran the new code
                // (not the pause after it).
                let ran = loop {
                    app.update();
                    if reloads(&app, file) != before {
                        break Instant::now();
                    }
                    pace(&mut tick);
                };
                let written = saver.join().unwrap();
                assert!(ran - written < Duration::from_secs(10), "the reload did not happen");
                total += ran - written;
                pace(&mut tick);
                // A modder saves again seconds later, not while the optimized
                // code is still compiling.
                while !optimized(&app, file) {
                    paced_frame(&mut app, &mut tick);
                }
            }
            total
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn benches(c: &mut Criterion) {
    let mods = demo_mods();
    let (file, bytes) = mods.last().expect("demo mods were built");
    println!("reloading {file} ({} KiB)", bytes.len() / 1024);
    in_memory(c, file, bytes);
    file_to_new_code(c, &mods);
}

criterion_group!(reload, benches);

fn main() {
    reload();
    Criterion::default().configure_from_args().final_summary();
}
