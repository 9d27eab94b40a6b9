//! One running mod: its wasmtime `Store`, its registered systems, and the
//! bulk data path between the Bevy world and the mod's frame buffer.
//!
//! Per system run (ABI.md, "Frame buffer"):
//! 1. lay out the frame: header, parameter slots, then per query one batch
//!    per matching table (entity ids and one column per term, 16-aligned);
//! 2. grow the mod's buffer with `mod_alloc` only if the frame outgrew it;
//! 3. copy table columns into the mod's memory, one `memcpy` per column;
//! 4. call `mod_run` once;
//! 5. copy back only the columns the system may write, then apply its
//!    commands and publish its messages.

use super::components::{Migration, ModComponents, NamedComponent};
use super::error::ModError;
use super::expose::{GameApi, Kind};
use super::messages::{ChannelId, ModMessages};
use bevy::ecs::component::ComponentId;
use bevy::ecs::storage::TableId;
use bevy::prelude::*;
use mod_api::abi::{
    self, Access, BatchHeader, ComponentDecl, DATA_ALIGN, FRAME_HEADER_SIZE, FrameHeader, ModDescriptor, ParamDecl,
    QueryHeader, ScheduleLabel, align_up, op,
};
use std::collections::HashMap;
use wasmtime::{Caller, Instance, Linker, Memory, Store, StoreLimits, StoreLimitsBuilder, TypedFunc};

/// Limits applied to every mod instance.
#[derive(Clone, Debug)]
pub struct ModLimits {
    /// Budget of one call into a mod's systems (and its allocator), in
    /// milliseconds of the time the mod ran: the thread's CPU time, so a
    /// thread descheduled by a loaded machine is not blamed on the mod
    /// (see `on_epoch`).
    pub call_deadline_ms: u64,
    /// Budget, in milliseconds of CPU time, of the calls outside the frame loop: instantiation
    /// with `mod_init`, and the state hand-over of a reload (`mod_save_state`,
    /// `mod_restore_state`). They run once per load and parse or write RON,
    /// so a loaded machine may need more than a frame's share; an endless
    /// loop is still stopped.
    pub init_deadline_ms: u64,
    /// Budget of all of one mod's systems in one schedule run (`Update`,
    /// or one `FixedUpdate` step), in milliseconds of CPU time (see
    /// [`ModInstance::run_nth`]).
    pub schedule_budget_ms: u64,
    /// Largest linear memory a mod may grow to, in bytes.
    pub max_memory_bytes: usize,
    /// Most entities one system run may spawn.
    pub max_spawns_per_run: usize,
    /// Most messages one system run may send on one channel.
    pub max_messages_per_run: usize,
    /// Most entities the world may hold: a mod's spawn beyond it fails the mod.
    pub max_world_entities: usize,
    /// Most bytes of messages one mod may send in one frame, all its systems
    /// and channels together.
    pub max_message_bytes_per_frame: usize,
}

impl Default for ModLimits {
    fn default() -> Self {
        ModLimits {
            call_deadline_ms: 10,
            init_deadline_ms: 1000,
            schedule_budget_ms: 20,
            max_memory_bytes: 256 << 20,
            max_spawns_per_run: 10_000,
            max_messages_per_run: 100_000,
            max_world_entities: 1_000_000,
            max_message_bytes_per_frame: 16 << 20,
        }
    }
}

/// An order naming another mod's system: `(system index, the other
/// system's name, whether this one runs after it)`.
pub type ForeignOrder = (usize, String, bool);

/// Most `log` lines one call into a mod may write; the rest are dropped.
pub const MAX_LOG_LINES_PER_CALL: u32 = 100;

/// Most elements of a mod's function tables (wasm `table`): 8 bytes each.
pub const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// What the host keeps inside each mod's `Store`.
pub struct HostState {
    module: String,
    panic: Option<String>,
    limits: StoreLimits,
    /// `log` lines written in the current call.
    logs: u32,
    /// The deadline armed for the current call.
    deadline: Deadline,
    /// The thread's CPU time at the first epoch tick of the current call
    /// (`None` until then): the clock the deadline is checked against.
    cpu_mark: Option<std::time::Duration>,
    /// The entity ids left out of the current frame, which the mod may ask
    /// for (`query_entities`); empty outside a system call.
    lazy_ids: Vec<LazyIds>,
    /// The parameter slots of the current frame that hold a query (whose
    /// ids `query_entities` may be asked for, even if it matched nothing);
    /// empty outside a system call.
    query_slots: Vec<u32>,
    /// The world, during a system call: game functions run on it
    /// (`call_function`). `None` outside a system call.
    world: Option<std::ptr::NonNull<World>>,
    /// The game's id of each function the mod declared, by local id.
    functions: Vec<usize>,
    /// The game functions called during the current system run, whose
    /// deferred changes are applied after it (`ModInstance::run_nth`).
    called: Vec<usize>,
    /// Why a host function stopped the mod (a bad `call_function`): the
    /// cause of the trap that follows.
    host_error: Option<String>,
}

/// One batch's entity ids, left out of the frame until the mod asks.
struct LazyIds {
    /// The query's parameter slot.
    slot: u32,
    /// Where in the mod's memory the ids go (reserved in the frame).
    at: usize,
    /// The batch's table's entities (the world is not changed during the
    /// call that may read them).
    ids: *const Entity,
    len: usize,
}

// SAFETY: `ids` is only read during the system call it was set up for,
// while the host holds the world (see `ModInstance::run_system`).
unsafe impl Send for LazyIds {}
// SAFETY: `HostState::world` is set only for the duration of a system call
// on the thread that holds the world exclusively (see `run_system`).
unsafe impl Send for HostState {}
// SAFETY: as above; nothing reads it from two threads.
unsafe impl Sync for HostState {}
// SAFETY: as above; nothing reads it from two threads.
unsafe impl Sync for LazyIds {}

/// What stops a call into a mod.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Deadline {
    /// The call's own deadline ([`ModLimits::call_deadline_ms`]), in ms.
    Call(u64),
    /// The deadline of a call outside the frame loop
    /// ([`ModLimits::init_deadline_ms`]), in ms.
    Init(u64),
    /// What is left of the schedule run's budget
    /// ([`ModLimits::schedule_budget_ms`]), in ms.
    Schedule(u64),
}

impl Deadline {
    fn ms(self) -> u64 {
        match self {
            Deadline::Call(ms) | Deadline::Init(ms) | Deadline::Schedule(ms) => ms.max(1),
        }
    }
}

/// Adds the host functions (ABI.md, "Provided by the host") to `linker`.
pub fn define_imports(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    fn guest_str(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> String {
        const MAX: usize = 4096;
        let Some(memory) = caller.get_export(abi::exports::MEMORY).and_then(|e| e.into_memory()) else {
            return String::from("<mod has no memory>");
        };
        let data = memory.data(&caller);
        let (ptr, len) = (ptr as u32 as usize, (len as u32 as usize).min(MAX));
        match data.get(ptr..ptr.saturating_add(len)) {
            Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            None => format!("<invalid string: {len} bytes at {ptr:#x}>"),
        }
    }
    linker.func_wrap(
        abi::IMPORT_MODULE,
        abi::imports::LOG,
        |mut caller: Caller<'_, HostState>, level: i32, ptr: i32, len: i32| {
            caller.data_mut().logs += 1;
            let (module, logs) = (&caller.data().module, caller.data().logs);
            if logs > MAX_LOG_LINES_PER_CALL {
                if logs == MAX_LOG_LINES_PER_CALL + 1 {
                    warn!(target: "mod", "[{module}] wrote more than {MAX_LOG_LINES_PER_CALL} log lines in one call; the rest of this call's are dropped");
                }
                return;
            }
            let text = guest_str(&mut caller, ptr, len);
            let module = &caller.data().module;
            match level {
                abi::level::ERROR => error!(target: "mod", "[{module}] {text}"),
                abi::level::WARN => warn!(target: "mod", "[{module}] {text}"),
                abi::level::INFO => info!(target: "mod", "[{module}] {text}"),
                abi::level::DEBUG => debug!(target: "mod", "[{module}] {text}"),
                _ => trace!(target: "mod", "[{module}] {text}"),
            }
        },
    )?;
    linker.func_wrap(
        abi::IMPORT_MODULE,
        abi::imports::PANIC,
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| {
            let text = guest_str(&mut caller, ptr, len);
            caller.data_mut().panic = Some(text);
        },
    )?;
    linker.func_wrap(
        abi::IMPORT_MODULE,
        abi::imports::QUERY_ENTITIES,
        |mut caller: Caller<'_, HostState>, slot: i32| -> i32 {
            let Some(memory) = caller.get_export(abi::exports::MEMORY).and_then(|e| e.into_memory()) else {
                return 1;
            };
            let (mem, state) = memory.data_and_store_mut(&mut caller);
            // A query slot of this call: its ids are in place afterwards,
            // whether they were left out, written up front, or there are
            // none (the query matched no entity).
            if !state.query_slots.contains(&(slot as u32)) {
                return 1;
            }
            for batch in state.lazy_ids.iter().filter(|b| b.slot == slot as u32) {
                // SAFETY: set up by `run_system` for this call: the table's
                // `len` entities, alive while the host holds the world.
                let ids = unsafe { std::slice::from_raw_parts(batch.ids, batch.len) };
                write_entity_ids(&mut mem[batch.at..batch.at + 8 * batch.len], ids);
            }
            0
        },
    )?;
    linker.func_wrap(
        abi::IMPORT_MODULE,
        abi::imports::CALL_FUNCTION,
        |mut caller: Caller<'_, HostState>,
         local: i32,
         input: i32,
         input_len: i32,
         output: i32,
         cap: i32|
         -> wasmtime::Result<i32> {
            let stop = |caller: &mut Caller<'_, HostState>, why: String| {
                caller.data_mut().host_error = Some(why.clone());
                Err(wasmtime::Error::msg(why))
            };
            let Some(world) = caller.data().world else {
                return stop(&mut caller, "called a game function outside a system run".into());
            };
            let Some(&id) = caller.data().functions.get(local as u32 as usize) else {
                return stop(&mut caller, format!("called game function {local}, which it never declared"));
            };
            // SAFETY: set by `run_system` for this call, which holds the world
            // exclusively and touches it only after the call returns.
            let world = unsafe { &mut *world.as_ptr() };
            let (name, input_size, output_size) = {
                let (name, i, o) = world.resource::<super::expose::ModFunctions>().signature(id);
                (name.to_string(), i, o)
            };
            let (input, input_len, output, cap) =
                (input as u32 as usize, input_len as u32 as usize, output as u32 as usize, cap as u32 as usize);
            if input_len != input_size {
                return stop(
                    &mut caller,
                    format!("called function {name} with {input_len} bytes of input; it takes {input_size}"),
                );
            }
            if cap < output_size {
                return stop(
                    &mut caller,
                    format!("called function {name} with room for {cap} bytes of output; it returns {output_size}"),
                );
            }
            let Some(memory) = caller.get_export(abi::exports::MEMORY).and_then(|e| e.into_memory()) else {
                return stop(&mut caller, "has no memory".into());
            };
            let mem = memory.data(&caller);
            let in_bounds = |at: usize, len: usize| at.checked_add(len).is_some_and(|end| end <= mem.len());
            if !in_bounds(input, input_len) || !in_bounds(output, cap) {
                return stop(&mut caller, format!("called function {name} with input or output outside its memory"));
            }
            let args = mem[input..input + input_len].to_vec();
            let mut out = vec![0u8; output_size];
            caller.data_mut().called.push(id);
            let result = super::expose::call_function(world, id, &args, &mut out);
            let mem = memory.data_mut(&mut caller);
            match result {
                Ok(()) => {
                    mem[output..output + output_size].copy_from_slice(&out);
                    Ok(0)
                }
                Err(text) => {
                    let text = if text.is_empty() { format!("function {name} failed") } else { text };
                    let mut n = text.len().min(cap);
                    while !text.is_char_boundary(n) {
                        n -= 1;
                    }
                    mem[output..output + n].copy_from_slice(&text.as_bytes()[..n]);
                    Ok(n.max(1) as i32)
                }
            }
        },
    )?;
    Ok(())
}

