//! Running mods' systems: the frame header (time, keys, seeds) captured
//! once per schedule run, and one exclusive driver system per schedule that
//! runs every running mod's systems of it, in one order across mods.

use super::lifecycle::fail;
use super::registry::{Life, ModEntry, ModRegistry};
use super::{ModMessages, ModUsage, topo};
use bevy::input::keyboard::KeyCode as BevyKey;
use bevy::prelude::*;
use mod_api::abi::{FrameHeader, ScheduleLabel};
use std::collections::HashMap;

/// System sets of the runtime, for ordering engine systems around mods.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModSystems {
    /// `PreUpdate`, right after Bevy stores newly loaded assets: message
    /// buffers turn over, loaded mods start, changed mods are swapped in,
    /// save games are written and loaded. No mod code runs before it in a
    /// frame (mods run in `FixedUpdate` and `Update`).
    Activate,
    /// `PreUpdate`: keyboard state is captured for mods.
    Input,
    /// `Update`: mod `Update` systems run.
    Update,
    /// `FixedUpdate`: mod `FixedUpdate` systems run.
    FixedUpdate,
}

/// Inputs to the frame header, captured once per frame.
#[derive(Resource, Default)]
pub struct ModFrameInput {
    pub header: FrameHeader,
    /// The run's base seed ([`ModdingPlugins::seed`]).
    pub(crate) seed: u64,
    /// `FixedUpdate` runs of mods so far (several or none per frame).
    pub(crate) fixed_steps: u64,
}

/// The header for one run of `schedule`: time from Bevy's `Time` (the fixed
/// clock in `FixedUpdate`), keys from this frame, and the schedule run's
/// seed, which each system's call mixes with its mod's id and its own name
/// (`system_seed_key`, mixed in by `ModInstance::run_nth`).
///
/// The frame number counts only frames in which mods run, so a run is
/// reproducible however many frames loading took.
pub(crate) fn next_header(world: &mut World, schedule: ScheduleLabel) -> FrameHeader {
    let time = world.resource::<Time>();
    let (delta, elapsed) = (time.delta_secs(), time.elapsed_secs_f64());
    let mut input = world.resource_mut::<ModFrameInput>();
    let run = match schedule {
        ScheduleLabel::Update => {
            input.header.frame += 1;
            input.header.frame
        }
        ScheduleLabel::FixedUpdate => {
            input.fixed_steps += 1;
            input.fixed_steps
        }
        ScheduleLabel::Startup => input.header.frame,
    };
    let seed = schedule_seed(input.seed, schedule, run);
    FrameHeader { delta_secs: delta, elapsed_secs: elapsed, seed, ..input.header }
}

/// The seed of one run of `schedule`: the `run`th (the frame number for
/// `Update` and `Startup`, the fixed step for `FixedUpdate`) of a run whose
/// base seed is `base`. Nothing else goes in, so which other mods are
/// installed, or how many systems they have, never changes it.
pub(crate) fn schedule_seed(base: u64, schedule: ScheduleLabel, run: u64) -> u64 {
    splitmix(base ^ splitmix(((schedule as u64) << 56) ^ run))
}

/// The part of a system's seed that is its own: its mod's id and its name,
/// hashed with FNV-1a (stable across builds, platforms and Rust versions).
pub(crate) fn system_seed_key(mod_id: &str, system: &str) -> u64 {
    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
    }
    splitmix(fnv1a(mod_id.as_bytes())) ^ fnv1a(system.as_bytes())
}

