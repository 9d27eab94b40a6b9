//! What the host keeps in each mod's `Store` (with the mod's memory as last
//! seen, [`WithMemory`]), and the functions it gives mods (ABI.md,
//! "Provided by the host"): `log`, `panic`, `query_entities`,
//! `call_function`, `query_locate` and `query_fetch`.

use super::call::Deadline;
use super::limits::MAX_LOG_LINES_PER_CALL;
use super::on_demand::DeferredQuery;
use bevy::prelude::*;
use mod_api::abi;
use wasmtime::{AsContextMut, Caller, Linker, ResourceLimiter, Store, StoreLimits};

/// At most this many rows found by `query_locate` are remembered in one
/// call (12 bytes each); beyond, the run's queries compare every row.
pub(super) const MAX_LOCATED: usize = 1 << 20;

/// What the host keeps inside each mod's `Store`.
pub struct HostState {
    pub(super) module: String,
    pub(super) panic: Option<String>,
    pub(super) limits: Limits,
    /// `log` lines written in the current call.
    pub(super) logs: u32,
    /// The frame of the current system run (`FrameHeader::frame`).
    pub(super) frame: u64,
    /// `(frame, bytes)`: the `log` text written in that frame.
    pub(super) logged: (u64, usize),
    /// [`ModLimits::max_log_bytes_per_frame`](super::ModLimits::max_log_bytes_per_frame).
    pub(super) max_log_bytes: usize,
    /// `(ms, frame bytes)`: the time the current system run was granted for
    /// the size of its frame (`ModInstance::grant_frame_time`).
    pub(super) frame_grant: (u64, usize),
    /// The deadline armed for the current call.
    pub(super) deadline: Deadline,
    /// The thread's CPU time at the first epoch tick of the current call
    /// (`None` until then): the clock the deadline is checked against.
    pub(super) cpu_mark: Option<std::time::Duration>,
    /// The entity ids left out of the current frame, which the mod may ask
    /// for (`query_entities`); empty outside a system call.
    pub(super) lazy_ids: Vec<LazyIds>,
    /// The parameter slots of the current frame that hold a query (whose
    /// ids `query_entities` may be asked for, even if it matched nothing);
    /// empty outside a system call.
    pub(super) query_slots: Vec<u32>,
    /// The batches of the current frame's queries, for `query_locate`;
    /// empty outside a system call.
    pub(super) located: Vec<LocatedBatch>,
    /// The queries of the current frame whose columns were left out until
    /// the mod asks (`query_fetch`, ABI 1.8); empty outside a system call.
    pub(super) deferred: Vec<DeferredQuery>,
    /// The mod's memory, once it is instantiated.
    pub(super) memory: Option<wasmtime::Memory>,
    /// Its base and length when the host last looked it up, good until it
    /// grows ([`Limits::memory_grew`]; see [`WithMemory`]).
    view: (*mut u8, usize),
    /// What `query_locate` found in the current call, `(slot, batch, row)`:
    /// the rows a query that reports `TOUCHED_LOCATED` may have changed.
    /// `None` once it would outgrow [`MAX_LOCATED`]: every row is compared.
    pub(super) found: Option<Vec<(u32, u32, u32)>>,
    /// The world, during a system call: game functions run on it
    /// (`call_function`). `None` outside a system call.
    pub(super) world: Option<std::ptr::NonNull<World>>,
    /// The game's id of each function the mod declared, by local id.
    pub(super) functions: Vec<usize>,
    /// The game functions called during the current system run, whose
    /// deferred changes are applied after it (`ModInstance::run_nth`).
    pub(super) called: Vec<usize>,
    /// Why a host function stopped the mod (a bad `call_function`): the
    /// cause of the trap that follows.
    pub(super) host_error: Option<String>,
}

impl HostState {
    /// The state of a new `Store` for the mod in `module`, with `limits`,
    /// its first call under `deadline`.
    pub(crate) fn new(module: String, limits: StoreLimits, deadline: Deadline, max_log_bytes: usize) -> HostState {
        HostState {
            module,
            panic: None,
            limits: Limits { store: limits, memory_grew: true },
            logs: 0,
            frame: 0,
            logged: (0, 0),
            max_log_bytes,
            frame_grant: (0, 0),
            deadline,
            cpu_mark: None,
            lazy_ids: Vec::new(),
            query_slots: Vec::new(),
            located: Vec::new(),
            deferred: Vec::new(),
            memory: None,
            view: (std::ptr::null_mut(), 0),
            found: Some(Vec::new()),
            world: None,
            functions: Vec::new(),
            called: Vec::new(),
            host_error: None,
        }
    }
}

/// A store's limits ([`StoreLimits`]), which also remember that the mod's
/// memory grew: wasmtime asks the limiter before every growth, and only a
/// growth can move the memory or change its length.
pub(super) struct Limits {
    pub(super) store: StoreLimits,
    /// The memory may have moved since [`WithMemory`] last looked it up
    /// (true until it first does).
    memory_grew: bool,
}

