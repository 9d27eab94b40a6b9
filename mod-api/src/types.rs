//! Plain-data types every game shares with its mods: entity ids, vectors,
//! colours and keys. A game's own components and messages live in a crate
//! the game shares with its mods (the demo's is `mods/rocks-api`); Bevy's
//! built-in components are reached through the views in [`crate::builtin`].

use bytemuck::{Pod, Zeroable};
pub use glam::{Vec2, Vec3};

/// An entity id, as the host's Bevy `Entity::to_bits`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Pod, Zeroable)]
pub struct Entity(pub u64);

impl Entity {
    /// Never a live entity.
    pub const PLACEHOLDER: Entity = Entity(u64::MAX);
}

/// An sRGB colour with alpha, components in 0..=1.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Color {
    /// Red, 0..=1.
    pub r: f32,
    /// Green, 0..=1.
    pub g: f32,
    /// Blue, 0..=1.
    pub b: f32,
    /// Alpha (opacity), 0 transparent ..= 1 opaque.
    pub a: f32,
}

impl Color {
    /// Opaque white.
    pub const WHITE: Color = Color::rgb(1.0, 1.0, 1.0);
    /// Opaque black.
    pub const BLACK: Color = Color::rgb(0.0, 0.0, 0.0);
    /// A light red, `(1.0, 0.2, 0.2)`.
    pub const RED: Color = Color::rgb(1.0, 0.2, 0.2);
    /// A light green, `(0.3, 1.0, 0.4)`.
    pub const GREEN: Color = Color::rgb(0.3, 1.0, 0.4);
    /// A warm yellow, `(1.0, 0.9, 0.3)`.
    pub const YELLOW: Color = Color::rgb(1.0, 0.9, 0.3);
    /// A light cyan, `(0.3, 0.9, 1.0)`.
    pub const CYAN: Color = Color::rgb(0.3, 0.9, 1.0);
    /// A bluish grey, `(0.6, 0.6, 0.65)`.
    pub const GREY: Color = Color::rgb(0.6, 0.6, 0.65);

    /// An opaque colour from sRGB red, green and blue in 0..=1.
    ///
    /// ```
    /// use mod_api::prelude::*;
    ///
    /// const ORANGE: Color = Color::rgb(1.0, 0.5, 0.0);
    /// assert_eq!(ORANGE.a, 1.0);
    /// let faded = Color { a: 0.5, ..ORANGE };
    /// # assert_eq!(faded.r, 1.0);
    /// ```
    pub const fn rgb(r: f32, g: f32, b: f32) -> Color {
        Color { r, g, b, a: 1.0 }
    }
}

/// A rotation as a unit quaternion `(x, y, z, w)`: Bevy's `Quat` as plain
/// data (glam's own `Quat` is a SIMD type whose layout differs between the
/// host and wasm). Convert with `From`/`Into` to and from [`glam::Quat`].
///
/// ```
/// use mod_api::prelude::*;
///
/// let quarter = Quat::from_rotation_z(core::f32::consts::FRAC_PI_2);
/// let turned = mod_api::glam::Quat::from(quarter) * Vec3::X;
/// assert!((turned - Vec3::Y).length() < 1e-6);
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Quat {
    /// The vector part's x.
    pub x: f32,
    /// The vector part's y.
    pub y: f32,
    /// The vector part's z.
    pub z: f32,
    /// The scalar part.
    pub w: f32,
}

impl Quat {
    /// No rotation.
    pub const IDENTITY: Quat = Quat { x: 0.0, y: 0.0, z: 0.0, w: 1.0 };
    /// A rotation of `angle` radians about +z (counter-clockwise in 2D).
    pub fn from_rotation_z(angle: f32) -> Quat {
        glam::Quat::from_rotation_z(angle).into()
    }
}

impl Default for Quat {
    fn default() -> Self {
        Quat::IDENTITY
    }
}

impl From<glam::Quat> for Quat {
    #[inline]
    fn from(q: glam::Quat) -> Quat {
        let [x, y, z, w] = q.to_array();
        Quat { x, y, z, w }
    }
}

impl From<Quat> for glam::Quat {
    #[inline]
    fn from(q: Quat) -> glam::Quat {
        glam::Quat::from_xyzw(q.x, q.y, q.z, q.w)
    }
}