/// Bevy keys in the bit order of [`mod_api::KeyCode`]: `KEYS[k as usize]`
/// is the Bevy key of mod key `k`.
pub const KEYS: [BevyKey; 61] = {
    use BevyKey::*;
    [
        KeyA,
        KeyB,
        KeyC,
        KeyD,
        KeyE,
        KeyF,
        KeyG,
        KeyH,
        KeyI,
        KeyJ,
        KeyK,
        KeyL,
        KeyM,
        KeyN,
        KeyO,
        KeyP,
        KeyQ,
        KeyR,
        KeyS,
        KeyT,
        KeyU,
        KeyV,
        KeyW,
        KeyX,
        KeyY,
        KeyZ,
        Digit0,
        Digit1,
        Digit2,
        Digit3,
        Digit4,
        Digit5,
        Digit6,
        Digit7,
        Digit8,
        Digit9,
        ArrowUp,
        ArrowDown,
        ArrowLeft,
        ArrowRight,
        Space,
        Enter,
        Escape,
        Tab,
        Backspace,
        ShiftLeft,
        ShiftRight,
        ControlLeft,
        ControlRight,
        F1,
        F2,
        F3,
        F4,
        F5,
        F6,
        F7,
        F8,
        F9,
        F10,
        F11,
        F12,
    ]
};

pub(crate) fn capture_input(keys: Option<Res<ButtonInput<BevyKey>>>, mut input: ResMut<ModFrameInput>) {
    let h = &mut input.header;
    h.keys_pressed = [0; 8];
    h.keys_just_pressed = [0; 8];
    h.keys_just_released = [0; 8];
    let Some(keys) = keys else { return };
    for (bit, key) in KEYS.iter().enumerate() {
        let set = |s: &mut [u32; 8], on: bool| s[bit / 32] |= (on as u32) << (bit % 32);
        set(&mut h.keys_pressed, keys.pressed(*key));
        set(&mut h.keys_just_pressed, keys.just_pressed(*key));
        set(&mut h.keys_just_released, keys.just_released(*key));
    }
}

/// Reads the frame's removals into [`ModUsage`] every frame, even one in
/// which no mod runs: Bevy keeps its removal records for two frames only.
/// No other pass is needed: a count that lags behind is only ever high, and
/// `ModUsage::check_growth` reads the removals again before it refuses.
fn sync_usage(world: &mut World) {
    world.resource_scope(|world, mut usage: Mut<ModUsage>| usage.sync(world));
}

pub(crate) fn run_update_mods(world: &mut World) {
    run_mods(world, ScheduleLabel::Update);
}

pub(crate) fn run_fixed_mods(world: &mut World) {
    run_mods(world, ScheduleLabel::FixedUpdate);
}

/// Runs every running mod's systems of `schedule`.
fn run_mods(world: &mut World, schedule: ScheduleLabel) {
    if !world.resource::<ModRegistry>().mods.iter().any(ModEntry::is_running) {
        return;
    }
    let header = next_header(world, schedule);
    // What game code wrote to the message types it exposes, for the mods.
    ModMessages::pull_game_messages(world);
    world.resource_scope(|world, mut registry: Mut<ModRegistry>| {
        let order = system_order(&registry, schedule);
        let mut spent = vec![std::time::Duration::ZERO; registry.mods.len()];
        // Each mod's time this frame, for the mod manager: one clock reading
        // each time the running mod changes (not two per system).
        let mut timing: Option<(usize, std::time::Instant)> = None;
        let mut span = None;
        for (k, n) in order {
            let entry = &mut registry.mods[k];
            // A mod waiting for a new version keeps its instance, not its turn;
            // a mod that failed earlier in this run runs no more systems.
            if !entry.is_running() {
                continue;
            }
            if timing.map(|(m, _)| m) != Some(k) {
                // What the host logs while a mod runs (ignored commands, …)
                // names the mod.
                drop(span.take());
                span = Some(info_span!("mod", name = %entry.name).entered());
                switch_timing(&mut registry, &mut timing, Some(k));
            }
            let entry = &mut registry.mods[k];
            let Life::Running(live) = &mut entry.life else { continue };
            if let Err(e) = live.instance.run_nth(schedule, n, world, &header, &mut spent[k]) {
                fail(world, entry, e);
            }
        }
        drop(span);
        switch_timing(&mut registry, &mut timing, None);
    });
}

