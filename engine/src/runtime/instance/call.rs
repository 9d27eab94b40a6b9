//! Step 4: the call into the mod (`mod_alloc` when the frame outgrew its
//! buffer, then `mod_run`) under a deadline counted in the thread's CPU
//! time, and what a trap becomes (ABI.md, "Security").

use super::ModInstance;
use super::host::HostState;
use super::limits::ModLimits;
use crate::runtime::error::ModError;
use bevy::prelude::*;
use mod_api::abi::{self, DATA_ALIGN};
use wasmtime::Store;

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

    /// The same deadline, `extra` ms later.
    fn extended(self, extra: u64) -> Deadline {
        match self {
            Deadline::Call(ms) => Deadline::Call(ms + extra),
            Deadline::Init(ms) => Deadline::Init(ms + extra),
            Deadline::Schedule(ms) => Deadline::Schedule(ms + extra),
        }
    }
}

impl ModInstance {
    /// Gives the coming call of a system whose frame is `size` bytes one
    /// more millisecond per [`ModLimits::frame_bytes_per_ms`] of it: time to
    /// grow its buffer, and to walk what it matched, however large other
    /// mods or the game made the world. The time is not charged to the
    /// schedule budget either.
    pub(super) fn grant_frame_time(&mut self, size: usize) {
        let extra = (size / self.limits.frame_bytes_per_ms.max(1)) as u64;
        if extra > 0 {
            self.next_deadline = self.next_deadline.extended(extra);
            self.store.data_mut().frame_grant = (extra, size);
        }
    }

    /// Makes the mod's host buffer at least `size` bytes (ABI.md, `mod_alloc`),
    /// growing it by half again so it is rarely reallocated.
    pub(super) fn ensure_buffer(&mut self, size: usize, during: &str) -> Result<(), ModError> {
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

    /// [`ensure_buffer`](Self::ensure_buffer) for a run of system `i`
    /// (whose name is copied only if the buffer must grow).
    pub(super) fn ensure_frame_buffer(&mut self, size: usize, i: usize) -> Result<(), ModError> {
        if size as u32 <= self.buffer_cap {
            return Ok(());
        }
        let name = self.systems[i].name.clone();
        self.ensure_buffer(size, &name)
    }

    /// Calls system `i` on the frame at `base`, under the armed deadline.
    #[inline(always)]
    pub(super) fn call_system(&mut self, i: usize, base: usize) -> Result<(), ModError> {
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

    /// Calls system `i` on the frame at `base`; the game functions it calls
    /// run on `world` meanwhile (`call_function`), which nothing else
    /// touches until the call returns.
    pub(super) fn call_with_world(&mut self, i: usize, world: &mut World, base: usize) -> Result<(), ModError> {
        self.store.data_mut().world = Some(std::ptr::NonNull::from(&mut *world));
        let called = self.call_system(i, base);
        let state = self.store.data_mut();
        // The rows it found, for the write-back; the store gets the last
        // run's list back, emptied.
        std::mem::swap(&mut self.found, &mut state.found);
        match &mut state.found {
            Some(found) => found.clear(),
            None => state.found = Some(Vec::new()),
        }
        // The queries whose columns were left out, for the checks and the
        // write-back.
        std::mem::swap(&mut self.deferred, &mut state.deferred);
        state.deferred.clear();
        state.world = None;
        state.lazy_ids.clear();
        state.query_slots.clear();
        state.located.clear();
        called
    }
}

/// The UTF-8 text at a packed `(len << 32) | ptr` (ABI.md, "Global rules")
/// in the mod's memory `mem`, which export `what` returned.
pub(super) fn packed_text(mem: &[u8], packed: i64, what: &str) -> Result<String, String> {
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
pub(super) fn arm(store: &mut Store<HostState>, deadline: Deadline) {
    store.set_epoch_deadline(1);
    let state = store.data_mut();
    state.panic = None;
    state.logs = 0;
    if !matches!(deadline, Deadline::Call(_) | Deadline::Schedule(_)) {
        state.frame_grant = (0, 0);
    }
    state.deadline = deadline;
    state.cpu_mark = None;
}

/// One epoch tick.
pub(super) const TICK: std::time::Duration = std::time::Duration::from_millis(1);

/// wasmtime's epoch callback: at the call's first tick, starts counting
/// the thread's CPU time; at later ticks, stops the call once it has run
/// for its deadline, and otherwise waits for as many more ticks as the
/// deadline has left (a thread that does not run uses none of them).
pub(super) fn on_epoch(
    mut store: wasmtime::StoreContextMut<'_, HostState>,
) -> wasmtime::Result<wasmtime::UpdateDeadline> {
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

/// The CPU time a call that just returned is charged to its schedule
/// budget: nothing if it ended before the epoch's next tick (most calls),
/// else its CPU time since that tick. (The deadline itself counts the time
/// before the first tick as a whole tick, to stop a call in time; the
/// budget does not, or a thousand short calls that each happened to span a
/// tick, on a loaded machine, would be charged a second.)
pub(super) fn charge(store: &mut Store<HostState>) -> std::time::Duration {
    match store.data_mut().cpu_mark.take() {
        None => std::time::Duration::ZERO,
        Some(mark) => thread_cpu_time().saturating_sub(mark),
    }
}

/// The CPU time this thread has run.
#[cfg(unix)]
pub(super) fn thread_cpu_time() -> std::time::Duration {
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
pub(super) fn thread_cpu_time() -> std::time::Duration {
    wall_time()
}

pub(super) fn wall_time() -> std::time::Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

/// Whether wasmtime's error text says a memory grew past the store's limit
/// (`StoreLimits::trap_on_grow_failure`).
pub(super) fn hit_memory_limit(error: &str) -> bool {
    error.contains("forcing trap when growing memory")
}

/// Turns a failed call into a [`ModError`] naming the mod, the function and
/// the cause: the panic message the SDK reported, the deadline, or the trap.
pub(super) fn trap_error(
    store: &mut Store<HostState>,
    function: &str,
    export: &str,
    e: wasmtime::Error,
    limits: &ModLimits,
) -> ModError {
    let module = store.data().module.clone();
    let (grant, frame) = std::mem::take(&mut store.data_mut().frame_grant);
    let granted = match grant {
        0 => String::new(),
        ms => format!(", {ms} ms of it for its frame of {frame} bytes (frame_bytes_per_ms)"),
    };
    let panic = store.data_mut().panic.take();
    let host_error = store.data_mut().host_error.take();
    let cause = if let Some(msg) = host_error {
        msg
    } else if let Some(msg) = panic {
        format!("panicked: {msg}")
    } else if matches!(e.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt)) {
        match store.data().deadline {
            Deadline::Call(ms) => {
                format!("ran past its deadline of {ms} ms and was stopped (call_deadline_ms{granted})")
            }
            Deadline::Init(ms) => format!("ran past its deadline of {ms} ms and was stopped (init_deadline_ms)"),
            Deadline::Schedule(_) => format!(
                "its systems ran past their shared budget of {} ms in one schedule run and were stopped \
                 (schedule_budget_ms{granted})",
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
