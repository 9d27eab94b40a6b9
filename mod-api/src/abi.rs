//! The ABI between the host and a mod: constants, byte layouts and the
//! init-time descriptor. This module is the machine-readable half of
//! `mod-api/ABI.md`; both change together, and a breaking change bumps
//! [`ABI_MAJOR`].
//!
//! Everything here is shared by the host (`engine`) and the guest SDK, so the
//! two can never disagree about a layout.

use serde::{Deserialize, Serialize};

/// Major version of the ABI. A mod built against another major is refused.
pub const ABI_MAJOR: u16 = 1;
/// Minor version: additions only. A host accepts mods with a minor up to its own.
pub const ABI_MINOR: u16 = 8;

/// Name of the custom section that carries the ABI version a mod was built
/// against: 4 bytes, `major: u16 LE`, `minor: u16 LE`. The host reads it
/// before compiling or running anything.
pub const ABI_SECTION: &str = "bevy_mod_abi";

/// The wasm import module name of every host function.
pub const IMPORT_MODULE: &str = "bevy_mod";

/// Names of the functions a mod exports.
pub mod exports {
    /// `mod_alloc(size: i32, align: i32) -> i32`: a guest buffer for the host.
    pub const ALLOC: &str = "mod_alloc";
    /// `mod_init() -> i64`: registers everything; returns `(len << 32) | ptr`
    /// of the RON [`ModDescriptor`](super::ModDescriptor).
    pub const INIT: &str = "mod_init";
    /// `mod_run(system: i32, frame_ptr: i32) -> i32`: runs one system.
    pub const RUN: &str = "mod_run";
    /// The mod's linear memory.
    pub const MEMORY: &str = "memory";
    /// Optional (ABI 1.1) `mod_save_state() -> i64`: `(len << 32) | ptr` of
    /// the mod's state as RON, before a reload.
    pub const SAVE_STATE: &str = "mod_save_state";
    /// Optional (ABI 1.1) `mod_restore_state(ptr: i32, len: i32) -> i64`:
    /// restores state the host wrote into the `mod_alloc` buffer; returns 0,
    /// or `(len << 32) | ptr` of an error message.
    pub const RESTORE_STATE: &str = "mod_restore_state";
}

/// Names of the functions the host provides (module [`IMPORT_MODULE`]).
pub mod imports {
    /// `log(level: i32, ptr: i32, len: i32)`.
    pub const LOG: &str = "log";
    /// `panic(ptr: i32, len: i32)`: the message of a panic about to trap.
    pub const PANIC: &str = "panic";
    /// `query_entities(slot: i32) -> i32` (ABI 1.4): writes the entity ids
    /// of every batch of the query in parameter slot `slot` of the current
    /// frame; 0 if that slot holds a query of the current call (even one
    /// that matched nothing), 1 otherwise.
    pub const QUERY_ENTITIES: &str = "query_entities";
    /// (ABI 1.5) `call_function(function: i32, input_ptr: i32, input_len: i32,
    /// output_ptr: i32, output_cap: i32) -> i32`: calls the game function
    /// with local id `function` (see [`FunctionDecl`](super::FunctionDecl));
    /// 0 when it returned a value (written at `output_ptr`), else the byte
    /// length of its error text written there instead.
    pub const CALL_FUNCTION: &str = "call_function";
    /// (ABI 1.6) `query_locate(slot: i32, entity: i64) -> i64`: where
    /// `entity` is among the batches of the query in parameter slot `slot`
    /// of the current frame, as `(batch << 32) | row`; -1 if it is not
    /// there. Constant time in the number of entities the query matched.
    pub const QUERY_LOCATE: &str = "query_locate";
    /// (ABI 1.8) `query_fetch(slot: i32) -> i32`: writes the columns of
    /// every batch of the query in parameter slot `slot` of the current
    /// frame. A mod that imports it gets its queries' columns only when it
    /// asks, or one row at a time from `query_locate`; 0 if that slot holds
    /// a query of the current call, 1 otherwise.
    pub const QUERY_FETCH: &str = "query_fetch";
    /// Every function the host provides: a mod importing anything else is
    /// refused at load.
    pub const ALL: [&str; 6] = [LOG, PANIC, QUERY_ENTITIES, CALL_FUNCTION, QUERY_LOCATE, QUERY_FETCH];
}

