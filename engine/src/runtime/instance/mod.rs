//! One running mod: its wasmtime `Store`, its registered systems, and the
//! bulk data path between the Bevy world and the mod's frame buffer.
//!
//! A system run ([`ModInstance::run_nth`]) is one file per step:
//! 0. [`plan`]: once per instance, the descriptor becomes plans (components
//!    and channels by name, parameters, the systems' order);
//! 1. to 3. [`copy_in`]: lay out the frame, grow the mod's buffer with
//!    `mod_alloc` only if the frame outgrew it, copy table columns in (one
//!    `memcpy` per column, a conversion per row through an adapter); a run
//!    whose queries match nothing gets only the header and empty query
//!    headers (`write_empty_frame`), written again from what the system
//!    kept while nothing it matches changed (`IdleFrame`);
//! 4. [`call`]: one `mod_run`, under a CPU-time deadline;
//! 5. [`check`]: every output checked before anything is applied;
//! 6. [`copy_out`]: the columns and resources the system may write go back;
//! 7. [`apply`]: its commands, then its messages.
//!
//! [`host`] holds what the host keeps per `Store` and the functions mods
//! import; [`handover`] a new version or tier taking over; [`limits`] what
//! one mod may use.

mod apply;
mod call;
mod check;
mod copy_in;
mod copy_out;
mod handover;
mod host;
mod limits;
mod on_demand;
mod plan;

pub(crate) use call::Deadline;
pub use host::{HostState, define_imports};
pub use limits::{MAX_TABLE_ELEMENTS, ModLimits};
pub use plan::{ForeignOrder, SystemPlan};

use super::components::NamedComponent;
use super::error::ModError;
use super::usage::{ModUsage, Owner};
use bevy::ecs::component::ComponentId;
use bevy::prelude::*;
use call::{arm, hit_memory_limit, on_epoch, packed_text, trap_error};
use copy_in::{BatchLayout, EmptyFrame};
use host::instance_memory;
use mod_api::abi::{self, ComponentDecl, FRAME_HEADER_SIZE, FrameHeader, ModDescriptor, ScheduleLabel};
use std::collections::HashMap;
use wasmtime::{Instance, Memory, Store, StoreLimitsBuilder, TypedFunc};

/// How errors name a module's start function (wasm's `start`), which runs
/// during instantiation under [`ModLimits::init_deadline_ms`].
const START_FUNCTION: &str = "its start function";

/// Whether `module` imports the host function `name`.
fn imports(module: &wasmtime::Module, name: &str) -> bool {
    module.imports().any(|i| i.module() == abi::IMPORT_MODULE && i.name() == name)
}