/// Adds the time since the timed mod started to its `time_this_frame`, and
/// starts timing `next`.
fn switch_timing(registry: &mut ModRegistry, timing: &mut Option<(usize, std::time::Instant)>, next: Option<usize>) {
    let now = std::time::Instant::now();
    if let Some((k, since)) = *timing {
        registry.mods[k].time_this_frame += now - since;
    }
    *timing = next.map(|k| (k, now));
}

/// The order in which the running mods' systems of `schedule` run, as
/// `(mod index, position in the mod's own order)`: mods in load order, each
/// mod's systems in its own order, except where a system asks to run after
/// or before another mod's system by name (`.after_system("rocks::split")`);
/// such a constraint naming a system that is not running is ignored. If the
/// constraints contradict each other, the load order wins and a warning says
/// which mods asked for the impossible.
fn system_order(registry: &ModRegistry, schedule: ScheduleLabel) -> Vec<(usize, usize)> {
    let running = |k: usize| registry.mods[k].running_instance().expect("only running mods are nodes");
    let mut nodes: Vec<(usize, usize)> = Vec::new();
    for (k, m) in registry.mods.iter().enumerate() {
        if let Some(instance) = m.running_instance() {
            nodes.extend((0..instance.schedule_order(schedule).len()).map(|n| (k, n)));
        }
    }
    let constrained = registry
        .mods
        .iter()
        .filter_map(ModEntry::running_instance)
        .any(|instance| !instance.foreign_constraints(schedule).is_empty());
    if !constrained {
        return nodes;
    }
    // Each mod's own order (a chain) and the named constraints; among ready
    // systems the earliest in load order first.
    let position: HashMap<(usize, usize), usize> = nodes.iter().enumerate().map(|(p, &node)| (node, p)).collect();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (p, &(k, n)) in nodes.iter().enumerate() {
        let instance = running(k);
        by_name.entry(instance.system_name(instance.schedule_order(schedule)[n])).or_insert(p);
    }
    let mut edges = Vec::new();
    for (p, &(k, n)) in nodes.iter().enumerate() {
        if n > 0 {
            edges.push((position[&(k, n - 1)], p));
        }
        let instance = running(k);
        let i = instance.schedule_order(schedule)[n];
        for (system, other, after) in instance.foreign_constraints(schedule) {
            let Some(&q) = by_name.get(other.as_str()).filter(|_| *system == i) else { continue };
            edges.push(if *after { (q, p) } else { (p, q) });
        }
    }
    match topo::order(nodes.len(), &edges, |p| p) {
        Ok(order) => order.into_iter().map(|p| nodes[p]).collect(),
        Err(stuck) => {
            let stuck: std::collections::BTreeSet<&str> =
                stuck.iter().map(|&p| registry.mods[nodes[p].0].file.as_str()).collect();
            warn_once!(
                "the {schedule:?} systems of {} order themselves in a cycle across mods: they run in load order",
                stuck.into_iter().collect::<Vec<_>>().join(", ")
            );
            nodes
        }
    }
}

pub(crate) fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Running mods' systems: the frame input (keys captured after Bevy's
/// input systems), the mods' message buffers turning over, and the drivers
/// of `Update` and `FixedUpdate`.
pub struct ModSchedulePlugin {
    /// Base of the per-call random seeds mods see.
    pub seed: u64,
}

impl Plugin for ModSchedulePlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(ModFrameInput { seed: self.seed, ..default() })
            .add_systems(
                PreUpdate,
                super::messages::update_messages.before(super::lifecycle::control_mods).in_set(ModSystems::Activate),
            )
            .add_systems(PreUpdate, capture_input.in_set(ModSystems::Input))
            .add_systems(Update, run_update_mods.in_set(ModSystems::Update))
            .add_systems(FixedUpdate, run_fixed_mods.in_set(ModSystems::FixedUpdate))
            .add_systems(Last, sync_usage);
        // NOTE: keyboard state must be read after Bevy's input systems update it.
        app.configure_sets(PreUpdate, ModSystems::Input.after(bevy::input::InputSystems));
        super::prepare_world(app.world_mut());
    }
}
