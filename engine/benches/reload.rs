//! The cost of a hot reload: `hot_reload/swap` goes from the new module's
//! bytes in memory to the new code having run once with the old version's
//! state restored, for the demo's largest mod (`rocks`). `compile` and
//! `instantiate_and_restore` split that time in two.
//!
//! Run: `cargo bench -p engine --bench reload` (builds the mods first).

use bevy::prelude::*;
use criterion::{Criterion, criterion_group};
use engine::runtime::{ModInstance, WasmRuntime, compile, prepare_world};
use mod_api::abi::{FrameHeader, ScheduleLabel};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The largest of the demo game's mods, freshly built.
fn largest_demo_mod() -> (String, Vec<u8>) {
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
    mods.pop().expect("demo mods were built")
}

fn benches(c: &mut Criterion) {
    let (file, bytes) = largest_demo_mod();
    println!("reloading {file} ({} KiB)", bytes.len() / 1024);
    let runtime = WasmRuntime::new(Default::default());
    let mut world = World::new();
    prepare_world(&mut world);
    let header = FrameHeader { delta_secs: 1.0 / 60.0, ..Default::default() };
    let state_dir = std::env::temp_dir();
    let start = |world: &mut World, module: &wasmtime::Module| {
        ModInstance::new(&runtime.engine, &runtime.linker, module, &file, &runtime.limits, world, None)
            .expect("mod starts")
    };
    let first = compile(&runtime.engine, &file, &bytes).expect("mod compiles");
    let mut current = start(&mut world, &first.module);
    current.run_schedule(ScheduleLabel::Update, &mut world, &header).unwrap();

    let mut group = c.benchmark_group("hot_reload");
    group.sample_size(20);
    group.bench_function("swap", |b| {
        b.iter(|| {
            let asset = compile(&runtime.engine, &file, &bytes).expect("mod compiles");
            let mut next = start(&mut world, &asset.module);
            let warning = next.take_over_from(&mut current, &world, &state_dir).expect("state moves");
            assert!(warning.is_none(), "{warning:?}");
            next.run_schedule(ScheduleLabel::Update, &mut world, &header).unwrap();
            current = next;
        })
    });
    group.bench_function("compile", |b| b.iter(|| compile(&runtime.engine, &file, &bytes).expect("mod compiles")));
    group.bench_function("instantiate_and_restore", |b| {
        b.iter(|| {
            let mut next = start(&mut world, &first.module);
            next.take_over_from(&mut current, &world, &state_dir).expect("state moves");
            next.run_schedule(ScheduleLabel::Update, &mut world, &header).unwrap();
            current = next;
        })
    });
    group.finish();
}

criterion_group!(reload, benches);

fn main() {
    reload();
    Criterion::default().configure_from_args().final_summary();
}
