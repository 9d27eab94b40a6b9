//! Components and messages the engine itself understands. Mods use them like
//! their own; the host defines them as ordinary (static) Bevy components with
//! exactly these layouts, and draws, moves and collides entities with them.

use crate::{Component, Message};
use bytemuck::{Pod, Zeroable};
pub use glam::Vec2;

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

/// Position, rotation (radians, counter-clockwise) and uniform scale in the
/// 2D world. The engine mirrors it into Bevy's `Transform` for drawing.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[cfg_attr(feature = "host", derive(bevy::prelude::Component))]
pub struct Transform2d {
    /// Position in world units; `(0, 0)` is the middle of the screen, +y up.
    pub translation: Vec2,
    /// Radians, counter-clockwise; 0 faces +y (up).
    pub rotation: f32,
    /// Uniform scale of the sprite, label and collider (default 1).
    pub scale: f32,
}

impl Default for Transform2d {
    fn default() -> Self {
        Transform2d { translation: Vec2::ZERO, rotation: 0.0, scale: 1.0 }
    }
}

impl Transform2d {
    /// At `(x, y)`, not rotated, scale 1.
    ///
    /// ```
    /// use mod_api::prelude::*;
    ///
    /// let t = Transform2d::from_xy(0.0, 200.0);
    /// assert_eq!(t.translation, Vec2::new(0.0, 200.0));
    /// assert_eq!((t.rotation, t.scale), (0.0, 1.0));
    /// ```
    pub fn from_xy(x: f32, y: f32) -> Self {
        Transform2d { translation: Vec2::new(x, y), ..Default::default() }
    }
    /// The unit vector the entity faces (rotation 0 faces up, +y).
    pub fn forward(&self) -> Vec2 {
        Vec2::new(-self.rotation.sin(), self.rotation.cos())
    }
}

/// Linear velocity in world units per second. The engine does not integrate
/// it: a mod system does (see the `mover` example mod).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
#[cfg_attr(feature = "host", derive(bevy::prelude::Component))]
pub struct Velocity(
    /// World units per second.
    pub Vec2,
);

/// A filled shape of `size` world units in `color`, drawn at the entity's
/// [`Transform2d`]. `shape` is one of [`Shape`]'s values.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[cfg_attr(feature = "host", derive(bevy::prelude::Component))]
pub struct Sprite {
    /// The fill colour.
    pub color: Color,
    /// Width and height in world units (times [`Transform2d::scale`]).
    pub size: Vec2,
    /// A [`Shape`] as `u32` (see [`Shape::from_u32`]).
    pub shape: u32,
    /// Padding; write 0.
    pub _reserved: u32,
}

impl Sprite {
    /// A sprite of `shape`, `size` world units, filled with `color`.
    ///
    /// ```
    /// use mod_api::prelude::*;
    ///
    /// let square = Sprite::new(Shape::Rectangle, Vec2::splat(40.0), Color::rgb(0.3, 0.8, 1.0));
    /// assert_eq!(Shape::from_u32(square.shape), Shape::Rectangle);
    /// ```
    pub fn new(shape: Shape, size: Vec2, color: Color) -> Self {
        Sprite { color, size, shape: shape as u32, _reserved: 0 }
    }
}

/// What a [`Sprite`] draws.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A `size.x` × `size.y` rectangle.
    Rectangle = 0,
    /// An ellipse filling `size`.
    Circle = 1,
    /// A triangle pointing up (+y), `size.x` wide at the base, `size.y` tall.
    Triangle = 2,
    /// A regular hexagon of diameter `size.x`.
    Hexagon = 3,
}

impl Shape {
    /// The shape for a [`Sprite::shape`] value; unknown values draw rectangles.
    pub fn from_u32(v: u32) -> Shape {
        match v {
            1 => Shape::Circle,
            2 => Shape::Triangle,
            3 => Shape::Hexagon,
            _ => Shape::Rectangle,
        }
    }
}

/// Capacity of a [`Label`] in UTF-8 bytes.
pub const LABEL_CAPACITY: usize = 56;

/// A short text drawn at the entity's [`Transform2d`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[cfg_attr(feature = "host", derive(bevy::prelude::Component))]
pub struct Label {
    /// The text's colour.
    pub color: Color,
    /// Font size in pixels.
    pub font_size: f32,
    /// How many of `bytes` are the text (at most [`LABEL_CAPACITY`]).
    pub len: u32,
    /// The text, UTF-8; bytes past `len` are ignored.
    pub bytes: [u8; LABEL_CAPACITY],
}

impl Label {
    /// A label with `text`, cut at [`LABEL_CAPACITY`] bytes on a char boundary.
    ///
    /// ```
    /// use mod_api::prelude::*;
    ///
    /// let label = Label::new("hello from my-mod", 24.0, Color::WHITE);
    /// assert_eq!(label.text(), "hello from my-mod");
    /// assert_eq!(Label::new(&"x".repeat(100), 24.0, Color::WHITE).text().len(), LABEL_CAPACITY);
    /// ```
    pub fn new(text: &str, font_size: f32, color: Color) -> Self {
        let mut end = text.len().min(LABEL_CAPACITY);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; LABEL_CAPACITY];
        bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        Label { color, font_size, len: end as u32, bytes }
    }
    /// The text; empty if the bytes are not valid UTF-8.
    pub fn text(&self) -> &str {
        let len = (self.len as usize).min(LABEL_CAPACITY);
        core::str::from_utf8(&self.bytes[..len]).unwrap_or("")
    }
}

/// A circle the engine tests for overlaps every frame. For every pair where
/// `a.mask & b.layer != 0` and the circles overlap, the engine sends
/// [`Collision`] `{ a, b }`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[cfg_attr(feature = "host", derive(bevy::prelude::Component))]
pub struct Collider {
    /// Radius in world units (times [`Transform2d::scale`]).
    pub radius: f32,
    /// The layers this collider is on (bits).
    pub layer: u32,
    /// The layers this collider reports hits with (bits).
    pub mask: u32,
}

/// Engine → mod: two colliders overlap (see [`Collider`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct Collision {
    /// The entity whose collider's `mask` shares a bit with `b`'s `layer`.
    pub a: Entity,
    /// The entity it overlaps.
    pub b: Entity,
}

/// Mod → engine: the numbers the HUD shows and the headless report records.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ScoreChanged {
    /// The score.
    pub score: u32,
    /// Lives left.
    pub lives: u32,
    /// 1 when the game is over (the HUD shows "GAME OVER").
    pub game_over: u32,
    /// The wave (level) being played.
    pub wave: u32,
}

macro_rules! engine_types {
    (Component: $($ty:ident),*) => {$(
        // SAFETY: repr(C) + Pod, the layout the host registers under this name.
        unsafe impl Component for $ty {
            const NAME: &'static str = concat!("engine::", stringify!($ty));
            fn fields() -> Option<Vec<crate::abi::FieldDecl>> {
                Some(crate::schema::struct_fields::<$ty>())
            }
        }
    )*};
    (Message: $($ty:ident),*) => {$(
        // SAFETY: repr(C) + Pod, the layout the host registers under this name.
        unsafe impl Message for $ty { const NAME: &'static str = concat!("engine::", stringify!($ty)); }
    )*};
}
engine_types!(Component: Transform2d, Velocity, Sprite, Label, Collider);
engine_types!(Message: Collision, ScoreChanged);

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