/// Writes entity ids as the ABI's `u64`s (`Entity::to_bits`, little-endian).
fn write_entity_ids(out: &mut [u8], ids: &[Entity]) {
    for (chunk, e) in out.chunks_exact_mut(8).zip(ids) {
        chunk.copy_from_slice(&e.to_bits().to_le_bytes());
    }
}

#[derive(Clone, Copy)]
struct Term {
    component: NamedComponent,
    write: bool,
    /// The mod's local id of the component (for errors).
    local: u32,
}

struct QueryPlan {
    /// Whether the frame carries the entity ids up front; otherwise the
    /// mod fetches them with `query_entities` when it needs them.
    eager_ids: bool,
    terms: Vec<Term>,
    required: Vec<ComponentId>,
    without: Vec<ComponentId>,
    tables: Vec<TableId>,
    archetypes_seen: usize,
}

impl QueryPlan {
    /// Adds the tables of archetypes created since the last run.
    fn update(&mut self, world: &World) {
        let archetypes = world.archetypes();
        for archetype in archetypes.iter().skip(self.archetypes_seen) {
            let matches = self.required.iter().all(|&c| archetype.contains(c))
                && !self.without.iter().any(|&c| archetype.contains(c));
            if matches && !self.tables.contains(&archetype.table_id()) {
                self.tables.push(archetype.table_id());
            }
        }
        self.archetypes_seen = archetypes.len();
    }
}

enum ParamPlan {
    Query(QueryPlan),
    Reader {
        channel: ChannelId,
        cursor: u64,
    },
    Writer {
        channel: ChannelId,
    },
    Commands,
    Guest,
    /// A game resource: copied into the frame, and back if `write`.
    Resource {
        resource: super::expose::ExposedResource,
        write: bool,
        local: u32,
    },
}

/// A registered mod system.
pub struct SystemPlan {
    pub name: String,
    pub schedule: ScheduleLabel,
    index: i32,
    params: Vec<ParamPlan>,
    /// What this system mixes into its schedule run's seed: its mod's id
    /// and its name (`super::system_seed_key`).
    seed_key: u64,
}

/// Where one batch's blocks went in the frame.
struct BatchLayout {
    table: TableId,
    len: usize,
    header_at: usize,
    entities_at: usize,
    columns_at: Vec<usize>,
}

/// One instantiated mod.
pub struct ModInstance {
    store: Store<HostState>,
    instance: Instance,
    /// The compiled code this instance runs.
    module: wasmtime::Module,
    tier: super::Tier,
    memory: Memory,
    run: TypedFunc<(i32, i32), i32>,
    alloc: TypedFunc<(i32, i32), i32>,
    save: Option<TypedFunc<(), i64>>,
    restore: Option<TypedFunc<(i32, i32), i64>>,
    buffer_ptr: u32,
    buffer_cap: u32,
    limits: ModLimits,
    /// The mod's file name in the mod folder.
    file: String,
    pub descriptor: ModDescriptor,
    components: Vec<NamedComponent>,
    /// The names of `components`, by local id.
    component_names: Vec<String>,
    systems: Vec<SystemPlan>,
    /// System indices per schedule, in an order that respects before/after.
    /// Per schedule (`schedule as usize`): a plain index, as it is read
    /// on every system call.
    order: [Vec<usize>; 3],
    /// Per schedule: constraints naming other mods' systems.
    foreign: HashMap<ScheduleLabel, Vec<ForeignOrder>>,
    /// Per-query batch layouts of the current run (reused).
    batches: Vec<Vec<BatchLayout>>,
    /// The parameter slots of the current run (reused).
    slots: Vec<abi::ParamSlot>,
    /// The mod imports `query_entities` (ABI 1.4): it gets entity ids only
    /// for queries that declare `entities`, and asks for the others.
    fetches_ids: bool,
    /// Scratch for aligned component values while applying commands.
    scratch: Vec<u128>,
    /// Message bytes sent in frame `.0`, against `max_message_bytes_per_frame`.
    sent_in_frame: (u64, usize),
    /// The deadline of the next system run (set by `run_nth`).
    next_deadline: Deadline,
    /// CPU time charged to the current system run (`mod_alloc` and `mod_run`).
    spent: std::time::Duration,
    /// Components whose layout this version changes, registered under new
    /// ids: their values move over when the swap commits
    /// ([`prepare_migrations`](Self::prepare_migrations)).
    migrations: Vec<(ComponentDecl, NamedComponent)>,
}

