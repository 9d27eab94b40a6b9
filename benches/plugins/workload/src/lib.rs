//! The workloads of the `plugins` benchmark, written once.
//!
//! Every plugin system that runs Rust (native Bevy, the wasm mod, the dynamic
//! library, the out-of-process plugin, the JSON-boundary guest) calls these
//! functions; the Lua and Rhai scripts (`benches/plugins/scripts/`) are line
//! by line translations of them. Before timing, the benchmark checks every
//! system's output against [`integrate`], [`Boids::step`] and [`answer`].

use mod_api::prelude::*;
use wide::f32x4;

/// A 2D vector as every plugin boundary can carry it.
pub type V2 = [f32; 2];

/// The time step of every frame.
pub const DT: f32 = 1.0 / 60.0;
/// Side of the square the bodies start in.
pub const WORLD: f32 = 1000.0;

/// `pos += vel × dt` for one body.
#[inline(always)]
pub fn integrate_one(pos: &mut V2, vel: V2, dt: f32) {
    pos[0] += vel[0] * dt;
    pos[1] += vel[1] * dt;
}

/// `pos += vel × dt` for every body.
pub fn integrate(pos: &mut [V2], vel: &[V2], dt: f32) {
    for (p, v) in pos.iter_mut().zip(vel) {
        integrate_one(p, *v, dt);
    }
}

/// `n` bodies at deterministic pseudo-random places in the
/// [`WORLD`]×[`WORLD`] square, with speeds up to 60 units per second.
pub fn bodies(n: usize) -> (Vec<V2>, Vec<V2>) {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        // xorshift64*: the same sequence on every platform.
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        ((seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32) / (1u64 << 24) as f32
    };
    let mut pos = Vec::with_capacity(n);
    let mut vel = Vec::with_capacity(n);
    for _ in 0..n {
        pos.push([next() * WORLD, next() * WORLD]);
        vel.push([(next() - 0.5) * 120.0, (next() - 0.5) * 120.0]);
    }
    (pos, vel)
}

/// Flocking (Reynolds' boids) with an O(n²) neighbour search.
///
/// For body `i`, its neighbours are the other bodies within [`Boids::RADIUS`];
/// the new velocity is the old one plus
/// - cohesion: `(mean neighbour position − position) × COHESION`,
/// - alignment: `(mean neighbour velocity − velocity) × ALIGNMENT`,
/// - separation: `Σ (position − other) × SEPARATION_GAIN` over the bodies
///   closer than [`Boids::SEPARATION`],
///
/// clamped to [`Boids::MAX_SPEED`]; then the body moves by `vel × dt`.
/// A body at exactly the same place as `i` (distance 0) counts as `i`
/// itself and is skipped.
#[derive(Default)]
pub struct Boids {
    x: Vec<f32>,
    y: Vec<f32>,
    vx: Vec<f32>,
    vy: Vec<f32>,
}

/// Lanes of the inner loop: `wide`'s `f32x4` is one SSE register natively
/// and one `simd128` register in wasm, so both run the same vector code
/// (LLVM does not vectorise the scalar form for wasm).
const LANES: usize = 4;

impl Boids {
    pub const RADIUS: f32 = 40.0;
    pub const SEPARATION: f32 = 12.0;
    pub const COHESION: f32 = 0.01;
    pub const ALIGNMENT: f32 = 0.05;
    pub const SEPARATION_GAIN: f32 = 0.05;
    pub const MAX_SPEED: f32 = 120.0;

    /// One step: new velocities for every body, then `pos += vel × dt`.
    pub fn step(&mut self, pos: &mut [V2], vel: &mut [V2], dt: f32) {
        let n = pos.len();
        // Structure of arrays: the O(n²) loop reads four contiguous streams.
        for (v, f) in [(&mut self.x, 0), (&mut self.y, 1)] {
            v.clear();
            v.extend(pos.iter().map(|p| p[f]));
        }
        for (v, f) in [(&mut self.vx, 0), (&mut self.vy, 1)] {
            v.clear();
            v.extend(vel.iter().map(|p| p[f]));
        }
        for i in 0..n {
            vel[i] = self.steer(i);
            integrate_one(&mut pos[i], vel[i], dt);
        }
    }

