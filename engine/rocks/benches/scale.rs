//! A hundred mods at once (`scale`), in the demo game run headless:
//!
//! - `scale/start_cold`: from building the game to the end of its first
//!   frame with every mod started, with an empty compile cache;
//! - `scale/start_warm`: the same with a warm cache (every mod's optimized
//!   code compiled by an earlier run);
//! - `scale/idle_frame_100` and `scale/idle_frame_0`: one frame with the
//!   100 mods running, and with none; the difference is their overhead;
//! - printed after the groups: resident memory per loaded mod.
//!
//! Each generated mod is distinct (its own component, its own code): a
//! hand-written core module with three `Update` systems querying that
//! component (which nothing has, so they are idle) and one `Startup` system.
//!
//! Run: `cargo bench -p rocks-game --bench scale`.

use bevy::prelude::*;
use criterion::{Criterion, criterion_group};
use engine::runtime::{CompileCache, ModRegistry, Tier, WasmRuntime};
use rocks_game::{GameConfig, build_app};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MODS: usize = 100;

/// Mod `i`: its own component `scale{i}::C` and distinct code (constant `i`).
fn generated_mod(i: usize) -> Vec<u8> {
    let descriptor = format!(
        r#"(name:"scale{i}",version:"1.0.0",messages:[],components:[(name:"scale{i}::C",size:4,align:4)],systems:[(name:"scale{i}::start",schedule:Startup,params:[]),(name:"scale{i}::a",schedule:Update,params:[Query(terms:[(component:0,access:Write)])]),(name:"scale{i}::b",schedule:Update,params:[Query(terms:[(component:0,access:Read)])]),(name:"scale{i}::c",schedule:Update,params:[])])"#
    );
    let packed = ((descriptor.len() as u64) << 32) | 16;
    let data = descriptor.replace('"', "\\\"");
    wat::parse_str(format!(
        r#"(module (@custom "bevy_mod_abi" "\01\00\05\00")
            (memory (export "memory") 2)
            (data (i32.const 16) "{data}")
            (global $seen (mut i32) (i32.const 0))
            (func (export "mod_alloc") (param i32 i32) (result i32) i32.const 65536)
            (func (export "mod_init") (result i64) i64.const {packed})
            (func (export "mod_run") (param i32 i32) (result i32)
              (global.set $seen (i32.add (global.get $seen) (i32.const {i})))
              i32.const 0))"#
    ))
    .expect("generated module")
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scale-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_mods(dir: &Path, n: usize) {
    for i in 0..n {
        std::fs::write(dir.join(format!("scale{i:03}.wasm")), generated_mod(i)).unwrap();
    }
}

/// The headless game over `dir`, started: every mod running, one frame run.
fn started(dir: &Path, cache: &Path) -> App {
    let config = GameConfig {
        mods_dir: dir.to_path_buf(),
        headless: true,
        log: false,
        compile_cache: CompileCache::At(cache.to_path_buf()),
        ..Default::default()
    };
    let mut app = build_app(&config);
    app.finish();
    app.cleanup();
    let t = Instant::now();
    while !app.world().resource::<ModRegistry>().settled() {
        assert!(t.elapsed() < Duration::from_secs(300), "the mods did not start");
        app.update();
    }
    app.update();
    let registry = app.world().resource::<ModRegistry>();
    assert!(registry.mods.iter().all(|m| m.is_running()), "every mod runs");
    app
}

fn all_optimized(app: &App) -> bool {
    app.world().resource::<ModRegistry>().mods.iter().all(|m| m.instance().is_some_and(|i| i.tier() == Tier::Optimized))
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    statm.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 4096
}

fn scale(c: &mut Criterion) {
    let mods = fresh_dir("mods");
    write_mods(&mods, MODS);
    let empty = fresh_dir("empty");
    let mut group = c.benchmark_group("scale");
    group.sample_size(10);
    let mut n = 0;
    group.bench_function("start_cold", |b| {
        b.iter(|| {
            n += 1;
            let cache = fresh_dir(&format!("cold-cache-{n}"));
            let app = started(&mods, &cache);
            drop(app);
            let _ = std::fs::remove_dir_all(&cache);
        })
    });
    let warm = fresh_dir("warm-cache");
    {
        let mut app = started(&mods, &warm);
        while !all_optimized(&app) {
            app.update();
            std::thread::sleep(Duration::from_millis(1));
        }
        app.world().resource::<WasmRuntime>().cache().expect("a cache").flush();
    }
    group.bench_function("start_warm", |b| {
        b.iter(|| {
            let app = started(&mods, &warm);
            assert!(all_optimized(&app), "a warm start runs optimized code at once");
        })
    });
    let mut app = started(&mods, &warm);
    group.bench_function("idle_frame_100", |b| b.iter(|| app.update()));
    drop(app);
    let mut none = started(&empty, &warm);
    group.bench_function("idle_frame_0", |b| b.iter(|| none.update()));
    group.finish();

    // Memory: the same game with no mod, then with the hundred.
    let before = rss();
    let with_none = started(&empty, &warm);
    let base = rss().saturating_sub(before);
    let before = rss();
    let with_all = started(&mods, &warm);
    let all = rss().saturating_sub(before);
    println!(
        "  scale  resident memory: game without mods +{} KiB, with {MODS} mods +{} KiB: {} KiB per mod (target ≤ 2048)",
        base >> 10,
        all >> 10,
        (all.saturating_sub(base) / MODS as u64) >> 10
    );
    drop((with_none, with_all));
    for dir in [mods, empty, warm] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

criterion_group!(benches, scale);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