/// Status codes returned by `mod_run`. Fixed numbers, never reused.
pub mod status {
    /// The system ran.
    pub const OK: i32 = 0;
    /// `mod_run` was called with a system index the mod never registered.
    pub const UNKNOWN_SYSTEM: i32 = 1;
    /// Reserved: the frame buffer did not match the system's declared
    /// parameters. The Rust SDK traps instead; the host treats every
    /// non-zero status as a failure of the system.
    pub const BAD_FRAME: i32 = 2;
}

/// Log levels of the `log` import.
///
/// Pass them to [`log`](crate::log), or use the macros [`error!`](crate::error),
/// [`warn!`](crate::warn), [`info!`](crate::info) and [`debug!`](crate::debug).
/// The host logs any other value at `TRACE`.
pub mod level {
    /// Something failed.
    pub const ERROR: i32 = 1;
    /// Something looks wrong.
    pub const WARN: i32 = 2;
    /// Normal operation (the level of [`info!`](crate::info)).
    pub const INFO: i32 = 3;
    /// Details for debugging.
    pub const DEBUG: i32 = 4;
    /// Finest detail; the host also logs unknown levels here.
    pub const TRACE: i32 = 5;
}

/// The fixed head of the frame buffer the host writes before each `mod_run`.
/// Offsets in parameter slots are relative to the start of this header.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameHeader {
    /// Seconds since the previous run of this schedule (fixed step in `FixedUpdate`).
    pub delta_secs: f32,
    /// Number of [`ParamSlot`]s that follow the header.
    pub param_count: u32,
    /// Seconds since the game started.
    pub elapsed_secs: f64,
    /// Frames since the game started.
    pub frame: u64,
    /// A pseudo-random seed, different for every system run (every schedule
    /// run, every system, every mod); the same for the same run of the same
    /// mods, so headless runs are reproducible.
    pub seed: u64,
    /// Keys held down, one bit per [`KeyCode`](crate::KeyCode) value.
    pub keys_pressed: [u32; 8],
    /// Keys pressed this frame.
    pub keys_just_pressed: [u32; 8],
    /// Keys released this frame.
    pub keys_just_released: [u32; 8],
}

/// Size of [`FrameHeader`] in bytes (checked at compile time).
pub const FRAME_HEADER_SIZE: usize = 128;
const _: () = assert!(core::mem::size_of::<FrameHeader>() == FRAME_HEADER_SIZE);

/// One slot per declared parameter, right after the header.
///
/// Input parameters (queries, message readers): `offset`/`len` locate the
/// host-written data, relative to the header. Output parameters (message
/// writers, commands): the host zeroes the slot, the guest writes the
/// absolute address and byte length of its output before returning.
///
/// A query's slot is also an output (ABI 1.7): a mod that sets its `len` to
/// [`TOUCHED_LOCATED`] before returning says it changed only rows it found
/// with `query_locate` in this run, so the host compares and writes back
/// only those; any other value (the one the host wrote, or
/// [`TOUCHED_ALL`]) and every row is compared.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParamSlot {
    /// Inputs: offset of the data from the frame's start. Outputs: the
    /// absolute address of the mod's output.
    pub offset: u32,
    /// Byte length of the data.
    pub len: u32,
}

/// A query slot's `len` on return: the system changed only rows it found
/// with `query_locate` during the call (ABI 1.7; see [`ParamSlot`]).
pub const TOUCHED_LOCATED: u32 = u32::MAX - 1;

/// A query slot's `len` on return: the system may have changed any row
/// (ABI 1.7; the same as leaving the slot as the host wrote it).
pub const TOUCHED_ALL: u32 = u32::MAX;

/// Head of a query parameter's data: `batch_count` batches follow, each a
/// [`BatchHeader`] and then one `u32` column offset per column term of the
/// query (in declaration order; `0` for an absent optional column).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QueryHeader {
    /// Number of batches (matching tables) that follow.
    pub batch_count: u32,
    /// Bytes from the start of one batch header to the next.
    pub batch_stride: u32,
}

/// One batch: the matching entities of one table, as contiguous columns.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchHeader {
    /// Number of entities (rows) in the batch.
    pub len: u32,
    /// Offset of `len` entity ids (`u64`). ABI 1.0 hosts always write them.
    pub entities: u32,
}

/// Alignment of every data block the host writes into the frame buffer.
pub const DATA_ALIGN: usize = 16;

