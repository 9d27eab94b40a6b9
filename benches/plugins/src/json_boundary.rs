//! A wasm guest behind a per-entity JSON boundary, like Wasvy's.
//!
//! Wasvy (a Bevy modding crate whose mods are WASI components) hands a mod
//! system every query item's components serialized as JSON and takes the
//! mutable ones back as JSON, entity by entity. This system keeps that
//! boundary and drops the rest, to show what the boundary itself costs
//! against this project's bulk columns: the guest
//! (`benches/plugins/guests/json`, package `bench-json`) is a plain core
//! wasm module run by wasmtime directly (no component model, no WASI).
//!
//! How data crosses (the guest's module docs give the ABI):
//! - every call carries a JSON text each way: the host serializes the
//!   argument with serde_json into its own buffer, copies it into the
//!   guest's input buffer, calls the export, and parses the answer with
//!   serde_json straight out of the guest's memory; the guest does the same
//!   on its side. A body crosses as one query item,
//!   `{"transform":{"translation":[x,y]},"velocity":[vx,vy]}`, in a call of
//!   its own (the transform carries only the translation: the rotation and
//!   scale are not part of the workloads' columns).
//! - `integrate`: one `frame_begin` call with `{"dt":…}` (the guest counts
//!   the frame there), then one `integrate_entity` call per body that
//!   answers the updated transform, the query's only mutable component.
//! - `boids`: the O(n²) step needs every body at once, so, as a guest would
//!   through a per-item query API: one `boids_put` call per body (the guest
//!   keeps the components in its own columns), one `boids_step` call that
//!   runs [`workload::Boids::step`] there, one `boids_get` call per body for
//!   its updated item.
//! - `events`: one `event` call per `Ping`, answering its `Pong`.
//! - `reload`: the new module is compiled and instantiated in its own store,
//!   the old guest's `save_state` JSON is handed as is to the new one's
//!   `restore_state`, and the old store (with its instance) is dropped.
//!
//! For speed, and to be fair, the host does what a careful embedder does:
//! one shared engine (cranelift, as Wasvy uses), typed function handles
//! looked up once, reused host and guest buffers, and the guest's input
//! buffer allocated only when a text outgrows it (Wasvy's canonical ABI
//! calls the guest's `realloc` for every string). Like the project's
//! runtime, the engine uses epoch interruption, ticked every millisecond by
//! a background thread, and every call gets a fresh deadline.
//!
//! Wasvy itself crosses more often than this: its guest pulls each item
//! from the host (`query.iter`, `query-result.component`, `component.get`
//! and `component.set` are each a call, through the component model's
//! canonical ABI), so this is a lower bound of its per-entity cost.

use crate::workload::json::{Frame, Item, Transform, Velocity};
use crate::{Columns, Guest, workload};
use serde::{Serialize, de::DeserializeOwned};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use wasmtime::{Engine, Instance, Memory, Module, Store, TypedFunc};
use workload::{Ping, Pong};

/// Builds the guest and returns its `.wasm` file.
pub fn plugin_file() -> PathBuf {
    crate::build("bench-json", crate::Build::Wasm)
}

/// Each call's deadline, in epoch ticks (milliseconds): far above any call
/// here, like the runtime's it only stops a guest that hangs.
const DEADLINE_TICKS: u64 = 10_000;

/// The process's wasmtime engine (cranelift, epoch interruption), with the
/// thread that ticks its epoch every millisecond.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true).strategy(wasmtime::Strategy::Cranelift);
        let engine = Engine::new(&config).expect("a cranelift config with epoch interruption is valid");
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("json-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            })
            .expect("can spawn the epoch thread");
        engine
    })
}

/// The guest's JSON-in, JSON-out exports, in the order of [`EXPORTS`].
#[derive(Clone, Copy)]
enum Export {
    CallEmpty,
    FrameBegin,
    IntegrateEntity,
    BoidsBegin,
    BoidsPut,
    BoidsStep,
    BoidsGet,
    Event,
    Frames,
    SaveState,
    RestoreState,
}

const EXPORTS: [&str; 11] = [
    "call_empty",
    "frame_begin",
    "integrate_entity",
    "boids_begin",
    "boids_put",
    "boids_step",
    "boids_get",
    "event",
    "frames",
    "save_state",
    "restore_state",
];