/// One instantiated mod.
pub struct ModInstance {
    store: Store<HostState>,
    /// Who this mod is to [`ModUsage`]: what its commands keep in the world
    /// counts there, across its instances.
    owner: Owner,
    instance: Instance,
    /// The compiled code this instance runs.
    module: wasmtime::Module,
    tier: crate::runtime::Tier,
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
    /// The rows `query_locate` found in the current run (`HostState::found`,
    /// taken after the call; reused).
    found: Option<Vec<(u32, u32, u32)>>,
    /// The mod imports `query_entities` (ABI 1.4) or `query_fetch` (1.8):
    /// it gets entity ids only for queries that declare `entities`, and
    /// asks for the others.
    fetches_ids: bool,
    /// The mod imports `query_fetch` (ABI 1.8): its queries' columns are
    /// written only when it asks, or row by row as `query_locate` finds
    /// them ([`on_demand`]).
    fetches_columns: bool,
    /// The queries of the current run whose columns were left out
    /// (`HostState::deferred`, taken after the call; reused).
    deferred: Vec<on_demand::DeferredQuery>,
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
        runtime: &crate::runtime::WasmRuntime,
        module: &wasmtime::Module,
        file: &str,
        world: &mut World,
        replacing: Option<&ModInstance>,
    ) -> Result<ModInstance, ModError> {
        let limits = &runtime.limits;
        // NOTE: a failed `memory.grow` traps rather than returning -1, so a
        // mod that outgrows its limit stops with an error naming it, even
        // one that ignores the failure.
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(limits.max_memory_bytes)
            .table_elements(MAX_TABLE_ELEMENTS)
            .instances(1)
            .memories(1)
            .tables(4)
            .trap_on_grow_failure(true)
            .build();
        let deadline = Deadline::Init(limits.init_deadline_ms);
        let state = HostState::new(file.to_string(), store_limits, deadline, limits.max_log_bytes_per_frame);
        let mut store = Store::new(module.engine(), state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_callback(on_epoch);
        arm(&mut store, Deadline::Init(limits.init_deadline_ms));
        let instantiate_err = |cause: String| ModError::Instantiate { module: file.to_string(), cause };
        let instance: Instance = runtime.linker_for(module).instantiate(&mut store, module).map_err(|e| {
            let cause = format!("{e:#}");
            if hit_memory_limit(&cause) {
                instantiate_err(format!(
                    "its initial memory is larger than the limit of {} bytes (max_memory_bytes)",
                    limits.max_memory_bytes
                ))
            } else if e.downcast_ref::<wasmtime::Trap>().is_some() {
                // The start function trapped: past its deadline, or as any
                // other call would.
                trap_error(&mut store, START_FUNCTION, START_FUNCTION, e, limits)
            } else {
                instantiate_err(cause)
            }
        })?;
        let memory = instance
            .get_memory(&mut store, abi::exports::MEMORY)
            .ok_or_else(|| instantiate_err("the export `memory` is not a memory".into()))?;
        store.data_mut().memory = Some(memory);
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
        let max = limits::descriptor::MAX_BYTES;
        if (packed as u64 >> 32) as usize > max {
            return Err(descriptor_err(format!("its descriptor is {} bytes; the limit is {max}", packed as u64 >> 32)));
        }
        let text = packed_text(memory.data(&store), packed, abi::exports::INIT).map_err(descriptor_err)?;
        let descriptor: ModDescriptor =
            ron::from_str(&text).map_err(|e| descriptor_err(format!("descriptor does not parse: {e}")))?;
        store.data_mut().module = format!("{} ({file})", descriptor.name);

        let owner = world.get_resource_or_init::<ModUsage>().owner(file);
        let mut this = ModInstance {
            store,
            owner,
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
            // A mod that asks for columns (1.8) asks for ids too.
            fetches_ids: imports(module, abi::imports::QUERY_ENTITIES) || imports(module, abi::imports::QUERY_FETCH),
            fetches_columns: imports(module, abi::imports::QUERY_FETCH),
            deferred: Vec::new(),
            slots: Vec::new(),
            found: Some(Vec::new()),
            scratch: Vec::new(),
            sent_in_frame: (0, 0),
            next_deadline: Deadline::Call(limits.call_deadline_ms),
            spent: std::time::Duration::ZERO,
            migrations: Vec::new(),
        };
        this.apply_descriptor(world, &descriptor, replacing).map_err(|e| e.for_mod(file))?;
        Ok(this)
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
    pub fn tier(&self) -> crate::runtime::Tier {
        self.tier
    }

    /// True if this mod's systems or commands use component `id`.
    pub fn uses(&self, id: ComponentId) -> bool {
        self.components.iter().any(|c| c.id == id)
    }

    /// Name as logs show it: `name (file)`.
    pub fn label(&self) -> &str {
        &self.store.data().module
    }

    pub(super) fn component(&self, local: u32) -> Result<NamedComponent, String> {
        self.components.get(local as usize).copied().ok_or_else(|| format!("unknown component id {local}"))
    }

    /// The name of the component with local id `local`, as declared.
    pub(super) fn component_name(&self, local: u32) -> &str {
        self.component_names.get(local as usize).map_or("?", |n| n.as_str())
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
        let seed = crate::runtime::schedule::splitmix(header.seed ^ self.systems[i].seed_key);
        self.store.data_mut().frame = header.frame;
        self.spent = std::time::Duration::ZERO;
        self.store.data_mut().frame_grant = (0, 0);
        let ran = self.run_system(i, world, header, seed);
        // The time granted for a large frame is not the budget's.
        let granted = std::time::Duration::from_millis(self.store.data().frame_grant.0);
        *spent += self.spent.saturating_sub(granted);
        // What game functions the system called deferred (their `Commands`)
        // is the game's: applied after the system's own changes, and even if
        // the system failed after calling them.
        for id in std::mem::take(&mut self.store.data_mut().called) {
            crate::runtime::expose::apply_function(world, id);
        }
        // Boxed until here: moving an 80-byte `Result` the callee wrote only
        // the tag of stalled the load that copied it (`idle_system`).
        ran.map_err(|e| *e)
    }

    /// The systems this mod registered.
    pub fn systems(&self) -> impl Iterator<Item = &SystemPlan> {
        self.systems.iter()
    }

    /// The error of the run of system `i`.
    pub(super) fn system_error(&self, i: usize, cause: String) -> ModError {
        ModError::System { module: self.label().to_string(), system: self.systems[i].name.clone(), cause }
    }

    /// One run of system `i`, step by step (see the module's docs).
    fn run_system(
        &mut self,
        i: usize,
        world: &mut World,
        header: &FrameHeader,
        seed: u64,
    ) -> Result<(), Box<ModError>> {
        // A system without parameters has nothing to lay out, copy or check:
        // the header, the call, the status. (`call_overhead` in BENCHMARKS.md.)
        if self.systems[i].params.is_empty() {
            self.ensure_frame_buffer(FRAME_HEADER_SIZE, i)?;
            let base = self.buffer_ptr as usize;
            let (mem, _) = instance_memory(&mut self.store);
            Self::write_header(&mut mem[base..base + FRAME_HEADER_SIZE], header, seed, 0);
            return Ok(self.call_system(i, base)?);
        }
        // This run's tick, as Bevy gives each system run its own: what the
        // mod writes is changed at it, and its change filters see what
        // changed between its last run and it.
        let this_run = world.increment_change_tick();
        let size = match self.write_empty_frame(i, world, header, seed, this_run)? {
            EmptyFrame::NotRun => return Ok(()),
            EmptyFrame::Idle => {
                let called = self.call_with_world(i, world, self.buffer_ptr as usize);
                self.systems[i].set_last_run(this_run);
                return Ok(called?);
            }
            EmptyFrame::Written(size) => size,
            EmptyFrame::No => {
                let size = self.lay_out(i, world, this_run)?;
                // A `Populated` query that matched nothing: the system does
                // not run (and its change filters keep their last run, as in
                // Bevy).
                let empty = |(p, param): (usize, &plan::ParamPlan)| {
                    matches!(param, plan::ParamPlan::Query(q) if q.populated) && self.batches[p].is_empty()
                };
                if self.systems[i].params.iter().enumerate().any(empty) {
                    return Ok(());
                }
                self.grant_frame_time(size);
                self.ensure_frame_buffer(size, i)?;
                self.copy_in(i, world, header, seed, self.buffer_ptr as usize, size);
                size
            }
        };
        let base = self.buffer_ptr as usize;
        let called = self.call_with_world(i, world, base);
        self.systems[i].set_last_run(this_run);
        called?;
        // Nothing the run could hand back (every query matched nothing, no
        // writer, commands, reader or `ResMut`): no outputs to check, no
        // columns to write back. `idle_system` in `benches/ecs_bridge.rs`.
        let nothing_back = |(p, param): (usize, &plan::ParamPlan)| match param {
            plan::ParamPlan::Query(_) => self.batches[p].is_empty(),
            plan::ParamPlan::Resource { write, .. } => !write,
            plan::ParamPlan::Guest => true,
            _ => false,
        };
        if self.systems[i].params.iter().enumerate().all(nothing_back) {
            return Ok(());
        }
        let outputs = self.check_outputs(i, world, header, base, size)?;
        let commands = self.check_commands(i, world, &outputs.streams)?;
        self.check_views(i, base, size)?;
        self.copy_out(i, world, base, size, this_run);
        self.apply(world, commands, outputs.sent);
        Ok(())
    }
}
