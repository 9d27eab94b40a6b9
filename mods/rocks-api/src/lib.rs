//! What the Rocks demo game shows its mods: the components it draws, moves
//! and collides, and the messages it exchanges with them. The game's host
//! code exposes exactly these (`app.add_mod_component::<Transform2d>()`, …;
//! see `engine/rocks/src/lib.rs`), and its mods use them by depending on this
//! crate, as any game and its mods would share a crate of their own.
//!
//! Built for the game (mod-api's `host` feature), each type is also a Bevy
//! component or message.

use mod_api::prelude::*;

/// Position, rotation (radians, counter-clockwise) and uniform scale in the
/// 2D world. The engine mirrors it into Bevy's `Transform` for drawing.
#[repr(C)]
#[derive(Component, Clone, Copy, Debug, PartialEq)]
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
    /// use rocks_api::*;
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
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
pub struct Velocity(
    /// World units per second.
    pub Vec2,
);

/// A filled shape of `size` world units in `color`, drawn at the entity's
/// [`Transform2d`]. `shape` is one of [`Shape`]'s values.
#[repr(C)]
#[derive(Component, Clone, Copy, Debug, PartialEq)]
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
    /// use rocks_api::*;
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
#[derive(Component, Clone, Copy, Debug, PartialEq)]
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
    /// use rocks_api::*;
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
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct Collider {
    /// Radius in world units (times [`Transform2d::scale`]).
    pub radius: f32,
    /// The layers this collider is on (bits).
    pub layer: u32,
    /// The layers this collider reports hits with (bits).
    pub mask: u32,
}

/// Game → mods: two colliders overlap (see [`Collider`]).
#[repr(C)]
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Collision {
    /// The entity whose collider's `mask` shares a bit with `b`'s `layer`.
    pub a: Entity,
    /// The entity it overlaps.
    pub b: Entity,
}

/// Mods → game: the numbers the HUD shows and the headless report records.
#[repr(C)]
#[derive(Message, Clone, Copy, Debug, Default, PartialEq, Eq)]
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
