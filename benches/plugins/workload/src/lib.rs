//! The workloads of the `plugins` benchmark, written once.
//!
//! Every plugin system that runs Rust (native Bevy, the wasm mod, the dynamic
//! library, the out-of-process plugin, the JSON-boundary guest) calls these
//! functions; the Lua and Rhai scripts (`benches/plugins/scripts/`) are line
//! by line translations of them. Before timing, the benchmark checks every
//! system's output against [`integrate`], [`Boids::step`] and [`answer`].

use mod_api::prelude::*;

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

/// Lanes of the inner loop: independent partial sums that the compiler
/// turns into SIMD registers (SSE2 natively, simd128 in wasm).
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
        let whole = self.x.len() / LANES * LANES;
        for base in (0..whole).step_by(LANES) {
            // Fixed-length slices: no bounds checks inside the lane loop.
            let (x, y) = (&self.x[base..base + LANES], &self.y[base..base + LANES]);
            let (vx, vy) = (&self.vx[base..base + LANES], &self.vy[base..base + LANES]);
            for l in 0..LANES {
                acc.add(l, xi, yi, x[l], y[l], vx[l], vy[l]);
            }
        }
        for j in whole..self.x.len() {
            acc.add(0, xi, yi, self.x[j], self.y[j], self.vx[j], self.vy[j]);
        }
        let sum = |a: [f32; LANES]| a.iter().sum::<f32>();
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
    count: [f32; LANES],
    x: [f32; LANES],
    y: [f32; LANES],
    vx: [f32; LANES],
    vy: [f32; LANES],
    sep_x: [f32; LANES],
    sep_y: [f32; LANES],
}

impl Sums {
    /// Adds body `(x, y, vx, vy)` as a neighbour of the body at `(xi, yi)`
    /// to lane `l`, without branches.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn add(&mut self, l: usize, xi: f32, yi: f32, x: f32, y: f32, vx: f32, vy: f32) {
        const R2: f32 = Boids::RADIUS * Boids::RADIUS;
        const S2: f32 = Boids::SEPARATION * Boids::SEPARATION;
        let (dx, dy) = (x - xi, y - yi);
        let d2 = dx * dx + dy * dy;
        let near = if d2 < R2 && d2 > 0.0 { 1.0 } else { 0.0 };
        let close = if d2 < S2 && d2 > 0.0 { 1.0 } else { 0.0 };
        self.count[l] += near;
        self.x[l] += near * x;
        self.y[l] += near * y;
        self.vx[l] += near * vx;
        self.vy[l] += near * vy;
        self.sep_x[l] -= close * dx;
        self.sep_y[l] -= close * dy;
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
