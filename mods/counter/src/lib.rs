//! Counts frames in a saved resource, which survives hot reloads: the old
//! version writes it as RON, the new version reads it back with serde. Each
//! frame it tells the engine the count ([`CounterValue`]).
//!
//! `scripts/build-mods` also builds two more versions (`--features v2`,
//! `--features v3`) as `counter_v2.wasm` and `counter_v3.wasm`, to show what
//! carries over when the state's shape changes.

use mod_api::prelude::*;
use serde::{Deserialize, Serialize};

/// Mod → engine, every frame.
#[derive(Message, Clone, Copy)]
#[repr(C)]
pub struct CounterValue {
    pub count: u64,
    /// Which version of this mod sent it (1, 2 or 3).
    pub version: u32,
    /// v2's new field, 0 before.
    pub bonus: u32,
}

#[cfg(not(any(feature = "v2", feature = "v3")))]
mod state {
    use super::*;
    pub const VERSION: u32 = 1;
    #[derive(Resource, Default, Serialize, Deserialize)]
    pub struct Counter {
        pub frames: u64,
        pub label: String,
    }
    impl Counter {
        pub fn tick(&mut self) -> (u64, u32) {
            self.frames += 1;
            self.label = format!("{} frames", self.frames);
            (self.frames, 0)
        }
    }
}

#[cfg(feature = "v2")]
mod state {
    use super::*;
    pub const VERSION: u32 = 2;
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
    impl Counter {
        pub fn tick(&mut self) -> (u64, u32) {
            self.ticks += 1;
            (self.ticks, self.bonus)
        }
    }
}

#[cfg(feature = "v3")]
mod state {
    use super::*;
    pub const VERSION: u32 = 3;
    #[derive(Resource, Default, Serialize, Deserialize)]
    pub struct Counter {
        /// Was a number in v1 and v2: their state does not read as v3's.
        pub frames: String,
    }
    impl Counter {
        pub fn tick(&mut self) -> (u64, u32) {
            self.frames.push('|');
            (self.frames.len() as u64, 0)
        }
    }
}

use state::{Counter, VERSION};

fn count(mut counter: ResMut<Counter>, mut out: MessageWriter<CounterValue>) {
    let (count, bonus) = counter.tick();
    out.write(CounterValue { count, version: VERSION, bonus });
}

#[mod_main]
fn main(app: &mut App) {
    app.init_saved_resource::<Counter>().add_systems(Update, count);
}
