//! This project's wasm mods: the workloads as the systems of one mod
//! (`guests/wasm-mod`), run by the engine's own runtime with the sandbox on
//! (epoch deadlines, memory limits, output checks), exactly as the game
//! runs them. Columns cross the boundary in bulk: the host copies each
//! query's matching table columns into the mod's memory, calls the system
//! once, and copies written columns back.
//!
//! `load_instantiate` and `hot_reload` take the game's path: the baseline
//! compiler (winch) first, as the runtime does on (re)load before its
//! background tier-up to optimized code; the hot reload moves the mod's
//! saved state (RON) to the new version. The frame workloads run the
//! optimized (cranelift) code the game runs after tier-up.

use crate::workload::{DT, Ping, Pong};
use bevy::prelude::*;
use engine::runtime::{ModAccess, ModInstance, ModLimits, ModMessages, WasmRuntime, compile, expose, prepare_world};
use mod_api::abi::{FrameHeader, ScheduleLabel};
use std::path::{Path, PathBuf};

/// The mod, built for wasm32 if needed.
pub fn plugin_file() -> PathBuf {
    crate::build("bench-mod", crate::Build::Mod)
}

/// Which code to run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Code {
    /// Cranelift: what a mod runs once tiered up.
    Optimized,
    /// Winch: what a mod runs for its first frames after a (re)load.
    Baseline,
}

/// The mod instantiated in a world of its own.
pub struct WasmMod {
    runtime: WasmRuntime,
    pub world: World,
    instance: ModInstance,
    header: FrameHeader,
    pongs: Vec<Pong>,
    pong_cursor: u64,
}

impl WasmMod {
    /// Loads `file` into a world with `n` bodies: read, compile, instantiate,
    /// `mod_init`.
    ///
    /// The limits are the game's defaults but for the per-call deadline and
    /// schedule budget, raised to a second: `boids_2k` is a 20 ms system,
    /// more than a frame's default budget for one mod.
    pub fn load(file: &Path, n: usize, code: Code) -> Result<WasmMod, String> {
        let limits = ModLimits { call_deadline_ms: 1000, schedule_budget_ms: 1000, ..Default::default() };
        let runtime = WasmRuntime::new(limits);
        let mut world = World::new();
        prepare_world(&mut world);
        expose::component::<rocks_api::Transform2d>(&mut world, ModAccess::ReadWrite);
        expose::component::<rocks_api::Velocity>(&mut world, ModAccess::ReadWrite);
        crate::spawn_bodies(&mut world, n);
        let instance = instantiate(&runtime, file, &mut world, None, code)?;
        let header = FrameHeader { delta_secs: DT, ..Default::default() };
        Ok(WasmMod { runtime, world, instance, header, pongs: Vec::new(), pong_cursor: 0 })
    }

    /// The position of system `name` (`bench_mod::integrate`, …) in the
    /// mod's `Update` order, for [`WasmMod::run`].
    pub fn system(&self, name: &str) -> usize {
        let order = self.instance.schedule_order(ScheduleLabel::Update);
        let full = format!("bench_mod::{name}");
        order
            .iter()
            .position(|&i| self.instance.system_name(i) == full)
            .unwrap_or_else(|| panic!("the mod has no system {full}"))
    }