/// Keys a mod can read through `Res<Keyboard>`. The value is the bit index
/// in the frame header's key bitsets (ABI.md, "Keyboard").
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyCode {
    /// The A key (Bevy's `KeyA`).
    A = 0,
    /// The B key (Bevy's `KeyB`).
    B,
    /// The C key (Bevy's `KeyC`).
    C,
    /// The D key (Bevy's `KeyD`).
    D,
    /// The E key (Bevy's `KeyE`).
    E,
    /// The F key (Bevy's `KeyF`).
    F,
    /// The G key (Bevy's `KeyG`).
    G,
    /// The H key (Bevy's `KeyH`).
    H,
    /// The I key (Bevy's `KeyI`).
    I,
    /// The J key (Bevy's `KeyJ`).
    J,
    /// The K key (Bevy's `KeyK`).
    K,
    /// The L key (Bevy's `KeyL`).
    L,
    /// The M key (Bevy's `KeyM`).
    M,
    /// The N key (Bevy's `KeyN`).
    N,
    /// The O key (Bevy's `KeyO`).
    O,
    /// The P key (Bevy's `KeyP`).
    P,
    /// The Q key (Bevy's `KeyQ`).
    Q,
    /// The R key (Bevy's `KeyR`).
    R,
    /// The S key (Bevy's `KeyS`).
    S,
    /// The T key (Bevy's `KeyT`).
    T,
    /// The U key (Bevy's `KeyU`).
    U,
    /// The V key (Bevy's `KeyV`).
    V,
    /// The W key (Bevy's `KeyW`).
    W,
    /// The X key (Bevy's `KeyX`).
    X,
    /// The Y key (Bevy's `KeyY`).
    Y,
    /// The Z key (Bevy's `KeyZ`).
    Z,
    /// The 0 key of the main row (Bevy's `Digit0`).
    Digit0 = 26,
    /// The 1 key of the main row (Bevy's `Digit1`).
    Digit1,
    /// The 2 key of the main row (Bevy's `Digit2`).
    Digit2,
    /// The 3 key of the main row (Bevy's `Digit3`).
    Digit3,
    /// The 4 key of the main row (Bevy's `Digit4`).
    Digit4,
    /// The 5 key of the main row (Bevy's `Digit5`).
    Digit5,
    /// The 6 key of the main row (Bevy's `Digit6`).
    Digit6,
    /// The 7 key of the main row (Bevy's `Digit7`).
    Digit7,
    /// The 8 key of the main row (Bevy's `Digit8`).
    Digit8,
    /// The 9 key of the main row (Bevy's `Digit9`).
    Digit9,
    /// The up arrow key.
    ArrowUp = 36,
    /// The down arrow key.
    ArrowDown,
    /// The left arrow key.
    ArrowLeft,
    /// The right arrow key.
    ArrowRight,
    /// The Space key.
    Space = 40,
    /// The Enter key.
    Enter,
    /// The Escape key.
    Escape,
    /// The Tab key.
    Tab,
    /// The Backspace key.
    Backspace,
    /// The left Shift key.
    ShiftLeft,
    /// The right Shift key.
    ShiftRight,
    /// The left Control key.
    ControlLeft,
    /// The right Control key.
    ControlRight,
    /// The F1 function key. The game opens its mod manager with it.
    F1 = 49,
    /// The F2 function key.
    F2,
    /// The F3 function key.
    F3,
    /// The F4 function key.
    F4,
    /// The F5 function key. The game saves with it.
    F5,
    /// The F6 function key.
    F6,
    /// The F7 function key.
    F7,
    /// The F8 function key.
    F8,
    /// The F9 function key. The game loads a save with it.
    F9,
    /// The F10 function key.
    F10,
    /// The F11 function key.
    F11,
    /// The F12 function key.
    F12,
}

impl KeyCode {
    /// Every key, in bit order: `ALL[k as usize] == k`.
    pub const ALL: [KeyCode; 61] = {
        let mut all = [KeyCode::A; 61];
        let mut i = 0;
        while i < 61 {
            // SAFETY: discriminants 0..61 are all defined above, contiguously.
            all[i] = unsafe { core::mem::transmute::<u8, KeyCode>(i as u8) };
            i += 1;
        }
        all
    };
}
