//! What one mod may use: time, memory and quotas (ABI.md, "Security").

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

/// Most `log` lines one call into a mod may write; the rest are dropped.
pub const MAX_LOG_LINES_PER_CALL: u32 = 100;

/// Most elements of a mod's function tables (wasm `table`): 8 bytes each.
pub const MAX_TABLE_ELEMENTS: usize = 1 << 20;