impl ResourceLimiter for Limits {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.memory_grew = true;
        self.store.memory_growing(current, desired, maximum)
    }
    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.store.memory_grow_failed(error)
    }
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.store.table_growing(current, desired, maximum)
    }
    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.store.table_grow_failed(error)
    }
    fn instances(&self) -> usize {
        self.store.instances()
    }
    fn tables(&self) -> usize {
        self.store.tables()
    }
    fn memories(&self) -> usize {
        self.store.memories()
    }
}

/// The mod's memory and the store's state together, as
/// `Memory::data_and_store_mut` gives them, for the host's reads and writes
/// of the frame (from a [`Store`]) and for host functions (from a
/// [`Caller`]). The memory's base and length are kept in the state and
/// looked up through the store again only after the memory grew: that
/// lookup walks from the store to the instance to its memory, about a
/// twelfth of a run of a system that matched nothing (`idle_system`).
pub(super) trait WithMemory: AsContextMut<Data = HostState> {
    fn state(&mut self) -> &mut HostState;

    /// `None` before the mod's memory is known (during instantiation).
    fn memory_and_state(&mut self) -> Option<(&mut [u8], &mut HostState)> {
        let state = self.state();
        let memory = state.memory?;
        if state.limits.memory_grew {
            let (mem, state) = memory.data_and_store_mut(self.as_context_mut());
            state.view = (mem.as_mut_ptr(), mem.len());
            state.limits.memory_grew = false;
        }
        let state = self.state();
        // SAFETY: `view` is the memory's base and length as wasmtime gave
        // them after its last growth (`Limits::memory_grew` is set before
        // any growth, so a moved or longer memory is looked up again above),
        // and the memory lives as long as the store. The slice borrows the
        // store mutably, as `data_and_store_mut`'s does: no wasm code runs
        // and nothing else reaches the memory while it lives. It is not
        // part of `HostState`, so it does not alias the state.
        let mem = unsafe { std::slice::from_raw_parts_mut(state.view.0, state.view.1) };
        Some((mem, state))
    }
}

impl WithMemory for Store<HostState> {
    fn state(&mut self) -> &mut HostState {
        self.data_mut()
    }
}

impl WithMemory for Caller<'_, HostState> {
    fn state(&mut self) -> &mut HostState {
        self.data_mut()
    }
}

/// [`WithMemory::memory_and_state`] of a mod instance's store, whose
/// memory is known from its instantiation on.
pub(super) fn instance_memory(store: &mut Store<HostState>) -> (&mut [u8], &mut HostState) {
    store.memory_and_state().expect("a mod instance's memory is set when it is instantiated")
}

/// One batch of a query in the current frame: the table it holds, for
/// `query_locate`.
pub(super) struct LocatedBatch {
    /// The query's parameter slot.
    pub(super) slot: u32,
    /// The batch's index in its query.
    pub(super) batch: u32,
    pub(super) table: bevy::ecs::storage::TableId,
    /// Rows in the batch (the table's entities when the frame was written).
    pub(super) len: u32,
    /// The batch's table rows, ascending, if it holds chosen rows (a query
    /// with change filters); null and 0 for the whole table.
    pub(super) rows: (*const u32, usize),
}

// SAFETY: `rows` points into the frame's `BatchLayout`s, read only during
// the system call they were set up for (see `ModInstance::run_system`).
unsafe impl Send for LocatedBatch {}
// SAFETY: as above.
unsafe impl Sync for LocatedBatch {}

/// One batch's entity ids, left out of the frame until the mod asks.
pub(super) struct LazyIds {
    /// The query's parameter slot.
    pub(super) slot: u32,
    /// Where in the mod's memory the ids go (reserved in the frame).
    pub(super) at: usize,
    /// The batch's table's entities (the world is not changed during the
    /// call that may read them).
    pub(super) ids: *const Entity,
    pub(super) len: usize,
}

// SAFETY: `ids` is only read during the system call it was set up for,
// while the host holds the world (see `ModInstance::run_system`).
unsafe impl Send for LazyIds {}
// SAFETY: `HostState::world` is set only for the duration of a system call
// on the thread that holds the world exclusively (see `run_system`);
// `view` points into the store's own memory and is read only through the
// store (`WithMemory`), so it moves with the store.
unsafe impl Send for HostState {}
// SAFETY: as above; nothing reads it from two threads.
unsafe impl Sync for HostState {}
// SAFETY: as above; nothing reads it from two threads.
unsafe impl Sync for LazyIds {}

/// Longest `log` or `panic` text kept, in bytes; the rest is cut.
const MAX_LOG_TEXT: usize = 4096;