/// One instance of the guest, in a store of its own.
struct Plugin {
    file: PathBuf,
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    exports: Vec<TypedFunc<(u32, u32), u64>>,
    /// The guest's input buffer: its address and size.
    input: (u32, u32),
    /// The host's serialization buffer.
    text: Vec<u8>,
}

impl Plugin {
    /// Reads, compiles and instantiates `file`.
    fn load(file: &Path) -> Result<Plugin, String> {
        let fail = |cause: String| format!("{}: {cause}", file.display());
        let bytes = std::fs::read(file).map_err(|e| fail(format!("cannot read: {e}")))?;
        let module = Module::new(engine(), &bytes).map_err(|e| fail(format!("cannot compile: {e:#}")))?;
        let mut store = Store::new(engine(), ());
        store.set_epoch_deadline(DEADLINE_TICKS);
        let instance =
            Instance::new(&mut store, &module, &[]).map_err(|e| fail(format!("cannot instantiate: {e:#}")))?;
        let memory = instance.get_memory(&mut store, "memory").ok_or_else(|| fail("exports no memory".into()))?;
        let alloc = instance.get_typed_func(&mut store, "alloc").map_err(|e| fail(format!("export alloc: {e:#}")))?;
        let exports = EXPORTS
            .iter()
            .map(|name| instance.get_typed_func(&mut store, name).map_err(|e| fail(format!("export {name}: {e:#}"))))
            .collect::<Result<_, _>>()?;
        Ok(Plugin { file: file.to_owned(), store, memory, alloc, exports, input: (0, 0), text: Vec::new() })
    }

    /// Calls `export` with the JSON text in [`Plugin::text`] and returns
    /// its answer's place in the guest's memory.
    fn call_text(&mut self, export: Export) -> (usize, usize) {
        let name = EXPORTS[export as usize];
        let len = u32::try_from(self.text.len()).expect("a JSON argument fits in 4 GiB");
        if len > self.input.1 {
            self.store.set_epoch_deadline(DEADLINE_TICKS);
            let ptr = self.alloc.call(&mut self.store, len).unwrap_or_else(|e| self.trap("alloc", e));
            self.input = (ptr, len);
        }
        let ptr = self.input.0;
        let start = ptr as usize;
        let memory = self.memory.data_mut(&mut self.store);
        match memory.get_mut(start..start + len as usize) {
            Some(place) => place.copy_from_slice(&self.text),
            None => panic!("{}: alloc gave {ptr:#x}, outside the guest's memory", self.file.display()),
        }
        self.store.set_epoch_deadline(DEADLINE_TICKS);
        let packed =
            self.exports[export as usize].call(&mut self.store, (ptr, len)).unwrap_or_else(|e| self.trap(name, e));
        ((packed >> 32) as usize, packed as u32 as usize)
    }

    /// Calls `export` with `arg` as JSON and parses its answer.
    fn call<R: DeserializeOwned>(&mut self, export: Export, arg: &impl Serialize) -> R {
        self.text.clear();
        serde_json::to_writer(&mut self.text, arg).expect("the host's JSON arguments serialize");
        let (ptr, len) = self.call_text(export);
        let answer = self.memory.data(&self.store).get(ptr..ptr + len).unwrap_or_else(|| {
            panic!("{}: {} answered outside its memory", self.file.display(), EXPORTS[export as usize])
        });
        serde_json::from_slice(answer).unwrap_or_else(|e| {
            panic!(
                "{}: {} answered bad JSON ({e}): {}",
                self.file.display(),
                EXPORTS[export as usize],
                String::from_utf8_lossy(answer)
            )
        })
    }

    fn trap(&self, function: &str, e: wasmtime::Error) -> ! {
        panic!("{}: {function} trapped: {e:?}", self.file.display())
    }
}

/// The JSON-boundary guest ([module docs](self)).
pub struct JsonGuest {
    plugin: Plugin,
}

impl Guest for JsonGuest {
    fn load(file: &Path) -> Result<Self, String> {
        Ok(JsonGuest { plugin: Plugin::load(file)? })
    }

    fn call_empty(&mut self) {
        self.plugin.call::<()>(Export::CallEmpty, &());
    }

