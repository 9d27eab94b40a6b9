//! Resources: `Res<Time>` and `Res<Keyboard>` come from the host's frame
//! header; a mod's own resources (`#[derive(Resource)]`) live in its memory.

use super::param::{FrameCtx, SystemParam};
use super::registry;
use crate::KeyCode;
use crate::abi::{FrameHeader, ParamDecl};
use core::ops::{Deref, DerefMut};

/// A value a system reads with [`Res`] (or writes with [`ResMut`], for the
/// mod's own resources). Derive it for your types: `#[derive(Resource)]`,
/// and add it with [`App::init_resource`](crate::App::init_resource).
///
/// A mod's resources live in its own memory (any Rust type: strings,
/// vectors, maps), one value per type, shared by the mod's systems and
/// seen by no other mod. The host provides [`Time`] and [`Keyboard`].
///
/// ```
/// use mod_api::prelude::*;
///
/// #[derive(Resource, Default)]
/// struct Score {
///     points: u32,
///     log: Vec<String>,
/// }
///
/// fn add_points(mut score: ResMut<Score>) {
///     score.points += 10;
///     let line = format!("{} points", score.points);
///     score.log.push(line);
/// }
///
/// fn show(score: Res<Score>, time: Res<Time>) {
///     if time.frame() % 60 == 0 {
///         info!("{} points", score.points);
///     }
/// }
///
/// fn build(app: &mut App) {
///     app.init_resource::<Score>().add_systems(Update, (add_points, show).chain());
/// }
/// # fn main() {}
/// ```
///
/// A system whose resource was never added panics when it runs, naming it.
/// Resources added with [`init_resource`](crate::App::init_resource) start
/// fresh in every new version of the mod (each hot reload; the swap to
/// optimized code after a load keeps them); those added with
/// [`init_saved_resource`](crate::App::init_saved_resource) carry over.
///
/// A game's own resources (its score, its configuration) reach mods the same
/// way: the game derives them with `#[derive(GameResource)]` in the crate it
/// shares with its mods and exposes them; the host copies the value into the
/// frame for each system that asks, and back after a `ResMut` system.
pub trait Resource: 'static {
    /// What the host provides for this parameter (`write`: a `ResMut`).
    #[doc(hidden)]
    fn param(_write: bool) -> ParamDecl {
        ParamDecl::Guest
    }
    /// The value for this run; `slot` is the parameter's slot.
    #[doc(hidden)]
    fn fetch(frame: &FrameCtx, slot: usize) -> *mut Self;
}

/// The host side of a game resource (`#[derive(GameResource)]`): its value
/// is in the frame, at the parameter's slot.
#[doc(hidden)]
pub fn fetch_game_resource<T: crate::GameResource>(frame: &FrameCtx, slot: usize) -> *mut T {
    let s = frame.slot(slot);
    assert!(
        s.len as usize == size_of::<T>(),
        "resource {} is {} bytes in the frame, not {}",
        T::NAME,
        s.len,
        size_of::<T>()
    );
    frame.at(s.offset) as *mut T
}

/// The parameter of a game resource.
#[doc(hidden)]
pub fn game_resource_param<T: crate::GameResource>(write: bool) -> ParamDecl {
    ParamDecl::Resource { resource: registry::resource_id::<T>(), write }
}

#[doc(hidden)]
pub fn fetch_mod_resource<T: 'static>() -> *mut T {
    registry::resource_ptr::<T>().unwrap_or_else(|| {
        panic!(
            "resource {} was never added: call app.init_resource::<{0}>() or app.insert_resource(..) in the mod's entry point",
            core::any::type_name::<T>()
        )
    })
}

/// Marks the resources systems may change with [`ResMut`]: the mod's own,
/// and the game's (which the game may expose read-only: a `ResMut` of one
/// is then refused at load).
#[doc(hidden)]
pub trait ModResource: Resource {}

/// Shared access to a resource, as a system parameter: `time: Res<Time>`.
/// Derefs to `T`.
pub struct Res<'s, T: Resource>(&'s T);
/// Exclusive access to one of the mod's own resources, as a system
/// parameter: `mut score: ResMut<Score>`. Derefs (mutably) to `T`. The
/// host's resources, [`Time`] and [`Keyboard`], are read-only.
pub struct ResMut<'s, T: ModResource>(&'s mut T);

impl<T: Resource> Deref for Res<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0
    }
}
impl<T: ModResource> Deref for ResMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0
    }
}
impl<T: ModResource> DerefMut for ResMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0
    }
}

// SAFETY: reads the header or the mod's memory, nothing from its slot.
unsafe impl<T: Resource> SystemParam for Res<'_, T> {
    type State = ();
    type Item<'s> = Res<'s, T>;
    fn init() -> ((), ParamDecl) {
        ((), T::param(false))
    }
    unsafe fn fetch<'s>(_: &'s mut (), frame: &'s FrameCtx, slot: usize) -> Res<'s, T> {
        // SAFETY: `Resource::fetch` returns a live pointer for the call.
        Res(unsafe { &*T::fetch(frame, slot) })
    }
}