impl ModInstance {
    /// Instantiates `module`, checks and applies its descriptor.
    ///
    /// `replacing`: the running version this one is to replace. The new
    /// version may change the layout of components the old one used; their
    /// values are converted when the swap commits. Without it, a layout that
    /// differs from the registered one is an error.
    pub fn new(
        runtime: &super::WasmRuntime,
        module: &wasmtime::Module,
        file: &str,
        world: &mut World,
        replacing: Option<&ModInstance>,
    ) -> Result<ModInstance, ModError> {
        let limits = &runtime.limits;
        let state = HostState {
            module: file.to_string(),
            panic: None,
            logs: 0,
            deadline: Deadline::Init(limits.init_deadline_ms),
            cpu_mark: None,
            lazy_ids: Vec::new(),
            query_slots: Vec::new(),
            world: None,
            functions: Vec::new(),
            called: Vec::new(),
            host_error: None,
            // NOTE: a failed `memory.grow` traps rather than returning -1, so a
            // mod that outgrows its limit stops with an error naming it, even
            // one that ignores the failure.
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.max_memory_bytes)
                .table_elements(MAX_TABLE_ELEMENTS)
                .instances(1)
                .memories(1)
                .tables(4)
                .trap_on_grow_failure(true)
                .build(),
        };
        let mut store = Store::new(module.engine(), state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_callback(on_epoch);
        arm(&mut store, Deadline::Init(limits.init_deadline_ms));
        let instantiate_err = |cause: String| ModError::Instantiate { module: file.to_string(), cause };
        let instance: Instance = runtime.linker_for(module).instantiate(&mut store, module).map_err(|e| {
            let cause = format!("{e:#}");
            instantiate_err(if hit_memory_limit(&cause) {
                format!(
                    "its initial memory is larger than the limit of {} bytes (max_memory_bytes)",
                    limits.max_memory_bytes
                )
            } else {
                cause
            })
        })?;
        let memory = instance
            .get_memory(&mut store, abi::exports::MEMORY)
            .ok_or_else(|| instantiate_err("the export `memory` is not a memory".into()))?;
        let typed_err =
            |name: &str, e: wasmtime::Error| instantiate_err(format!("export `{name}` has the wrong signature: {e}"));
        let run = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, abi::exports::RUN)
            .map_err(|e| typed_err(abi::exports::RUN, e))?;
        let alloc = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, abi::exports::ALLOC)
            .map_err(|e| typed_err(abi::exports::ALLOC, e))?;
        let init = instance
            .get_typed_func::<(), i64>(&mut store, abi::exports::INIT)
            .map_err(|e| typed_err(abi::exports::INIT, e))?;
        // Optional (ABI 1.1): state that survives a reload.
        let save = match instance.get_func(&mut store, abi::exports::SAVE_STATE) {
            Some(f) => Some(f.typed::<(), i64>(&store).map_err(|e| typed_err(abi::exports::SAVE_STATE, e))?),
            None => None,
        };
        let restore = match instance.get_func(&mut store, abi::exports::RESTORE_STATE) {
            Some(f) => Some(f.typed::<(i32, i32), i64>(&store).map_err(|e| typed_err(abi::exports::RESTORE_STATE, e))?),
            None => None,
        };

        arm(&mut store, Deadline::Init(limits.init_deadline_ms));
        let packed = init
            .call(&mut store, ())
            .map_err(|e| trap_error(&mut store, abi::exports::INIT, abi::exports::INIT, e, limits))?;
        let descriptor_err = |cause: String| ModError::Descriptor { module: file.to_string(), cause };
        let text = packed_text(memory.data(&store), packed, abi::exports::INIT).map_err(descriptor_err)?;
        let descriptor: ModDescriptor =
            ron::from_str(&text).map_err(|e| descriptor_err(format!("descriptor does not parse: {e}")))?;
        store.data_mut().module = format!("{} ({file})", descriptor.name);

        let mut this = ModInstance {
            store,
            instance,
            module: module.clone(),
            tier: runtime.tier_of(module),
            memory,
            run,
            alloc,
            save,
            restore,
            buffer_ptr: 0,
            buffer_cap: 0,
            limits: limits.clone(),
            file: file.to_string(),
            descriptor: descriptor.clone(),
            components: Vec::new(),
            component_names: Vec::new(),
            systems: Vec::new(),
            order: Default::default(),
            foreign: HashMap::new(),
            batches: Vec::new(),
            fetches_ids: module
                .imports()
                .any(|i| i.module() == abi::IMPORT_MODULE && i.name() == abi::imports::QUERY_ENTITIES),
            slots: Vec::new(),
            scratch: Vec::new(),
            sent_in_frame: (0, 0),
            next_deadline: Deadline::Call(limits.call_deadline_ms),
            spent: std::time::Duration::ZERO,
            migrations: Vec::new(),
        };
        this.apply_descriptor(world, &descriptor, replacing).map_err(descriptor_err)?;
        Ok(this)
    }

    /// Makes the mod's host buffer at least `size` bytes (ABI.md, `mod_alloc`),
    /// growing it by half again so it is rarely reallocated.
    fn ensure_buffer(&mut self, size: usize, during: &str) -> Result<(), ModError> {
        if size as u32 <= self.buffer_cap {
            return Ok(());
        }
        let cap = (size as u32).max(self.buffer_cap + self.buffer_cap / 2).max(64 * 1024);
        arm(&mut self.store, self.next_deadline);
        let called = self.alloc.call(&mut self.store, (cap as i32, DATA_ALIGN as i32));
        self.spent += charge(&mut self.store);
        let ptr = called.map_err(|e| trap_error(&mut self.store, during, abi::exports::ALLOC, e, &self.limits))?;
        let mem_len = self.memory.data_size(&self.store);
        if ptr as u32 as usize + cap as usize > mem_len || !(ptr as u32 as usize).is_multiple_of(DATA_ALIGN) {
            return Err(ModError::System {
                module: self.label().to_string(),
                system: during.to_string(),
                cause: format!("mod_alloc returned {ptr:#x} for {cap} bytes, outside memory or misaligned"),
            });
        }
        self.buffer_ptr = ptr as u32;
        self.buffer_cap = cap;
        Ok(())
    }

    /// The UTF-8 text at a packed `(len << 32) | ptr` that export `what` returned.
    fn packed_text(&self, packed: i64, what: &str) -> Result<String, ModError> {
        packed_text(self.memory.data(&self.store), packed, what)
            .map_err(|cause| ModError::Descriptor { module: self.label().to_string(), cause })
    }

    /// The mod's state as RON (ABI 1.1 `mod_save_state`), or `None` if the
    /// mod keeps none.
    pub fn save_state(&mut self) -> Result<Option<String>, ModError> {
        let Some(save) = self.save.clone() else { return Ok(None) };
        arm(&mut self.store, Deadline::Init(self.limits.init_deadline_ms));
        let packed = save.call(&mut self.store, ()).map_err(|e| {
            trap_error(&mut self.store, abi::exports::SAVE_STATE, abi::exports::SAVE_STATE, e, &self.limits)
        })?;
        self.packed_text(packed, abi::exports::SAVE_STATE).map(Some)
    }

    /// Hands `state` to the mod (ABI 1.1 `mod_restore_state`). `Ok(Err(why))`:
    /// the mod rejected it and starts fresh; `Err`: the mod trapped.
    pub fn restore_state(&mut self, state: &str) -> Result<Result<(), String>, ModError> {
        let Some(restore) = self.restore.clone() else { return Ok(Ok(())) };
        let during = abi::exports::RESTORE_STATE;
        self.ensure_buffer(state.len(), during)?;
        let at = self.buffer_ptr as usize;
        self.memory.data_mut(&mut self.store)[at..at + state.len()].copy_from_slice(state.as_bytes());
        arm(&mut self.store, Deadline::Init(self.limits.init_deadline_ms));
        let packed = restore
            .call(&mut self.store, (at as i32, state.len() as i32))
            .map_err(|e| trap_error(&mut self.store, during, during, e, &self.limits))?;
        if packed == 0 { Ok(Ok(())) } else { Ok(Err(self.packed_text(packed, during)?)) }
    }

    /// Takes over from `old`, the version this one replaces: message reader
    /// positions (see [`carry_over`](Self::carry_over)) and the mod's state.
    ///
    /// A trap while restoring is an error: the caller keeps the old version.
    /// State this version rejects, or that the old one cannot save, is not
    /// lost silently: this version starts fresh, the rejected state is kept
    /// in `{mods_dir}/{stem}.rejected-state.ron`, and the returned warning
    /// says so.
    pub fn take_over_from(
        &mut self,
        old: &mut ModInstance,
        world: &World,
        mods_dir: &std::path::Path,
    ) -> Result<Option<String>, ModError> {
        self.carry_over(old, world);
        let state = match old.save_state() {
            Ok(Some(state)) => state,
            Ok(None) => return Ok(None),
            Err(e) => {
                return Ok(Some(format!("the previous version could not save its state ({e}); the mod starts fresh")));
            }
        };
        match self.restore_state(&state)? {
            Ok(()) => Ok(None),
            Err(why) => {
                let file = self.file.clone();
                let stem = file.strip_suffix(".wasm").unwrap_or(&file);
                let kept = mods_dir.join(format!("{stem}.rejected-state.ron"));
                let where_kept = match std::fs::write(&kept, &state) {
                    Ok(()) => format!("the old state is kept in {}", kept.display()),
                    Err(e) => format!("the old state could not be written to {}: {e}", kept.display()),
                };
                Ok(Some(format!("state could not be restored ({why}); the mod starts fresh; {where_kept}")))
            }
        }
    }

    /// Takes over from the version it replaces: each message reader of a
    /// system with the same name and parameter position continues where the
    /// old one stopped; other readers start after the messages already held,
    /// so nothing is read twice.
    pub fn carry_over(&mut self, old: &ModInstance, world: &World) {
        self.skip_held_messages(world);
        for system in &mut self.systems {
            let Some(old_system) = old.systems.iter().find(|s| s.name == system.name) else { continue };
            for (new, old) in system.params.iter_mut().zip(&old_system.params) {
                if let (
                    ParamPlan::Reader { channel, cursor },
                    ParamPlan::Reader { channel: old_channel, cursor: old_cursor },
                ) = (new, old)
                    && channel == old_channel
                {
                    *cursor = *old_cursor;
                }
            }
        }
    }

    /// Takes over from `old`, the same module compiled by the other tier:
    /// its whole linear memory (so every resource, `Local` and allocation
    /// of the mod carries over, not only its saved state), the components
    /// it declared at run time, its frame buffer and its message cursors.
    /// Mutable globals that the module does not export are not copied; at a
    /// frame boundary the one a Rust mod has (the stack pointer) is back at
    /// its initial value anyway. Unlike a reload nothing may differ, so any
    /// failure is an error and `old` keeps running.
    pub fn take_over_as_other_tier(&mut self, old: &mut ModInstance, world: &World) -> Result<(), String> {
        let same = self.components.iter().zip(&old.components).all(|(a, b)| a.same(b));
        if !self.migrations.is_empty() || !same || old.components.len() < self.components.len() {
            return Err("its component layouts differ from the running code's".into());
        }
        self.carry_over(old, world);
        let (have, need) = (self.memory.data_size(&self.store), old.memory.data_size(&old.store));
        if need > have {
            let pages = (need - have).div_ceil(65536) as u64;
            self.memory
                .grow(&mut self.store, pages)
                .map_err(|e| format!("its memory cannot grow to {need} bytes: {e}"))?;
        }
        let from = old.memory.data(&old.store);
        let to = self.memory.data_mut(&mut self.store);
        to[..from.len()].copy_from_slice(from);
        to[from.len()..].fill(0);
        for global in old.exported_globals() {
            if let Some(g) = self.instance.get_global(&mut self.store, &global.0)
                && g.ty(&self.store).mutability() == wasmtime::Mutability::Var
            {
                g.set(&mut self.store, global.1).map_err(|e| format!("global {}: {e}", global.0))?;
            }
        }
        self.components = old.components.clone();
        self.component_names = old.component_names.clone();
        (self.buffer_ptr, self.buffer_cap) = (old.buffer_ptr, old.buffer_cap);
        self.sent_in_frame = old.sent_in_frame;
        Ok(())
    }

    /// The module's exported mutable globals and their values.
    fn exported_globals(&mut self) -> Vec<(String, wasmtime::Val)> {
        let names: Vec<String> = self
            .module
            .exports()
            .filter(
                |e| matches!(e.ty(), wasmtime::ExternType::Global(g) if g.mutability() == wasmtime::Mutability::Var),
            )
            .map(|e| e.name().to_string())
            .collect();
        names
            .into_iter()
            .filter_map(|name| {
                let value = self.instance.get_global(&mut self.store, &name)?.get(&mut self.store);
                Some((name, value))
            })
            .collect()
    }

    /// The mod's linear memory, for tools that stage a mod's state between
    /// calls (the fuzz targets). Never used by the runtime itself.
    #[doc(hidden)]
    pub fn memory_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    /// The compiled code this instance runs.
    pub fn module(&self) -> &wasmtime::Module {
        &self.module
    }

    /// Which compiler made the code this instance runs.
    pub fn tier(&self) -> super::Tier {
        self.tier
    }

    /// True if this mod's systems or commands use component `id`.
    pub fn uses(&self, id: ComponentId) -> bool {
        self.components.iter().any(|c| c.id == id)
    }

    /// Converts the values of every component whose layout this version
    /// changes, without touching the world: an error (naming the component,
    /// the entity and the field) means the swap must not happen.
    pub fn prepare_migrations(&self, world: &World) -> Result<Vec<Migration>, ModError> {
        let comps = world.resource::<ModComponents>();
        self.migrations
            .iter()
            .map(|(decl, to)| comps.prepare_migration(world, decl, *to))
            .collect::<Result<_, _>>()
            .map_err(|cause| ModError::Descriptor { module: self.label().to_string(), cause })
    }

    /// Starts every message reader after the messages already held.
    pub fn skip_held_messages(&mut self, world: &World) {
        let bus = world.resource::<ModMessages>();
        for system in &mut self.systems {
            for p in &mut system.params {
                if let ParamPlan::Reader { channel, cursor } = p {
                    *cursor = bus.unread(*channel, 0).1;
                }
            }
        }
    }

    /// Name as logs show it: `name (file)`.
    pub fn label(&self) -> &str {
        &self.store.data().module
    }

    fn apply_descriptor(
        &mut self,
        world: &mut World,
        d: &ModDescriptor,
        replacing: Option<&ModInstance>,
    ) -> Result<(), String> {
        // A world not prepared by the plugin gets the engine's types first, so
        // no mod can claim an engine name with another layout.
        if !world.contains_resource::<ModComponents>() {
            super::prepare_world(world);
        }
        for c in &d.components {
            let named = world.resource_scope(|world, mut comps: Mut<ModComponents>| {
                let current = comps.get(&c.name);
                let owned = current.zip(replacing).is_some_and(|(cur, old)| old.uses(cur.id));
                if owned && comps.layout_change(c).is_some() {
                    let new = comps.register_new_layout(world, c)?;
                    self.migrations.push((c.clone(), new));
                    Ok(new)
                } else {
                    comps.declare(world, c)
                }
            })?;
            self.components.push(named);
            self.component_names.push(c.name.clone());
        }
        let mut channels = Vec::new();
        for m in &d.messages {
            if let Some(api) = world.get_resource::<GameApi>() {
                api.check_declared(Kind::Message, &m.name)?;
            }
            let mut bus = world.resource_mut::<ModMessages>();
            channels.push(bus.channel(&m.name, m.size as usize, m.align as usize)?);
        }
        for f in &d.functions {
            let id = match world.get_resource::<super::expose::ModFunctions>() {
                Some(functions) => functions.resolve(f)?,
                None => return Err(format!("function {} is not exposed by the game; it exposes no functions", f.name)),
            };
            self.store.data_mut().functions.push(id);
        }
        let mut names = HashMap::new();
        for (index, s) in d.systems.iter().enumerate() {
            if names.insert(s.name.clone(), index).is_some() {
                return Err(format!("two systems are named {}", s.name));
            }
            let mut params = Vec::new();
            for p in &s.params {
                params.push(self.plan_param(p, &channels, world).map_err(|e| format!("system {}: {e}", s.name))?);
            }
            let seed_key = super::system_seed_key(&d.name, &s.name);
            self.systems.push(SystemPlan {
                name: s.name.clone(),
                schedule: s.schedule,
                index: index as i32,
                params,
                seed_key,
            });
        }
        for schedule in [ScheduleLabel::Startup, ScheduleLabel::Update, ScheduleLabel::FixedUpdate] {
            let (order, foreign) = order_systems(d, schedule)?;
            self.order[schedule as usize] = order;
            self.foreign.insert(schedule, foreign);
        }
        Ok(())
    }

    fn component(&self, local: u32) -> Result<NamedComponent, String> {
        self.components.get(local as usize).copied().ok_or_else(|| format!("unknown component id {local}"))
    }

    /// The name of the component with local id `local`, as declared.
    fn component_name(&self, local: u32) -> &str {
        self.component_names.get(local as usize).map_or("?", |n| n.as_str())
    }

    fn plan_param(&self, p: &ParamDecl, channels: &[ChannelId], world: &World) -> Result<ParamPlan, String> {
        let channel = |m: u32| channels.get(m as usize).copied().ok_or_else(|| format!("unknown message id {m}"));
        Ok(match p {
            ParamDecl::Query { terms, with, without, entities } => {
                let mut plan = QueryPlan {
                    eager_ids: *entities || !self.fetches_ids,
                    terms: Vec::new(),
                    required: Vec::new(),
                    without: Vec::new(),
                    tables: Vec::new(),
                    archetypes_seen: 0,
                };
                for t in terms {
                    let component = self.component(t.component)?;
                    let write = t.access == Access::Write;
                    if write && component.read_only {
                        return Err(GameApi::read_only(Kind::Component, self.component_name(t.component)));
                    }
                    plan.terms.push(Term { component, write, local: t.component });
                    if !t.optional {
                        plan.required.push(component.id);
                    }
                }
                for &w in with {
                    plan.required.push(self.component(w)?.id);
                }
                for &w in without {
                    plan.without.push(self.component(w)?.id);
                }
                plan.update(world);
                ParamPlan::Query(plan)
            }
            ParamDecl::MessageReader { message } => {
                // A new reader starts at the messages still held, like Bevy's.
                ParamPlan::Reader { channel: channel(*message)?, cursor: 0 }
            }
            ParamDecl::MessageWriter { message } => {
                let channel = channel(*message)?;
                let bus = world.resource::<ModMessages>();
                if !bus.mods_may_write(channel) {
                    return Err(GameApi::read_only(Kind::Message, bus.name(channel)));
                }
                ParamPlan::Writer { channel }
            }
            ParamDecl::Commands => ParamPlan::Commands,
            ParamDecl::Guest => ParamPlan::Guest,
            ParamDecl::Resource { resource: local, write } => {
                let decl = self
                    .descriptor
                    .resources
                    .get(*local as usize)
                    .ok_or_else(|| format!("unknown resource id {local}"))?;
                let resource = match world.get_resource::<super::expose::ModResources>() {
                    Some(resources) => resources.resolve(decl)?,
                    None => {
                        return Err(format!(
                            "resource {} is not exposed by the game; it exposes no resources",
                            decl.name
                        ));
                    }
                };
                if *write && resource.read_only {
                    return Err(GameApi::read_only(Kind::Resource, &decl.name));
                }
                ParamPlan::Resource { resource, write: *write, local: *local }
            }
        })
    }

    /// Runs every system of `schedule`, in order. Stops at the first error.
    pub fn run_schedule(
        &mut self,
        schedule: ScheduleLabel,
        world: &mut World,
        header: &FrameHeader,
    ) -> Result<(), ModError> {
        let mut spent = std::time::Duration::ZERO;
        for n in 0..self.schedule_order(schedule).len() {
            self.run_nth(schedule, n, world, header, &mut spent)?;
        }
        Ok(())
    }

    /// The indices of this mod's systems of `schedule`, in the order its
    /// own `after`/`before` give.
    pub fn schedule_order(&self, schedule: ScheduleLabel) -> &[usize] {
        &self.order[schedule as usize]
    }

    /// The name of system `i`.
    pub fn system_name(&self, i: usize) -> &str {
        &self.systems[i].name
    }

    /// Constraints of `schedule`'s systems that name other mods' systems:
    /// `(system index, other system's name, this one runs after it)`.
    pub fn foreign_constraints(&self, schedule: ScheduleLabel) -> &[ForeignOrder] {
        self.foreign.get(&schedule).map_or(&[], |f| f.as_slice())
    }

    /// Runs the `n`th system of `schedule` (in [`schedule_order`](Self::schedule_order)).
    /// `spent` is this mod's CPU time in this schedule run so far (start a
    /// run at zero): each call gets its own deadline, or what is left of the
    /// run's budget if that is less.
    ///
    /// NOTE: a call is charged only if it lasted past an epoch tick (see
    /// `charge`): reading the thread's CPU clock is a system call, too
    /// dear for every call of an empty system (about 33 ns in all).
    pub fn run_nth(
        &mut self,
        schedule: ScheduleLabel,
        n: usize,
        world: &mut World,
        header: &FrameHeader,
        spent: &mut std::time::Duration,
    ) -> Result<(), ModError> {
        let i = self.schedule_order(schedule)[n];
        let (call, budget) = (self.limits.call_deadline_ms, self.limits.schedule_budget_ms);
        let used = spent.as_millis() as u64;
        if used >= budget {
            return Err(ModError::System {
                module: self.label().to_string(),
                system: self.systems[i].name.clone(),
                cause: format!(
                    "not run: the mod's {schedule:?} systems used their shared budget of {budget} ms \
                     (schedule_budget_ms)"
                ),
            });
        }
        let left = budget - used;
        self.next_deadline = if left < call { Deadline::Schedule(left) } else { Deadline::Call(call) };
        let seed = super::splitmix(header.seed ^ self.systems[i].seed_key);
        self.spent = std::time::Duration::ZERO;
        let ran = self.run_system(i, world, header, seed);
        *spent += self.spent;
        // What game functions the system called deferred (their `Commands`)
        // is the game's: applied after the system's own changes, and even if
        // the system failed after calling them.
        for id in std::mem::take(&mut self.store.data_mut().called) {
            super::expose::apply_function(world, id);
        }
        ran
    }

    /// The systems this mod registered.
    pub fn systems(&self) -> impl Iterator<Item = &SystemPlan> {
        self.systems.iter()
    }

    /// [`ensure_buffer`](Self::ensure_buffer) for a run of system `i`
    /// (whose name is copied only if the buffer must grow).
    fn ensure_frame_buffer(&mut self, size: usize, i: usize) -> Result<(), ModError> {
        if size as u32 <= self.buffer_cap {
            return Ok(());
        }
        let name = self.systems[i].name.clone();
        self.ensure_buffer(size, &name)
    }

    /// Calls system `i` on the frame at `base`, under the armed deadline.
    fn call_system(&mut self, i: usize, base: usize) -> Result<(), ModError> {
        arm(&mut self.store, self.next_deadline);
        let index = self.systems[i].index;
        let called = self.run.call(&mut self.store, (index, base as i32));
        self.spent += charge(&mut self.store);
        let status = called
            .map_err(|e| trap_error(&mut self.store, &self.systems[i].name, abi::exports::RUN, e, &self.limits))?;
        if status != abi::status::OK {
            return Err(ModError::System {
                module: self.label().to_string(),
                system: self.systems[i].name.clone(),
                cause: format!("mod_run returned status {status}"),
            });
        }
        Ok(())
    }

    /// Writes the frame header (with `seed` and the parameter count) at the
    /// start of the frame buffer `frame`.
    fn write_header(frame: &mut [u8], header: &FrameHeader, seed: u64, param_count: usize) {
        let mut h = *header;
        h.seed = seed;
        h.param_count = param_count as u32;
        // SAFETY: FrameHeader is repr(C) plain data of FRAME_HEADER_SIZE bytes.
        frame[..FRAME_HEADER_SIZE].copy_from_slice(unsafe {
            std::slice::from_raw_parts(&h as *const FrameHeader as *const u8, FRAME_HEADER_SIZE)
        });
    }

    fn run_system(&mut self, i: usize, world: &mut World, header: &FrameHeader, seed: u64) -> Result<(), ModError> {
        // A system without parameters has nothing to lay out, copy or check:
        // the header, the call, the status. (`call_overhead` in BENCHMARKS.md.)
        if self.systems[i].params.is_empty() {
            self.ensure_frame_buffer(FRAME_HEADER_SIZE, i)?;
            let base = self.buffer_ptr as usize;
            let mem = self.memory.data_mut(&mut self.store);
            Self::write_header(&mut mem[base..base + FRAME_HEADER_SIZE], header, seed, 0);
            return self.call_system(i, base);
        }
        let system_err = |this: &Self, cause: String| ModError::System {
            module: this.label().to_string(),
            system: this.systems[i].name.clone(),
            cause,
        };
        // 1. Layout.
        let nparams = self.systems[i].params.len();
        let mut size = align_up(FRAME_HEADER_SIZE + 8 * nparams, DATA_ALIGN);
        let mut slots = std::mem::take(&mut self.slots);
        slots.clear();
        slots.resize(nparams, abi::ParamSlot::default());
        self.batches.resize_with(nparams, Vec::new);
        {
            for (p, param) in self.systems[i].params.iter_mut().enumerate() {
                match param {
                    ParamPlan::Query(q) => {
                        q.update(world);
                        let batches = &mut self.batches[p];
                        batches.clear();
                        let stride = align_up(size_of::<BatchHeader>() + 4 * q.terms.len(), 4);
                        let tables = world.storages().tables.iter().len();
                        let live: Vec<(TableId, usize)> = q
                            .tables
                            .iter()
                            .filter(|t| t.as_usize() < tables)
                            .map(|&t| (t, world.storages().tables[t].entity_count() as usize))
                            .filter(|&(_, len)| len > 0)
                            .collect();
                        let head_at = size;
                        size = align_up(size + size_of::<QueryHeader>() + stride * live.len(), DATA_ALIGN);
                        for (n, (table, len)) in live.into_iter().enumerate() {
                            let entities_at = size;
                            size = align_up(size + 8 * len, DATA_ALIGN);
                            let mut columns_at = Vec::with_capacity(q.terms.len());
                            for t in &q.terms {
                                if world.storages().tables[table].has_column(t.component.id) {
                                    columns_at.push(size);
                                    size = align_up(size + t.component.size as usize * len, DATA_ALIGN);
                                } else {
                                    columns_at.push(0);
                                }
                            }
                            let header_at = head_at + size_of::<QueryHeader>() + n * stride;
                            batches.push(BatchLayout { table, len, header_at, entities_at, columns_at });
                        }
                        slots[p] = abi::ParamSlot { offset: head_at as u32, len: (size - head_at) as u32 };
                    }
                    ParamPlan::Reader { channel, cursor } => {
                        let (bytes, _) = world.resource::<ModMessages>().unread(*channel, *cursor);
                        slots[p] = abi::ParamSlot { offset: size as u32, len: bytes.len() as u32 };
                        size = align_up(size + bytes.len(), DATA_ALIGN);
                    }
                    ParamPlan::Resource { resource, local, .. } => {
                        if world.get_resource_by_id(resource.id).is_none() {
                            let name = &self.descriptor.resources[*local as usize].name;
                            let cause = format!("resource {name} is not in the world (the game has not inserted it)");
                            return Err(ModError::System {
                                module: self.store.data().module.clone(),
                                system: self.systems[i].name.clone(),
                                cause,
                            });
                        }
                        slots[p] = abi::ParamSlot { offset: size as u32, len: resource.size };
                        size = align_up(size + resource.size as usize, DATA_ALIGN);
                    }
                    _ => {}
                }
            }
        }
        if size > u32::MAX as usize / 2 {
            return Err(system_err(self, format!("frame of {size} bytes is too large")));
        }

        // 2. Buffer.
        self.ensure_frame_buffer(size, i)?;

        // 3. Copy in.
        let base = self.buffer_ptr as usize;
        {
            let (mem, state) = self.memory.data_and_store_mut(&mut self.store);
            let frame = &mut mem[base..base + size];
            Self::write_header(frame, header, seed, nparams);
            for (p, slot) in slots.iter().enumerate() {
                let at = FRAME_HEADER_SIZE + 8 * p;
                frame[at..at + 4].copy_from_slice(&slot.offset.to_le_bytes());
                frame[at + 4..at + 8].copy_from_slice(&slot.len.to_le_bytes());
            }
            for (p, param) in self.systems[i].params.iter().enumerate() {
                match param {
                    ParamPlan::Query(q) => {
                        let head_at = slots[p].offset as usize;
                        state.query_slots.push(p as u32);
                        write_query(frame, base, head_at, p, q, &self.batches[p], world, &mut state.lazy_ids);
                    }
                    ParamPlan::Reader { channel, cursor } => {
                        let (bytes, _) = world.resource::<ModMessages>().unread(*channel, *cursor);
                        let at = slots[p].offset as usize;
                        frame[at..at + bytes.len()].copy_from_slice(bytes);
                    }
                    ParamPlan::Resource { resource, .. } => {
                        let at = slots[p].offset as usize;
                        let len = resource.size as usize;
                        if let Some(value) = world.get_resource_by_id(resource.id) {
                            // SAFETY: the resource is `size` bytes of plain data.
                            let bytes = unsafe { std::slice::from_raw_parts(value.as_ptr(), len) };
                            frame[at..at + len].copy_from_slice(bytes);
                        }
                    }
                    _ => {}
                }
            }
        }

        self.slots = slots;

        // 4. Call. Game functions the mod calls run on the world meanwhile.
        self.store.data_mut().world = Some(std::ptr::NonNull::from(&mut *world));
        let called = self.call_system(i, base);
        let state = self.store.data_mut();
        state.world = None;
        state.lazy_ids.clear();
        state.query_slots.clear();
        called?;

        // 5. Check the outputs (message slots, command streams); only if all
        // are sound: copy out, advance readers, apply commands, publish.
        let change_tick = world.change_tick();
        let mut commands = Vec::new();
        let mut sent: Vec<(ChannelId, Vec<u8>)> = Vec::new();
        {
            let mem = self.memory.data(&self.store);
            let mem_len = mem.len();
            let frame = &mem[base..base + size];
            let read_slot = |p: usize| -> (usize, usize) {
                let at = FRAME_HEADER_SIZE + 8 * p;
                let word = |o: usize| u32::from_le_bytes(frame[o..o + 4].try_into().unwrap()) as usize;
                (word(at), word(at + 4))
            };
            for (p, param) in self.systems[i].params.iter_mut().enumerate() {
                match param {
                    ParamPlan::Query(_) | ParamPlan::Reader { .. } => {}
                    ParamPlan::Writer { channel } => {
                        let (ptr, len) = read_slot(p);
                        let record = world.resource::<ModMessages>().record_size(*channel);
                        if len == 0 {
                            continue;
                        }
                        let bytes = mem.get(ptr..ptr.saturating_add(len)).filter(|_| ptr + len <= mem_len);
                        let Some(bytes) = bytes.filter(|b| b.len().is_multiple_of(record)) else {
                            return Err(system_err(
                                self,
                                format!(
                                    "message writer slot {p} points at {len} bytes at {ptr:#x}: outside memory or not whole records"
                                ),
                            ));
                        };
                        if len / record > self.limits.max_messages_per_run {
                            return Err(system_err(
                                self,
                                format!(
                                    "sent {} messages in one run; the limit is {}",
                                    len / record,
                                    self.limits.max_messages_per_run
                                ),
                            ));
                        }
                        if self.sent_in_frame.0 != header.frame {
                            self.sent_in_frame = (header.frame, 0);
                        }
                        self.sent_in_frame.1 += len;
                        if self.sent_in_frame.1 > self.limits.max_message_bytes_per_frame {
                            return Err(system_err(
                                self,
                                format!(
                                    "sent more than {} bytes of messages in one frame (the limit, \
                                     max_message_bytes_per_frame)",
                                    self.limits.max_message_bytes_per_frame
                                ),
                            ));
                        }
                        sent.push((*channel, bytes.to_vec()));
                    }
                    ParamPlan::Commands => {
                        let (ptr, len) = read_slot(p);
                        let Some(bytes) = mem.get(ptr..ptr.saturating_add(len)) else {
                            return Err(system_err(
                                self,
                                format!("command slot points at {len} bytes at {ptr:#x}, outside memory"),
                            ));
                        };
                        commands.push(bytes.to_vec());
                    }
                    ParamPlan::Guest | ParamPlan::Resource { .. } => {}
                }
            }
        }
        // Every stream is read and checked before any is applied: a run that
        // fails changes nothing.
        let (mut spawned, mut live) = (0, None);
        let mut checked = Vec::with_capacity(commands.len());
        for bytes in &commands {
            let read = self.read_commands(world, bytes, &mut spawned, &mut live);
            checked.push(read.map_err(|e| system_err(self, e))?);
        }
        {
            // Views of adapted components the system wrote must be values
            // the components can take, before anything is written back.
            let frame = &self.memory.data(&self.store)[base..base + size];
            for (p, param) in self.systems[i].params.iter().enumerate() {
                if let ParamPlan::Query(q) = param
                    && let Err((local, e)) = check_views(frame, q, &self.batches[p])
                {
                    return Err(system_err(self, format!("component {}: {e}", self.component_name(local))));
                }
            }
        }
        {
            let frame = &self.memory.data(&self.store)[base..base + size];
            for (p, param) in self.systems[i].params.iter_mut().enumerate() {
                match param {
                    ParamPlan::Query(q) => read_back_query(frame, q, &self.batches[p], world, change_tick),
                    ParamPlan::Reader { channel, cursor } => {
                        *cursor = world.resource::<ModMessages>().unread(*channel, *cursor).1;
                    }
                    _ => {}
                }
            }
        }
        // Game resources a `ResMut` system may have changed.
        let mut resources = Vec::new();
        {
            let frame = &self.memory.data(&self.store)[base..base + size];
            for (p, param) in self.systems[i].params.iter().enumerate() {
                if let ParamPlan::Resource { resource, write: true, .. } = param {
                    let at = self.slots[p].offset as usize;
                    resources.push((resource.id, frame[at..at + resource.size as usize].to_vec()));
                }
            }
        }
        for (id, bytes) in resources {
            if let Some(mut value) = world.get_resource_mut_by_id(id) {
                // SAFETY: the resource is plain data of `bytes.len()` bytes
                // (checked when it was exposed and when the mod declared it).
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), value.as_mut().as_ptr(), bytes.len()) };
            }
        }
        for stream in checked {
            self.apply_commands(world, stream);
        }
        for (channel, bytes) in sent {
            // A message type the game exposes also goes to Bevy's `Messages`.
            match world.resource::<ModMessages>().bridge(channel) {
                Some(bridge) => (bridge.push)(world, channel, &bytes),
                None => world.resource_mut::<ModMessages>().write_raw(channel, &bytes),
            }
        }
        Ok(())
    }

    /// A component a command declares (ABI.md, "Command stream"): it gets
    /// the next local id.
    fn declare_at_run_time(&mut self, world: &mut World, local: u32, decl: &ComponentDecl) -> Result<(), String> {
        if local as usize != self.components.len() {
            return Err(format!("declared component {} as id {local}, expected {}", decl.name, self.components.len()));
        }
        let c = world.resource_scope(|world, mut comps: Mut<ModComponents>| comps.declare(world, decl))?;
        self.components.push(c);
        self.component_names.push(decl.name.clone());
        Ok(())
    }

    /// Reads a command stream (ABI.md, "Command stream") into commands,
    /// checking every read, component id, entity and quota, without
    /// changing the world (declarations aside: they last for the instance
    /// anyway). A malformed stream is an error for the mod, and then none of
    /// the run's commands is applied. `spawned` counts the run's spawns
    /// across its command parameters, `live` the world's entities.
    fn read_commands<'b>(
        &mut self,
        world: &mut World,
        bytes: &'b [u8],
        spawned: &mut usize,
        live: &mut Option<usize>,
    ) -> Result<Vec<Command<'b>>, String> {
        let mut r = Cursor { bytes, at: 0 };
        let mut out = Vec::new();
        while r.at < bytes.len() {
            let opcode = r.u32()?;
            match opcode {
                op::DECLARE_COMPONENT => {
                    let local = r.u32()?;
                    let (size, align, name_len) = (r.u32()?, r.u32()?, r.u32()? as usize);
                    let name = std::str::from_utf8(r.take(name_len)?)
                        .map_err(|_| "component name is not UTF-8".to_string())?
                        .to_string();
                    r.pad()?;
                    self.declare_at_run_time(world, local, &ComponentDecl { name, size, align, fields: None })?;
                }
                op::DECLARE_COMPONENT_RON => {
                    let local = r.u32()?;
                    let len = r.u32()? as usize;
                    let text = std::str::from_utf8(r.take(len)?)
                        .map_err(|_| "component declaration is not UTF-8".to_string())?;
                    r.pad()?;
                    let decl: ComponentDecl =
                        ron::from_str(text).map_err(|e| format!("component declaration does not parse: {e}"))?;
                    self.declare_at_run_time(world, local, &decl)?;
                }
                op::SPAWN | op::INSERT => {
                    let entity = if opcode == op::INSERT { Some(r.entity(world)?) } else { None };
                    let count = r.u32()? as usize;
                    let mut bundle: Vec<(NamedComponent, &'b [u8])> = Vec::with_capacity(count.min(64));
                    for _ in 0..count {
                        let local = r.u32()?;
                        let c = self.component(local)?;
                        let data = r.take(c.size as usize)?;
                        r.pad()?;
                        if c.read_only {
                            return Err(GameApi::read_only(Kind::Component, self.component_name(local)));
                        }
                        if let Some(adapter) = c.adapter {
                            (adapter.check)(data)
                                .map_err(|e| format!("component {}: {e}", self.component_name(local)))?;
                        }
                        if bundle.iter().any(|(b, _)| b.id == c.id) {
                            return Err("a bundle names the same component twice".into());
                        }
                        bundle.push((c, data));
                    }
                    match entity {
                        Some(entity) => out.push(Command::Insert(entity, bundle)),
                        None => {
                            *spawned += 1;
                            if *spawned > self.limits.max_spawns_per_run {
                                return Err(format!(
                                    "spawned more than {} entities in one run (the limit, max_spawns_per_run)",
                                    self.limits.max_spawns_per_run
                                ));
                            }
                            let count =
                                *live.get_or_insert_with(|| world.archetypes().iter().map(|a| a.len() as usize).sum());
                            if count >= self.limits.max_world_entities {
                                return Err(format!(
                                    "spawn refused: the world holds {count} entities, the limit (max_world_entities)"
                                ));
                            }
                            *live = Some(count + 1);
                            out.push(Command::Spawn(bundle));
                        }
                    }
                }
                op::REMOVE => {
                    let entity = r.entity(world)?;
                    let local = r.u32()?;
                    let c = self.component(local)?;
                    if c.read_only {
                        return Err(GameApi::read_only(Kind::Component, self.component_name(local)));
                    }
                    out.push(Command::Remove(entity, c));
                }
                op::DESPAWN => out.push(Command::Despawn(r.entity(world)?)),
                other => return Err(format!("unknown command opcode {other} at byte {}", r.at - 4)),
            }
        }
        Ok(out)
    }

    /// Applies commands [`read_commands`](Self::read_commands) checked.
    fn apply_commands(&mut self, world: &mut World, commands: Vec<Command<'_>>) {
        for command in commands {
            let (entity, bundle) = match command {
                Command::Spawn(bundle) => (world.spawn_empty().id(), bundle),
                Command::Insert(entity, bundle) => match entity.filter(|e| world.get_entity(*e).is_ok()) {
                    Some(e) => (e, bundle),
                    None => continue, // despawned: warned when read, or by an earlier command
                },
                Command::Remove(entity, c) => {
                    if let Some(mut e) = entity.and_then(|e| world.get_entity_mut(e).ok()) {
                        e.remove_by_id(c.id);
                    }
                    continue;
                }
                Command::Despawn(entity) => {
                    if let Some(e) = entity.filter(|e| world.get_entity(*e).is_ok()) {
                        world.despawn(e);
                    }
                    continue;
                }
            };
            let mut ids = Vec::with_capacity(bundle.len());
            let mut offsets = Vec::with_capacity(bundle.len());
            self.scratch.clear();
            for (c, data) in &bundle {
                if let Some(adapter) = c.adapter {
                    // Checked when the stream was read.
                    (adapter.insert)(&mut world.entity_mut(entity), data);
                    continue;
                }
                let at = self.scratch.len() * 16;
                self.scratch.resize(self.scratch.len() + (c.size as usize).div_ceil(16), 0);
                bytemuck::cast_slice_mut::<u128, u8>(&mut self.scratch)[at..at + data.len()].copy_from_slice(data);
                ids.push(c.id);
                offsets.push(at);
            }
            let base = self.scratch.as_mut_ptr() as *mut u8;
            let ptrs = offsets.iter().map(|&o| {
                // SAFETY: `o` is a 16-aligned offset inside `scratch` holding the component's bytes.
                unsafe { bevy::ptr::OwningPtr::new(std::ptr::NonNull::new_unchecked(base.add(o))) }
            });
            // SAFETY: each pointer holds a valid value of the component with the matching id
            // (plain bytes with the declared layout, no drop glue).
            unsafe { world.entity_mut(entity).insert_by_ids(&ids, ptrs) };
        }
    }
}