/// Adds the host functions (ABI.md, "Provided by the host") to `linker`.
pub fn define_imports(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    fn guest_str(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> String {
        const MAX: usize = MAX_LOG_TEXT;
        let Some(memory) = caller.get_export(abi::exports::MEMORY).and_then(|e| e.into_memory()) else {
            return String::from("<mod has no memory>");
        };
        let data = memory.data(&caller);
        let (ptr, len) = (ptr as u32 as usize, (len as u32 as usize).min(MAX));
        match data.get(ptr..ptr.saturating_add(len)) {
            Some(bytes) => printable(&String::from_utf8_lossy(bytes)),
            None => format!("<invalid string: {len} bytes at {ptr:#x}>"),
        }
    }
    linker.func_wrap(
        abi::IMPORT_MODULE,
        abi::imports::LOG,
        |mut caller: Caller<'_, HostState>, level: i32, ptr: i32, len: i32| {
            let state = caller.data_mut();
            state.logs += 1;
            if state.logged.0 != state.frame {
                state.logged = (state.frame, 0);
            }
            let before = state.logged.1;
            state.logged.1 = before.saturating_add((len as u32 as usize).min(MAX_LOG_TEXT));
            let (module, logs, max) = (&state.module, state.logs, state.max_log_bytes);
            if before >= max {
                return;
            }
            if state.logged.1 > max {
                warn!(target: "mod", "[{module}] wrote more than {max} bytes of log text in one frame (max_log_bytes_per_frame); the rest of this frame's are dropped");
                return;
            }
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
            let Some((mem, state)) = caller.memory_and_state() else { return 1 };
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
        abi::imports::QUERY_LOCATE,
        |mut caller: Caller<'_, HostState>, slot: i32, entity: i64| -> i64 {
            let Some((mem, state)) = caller.memory_and_state() else { return -1 };
            let (Some(world), Some(entity)) = (state.world, Entity::try_from_bits(entity as u64)) else {
                return -1;
            };
            // SAFETY: set by `run_system` for this call, which holds the world
            // exclusively; nothing changes it while this function reads it.
            let world = unsafe { world.as_ref() };
            let Ok(Some(at)) = world.entities().get(entity) else { return -1 };
            // The batches are the query's tables (or their rows that pass
            // its change filters): an entity in one matches the query.
            let row = at.table_row.index() as u32;
            let Some(b) = state.located.iter().find(|b| b.slot == slot as u32 && b.table == at.table_id) else {
                return -1;
            };
            let index = if b.rows.0.is_null() {
                Some(row).filter(|&r| r < b.len)
            } else {
                // SAFETY: the batch's rows, alive during this call.
                let rows = unsafe { std::slice::from_raw_parts(b.rows.0, b.rows.1) };
                rows.binary_search(&row).ok().map(|i| i as u32)
            };
            let Some(i) = index else { return -1 };
            let batch = b.batch;
            match &mut state.found {
                Some(found) if found.len() < MAX_LOCATED => found.push((slot as u32, batch, i)),
                _ => state.found = None,
            }
            // Columns left out (ABI 1.8): the row the mod asked for is written.
            if let Some(d) = state.deferred.iter_mut().find(|d| d.slot == slot as u32) {
                d.locate(mem, world, batch, i);
            }
            (i64::from(batch) << 32) | i64::from(i)
        },
    )?;
    linker.func_wrap(
        abi::IMPORT_MODULE,
        abi::imports::QUERY_FETCH,
        |mut caller: Caller<'_, HostState>, slot: i32| -> i32 {
            let Some((mem, state)) = caller.memory_and_state() else { return 1 };
            // A query slot of this call: its columns are in place afterwards,
            // whether they were left out, written up front, or there are
            // none (the query matched no entity).
            let Some(world) = state.world.filter(|_| state.query_slots.contains(&(slot as u32))) else {
                return 1;
            };
            // SAFETY: set by `run_system` for this call, which holds the world
            // exclusively; nothing changes it while this function reads it.
            let world = unsafe { world.as_ref() };
            if let Some(d) = state.deferred.iter_mut().find(|d| d.slot == slot as u32) {
                d.fetch(mem, world);
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
                let (name, i, o) = world.resource::<crate::runtime::expose::ModFunctions>().signature(id);
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
            let result = crate::runtime::expose::call_function(world, id, &args, &mut out);
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

/// `text` with its control characters escaped (`\n`, `\u{0}`, …), so
/// what a mod logs or panics with stays on one line of the host's log and
/// cannot pass for a line of the engine's own.
pub(crate) fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// Writes entity ids as the ABI's `u64`s (`Entity::to_bits`, little-endian).
pub(super) fn write_entity_ids(out: &mut [u8], ids: &[Entity]) {
    for (chunk, e) in out.chunks_exact_mut(8).zip(ids) {
        chunk.copy_from_slice(&e.to_bits().to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Store, StoreLimitsBuilder};

    /// The load-time check (`abi::imports::ALL`) and the linker agree: every
    /// import a mod may have is defined, and nothing else is.
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("fine text"), "fine text");
        assert_eq!(printable("a\nERROR b\r\0c\u{1b}[31m"), "a\\nERROR b\\r\\u{0}c\\u{1b}[31m");
    }

    #[test]
    fn the_linker_defines_every_import_the_abi_lists() {
        let engine = wasmtime::Engine::default();
        let mut linker = Linker::new(&engine);
        define_imports(&mut linker).unwrap();
        let state = HostState::new("test".into(), StoreLimitsBuilder::new().build(), Deadline::Call(1), 0);
        let mut defined: Vec<String> =
            linker.iter(Store::new(&engine, state)).map(|(_, name, _)| name.to_string()).collect();
        defined.sort();
        let mut listed: Vec<String> = abi::imports::ALL.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(defined, listed);
    }
}