// SAFETY: as for `Res`.
unsafe impl<T: ModResource> SystemParam for ResMut<'_, T> {
    type State = ();
    type Item<'s> = ResMut<'s, T>;
    fn init() -> ((), ParamDecl) {
        ((), T::param(true))
    }
    unsafe fn fetch<'s>(_: &'s mut (), frame: &'s FrameCtx, slot: usize) -> ResMut<'s, T> {
        // SAFETY: mod resources are boxed in the registry and outlive the
        // call, game resources are in this call's frame; a system holds one
        // `ResMut` per resource type.
        ResMut(unsafe { &mut *T::fetch(frame, slot) })
    }
}

/// Frame time, from the host. In `FixedUpdate` systems, `delta_secs` is the
/// fixed step.
///
/// ```
/// use mod_api::prelude::*;
///
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// struct Velocity(Vec3);
///
/// fn integrate(time: Res<Time>, mut q: Query<(&mut Transform, &Velocity)>) {
///     let dt = time.delta_secs();
///     q.for_each_mut(|(t, v)| t.translation += v.0 * dt);
/// }
/// # fn main() {}
/// ```
#[repr(transparent)]
pub struct Time(FrameHeader);

impl Time {
    /// Seconds since the previous frame (or fixed step).
    pub fn delta_secs(&self) -> f32 {
        self.0.delta_secs
    }
    /// Seconds since the game started.
    pub fn elapsed_secs(&self) -> f64 {
        self.0.elapsed_secs
    }
    /// Frames since the game started (counted from the frame the mods
    /// started).
    pub fn frame(&self) -> u64 {
        self.0.frame
    }
    /// A random seed fresh for this system run; deterministic in headless
    /// runs. Mods have no other source of entropy (see [`Rng`]).
    pub fn seed(&self) -> u64 {
        self.0.seed
    }
}

impl Resource for Time {
    fn fetch(frame: &FrameCtx, _: usize) -> *mut Time {
        frame.header_ptr() as *mut Time
    }
}

/// The keyboard, from the host: Bevy's `ButtonInput<KeyCode>` for the keys
/// of [`KeyCode`].
///
/// ```
/// use mod_api::{glam, prelude::*};
///
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// struct Ship;
///
/// fn steer(keys: Res<Keyboard>, time: Res<Time>, mut ships: Query<&mut Transform, With<Ship>>) {
///     let mut turn = 0.0;
///     if keys.any_pressed([KeyCode::ArrowLeft, KeyCode::A]) {
///         turn += 1.0;
///     }
///     if keys.any_pressed([KeyCode::ArrowRight, KeyCode::D]) {
///         turn -= 1.0;
///     }
///     let turn = glam::Quat::from_rotation_z(turn * 3.0 * time.delta_secs());
///     ships.for_each_mut(|t| t.rotation = (turn * glam::Quat::from(t.rotation)).into());
///     if keys.just_pressed(KeyCode::Space) {
///         info!("fire!");
///     }
/// }
/// # fn main() {}
/// ```
#[repr(transparent)]
pub struct Keyboard(FrameHeader);

fn bit(set: &[u32; 8], key: KeyCode) -> bool {
    let k = key as usize;
    set[k / 32] & (1 << (k % 32)) != 0
}

impl Keyboard {
    /// Held down now.
    pub fn pressed(&self, key: KeyCode) -> bool {
        bit(&self.0.keys_pressed, key)
    }
    /// Went down this frame.
    pub fn just_pressed(&self, key: KeyCode) -> bool {
        bit(&self.0.keys_just_pressed, key)
    }
    /// Went up this frame.
    pub fn just_released(&self, key: KeyCode) -> bool {
        bit(&self.0.keys_just_released, key)
    }
    /// Any of `keys` held down.
    pub fn any_pressed(&self, keys: impl IntoIterator<Item = KeyCode>) -> bool {
        keys.into_iter().any(|k| self.pressed(k))
    }
}

impl Resource for Keyboard {
    fn fetch(frame: &FrameCtx, _: usize) -> *mut Keyboard {
        frame.header_ptr() as *mut Keyboard
    }
}

/// A small, fast pseudo-random generator (SplitMix64), seeded from
/// [`Time::seed`]: `let mut rng = Rng::new(time.seed());`.
///
/// ```
/// use mod_api::prelude::*;
///
/// let mut rng = Rng::new(42);
/// let angle = rng.range(0.0, core::f32::consts::TAU);
/// assert!((0.0..core::f32::consts::TAU).contains(&angle));
/// // The same seed gives the same numbers.
/// assert_eq!(Rng::new(7).next_u64(), Rng::new(7).next_u64());
/// ```
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`; the same seed gives the same numbers.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform in `[min, max)`.
    pub fn range(&mut self, min: f32, max: f32) -> f32 {
        min + (max - min) * self.f32()
    }
}