/// Opcodes of the command stream (guest → host), see `ABI.md`.
pub mod op {
    /// `u32 local_id, u32 size, u32 align, u32 name_len, name bytes (padded to 4)`.
    pub const DECLARE_COMPONENT: u32 = 1;
    /// `u32 count`, then `count × (u32 local_id, bytes padded to 4)`.
    pub const SPAWN: u32 = 2;
    /// `u64 entity, u32 count`, then components as for SPAWN.
    pub const INSERT: u32 = 3;
    /// `u64 entity, u32 local_id`.
    pub const REMOVE: u32 = 4;
    /// `u64 entity`.
    pub const DESPAWN: u32 = 5;
    /// ABI 1.2: `u32 local_id, u32 len`, then `len` bytes of a RON
    /// [`ComponentDecl`](super::ComponentDecl) (padded to 4). Like
    /// `DECLARE_COMPONENT`, with the component's fields.
    pub const DECLARE_COMPONENT_RON: u32 = 6;
}

/// The schedules a mod system can run in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScheduleLabel {
    /// Once, when the mod starts.
    Startup,
    /// Every frame.
    Update,
    /// At the fixed time step.
    FixedUpdate,
}

/// Read or write access of a query term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    /// `&T`: the host copies the column in and not back.
    Read,
    /// `&mut T`: the host copies the column in, and back after the run.
    Write,
}

/// One component column of a query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryTerm {
    /// Local component id: an index into [`ModDescriptor::components`].
    /// Queries are resolved at init, so ids declared later by commands
    /// cannot appear in a query.
    pub component: u32,
    /// Whether the system reads or writes the column.
    pub access: Access,
    /// `Option<&T>`: entities without the component still match.
    #[serde(default)]
    pub optional: bool,
}

/// A system parameter, as the host needs to know it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamDecl {
    /// Host writes matching entities' columns; writes back `Write` terms.
    Query {
        /// The component columns, in the order the batches list them.
        terms: Vec<QueryTerm>,
        /// Local component ids an entity must have ([`With`](crate::With)).
        #[serde(default)]
        with: Vec<u32>,
        /// Local component ids an entity must not have ([`Without`](crate::Without)).
        #[serde(default)]
        without: Vec<u32>,
        /// Whether the host must write the batches' entity ids up front. A
        /// mod that imports `query_entities` (ABI 1.4) gets them only if
        /// this is set, and fetches them with that import when it needs
        /// them; every other mod always gets them.
        #[serde(default)]
        entities: bool,
        /// (ABI 1.6) Local component ids that must have changed since the
        /// system's last run ([`Changed`](crate::Changed)), as Bevy's
        /// change ticks tell; the entity must have them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changed: Vec<u32>,
        /// (ABI 1.6) Local component ids that must have been added since
        /// the system's last run ([`Added`](crate::Added)).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        added: Vec<u32>,
        /// (ABI 1.6) The system is not called in a frame where this query
        /// matches no entity ([`Populated`](crate::Populated), Bevy's).
        #[serde(default, skip_serializing_if = "core::ops::Not::not")]
        populated: bool,
    },
    /// Host writes the unread messages of a channel.
    MessageReader {
        /// Local message id: an index into [`ModDescriptor::messages`].
        message: u32,
    },
    /// Guest writes messages for a channel.
    MessageWriter {
        /// Local message id: an index into [`ModDescriptor::messages`].
        message: u32,
    },
    /// Guest writes a command stream.
    Commands,
    /// A parameter served entirely from the header or the guest's own memory
    /// (time, keyboard, locals, mod resources); its slot is left empty.
    Guest,
    /// (ABI 1.5) A resource the game exposes (local resource id, see
    /// [`ResourceDecl`]): its value is a data block of the frame, copied
    /// back after the run if `write`.
    Resource {
        /// Local resource id: index in [`ModDescriptor::resources`].
        resource: u32,
        /// A `ResMut`: the run's value replaces the game's.
        #[serde(default)]
        write: bool,
    },
}

/// A component type a mod uses. Types with the same name share one Bevy
/// component across mods and the game; their layouts must agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentDecl {
    /// The name every mod and the game share it under
    /// ([`Component::NAME`](crate::Component::NAME)).
    pub name: String,
    /// Bytes of one value.
    pub size: u32,
    /// Alignment of one value: a power of two, at most 16.
    pub align: u32,
    /// ABI 1.2: the component's fields. With them, the host carries values
    /// over when a reloaded mod changes the layout, and writes save games
    /// with named fields. `None`: the host sees only bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldDecl>>,
}

