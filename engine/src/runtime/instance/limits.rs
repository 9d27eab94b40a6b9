//! What one mod may use: time, memory and quotas (ABI.md, "Security").
//! Every limit is per mod: no mod can spend what another needs.

/// Limits applied to every mod, each counted for that mod alone.
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
    /// [`ModInstance::run_nth`](crate::runtime::ModInstance::run_nth)).
    pub schedule_budget_ms: u64,
    /// Largest linear memory a mod may grow to, in bytes.
    pub max_memory_bytes: usize,
    /// Most entities one system run may spawn.
    pub max_spawns_per_run: usize,
    /// Most commands (of any kind) one system run may send, all its
    /// `Commands` parameters together: applying them is the host's time.
    pub max_commands_per_run: usize,
    /// Most messages one system run may send on one channel.
    pub max_messages_per_run: usize,
    /// Most entities the world may hold: a mod's spawn beyond it fails the mod.
    pub max_world_entities: usize,
    /// Most bytes of messages one mod may send in one frame, all its systems
    /// and channels together. Messages live two frames, so at most twice
    /// this is ever in flight for one mod.
    pub max_message_bytes_per_frame: usize,
    /// Most entities a mod's commands may keep in the world: those it
    /// spawned that still exist (see [`ModUsage`](crate::runtime::ModUsage)).
    pub max_entities_per_mod: usize,
    /// Most bytes of component values a mod's commands may keep in the
    /// world: each value it added (by spawning or inserting) counts its
    /// size, at least 8 bytes, until it is removed or its entity despawned.
    pub max_component_bytes_per_mod: usize,
    /// Most component and message names a mod may add to the process-wide
    /// tables (names are never freed; a name already there is free).
    pub max_names_per_mod: usize,
    /// Most bytes of `log` text a mod may write in one frame; the rest of
    /// the frame's lines are dropped, with one warning.
    pub max_log_bytes_per_frame: usize,
    /// Largest state a mod's `mod_save_state` may hand over, in bytes.
    pub max_state_bytes: usize,
    /// Most archetypes (Bevy's kinds of entity, one per set of components)
    /// a mod's commands may create; Bevy never frees one. A mod at its
    /// limit runs no more commands that could create one, so it creates at
    /// most this many plus those of one run.
    pub max_archetypes_per_mod: usize,
    /// How many bytes of a system's frame buy one more millisecond of
    /// deadline (and of the schedule budget): a system that matched a large
    /// world gets time to copy and walk it, so another mod's entities are
    /// never the reason it is stopped.
    pub frame_bytes_per_ms: usize,
}

impl Default for ModLimits {
    fn default() -> Self {
        ModLimits {
            call_deadline_ms: 10,
            init_deadline_ms: 1000,
            schedule_budget_ms: 20,
            max_memory_bytes: 256 << 20,
            max_spawns_per_run: 10_000,
            max_commands_per_run: 100_000,
            max_messages_per_run: 100_000,
            max_world_entities: 1_000_000,
            max_message_bytes_per_frame: 16 << 20,
            max_entities_per_mod: 100_000,
            max_component_bytes_per_mod: 64 << 20,
            max_names_per_mod: 256,
            max_log_bytes_per_frame: 64 << 10,
            max_state_bytes: 16 << 20,
            max_archetypes_per_mod: 1024,
            frame_bytes_per_ms: 1 << 20,
        }
    }
}

/// Most `log` lines one call into a mod may write; the rest are dropped.
pub const MAX_LOG_LINES_PER_CALL: u32 = 100;

/// Most elements of a mod's function tables (wasm `table`): 8 bytes each.
pub const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// What one mod's descriptor may declare: each bound keeps the work of
/// loading, planning and ordering a mod linear and small.
pub mod descriptor {
    /// Bytes of descriptor text `mod_init` may return.
    pub const MAX_BYTES: usize = 1 << 20;
    /// Systems one mod may declare.
    pub const MAX_SYSTEMS: usize = 4096;
    /// Parameters of one system.
    pub const MAX_PARAMS: usize = 64;
    /// Terms, `With` and `Without` filters of one query, each.
    pub const MAX_TERMS: usize = 64;
    /// `after` and `before` constraints of one system, together.
    pub const MAX_CONSTRAINTS: usize = 64;
    /// Components, messages, functions or resources one descriptor
    /// declares, each.
    pub const MAX_DECLARED: usize = 256;
    /// Bytes of one name (mod, system, component, field, …).
    pub const MAX_NAME_BYTES: usize = 256;
}
