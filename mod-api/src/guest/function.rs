//! Calling functions the game exposes (ABI 1.5, `call_function`).

use super::param::{FrameCtx, SystemParam};
use super::registry;
use crate::GameFunction;
use crate::abi::ParamDecl;
use core::marker::PhantomData;

/// A game function as a system parameter: `spawn: GameFn<SpawnExplosion>`,
/// then `spawn.call(position)`. The game runs it at once, as an ordinary
/// Bevy system with an input and an output, and its answer comes back; what
/// it changes through Bevy's `Commands` (spawns, despawns, inserts) takes
/// effect when the calling system has returned, with the calling system's
/// own commands, and is seen by queries from the next system run on.
///
/// ```
/// use mod_api::prelude::*;
///
/// mod_api::game_functions! {
///     /// Spawns an explosion at a position; answers how many there are.
///     pub SpawnExplosion = fn(Vec3) -> u32;
/// }
///
/// fn boom(keys: Res<Keyboard>, explode: GameFn<SpawnExplosion>) {
///     if keys.just_pressed(KeyCode::Space) {
///         match explode.call(Vec3::ZERO) {
///             Ok(n) => info!("{n} explosions"),
///             Err(e) => warn!("no explosion: {e}"),
///         }
///     }
/// }
/// # fn main() {}
/// ```
pub struct GameFn<F: GameFunction> {
    local: u32,
    _marker: PhantomData<fn() -> F>,
}

impl<F: GameFunction> GameFn<F> {
    /// Calls the function with `input`: its output, or the error it
    /// reported.
    pub fn call(&self, input: F::In) -> Result<F::Out, String> {
        super::sys::call_function::<F>(self.local, &input)
    }
}

// SAFETY: reads nothing from the frame; the function is declared in the
// descriptor's `functions`.
unsafe impl<F: GameFunction> SystemParam for GameFn<F> {
    type State = u32;
    type Item<'s> = GameFn<F>;
    fn init() -> (u32, ParamDecl) {
        (registry::function_id::<F>(), ParamDecl::Guest)
    }
    unsafe fn fetch<'s>(local: &'s mut u32, _: &'s FrameCtx, _: usize) -> GameFn<F> {
        GameFn { local: *local, _marker: PhantomData }
    }
}

/// Declares functions a game exposes to its mods, in the crate the game
/// shares with them: each becomes a unit struct implementing
/// [`GameFunction`], named `{module path}::{Name}`. Inputs and outputs are
/// plain data ([`Schema`](crate::Schema) types, or `()`).
///
/// ```
/// use mod_api::prelude::*;
///
/// mod_api::game_functions! {
///     /// The entity nearest to a position (`Entity::PLACEHOLDER` if none).
///     pub Nearest = fn(Vec3) -> Entity;
///     /// Shakes the camera for some seconds.
///     pub ShakeCamera = fn(f32) -> ();
/// }
/// assert!(<Nearest as GameFunction>::NAME.ends_with("::Nearest"));
/// ```
#[macro_export]
macro_rules! game_functions {
    ($($(#[$meta:meta])* $vis:vis $name:ident = fn($in:ty) -> $out:ty;)*) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug)]
        $vis struct $name;
        // SAFETY: input and output are plain data (checked by the bounds
        // `GameFunction` puts on them).
        unsafe impl $crate::GameFunction for $name {
            const NAME: &'static str = concat!(module_path!(), "::", stringify!($name));
            type In = $in;
            type Out = $out;
        }
    )*};
}
