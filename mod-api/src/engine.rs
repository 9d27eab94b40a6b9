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
    pub r: f32,
    pub g: f32,
    pub b: f32,
    pub a: f32,
}

impl Color {
    pub const WHITE: Color = Color::rgb(1.0, 1.0, 1.0);
    pub const BLACK: Color = Color::rgb(0.0, 0.0, 0.0);
    pub const RED: Color = Color::rgb(1.0, 0.2, 0.2);
    pub const GREEN: Color = Color::rgb(0.3, 1.0, 0.4);
    pub const YELLOW: Color = Color::rgb(1.0, 0.9, 0.3);
    pub const CYAN: Color = Color::rgb(0.3, 0.9, 1.0);
    pub const GREY: Color = Color::rgb(0.6, 0.6, 0.65);

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
    pub translation: Vec2,
    pub rotation: f32,
    pub scale: f32,
}

impl Default for Transform2d {
    fn default() -> Self {
        Transform2d { translation: Vec2::ZERO, rotation: 0.0, scale: 1.0 }
    }
}

impl Transform2d {
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
pub struct Velocity(pub Vec2);

/// A filled shape of `size` world units in `color`, drawn at the entity's
/// [`Transform2d`]. `shape` is one of [`Shape`]'s values.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[cfg_attr(feature = "host", derive(bevy::prelude::Component))]
pub struct Sprite {
    pub color: Color,
    pub size: Vec2,
    pub shape: u32,
    pub _reserved: u32,
}

impl Sprite {
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
    pub color: Color,
    pub font_size: f32,
    pub len: u32,
    pub bytes: [u8; LABEL_CAPACITY],
}

impl Label {
    /// A label with `text`, cut at [`LABEL_CAPACITY`] bytes on a char boundary.
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
    pub a: Entity,
    pub b: Entity,
}

/// Mod → engine: the numbers the HUD shows and the headless report records.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ScoreChanged {
    pub score: u32,
    pub lives: u32,
    /// 1 when the game is over (the HUD shows "GAME OVER").
    pub game_over: u32,
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
    A = 0,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    I,
    J,
    K,
    L,
    M,
    N,
    O,
    P,
    Q,
    R,
    S,
    T,
    U,
    V,
    W,
    X,
    Y,
    Z,
    Digit0 = 26,
    Digit1,
    Digit2,
    Digit3,
    Digit4,
    Digit5,
    Digit6,
    Digit7,
    Digit8,
    Digit9,
    ArrowUp = 36,
    ArrowDown,
    ArrowLeft,
    ArrowRight,
    Space = 40,
    Enter,
    Escape,
    Tab,
    Backspace,
    ShiftLeft,
    ShiftRight,
    ControlLeft,
    ControlRight,
    F1 = 49,
    F2,
    F3,
    F4,
    F5,
    F6,
    F7,
    F8,
    F9,
    F10,
    F11,
    F12,
}

impl KeyCode {
    /// Every key, in bit order.
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