    fn steer(&self, i: usize) -> V2 {
        let (xi, yi) = (self.x[i], self.y[i]);
        let mut acc = Sums::default();
        let (xi4, yi4) = (f32x4::splat(xi), f32x4::splat(yi));
        let lanes = |v: &[f32]| f32x4::from(<[f32; LANES]>::try_from(v).unwrap());
        // BLOCK bodies per loop iteration, as fixed-size arrays (no bounds
        // checks). NOTE: in wasm, cranelift keeps the sums in stack slots
        // across the deadline check on each loop back-edge; four vectors
        // per iteration share one load and store of them.
        const BLOCK: usize = 4 * LANES;
        let n = self.x.len();
        let (x, y) = (self.x.as_chunks::<BLOCK>().0, self.y.as_chunks::<BLOCK>().0);
        let (vx, vy) = (self.vx.as_chunks::<BLOCK>().0, self.vy.as_chunks::<BLOCK>().0);
        for (((x, y), vx), vy) in x.iter().zip(y).zip(vx).zip(vy) {
            for k in (0..BLOCK).step_by(LANES) {
                let at = k..k + LANES;
                let (x4, y4) = (lanes(&x[at.clone()]), lanes(&y[at.clone()]));
                acc.add(xi4, yi4, x4, y4, lanes(&vx[at.clone()]), lanes(&vy[at]));
            }
        }
        // The last bodies, LANES at a time, the final ones padded with
        // copies of body `i` itself, which (at distance 0) count for nothing.
        let mut start = n / BLOCK * BLOCK;
        while start < n {
            let end = (start + LANES).min(n);
            let pad = |v: &[f32], fill: f32| {
                let mut a = [fill; LANES];
                a[..end - start].copy_from_slice(&v[start..end]);
                f32x4::from(a)
            };
            acc.add(xi4, yi4, pad(&self.x, xi), pad(&self.y, yi), pad(&self.vx, 0.0), pad(&self.vy, 0.0));
            start = end;
        }
        // Lane sums in a fixed order: the same result on every platform.
        let sum = |v: f32x4| {
            let a = v.to_array();
            ((a[0] + a[1]) + a[2]) + a[3]
        };
        let (vx, vy) = (self.vx[i], self.vy[i]);
        let (mut nvx, mut nvy) = (vx, vy);
        let count = sum(acc.count);
        if count > 0.0 {
            nvx += (sum(acc.x) / count - xi) * Self::COHESION + (sum(acc.vx) / count - vx) * Self::ALIGNMENT;
            nvy += (sum(acc.y) / count - yi) * Self::COHESION + (sum(acc.vy) / count - vy) * Self::ALIGNMENT;
        }
        nvx += sum(acc.sep_x) * Self::SEPARATION_GAIN;
        nvy += sum(acc.sep_y) * Self::SEPARATION_GAIN;
        let speed = (nvx * nvx + nvy * nvy).sqrt();
        if speed > Self::MAX_SPEED {
            nvx *= Self::MAX_SPEED / speed;
            nvy *= Self::MAX_SPEED / speed;
        }
        [nvx, nvy]
    }
}

/// The neighbour sums of one body, in [`LANES`] partial sums each.
#[derive(Default)]
struct Sums {
    count: f32x4,
    x: f32x4,
    y: f32x4,
    vx: f32x4,
    vy: f32x4,
    sep_x: f32x4,
    sep_y: f32x4,
}

