//! Counts frames in a saved resource, which survives hot reloads: the old
//! version writes it as RON, the new version reads it back with serde. Each
//! frame it tells the engine the count ([`CounterValue`]).
//!
//! It also keeps a `Tally` component on one entity, counting frames as well.
//!
//! `scripts/build-mods` also builds two more versions (`--features v2`,
//! `--features v3`) as `counter_v2.wasm` and `counter_v3.wasm`, to show what
//! carries over when the state's shape changes, a migration hook, and a
//! component whose layout changes (v2's `Tally`).

use mod_api::prelude::*;
use serde::{Deserialize, Serialize};

/// Mod → engine, every frame. The same layout in every version.
#[derive(Message, Clone, Copy)]
#[repr(C)]
pub struct CounterValue {
    pub count: u64,
    /// Which version of this mod sent it (1, 2 or 3).
    pub version: u32,
    /// v2's new field, 0 before.
    pub bonus: u32,
    /// How often v2's migration hook ran on a version 1 state.
    pub migrations: u32,
    /// Version 1: runs counted in a `Local`, which is not saved: it starts
    /// over with every new version, and survives the swap to optimized code.
    pub local: u32,
}

/// Version 1: counts `frames`, and keeps a `label` it never needs.
#[cfg(not(any(feature = "v2", feature = "v3")))]
mod version {
    use super::*;

    #[derive(Resource, Default, Serialize, Deserialize)]
    pub struct Counter {
        pub frames: u64,
        pub label: String,
    }

    /// Lives on an entity: counts frames too.
    #[derive(Component, Clone, Copy)]
    #[repr(C)]
    pub struct Tally {
        pub frames: u32,
        pub scale: f32,
    }

    fn spawn(mut commands: Commands) {
        commands.spawn(Tally { frames: 0, scale: 1.5 });
    }

    fn count(
        mut counter: ResMut<Counter>,
        mut runs: Local<u32>,
        mut tallies: Query<&mut Tally>,
        mut out: MessageWriter<CounterValue>,
    ) {
        *runs += 1;
        counter.frames += 1;
        counter.label = format!("{} frames", counter.frames);
        tallies.for_each_mut(|t| t.frames += 1);
        out.write(CounterValue { count: counter.frames, version: 1, bonus: 0, migrations: 0, local: *runs });
    }

    pub fn build(app: &mut App) {
        app.init_saved_resource::<Counter>().add_systems(Startup, spawn).add_systems(Update, count);
    }
}

/// Version 2: `frames` renamed to `ticks` (the alias keeps the value), a new
/// `bonus` field (its default fills it), `label` dropped (ignored), and a
/// migration hook that counts its runs.
#[cfg(feature = "v2")]
mod version {
    use super::*;

    #[derive(Resource, Serialize, Deserialize)]
    pub struct Counter {
        #[serde(alias = "frames")]
        pub ticks: u64,
        #[serde(default = "default_bonus")]
        pub bonus: u32,
    }

    fn default_bonus() -> u32 {
        7
    }

    impl Default for Counter {
        fn default() -> Self {
            Counter { ticks: 0, bonus: default_bonus() }
        }
    }

    /// How often [`migrate`] ran on a version 1 state.
    #[derive(Resource, Default, Serialize, Deserialize)]
    pub struct Migrations(pub u32);

    /// 1.x → 2: records itself in the state, which then restores `Migrations`.
    fn migrate(old_version: &str, state: &mut mod_api::SavedState) {
        if old_version.starts_with("1.") {
            let key = core::any::type_name::<Migrations>();
            let done = state.get::<Migrations>(key).and_then(Result::ok).unwrap_or_default();
            state.set(key, &Migrations(done.0 + 1)).expect("Migrations serializes");
        }
    }

    /// v1's `Tally` with a new layout: `frames` renamed to `ticks` and
    /// widened to `u64`, a new `bonus` (default 9), fields reordered. The
    /// host carries each value over by field name.
    #[derive(Component, Clone, Copy)]
    #[repr(C)]
    pub struct Tally {
        #[component(default = 9)]
        pub bonus: u32,
        pub scale: f32,
        #[component(alias = "frames")]
        pub ticks: u64,
    }

    fn count(
        mut counter: ResMut<Counter>,
        migrations: Res<Migrations>,
        mut tallies: Query<&mut Tally>,
        mut out: MessageWriter<CounterValue>,
    ) {
        counter.ticks += 1;
        tallies.for_each_mut(|t| t.ticks += 1);
        let value =
            CounterValue { count: counter.ticks, version: 2, bonus: counter.bonus, migrations: migrations.0, local: 0 };
        out.write(value);
    }

    pub fn build(app: &mut App) {
        app.init_saved_resource::<Counter>()
            .init_saved_resource::<Migrations>()
            .on_migrate(migrate)
            .add_systems(Update, count);
    }
}

/// Version 3: `frames` is text now, so a v1 or v2 state does not read.
/// `Tally` keeps v2's layout.
#[cfg(feature = "v3")]
mod version {
    use super::*;

    #[derive(Component, Clone, Copy)]
    #[repr(C)]
    pub struct Tally {
        pub bonus: u32,
        pub scale: f32,
        pub ticks: u64,
    }

    #[derive(Resource, Default, Serialize, Deserialize)]
    pub struct Counter {
        pub frames: String,
    }

    fn count(mut counter: ResMut<Counter>, mut tallies: Query<&mut Tally>, mut out: MessageWriter<CounterValue>) {
        counter.frames.push('|');
        tallies.for_each_mut(|t| t.ticks += 1);
        let count = counter.frames.len() as u64;
        out.write(CounterValue { count, version: 3, bonus: 0, migrations: 0, local: 0 });
    }

    pub fn build(app: &mut App) {
        app.init_saved_resource::<Counter>().add_systems(Update, count);
    }
}

// Each version has its own manifest (its version number differs).
#[cfg_attr(not(any(feature = "v2", feature = "v3")), mod_main)]
#[cfg_attr(feature = "v2", mod_main(manifest = "mod-v2.ron"))]
#[cfg_attr(feature = "v3", mod_main(manifest = "mod-v3.ron"))]
fn main(app: &mut App) {
    version::build(app);
}
