//! A puppet mod for fuzzing the host: a hand-written module whose
//! descriptor, output slots and frame contents come from the fuzzer, run by
//! the real runtime on a real world. Whatever the input, the host must not
//! panic, must not let a mod touch an entity it cannot see, and must keep
//! within its limits; the targets check that after every run.

use engine::bevy::prelude::*;
use engine::runtime::{ModAccess, ModInstance, ModLimits, WasmRuntime, expose, prepare_world};
use mod_api::abi::{FRAME_HEADER_SIZE, FrameHeader, ScheduleLabel};
use rocks_api::{Transform2d, Velocity};
use std::sync::OnceLock;

/// Compiles a puppet (the baseline compiler, as the game's loader does).
pub fn compile(bytes: &[u8]) -> Option<engine::wasmtime::Module> {
    runtime().compile("puppet.wasm", bytes).ok().map(|asset| asset.module)
}

/// Where the puppet keeps the fuzzer's bytes, its slot words and its frame.
const BLOB_AT: u32 = 0x2_0000;
pub const MAX_BLOB: usize = 0x1_0000;
const SLOTS_AT: u32 = 0x1000;
const FRAME_AT: u32 = 0x3_0000;
const BLOB_LEN_AT: u32 = 0x0F00;

/// Small limits, so quotas are reached within one input.
pub fn limits() -> ModLimits {
    ModLimits {
        max_memory_bytes: 16 << 20,
        max_spawns_per_run: 64,
        max_messages_per_run: 256,
        max_world_entities: 512,
        max_message_bytes_per_frame: 64 << 10,
        ..Default::default()
    }
}

pub fn runtime() -> &'static WasmRuntime {
    static RUNTIME: OnceLock<WasmRuntime> = OnceLock::new();
    RUNTIME.get_or_init(|| WasmRuntime::new(limits()))
}

/// Valid descriptors covering every parameter kind, with their number of
/// parameters; the `mod_output` target picks one, and they seed the
/// `descriptor` target's corpus.
pub const PARAMS: [usize; 4] = [1, 2, 2, 3];
pub const DESCRIPTORS: [&str; 4] = [
    r#"(name:"puppet",version:"1.0.0",components:[(name:"rocks_api::Transform2d",size:16,align:4),(name:"rocks_api::Velocity",size:8,align:4),(name:"puppet::Thing",size:12,align:4)],messages:[],systems:[(name:"cmds",schedule:Update,params:[Commands],after:[],before:[])])"#,
    r#"(name:"puppet",version:"1.0.0",components:[(name:"puppet::Thing",size:12,align:4)],messages:[(name:"puppet::Ping",size:8,align:4)],systems:[(name:"send",schedule:Update,params:[MessageWriter(message:0),Commands],after:[],before:[])])"#,
    r#"(name:"puppet",version:"1.0.0",components:[(name:"rocks_api::Transform2d",size:16,align:4),(name:"rocks_api::Velocity",size:8,align:4)],messages:[],systems:[(name:"move",schedule:Update,params:[Query(terms:[(component:0,access:Write,optional:false),(component:1,access:Read,optional:false)],with:[],without:[],entities:true),Commands],after:[],before:[])])"#,
    r#"(name:"puppet",version:"1.0.0",components:[(name:"rocks_api::Transform2d",size:16,align:4)],messages:[(name:"rocks_api::Collision",size:16,align:8),(name:"puppet::Ping",size:8,align:4)],systems:[(name:"echo",schedule:Update,params:[MessageReader(message:0),MessageWriter(message:1),Query(terms:[(component:0,access:Write,optional:true)],with:[],without:[],entities:true)],after:[],before:[])])"#,
];

fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// The puppet's module for `descriptor` (at offset 16). Its `mod_run` copies
/// `slot_count` slot words from `SLOTS_AT` over the frame's slots and, with
/// `garble`, the blob (its length at `BLOB_LEN_AT`) over the rest of the
/// frame. The harness writes slots and blob into its memory.
pub fn puppet(descriptor: &[u8], slot_count: usize, garble: bool) -> Vec<u8> {
    let packed = ((descriptor.len() as u64) << 32) | 16;
    let slot_len = slot_count * 8;
    let after = FRAME_HEADER_SIZE + slot_len;
    let garble = if garble {
        format!(
            "(local.set $n (i32.load (i32.const {BLOB_LEN_AT})))
             (if (i32.gt_u (local.get $n) (i32.sub (global.get $size) (i32.const {after})))
                 (then (local.set $n (i32.sub (global.get $size) (i32.const {after})))))
             (memory.copy (i32.add (local.get $frame) (i32.const {after})) (i32.const {BLOB_AT}) (local.get $n))"
        )
    } else {
        String::new()
    };
    let wat = format!(
        r#"(module (@custom "bevy_mod_abi" "\01\00\02\00")
            (memory (export "memory") 4)
            (global $size (mut i32) (i32.const 0))
            (data (i32.const 16) "{descriptor}")
            (func (export "mod_alloc") (param $size i32) (param $align i32) (result i32)
                (local $pages i32)
                (local.set $pages (i32.shr_u (i32.add (local.get $size) (i32.const {grow_add})) (i32.const 16)))
                (if (i32.gt_u (local.get $pages) (memory.size))
                    (then (drop (memory.grow (i32.sub (local.get $pages) (memory.size))))))
                (global.set $size (local.get $size))
                (i32.const {FRAME_AT}))
            (func (export "mod_init") (result i64) (i64.const {packed}))
            (func (export "mod_run") (param $system i32) (param $frame i32) (result i32)
                (local $n i32)
                (if (i32.ge_u (global.get $size) (i32.const {after}))
                    (then (memory.copy (i32.add (local.get $frame) (i32.const {FRAME_HEADER_SIZE}))
                                       (i32.const {SLOTS_AT}) (i32.const {slot_len}))
                          {garble}))
                (i32.const 0)))"#,
        descriptor = wat_bytes(descriptor),
        grow_add = FRAME_AT + 0xFFFF,
    );
    wat::parse_str(wat).expect("the puppet assembles")
}

/// A world as a game has it: mod-visible entities, and one of the engine's
/// own that no mod may touch.
pub struct Stage {
    pub world: World,
    pub engine_only: Entity,
    pub visible: Vec<Entity>,
}

impl Stage {
    pub fn new() -> Self {
        let mut world = World::new();
        prepare_world(&mut world);
        expose::component::<Transform2d>(&mut world, ModAccess::ReadWrite);
        expose::component::<Velocity>(&mut world, ModAccess::ReadWrite);
        expose::message::<rocks_api::Collision>(&mut world, ModAccess::Read);
        let visible = (0..4)
            .map(|i| world.spawn((Transform2d::from_xy(i as f32, 0.0), Velocity(Vec2::new(1.0, 2.0)))).id())
            .collect();
        let engine_only = world.spawn(Name::new("engine only")).id();
        Stage { world, engine_only, visible }
    }

    /// Instantiates `module`, writes `slots` and `blob` into its memory and
    /// runs its `Update` systems `frames` times, stopping at the first error
    /// (errors are expected: only panics and broken invariants are bugs).
    pub fn run(&mut self, module: &engine::wasmtime::Module, slots: &[u8], blob: &[u8], frames: u64) {
        let runtime = runtime();
        let Ok(mut instance) = ModInstance::new(runtime, module, "puppet.wasm", &mut self.world, None) else {
            return;
        };
        let memory = instance.memory_mut();
        memory[SLOTS_AT as usize..][..slots.len()].copy_from_slice(slots);
        memory[BLOB_LEN_AT as usize..][..4].copy_from_slice(&(blob.len() as u32).to_le_bytes());
        memory[BLOB_AT as usize..][..blob.len()].copy_from_slice(blob);
        for frame in 1..=frames {
            let header = FrameHeader { delta_secs: 1.0 / 60.0, frame, seed: frame, ..Default::default() };
            if instance.run_schedule(ScheduleLabel::Update, &mut self.world, &header).is_err() {
                break;
            }
        }
        self.check();
    }

    /// The invariants no mod may break.
    pub fn check(&mut self) {
        let e = self.world.get_entity(self.engine_only).expect("a mod despawned an engine-only entity");
        let comps = self.world.resource::<engine::runtime::ModComponents>();
        assert!(!comps.is_mod_visible(&self.world, self.engine_only), "a mod changed an engine-only entity");
        assert_eq!(e.get::<Name>().map(|n| n.as_str()), Some("engine only"));
        let live: usize = self.world.archetypes().iter().map(|a| a.len() as usize).sum();
        assert!(live <= limits().max_world_entities, "{live} entities: over the limit");
    }
}

impl Default for Stage {
    fn default() -> Self {
        Self::new()
    }
}

/// Slot words from the fuzzer: each `(u16 offset, u16 len)` pair points into
/// the blob, except offset 0xFFFF, which points at a wild address.
pub fn slot_words(raw: &[u8], count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * 8);
    for i in 0..count {
        let word = |k: usize| raw.get(i * 4 + k).copied().unwrap_or(0) as u32;
        let (off, len) = (word(0) | word(1) << 8, word(2) | word(3) << 8);
        let ptr = if off == 0xFFFF { 0xFFFF_FF00 } else { BLOB_AT + off };
        out.extend_from_slice(&ptr.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
    }
    out
}