/// One field of a component (ABI 1.2). The host matches fields by name
/// across versions: a field is found under its name or any of its
/// `aliases`; a field the old version lacked starts from `default` (its
/// bytes in the new layout) or zero; a field the new version lacks is dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDecl {
    /// The field's name; tuple fields are `"0"`, `"1"`, ...
    pub name: String,
    /// Byte offset within the component.
    pub offset: u32,
    /// The field's type.
    pub ty: FieldType,
    /// Earlier names of this field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The value a field new in this version starts from, as bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Vec<u8>>,
}

/// The type of a component field (ABI 1.2). Numbers are little-endian;
/// `Bool` is one byte, 0 or 1; `Entity` is a `u64` entity id, remapped when
/// a save game is loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldType {
    /// `bool`: one byte, 0 or 1.
    Bool,
    /// `u8`.
    U8,
    /// `i8`.
    I8,
    /// `u16`.
    U16,
    /// `i16`.
    I16,
    /// `u32`.
    U32,
    /// `i32`.
    I32,
    /// `u64`.
    U64,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// An [`Entity`](crate::Entity): a `u64` id, remapped when a save game is loaded.
    Entity,
    /// `len` values of `of`, each `stride` bytes apart.
    Array {
        /// The element type.
        of: Box<FieldType>,
        /// Number of elements (at most 65,536).
        len: u32,
        /// Bytes from one element to the next (at least the element's size).
        stride: u32,
    },
    /// Nested plain data.
    Struct(Vec<FieldDecl>),
}

impl FieldType {
    /// Size in bytes of a scalar type; `None` for arrays and structs.
    pub const fn scalar_size(&self) -> Option<usize> {
        Some(match self {
            FieldType::Bool | FieldType::U8 | FieldType::I8 => 1,
            FieldType::U16 | FieldType::I16 => 2,
            FieldType::U32 | FieldType::I32 | FieldType::F32 => 4,
            FieldType::U64 | FieldType::I64 | FieldType::F64 | FieldType::Entity => 8,
            FieldType::Array { .. } | FieldType::Struct(_) => return None,
        })
    }
}

/// A message type a mod reads or writes; shared by name like components.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDecl {
    /// The channel's name ([`Message::NAME`](crate::Message::NAME)).
    pub name: String,
    /// Bytes of one record (more than 0).
    pub size: u32,
    /// Alignment of one record: a power of two, at most 16.
    pub align: u32,
}

/// (ABI 1.5) A resource of the game a mod reads or writes: its name and
/// layout, which must be the game's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDecl {
    /// The resource's name ([`GameResource::NAME`](crate::GameResource::NAME)).
    pub name: String,
    /// Bytes of its value.
    pub size: u32,
    /// Alignment of its value.
    pub align: u32,
}

/// (ABI 1.5) A function of the game a mod calls (`call_function`): its
/// name and the layouts of its input and output, which must be the game's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionDecl {
    /// The function's name ([`GameFunction::NAME`](crate::GameFunction::NAME)).
    pub name: String,
    /// Bytes of its input.
    pub input_size: u32,
    /// Bytes of its output.
    pub output_size: u32,
}

/// One mod system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemDecl {
    /// Unique within the mod (the Rust SDK uses the function's path).
    pub name: String,
    /// The schedule it runs in.
    pub schedule: ScheduleLabel,
    /// Its parameters, in order: one [`ParamSlot`] each in the frame.
    pub params: Vec<ParamDecl>,
    /// Names of systems of the same mod and schedule this one runs after.
    #[serde(default)]
    pub after: Vec<String>,
    /// Names of systems of the same mod and schedule this one runs before.
    #[serde(default)]
    pub before: Vec<String>,
}

/// What `mod_init` returns, as RON text. Not on the per-frame path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModDescriptor {
    /// The mod's name; the Rust SDK sends the manifest's `id`, which the
    /// host checks against it.
    pub name: String,
    /// The mod's version; the Rust SDK sends the manifest's `version`.
    pub version: String,
    /// Local component ids `0..n`, in this order.
    pub components: Vec<ComponentDecl>,
    /// Local message ids `0..n`, in this order.
    pub messages: Vec<MessageDecl>,
    /// System indices `0..n`: the `system` argument of `mod_run`.
    pub systems: Vec<SystemDecl>,
    /// (ABI 1.5, optional) Local function ids `0..n`: the game functions
    /// the mod calls, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<FunctionDecl>,
    /// (ABI 1.5, optional) Local resource ids `0..n`: the game resources
    /// the mod's systems read or write, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceDecl>,
}

/// Rounds `n` up to a multiple of `align` (a power of two).
pub const fn align_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}