    /// Runs the mod's `n`th `Update` system once, as the runtime does.
    pub fn run(&mut self, n: usize) {
        let mut spent = std::time::Duration::ZERO;
        self.header.frame += 1;
        self.instance
            .run_nth(ScheduleLabel::Update, n, &mut self.world, &self.header, &mut spent)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// One `events` frame running system `n`: the engine sends `pings`,
    /// the mod answers, the engine takes the answers ([`WasmMod::pongs`]).
    pub fn events_frame(&mut self, n: usize, pings: &[Ping]) {
        self.world.resource_mut::<ModMessages>().write_batch(pings);
        self.run(n);
        let mut bus = self.world.resource_mut::<ModMessages>();
        bus.read_into(&mut self.pong_cursor, &mut self.pongs);
        bus.update();
    }

    /// The answers of the last [`WasmMod::events_frame`].
    pub fn pongs(&self) -> &[Pong] {
        &self.pongs
    }

    /// The mod's saved state: its `integrate` frame count.
    pub fn frames(&mut self) -> u64 {
        let state = self.instance.save_state().unwrap_or_else(|e| panic!("{e}")).expect("the mod saves state");
        let at = state.find("count:").unwrap_or_else(|| panic!("no frame count in the mod's state: {state}"));
        let digits: String = state[at + 6..].trim_start().chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap_or_else(|_| panic!("no frame count in the mod's state: {state}"))
    }

    /// Hot reload: the new version from `file` (baseline code, as the game
    /// does) replaces the running one and takes over its state.
    pub fn reload(&mut self, file: &Path) -> Result<(), String> {
        let mut next = instantiate(&self.runtime, file, &mut self.world, Some(&self.instance), Code::Baseline)?;
        let warning =
            next.take_over_from(&mut self.instance, &self.world, &std::env::temp_dir()).map_err(|e| e.to_string())?;
        if let Some(w) = warning {
            return Err(w);
        }
        self.instance = next;
        Ok(())
    }
}

fn instantiate(
    runtime: &WasmRuntime,
    file: &Path,
    world: &mut World,
    replacing: Option<&ModInstance>,
    code: Code,
) -> Result<ModInstance, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let asset = match code {
        Code::Optimized => compile(&runtime.engine, &name, &bytes),
        Code::Baseline => runtime.compile(&name, &bytes),
    }
    .map_err(|e| e.to_string())?;
    ModInstance::new(runtime, &asset.module, &name, world, replacing).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::Native;
    use crate::workload::{self, check_answers};
    use crate::{check_columns, read_bodies, reference_boids, reference_integrate};
    /// Native and wasm_mod compute what the workload code computes, and
    /// the mod keeps its state over a reload.
    #[test]
    fn native_and_wasm_mod_agree_with_the_workload_code() {
        let file = plugin_file();
        for code in [Code::Optimized, Code::Baseline] {
            for n in [10, 1_000] {
                let mut m = WasmMod::load(&file, n, code).unwrap();
                let s = m.system("integrate");
                let mut native = Native::integrate(n);
                for _ in 0..3 {
                    m.run(s);
                    native.run();
                }
                let want = reference_integrate(n, 3);
                check_columns("wasm_mod", &read_bodies(&mut m.world), &want, 1e-4).unwrap();
                check_columns("native", &read_bodies(&mut native.world), &want, 1e-4).unwrap();
                assert_eq!(m.frames(), 3);
            }
            let mut m = WasmMod::load(&file, 300, code).unwrap();
            let s = m.system("flock");
            let mut native = Native::boids(300);
            for _ in 0..2 {
                m.run(s);
                native.run();
            }
            let want = reference_boids(300, 2);
            check_columns("wasm_mod", &read_bodies(&mut m.world), &want, 1e-4).unwrap();
            check_columns("native", &read_bodies(&mut native.world), &want, 1e-4).unwrap();

            let pings = workload::pings(1_000);
            let s = m.system("answer");
            let mut native = Native::events();
            for _ in 0..2 {
                m.events_frame(s, &pings);
                native.events_frame(&pings);
                check_answers("wasm_mod", &pings, m.pongs()).unwrap();
                check_answers("native", &pings, native.pongs()).unwrap();
            }
        }
        let mut m = WasmMod::load(&file, 10, Code::Optimized).unwrap();
        let s = m.system("integrate");
        m.run(s);
        m.run(s);
        m.reload(&crate::fresh_copy(&file)).unwrap();
        m.run(s);
        assert_eq!(m.frames(), 3, "the state survives the reload");
    }
}
#[cfg(test)]
mod profile {
    use super::*;
    /// For `perf record`: `WORKLOAD=integrate N=100000 RUNS=2000`.
    #[test]
    #[ignore]
    fn profile_workload() {
        let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
        let n: usize = var("N", "100000").parse().unwrap();
        let runs: usize = var("RUNS", "2000").parse().unwrap();
        let mut m = WasmMod::load(&plugin_file(), n, Code::Optimized).unwrap();
        let s = m.system(&var("WORKLOAD", "integrate"));
        if let Ok(path) = std::env::var("DUMP") {
            std::fs::write(path, m.instance.module().serialize().unwrap()).unwrap();
        }
        for _ in 0..runs {
            m.run(s);
        }
    }
}
#[cfg(test)]
mod floor {
    /// The floor under `call_overhead/wasm_mod`: wasmtime's own host → wasm
    /// call of an empty export, with epoch interruption on (`--ignored`).
    #[test]
    #[ignore]
    fn raw_wasmtime_call() {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config).unwrap();
        let module =
            wasmtime::Module::new(&engine, r#"(module (func (export "f") (param i32 i32) (result i32) i32.const 0))"#)
                .unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        store.set_epoch_deadline(1000);
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_typed_func::<(i32, i32), i32>(&mut store, "f").unwrap();
        let runs = 10_000_000;
        for _ in 0..1000 {
            f.call(&mut store, (1, 2)).unwrap();
        }
        let t = std::time::Instant::now();
        for _ in 0..runs {
            store.set_epoch_deadline(1000);
            f.call(&mut store, (1, 2)).unwrap();
        }
        println!("raw wasmtime call: {:?}", t.elapsed() / runs);
    }
}
