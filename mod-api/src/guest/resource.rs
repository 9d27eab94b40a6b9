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
pub trait Resource: 'static {
    #[doc(hidden)]
    fn fetch(frame: &FrameCtx) -> *mut Self;
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

/// Marks the mod's own resources, which systems may change.
#[doc(hidden)]
pub trait ModResource: Resource {}

/// Shared access to a resource.
pub struct Res<'s, T: Resource>(&'s T);
/// Exclusive access to one of the mod's own resources.
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
        ((), ParamDecl::Guest)
    }
    unsafe fn fetch<'s>(_: &'s mut (), frame: &'s FrameCtx, _: usize) -> Res<'s, T> {
        // SAFETY: `Resource::fetch` returns a live pointer for the call.
        Res(unsafe { &*T::fetch(frame) })
    }
}

// SAFETY: as for `Res`.
unsafe impl<T: ModResource> SystemParam for ResMut<'_, T> {
    type State = ();
    type Item<'s> = ResMut<'s, T>;
    fn init() -> ((), ParamDecl) {
        ((), ParamDecl::Guest)
    }
    unsafe fn fetch<'s>(_: &'s mut (), frame: &'s FrameCtx, _: usize) -> ResMut<'s, T> {
        // SAFETY: mod resources are boxed in the registry and outlive the call;
        // a system holds one `ResMut` per resource type.
        ResMut(unsafe { &mut *T::fetch(frame) })
    }
}

/// Frame time, from the host. In `FixedUpdate` systems, `delta_secs` is the
/// fixed step.
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
    /// Frames since the game started.
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
    fn fetch(frame: &FrameCtx) -> *mut Time {
        frame.header_ptr() as *mut Time
    }
}

/// The keyboard, from the host: Bevy's `ButtonInput<KeyCode>` for the keys
/// of [`KeyCode`].
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
    fn fetch(frame: &FrameCtx) -> *mut Keyboard {
        frame.header_ptr() as *mut Keyboard
    }
}

/// A small, fast pseudo-random generator (SplitMix64), seeded from
/// [`Time::seed`]: `let mut rng = Rng::new(time.seed());`.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
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
