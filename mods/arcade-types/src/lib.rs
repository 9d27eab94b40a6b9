//! The vocabulary the demo game's mods share. A component or message is the
//! same in every mod that names it through this crate (its name is its Rust
//! path, `arcade_types::Rock`), so `rules` reads the `Rock`s that `rocks`
//! spawns, and `rocks` hears the `RockDestroyed` that `rules` sends.

use mod_api::prelude::*;

/// Collision layers (bits of [`Collider::layer`] and [`Collider::mask`]).
pub mod layer {
    pub const SHIP: u32 = 1;
    pub const BULLET: u32 = 2;
    pub const ROCK: u32 = 4;
}

/// The player's ship.
#[derive(Component, Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct Ship {
    /// Seconds until the ship can fire again.
    pub cooldown: f32,
    /// Seconds the ship cannot be hit (after a respawn).
    pub invulnerable: f32,
    /// 1 while the game is over (the ship is parked and hidden).
    pub parked: u32,
}

/// A shot; despawns when `ttl` runs out.
#[derive(Component, Clone, Copy, Debug)]
#[repr(C)]
pub struct Bullet {
    pub ttl: f32,
}

/// An asteroid of size 3 (large), 2 or 1 (small).
#[derive(Component, Clone, Copy, Debug)]
#[repr(C)]
pub struct Rock {
    pub size: u32,
    pub spin: f32,
}

/// Wraps around the edges of the play field.
#[derive(Component, Clone, Copy, Debug)]
#[repr(C)]
pub struct Wrap;

/// `rules` → `rocks`: a rock was shot at `position`; split it.
#[derive(Message, Clone, Copy, Debug)]
#[repr(C)]
pub struct RockDestroyed {
    pub position: Vec2,
    pub velocity: Vec2,
    pub size: u32,
}

/// `rules` → `ship`: the ship was hit; respawn it (or park it if `lives == 0`).
#[derive(Message, Clone, Copy, Debug)]
#[repr(C)]
pub struct ShipHit {
    pub lives: u32,
}

/// `rules` → everyone: a new game starts.
#[derive(Message, Clone, Copy, Debug)]
#[repr(C)]
pub struct GameReset {
    pub seed: u32,
}

/// `rocks` → `rules`: a wave began.
#[derive(Message, Clone, Copy, Debug)]
#[repr(C)]
pub struct WaveStarted {
    pub wave: u32,
}

/// Half the play field (the engine's field is 1280 × 720).
pub const HALF_FIELD: Vec2 = Vec2::new(640.0, 360.0);