    fn integrate(&mut self, cols: &mut Columns, dt: f32) {
        let p = &mut self.plugin;
        p.call::<()>(Export::FrameBegin, &Frame { dt });
        for (pos, vel) in cols.pos.iter_mut().zip(&cols.vel) {
            let item = Item { transform: Transform { translation: *pos }, velocity: Velocity(*vel) };
            let t: Transform = p.call(Export::IntegrateEntity, &item);
            *pos = t.translation;
        }
    }

    fn boids(&mut self, cols: &mut Columns, dt: f32) {
        let p = &mut self.plugin;
        p.call::<()>(Export::BoidsBegin, &());
        for (pos, vel) in cols.pos.iter().zip(&cols.vel) {
            let item = Item { transform: Transform { translation: *pos }, velocity: Velocity(*vel) };
            p.call::<()>(Export::BoidsPut, &item);
        }
        p.call::<()>(Export::BoidsStep, &Frame { dt });
        for (i, (pos, vel)) in cols.pos.iter_mut().zip(&mut cols.vel).enumerate() {
            let item: Item = p.call(Export::BoidsGet, &i);
            *pos = item.transform.translation;
            *vel = item.velocity.0;
        }
    }

    fn events(&mut self, pings: &[Ping], out: &mut Vec<Pong>) {
        out.reserve(pings.len());
        for ping in pings {
            out.push(self.plugin.call(Export::Event, ping));
        }
    }

    fn frames(&mut self) -> u64 {
        self.plugin.call(Export::Frames, &())
    }

    fn reload(&mut self, file: &Path) -> Result<(), String> {
        let mut new = Plugin::load(file)?;
        // The state moves as the old guest's JSON text, untouched.
        self.plugin.text.clear();
        self.plugin.text.extend_from_slice(b"null");
        let (ptr, len) = self.plugin.call_text(Export::SaveState);
        let old = &self.plugin;
        let saved = old
            .memory
            .data(&old.store)
            .get(ptr..ptr + len)
            .ok_or_else(|| format!("{}: save_state answered outside its memory", old.file.display()))?;
        new.text.clear();
        new.text.extend_from_slice(saved);
        new.call_text(Export::RestoreState);
        self.plugin = new;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fresh_copy;

    /// The guest, built once for all tests.
    fn file() -> &'static Path {
        static FILE: OnceLock<PathBuf> = OnceLock::new();
        FILE.get_or_init(plugin_file)
    }

    fn guest() -> JsonGuest {
        JsonGuest::load(file()).unwrap_or_else(|e| panic!("cannot load the guest: {e}"))
    }

    const TOLERANCE: f32 = 1e-4;

    #[test]
    fn computes_what_the_workload_code_computes() {
        crate::conformance::computes_what_the_workload_code_computes(&mut guest(), "json_boundary", TOLERANCE);
    }

    #[test]
    fn reload_keeps_the_state_and_runs_the_new_instance() {
        let mut g = guest();
        crate::conformance::reload_keeps_the_state(&mut g, file(), "json_boundary", TOLERANCE);
        let copy = fresh_copy(file());
        g.reload(&copy).unwrap();
        assert_eq!(g.plugin.file, copy, "the new instance runs");
        assert_eq!(g.frames(), 4);
    }

    #[test]
    fn load_and_reload_name_the_file() {
        let missing = Path::new("/nonexistent/bench_json.wasm");
        let e = JsonGuest::load(missing).err().expect("a missing file does not load");
        assert!(e.contains("/nonexistent/bench_json.wasm"), "{e}");
        let mut g = guest();
        let e = g.reload(missing).expect_err("a missing file does not reload");
        assert!(e.contains("/nonexistent/bench_json.wasm"), "{e}");
        let bad = std::env::temp_dir().join(format!("json-boundary-bad-{}.wasm", std::process::id()));
        std::fs::write(&bad, b"not wasm").unwrap();
        let e = g.reload(&bad).expect_err("a bad module does not reload");
        assert!(e.contains(&*bad.to_string_lossy()) && e.contains("compile"), "{e}");
        let _ = std::fs::remove_file(&bad);
        assert_eq!(g.frames(), 0, "the old guest still runs");
    }
}