impl Sums {
    /// Adds four bodies `(x, y, vx, vy)` as neighbours of the body at
    /// `(xi, yi)`, one per lane, without branches: "near" and "close" are
    /// lane masks of 1.0 or 0.0.
    #[inline(always)]
    fn add(&mut self, xi: f32x4, yi: f32x4, x: f32x4, y: f32x4, vx: f32x4, vy: f32x4) {
        let one = f32x4::splat(1.0);
        let (r2, s2) = (Boids::RADIUS * Boids::RADIUS, Boids::SEPARATION * Boids::SEPARATION);
        let (dx, dy) = (x - xi, y - yi);
        let d2 = dx * dx + dy * dy;
        let other = d2.simd_gt(f32x4::ZERO);
        let near = d2.simd_lt(f32x4::splat(r2)) & other & one;
        let close = d2.simd_lt(f32x4::splat(s2)) & other & one;
        self.count += near;
        self.x += near * x;
        self.y += near * y;
        self.vx += near * vx;
        self.vy += near * vy;
        self.sep_x -= close * dx;
        self.sep_y -= close * dy;
    }
}

/// Engine → plugin: one of the `events_10k` messages.
#[derive(
    Message, Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable, serde::Serialize, serde::Deserialize,
)]
#[repr(C)]
pub struct Ping {
    pub id: u32,
    pub value: f32,
}

/// Plugin → engine: the answer to one [`Ping`].
#[derive(
    Message, Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable, serde::Serialize, serde::Deserialize,
)]
#[repr(C)]
pub struct Pong {
    pub id: u32,
    pub value: f32,
}

/// The answer to `ping`.
#[inline(always)]
pub fn answer(ping: &Ping) -> Pong {
    Pong { id: ping.id, value: ping.value * 2.0 + 1.0 }
}

/// The engine's `n` messages of a frame.
pub fn pings(n: usize) -> Vec<Ping> {
    (0..n as u32).map(|id| Ping { id, value: id as f32 * 0.5 }).collect()
}

/// Checks that `got` matches `want` within `tolerance` (absolute, per
/// coordinate); names the first row that does not.
pub fn check_close(what: &str, got: &[V2], want: &[V2], tolerance: f32) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{what}: {} rows, expected {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if (g[0] - w[0]).abs() > tolerance || (g[1] - w[1]).abs() > tolerance || g[0].is_nan() || g[1].is_nan() {
            return Err(format!("{what}: row {i} is {g:?}, expected {w:?} (tolerance {tolerance})"));
        }
    }
    Ok(())
}

/// Checks that `got` answers `pings` one by one, in order.
pub fn check_answers(what: &str, pings: &[Ping], got: &[Pong]) -> Result<(), String> {
    if got.len() != pings.len() {
        return Err(format!("{what}: {} answers to {} messages", got.len(), pings.len()));
    }
    for (p, g) in pings.iter().zip(got) {
        let want = answer(p);
        if g.id != want.id || (g.value - want.value).abs() > 1e-3 * want.value.abs().max(1.0) {
            return Err(format!("{what}: answer {g:?} to {p:?}, expected {want:?}"));
        }
    }
    Ok(())
}

/// What the `json_boundary` system's host and guest send each other as
/// JSON (serde), one query item per call, the way Wasvy hands components
/// across: defined once for both sides.
pub mod json {
    use super::V2;
    use serde::{Deserialize, Serialize};

    /// The part of the engine's `Transform2d` the benchmark moves.
    #[derive(Serialize, Deserialize)]
    pub struct Transform {
        pub translation: V2,
    }

    /// The engine's `Velocity` component.
    #[derive(Serialize, Deserialize)]
    pub struct Velocity(pub V2);

    /// One query item: an entity's `(&mut Transform, &Velocity)`.
    #[derive(Serialize, Deserialize)]
    pub struct Item {
        pub transform: Transform,
        pub velocity: Velocity,
    }

    /// The frame's time step, the `Time` resource of a Bevy system.
    #[derive(Serialize, Deserialize)]
    pub struct Frame {
        pub dt: f32,
    }
}
