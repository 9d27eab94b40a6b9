//! What the Fireflies example game (`engine/fireflies`) shows its mods,
//! besides Bevy's own `Transform` and `Name`: the glow and the velocity of
//! each firefly, the jar (read-only) and the night (which mods may change),
//! and a function that releases a new firefly into the jar.
//!
//! The game and its mods both depend on this crate; built for the game
//! (mod-api's `host` feature) the components are Bevy components too.

use mod_api::prelude::*;

/// How brightly a firefly glows: `brightness` in 0..=1, which mods change
/// over time; `phase` is where it is in its blinking, in radians.
#[derive(Component, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Glow {
    /// 0 (dark) ..= 1 (full).
    pub brightness: f32,
    /// Radians; mods advance it.
    pub phase: f32,
}

/// How fast a firefly flies, in world units per second. The game does not
/// move fireflies: mods do, through their `Transform`.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Velocity(pub Vec3);

/// The jar: how many fireflies it holds, and how many it can. The game
/// keeps it; mods may read it.
#[derive(GameResource, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Jar {
    /// Fireflies in the jar now.
    pub fireflies: u32,
    /// Most fireflies it holds ([`CAPACITY`]).
    pub capacity: u32,
}

/// How dark the night around the jar is, 0 (day) ..= 1 (black); mods may
/// change it.
#[derive(GameResource, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Night {
    /// 0 ..= 1.
    pub darkness: f32,
}

/// Half the jar's size: fireflies live in `-JAR..=JAR` on every axis.
pub const JAR: f32 = 10.0;

/// Most fireflies the jar holds.
pub const CAPACITY: u32 = 8;

mod_api::game_functions! {
    /// Releases a new firefly at a position in the jar; answers how many
    /// fireflies the jar holds then. Fails (the mod gets the reason) if the
    /// position is outside the jar or the jar is full.
    pub ReleaseFirefly = fn(Vec3) -> u32;
}