/// One checked command of a mod's command stream; component values borrow
/// the stream. `None` entities no longer existed when the stream was read.
enum Command<'b> {
    Spawn(Vec<(NamedComponent, &'b [u8])>),
    Insert(Option<Entity>, Vec<(NamedComponent, &'b [u8])>),
    Remove(Option<Entity>, NamedComponent),
    Despawn(Option<Entity>),
}

/// The UTF-8 text at a packed `(len << 32) | ptr` (ABI.md, "Global rules")
/// in the mod's memory `mem`, which export `what` returned.
fn packed_text(mem: &[u8], packed: i64, what: &str) -> Result<String, String> {
    let (ptr, len) = (packed as u32 as usize, (packed as u64 >> 32) as usize);
    let bytes = mem
        .get(ptr..ptr.saturating_add(len))
        .ok_or_else(|| format!("{what} returned {len} bytes at {ptr:#x}, outside the mod's memory"))?;
    let text = std::str::from_utf8(bytes).map_err(|e| format!("{what} returned text that is not UTF-8: {e}"))?;
    Ok(text.to_string())
}

/// Prepares the store for one call into the mod: a fresh deadline, and no
/// panic message left over from an earlier call.
///
/// The deadline counts the thread's CPU time, not the wall clock, so a mod
/// is never stopped because a loaded machine descheduled the game's thread.
/// The epoch ticks every millisecond; the call's first tick starts the CPU
/// clock (`on_epoch`), and what ran before it counts as one whole tick, so
/// a call is stopped within about a millisecond of its deadline in CPU time,
/// and a call shorter than a tick costs no clock reading at all.
fn arm(store: &mut Store<HostState>, deadline: Deadline) {
    store.set_epoch_deadline(1);
    let state = store.data_mut();
    state.panic = None;
    state.logs = 0;
    state.deadline = deadline;
    state.cpu_mark = None;
}

/// One epoch tick.
const TICK: std::time::Duration = std::time::Duration::from_millis(1);

/// wasmtime's epoch callback: at the call's first tick, starts counting
/// the thread's CPU time; at later ticks, stops the call once it has run
/// for its deadline, and otherwise waits for as many more ticks as the
/// deadline has left (a thread that does not run uses none of them).
fn on_epoch(mut store: wasmtime::StoreContextMut<'_, HostState>) -> wasmtime::Result<wasmtime::UpdateDeadline> {
    let state = store.data_mut();
    let now = thread_cpu_time();
    let ms = state.deadline.ms();
    let Some(mark) = state.cpu_mark else {
        state.cpu_mark = Some(now);
        return Ok(wasmtime::UpdateDeadline::Continue((ms - 1).max(1)));
    };
    let ran = TICK + now.saturating_sub(mark);
    let limit = std::time::Duration::from_millis(ms);
    if ran >= limit {
        return Ok(wasmtime::UpdateDeadline::Interrupt);
    }
    Ok(wasmtime::UpdateDeadline::Continue(((limit - ran).as_millis() as u64).max(1)))
}

/// The CPU time a call that just returned is charged: nothing if it ended
/// before the epoch's next tick (most calls), else the tick it began in and
/// its CPU time since that tick.
fn charge(store: &mut Store<HostState>) -> std::time::Duration {
    match store.data_mut().cpu_mark.take() {
        None => std::time::Duration::ZERO,
        Some(mark) => TICK + thread_cpu_time().saturating_sub(mark),
    }
}

/// The CPU time this thread has run.
#[cfg(unix)]
fn thread_cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `clock_gettime` writes one `timespec`, which `ts` is.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if status != 0 {
        // No per-thread clock (not seen on Linux): count wall time instead.
        return wall_time();
    }
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Without a per-thread CPU clock, deadlines count wall time.
#[cfg(not(unix))]
fn thread_cpu_time() -> std::time::Duration {
    wall_time()
}

fn wall_time() -> std::time::Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

/// Whether wasmtime's error text says a memory grew past the store's limit
/// (`StoreLimits::trap_on_grow_failure`).
fn hit_memory_limit(error: &str) -> bool {
    error.contains("forcing trap when growing memory")
}

/// Turns a failed call into a [`ModError`] naming the mod, the function and
/// the cause: the panic message the SDK reported, the deadline, or the trap.
fn trap_error(
    store: &mut Store<HostState>,
    function: &str,
    export: &str,
    e: wasmtime::Error,
    limits: &ModLimits,
) -> ModError {
    let module = store.data().module.clone();
    let panic = store.data_mut().panic.take();
    let host_error = store.data_mut().host_error.take();
    let cause = if let Some(msg) = host_error {
        msg
    } else if let Some(msg) = panic {
        format!("panicked: {msg}")
    } else if matches!(e.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt)) {
        match store.data().deadline {
            Deadline::Call(ms) => format!("ran past its deadline of {ms} ms and was stopped (call_deadline_ms)"),
            Deadline::Init(ms) => format!("ran past its deadline of {ms} ms and was stopped (init_deadline_ms)"),
            Deadline::Schedule(_) => format!(
                "its systems ran past their shared budget of {} ms in one schedule run and were stopped \
                 (schedule_budget_ms)",
                limits.schedule_budget_ms
            ),
        }
    } else if hit_memory_limit(&format!("{e:#}")) {
        format!("grew its memory past the limit of {} bytes (max_memory_bytes)", limits.max_memory_bytes)
    } else {
        // The trap first, then the innermost functions of wasmtime's
        // backtrace, on one line.
        let text = format!("{e:#}");
        match text.find("wasm trap: ") {
            Some(at) => {
                let cause = text[at..].trim();
                let frames =
                    text[..at].lines().filter_map(|l| l.split_once(" - ").map(|(_, f)| f.trim_end_matches(": ")));
                let frames: Vec<&str> = frames.take(5).collect();
                if frames.is_empty() { cause.to_string() } else { format!("{cause} (in {})", frames.join(" < ")) }
            }
            None => text.replace('\n', " "),
        }
    };
    let function = if function == export { function.to_string() } else { format!("{function} ({export})") };
    ModError::Trap { module, function, cause }
}

/// Sorts the systems of one schedule so every `after`/`before` holds, keeping
/// registration order otherwise.
/// Constraints naming a system of another mod (a name whose crate part, the
/// text before the first `::`, is none of this mod's) are not errors: they
/// are returned, as `(system, other, runs after it)`, for the runtime to
/// order across mods.
fn order_systems(d: &ModDescriptor, schedule: ScheduleLabel) -> Result<(Vec<usize>, Vec<ForeignOrder>), String> {
    let crate_of = |name: &str| name.split("::").next().unwrap_or(name).to_string();
    let own: std::collections::HashSet<String> = d.systems.iter().map(|s| crate_of(&s.name)).collect();
    let foreign_name = |name: &str| name.contains("::") && !own.contains(&crate_of(name));
    let mut foreign = Vec::new();
    let members: Vec<usize> = (0..d.systems.len()).filter(|&i| d.systems[i].schedule == schedule).collect();
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    for (k, &i) in members.iter().enumerate() {
        index_of.entry(d.systems[i].name.as_str()).or_insert(k);
    }
    // Edges between positions in `members`.
    let mut edges = Vec::new();
    for (k, &i) in members.iter().enumerate() {
        let s = &d.systems[i];
        for a in &s.after {
            if !index_of.contains_key(a.as_str()) && foreign_name(a) {
                foreign.push((i, a.clone(), true));
                continue;
            }
            let j = *index_of.get(a.as_str()).ok_or_else(|| {
                format!("system {} runs after {a}, which is not a {schedule:?} system of this mod", s.name)
            })?;
            edges.push((j, k));
        }
        for b in &s.before {
            if !index_of.contains_key(b.as_str()) && foreign_name(b) {
                foreign.push((i, b.clone(), false));
                continue;
            }
            let j = *index_of.get(b.as_str()).ok_or_else(|| {
                format!("system {} runs before {b}, which is not a {schedule:?} system of this mod", s.name)
            })?;
            edges.push((k, j));
        }
    }
    // Registration order where the rules leave a choice.
    let order = super::topo::order(members.len(), &edges, |k| k).map_err(|stuck| {
        let names: Vec<&str> = stuck.iter().map(|&k| d.systems[members[k]].name.as_str()).collect();
        format!("systems order themselves in a cycle: {}", names.join(", "))
    })?;
    Ok((order.into_iter().map(|k| members[k]).collect(), foreign))
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("command stream ends early at byte {} (needs {n} more)", self.at))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn pad(&mut self) -> Result<(), String> {
        let n = align_up(self.at, 4) - self.at;
        self.take(n).map(|_| ())
    }
    /// An entity from the stream; `None` (with a warning) if it no longer
    /// exists. An entity without any component mods can see (the engine's
    /// own: windows, cameras, UI) is an error.
    fn entity(&mut self, world: &World) -> Result<Option<Entity>, String> {
        let bits = self.u64()?;
        let e = Entity::try_from_bits(bits).ok_or_else(|| format!("{bits:#x} is not an entity id"))?;
        if world.get_entity(e).is_err() {
            warn!(target: "mod", "command for entity {e} ignored: it does not exist (any more)");
            return Ok(None);
        }
        if !world.resource::<ModComponents>().is_mod_visible(world, e) {
            return Err(format!("entity {e} is not the mods' to change: it has no component mods can see"));
        }
        Ok(Some(e))
    }
}

fn put_u32(frame: &mut [u8], at: usize, v: u32) {
    frame[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes query `q`'s data at `head_at` of `frame` (which starts at `base`
/// in the mod's memory). Entity ids the plan leaves out go to `lazy`, for
/// `query_entities` on parameter slot `slot`.
#[allow(clippy::too_many_arguments)]
fn write_query(
    frame: &mut [u8],
    base: usize,
    head_at: usize,
    slot: usize,
    q: &QueryPlan,
    batches: &[BatchLayout],
    world: &World,
    lazy: &mut Vec<LazyIds>,
) {
    let stride = align_up(size_of::<BatchHeader>() + 4 * q.terms.len(), 4);
    put_u32(frame, head_at, batches.len() as u32);
    put_u32(frame, head_at + 4, stride as u32);
    for b in batches {
        let table = &world.storages().tables[b.table];
        put_u32(frame, b.header_at, b.len as u32);
        put_u32(frame, b.header_at + 4, b.entities_at as u32);
        let ids = &table.entities()[..b.len];
        if q.eager_ids {
            write_entity_ids(&mut frame[b.entities_at..b.entities_at + 8 * b.len], ids);
        } else {
            lazy.push(LazyIds { slot: slot as u32, at: base + b.entities_at, ids: ids.as_ptr(), len: ids.len() });
        }
        for (n, (t, &at)) in q.terms.iter().zip(&b.columns_at).enumerate() {
            put_u32(frame, b.header_at + size_of::<BatchHeader>() + 4 * n, at as u32);
            if at == 0 {
                continue;
            }
            let bytes = t.component.size as usize * b.len;
            if let Some(src) = column_ptr(table, t.component, b.len) {
                let out = &mut frame[at..at + bytes];
                match t.component.adapter {
                    // SAFETY: the column holds `len` values of the adapter's
                    // component; `out` has room for `len` views.
                    Some(adapter) => unsafe { (adapter.to_views)(src, b.len, out) },
                    // SAFETY: the column holds `len` values of `size` bytes; the
                    // destination range was laid out for exactly that.
                    None => unsafe { std::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), bytes) },
                }
            }
        }
    }
}

/// Checks the views a mod wrote into query `q`'s writable adapter columns;
/// the error names the term's local component id.
fn check_views(frame: &[u8], q: &QueryPlan, batches: &[BatchLayout]) -> Result<(), (u32, String)> {
    for b in batches {
        for (t, &at) in q.terms.iter().zip(&b.columns_at) {
            let Some(adapter) = t.component.adapter.filter(|_| t.write && at != 0) else { continue };
            let bytes = t.component.size as usize * b.len;
            (adapter.check)(&frame[at..at + bytes]).map_err(|e| (t.local, e))?;
        }
    }
    Ok(())
}

fn read_back_query(
    frame: &[u8],
    q: &QueryPlan,
    batches: &[BatchLayout],
    world: &World,
    tick: bevy::ecs::change_detection::Tick,
) {
    for b in batches {
        let table = &world.storages().tables[b.table];
        for (t, &at) in q.terms.iter().zip(&b.columns_at) {
            if !t.write || at == 0 {
                continue;
            }
            let bytes = t.component.size as usize * b.len;
            if let Some(dst) = column_ptr(table, t.component, b.len) {
                let views = &frame[at..at + bytes];
                match t.component.adapter {
                    // SAFETY: as in `write_query`; the views were checked
                    // (`check_views`); the caller has exclusive world access.
                    Some(adapter) => unsafe { (adapter.apply_views)(views, dst, b.len) },
                    // SAFETY: as in `write_query`; the caller has exclusive world
                    // access and the column's cells are `UnsafeCell`s.
                    None => unsafe { std::ptr::copy_nonoverlapping(views.as_ptr(), dst, bytes) },
                }
            }
            if let Some(ticks) = table.get_changed_ticks_slice_for(t.component.id) {
                for cell in ticks {
                    // SAFETY: exclusive world access; nothing else borrows the ticks.
                    unsafe { *cell.get() = tick };
                }
            }
        }
    }
}

/// Raw pointer to the first byte of a component column with `len` rows
/// (the column's values are contiguous, `size` bytes each).
fn column_ptr(table: &bevy::ecs::storage::Table, c: NamedComponent, len: usize) -> Option<*mut u8> {
    let column = table.get_column(c.id)?;
    if len == 0 || len > table.entity_count() as usize {
        return None;
    }
    // NOTE: not `get_data_slice::<u8>(len * size)`: its contract wants the
    // column's own type, and its debug assertion (found by the fuzz target
    // `mod_output`) compares the byte count with the row capacity.
    let first = bevy::ecs::storage::TableRow::new(nonmax::NonMaxU32::ZERO);
    // SAFETY: row 0 exists (`len` > 0 rows). The pointer is raw: the caller
    // has exclusive world access while it copies through it.
    Some(unsafe { column.get_data_unchecked(first) }.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mod_api::abi::SystemDecl;

    /// The load-time check (`abi::imports::ALL`) and the linker agree: every
    /// import a mod may have is defined, and nothing else is.
    #[test]
    fn the_linker_defines_every_import_the_abi_lists() {
        let engine = wasmtime::Engine::default();
        let mut linker = Linker::new(&engine);
        define_imports(&mut linker).unwrap();
        let state = HostState {
            module: "test".into(),
            panic: None,
            limits: StoreLimitsBuilder::new().build(),
            logs: 0,
            deadline: Deadline::Call(1),
            cpu_mark: None,
            lazy_ids: Vec::new(),
            query_slots: Vec::new(),
            world: None,
            functions: Vec::new(),
            called: Vec::new(),
            host_error: None,
        };
        let mut defined: Vec<String> =
            linker.iter(Store::new(&engine, state)).map(|(_, name, _)| name.to_string()).collect();
        defined.sort();
        let mut listed: Vec<String> = abi::imports::ALL.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(defined, listed);
    }

    fn system(name: &str, after: &[&str], before: &[&str]) -> SystemDecl {
        SystemDecl {
            name: name.into(),
            schedule: ScheduleLabel::Update,
            params: vec![],
            after: after.iter().map(|s| s.to_string()).collect(),
            before: before.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn names(d: &ModDescriptor) -> Result<Vec<String>, String> {
        order_systems(d, ScheduleLabel::Update).map(|(o, _)| o.into_iter().map(|i| d.systems[i].name.clone()).collect())
    }

    #[test]
    fn registration_order_holds_without_constraints() {
        let d = ModDescriptor { systems: vec![system("a", &[], &[]), system("b", &[], &[])], ..Default::default() };
        assert_eq!(names(&d).unwrap(), ["a", "b"]);
    }

    #[test]
    fn after_and_before_reorder() {
        let d = ModDescriptor {
            systems: vec![system("a", &["c"], &[]), system("b", &[], &["c"]), system("c", &[], &[])],
            ..Default::default()
        };
        assert_eq!(names(&d).unwrap(), ["b", "c", "a"]);
    }

    #[test]
    fn a_cycle_is_an_error_naming_the_systems() {
        let d =
            ModDescriptor { systems: vec![system("a", &["b"], &[]), system("b", &["a"], &[])], ..Default::default() };
        let e = names(&d).unwrap_err();
        assert!(e.contains("cycle") && e.contains('a') && e.contains('b'), "{e}");
    }

    #[test]
    fn ordering_against_an_unknown_system_is_an_error() {
        let d = ModDescriptor { systems: vec![system("a", &["ghost"], &[])], ..Default::default() };
        let e = names(&d).unwrap_err();
        assert!(e.contains("ghost") && e.contains("a"), "{e}");
    }
}
