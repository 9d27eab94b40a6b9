//! Bevy's own components, as mods see them.
//!
//! Bevy's `Transform`, `Name`, `Visibility` and `Sprite` are not plain data
//! (a SIMD quaternion, a string, an enum, image handles), so they cannot be
//! copied into a mod byte for byte. The runtime ships an *adapter* for each:
//! a plain-data view defined here, and a conversion each way, applied to
//! whole columns once per mod system per frame. A mod uses the view like any
//! component (`Query<&mut Transform>`); the game decides which of them its
//! mods may see, and whether they may change them
//! (`app.add_mod_adapter::<TransformAdapter>(ModAccess::ReadWrite)` on the
//! host, see `docs/HOSTING.md`).
//!
//! The views are named `bevy::{Type}` on both sides.

use crate::schema::{Field, Schema};
use crate::types::{Color, Quat, Vec2, Vec3};

/// Bevy's `Transform`: position, rotation and scale relative to the parent
/// (or the world, without a parent).
///
/// ```
/// use mod_api::prelude::*;
///
/// fn spin(time: Res<Time>, mut q: Query<&mut Transform>) {
///     let turn = mod_api::glam::Quat::from_rotation_y(time.delta_secs());
///     q.for_each_mut(|t| t.rotation = (turn * mod_api::glam::Quat::from(t.rotation)).into());
/// }
/// # fn main() {}
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transform {
    /// Position.
    pub translation: Vec3,
    /// Rotation.
    pub rotation: Quat,
    /// Scale along each axis.
    pub scale: Vec3,
}

impl Transform {
    /// No translation, rotation or scaling.
    pub const IDENTITY: Transform = Transform { translation: Vec3::ZERO, rotation: Quat::IDENTITY, scale: Vec3::ONE };
    /// At `(x, y, z)`, not rotated, scale 1.
    pub fn from_xyz(x: f32, y: f32, z: f32) -> Transform {
        Transform { translation: Vec3::new(x, y, z), ..Transform::IDENTITY }
    }
}

impl Default for Transform {
    fn default() -> Self {
        Transform::IDENTITY
    }
}

/// Bevy's `GlobalTransform`, the entity's transform in the world, as
/// translation, rotation and scale. Read-only: Bevy computes it from the
/// `Transform`s after `Update`, so a mod sees last frame's.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GlobalTransform {
    /// Position in the world.
    pub translation: Vec3,
    /// Rotation in the world.
    pub rotation: Quat,
    /// Scale in the world.
    pub scale: Vec3,
}

/// Capacity of a [`Name`] in UTF-8 bytes; longer names are cut (on a
/// character boundary) when the host copies them in.
pub const NAME_CAPACITY: usize = 60;

/// Bevy's `Name`, as a short text.
///
/// ```
/// use mod_api::prelude::*;
///
/// let name = Name::new("player one");
/// assert_eq!(name.as_str(), "player one");
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Name {
    /// How many of `bytes` are the name.
    pub len: u32,
    /// The name, UTF-8; bytes past `len` are ignored.
    pub bytes: [u8; NAME_CAPACITY],
}

impl Name {
    /// A name of `text`, cut at [`NAME_CAPACITY`] bytes on a char boundary.
    pub fn new(text: &str) -> Name {
        let mut end = text.len().min(NAME_CAPACITY);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; NAME_CAPACITY];
        bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        Name { len: end as u32, bytes }
    }
    /// The name; empty if the bytes are not valid UTF-8.
    pub fn as_str(&self) -> &str {
        let len = (self.len as usize).min(NAME_CAPACITY);
        core::str::from_utf8(&self.bytes[..len]).unwrap_or("")
    }
}

impl Default for Name {
    fn default() -> Self {
        Name::new("")
    }
}

/// Bevy's `Visibility`: [`Visibility::INHERITED`], [`Visibility::HIDDEN`] or
/// [`Visibility::VISIBLE`]. A mod writing any other value fails with an
/// error naming it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Visibility(pub u32);

impl Visibility {
    /// As its parent (Bevy's `Visibility::Inherited`).
    pub const INHERITED: Visibility = Visibility(0);
    /// Hidden, with its descendants.
    pub const HIDDEN: Visibility = Visibility(1);
    /// Shown, whatever its parent.
    pub const VISIBLE: Visibility = Visibility(2);
}

/// The parts of Bevy's `Sprite` a mod may see: its colour and its size.
/// Its image and the rest stay the game's.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sprite {
    /// The sprite's tint (sRGB with alpha).
    pub color: Color,
    /// Its size in world units, if `sized` is 1 (Bevy's `custom_size`);
    /// with `sized` 0, the image's size.
    pub custom_size: Vec2,
    /// 1 if `custom_size` is set, else 0.
    pub sized: u32,
}

impl Sprite {
    /// A sprite of `size` in `color`.
    pub fn new(color: Color, size: Vec2) -> Sprite {
        Sprite { color, custom_size: size, sized: 1 }
    }
}

macro_rules! views {
    ($($ty:ident { $($field:tt: $fty:ty),* })*) => {$(
        // SAFETY: `#[repr(C)]`, fields of plain data without padding (the
        // layout assertions below), named as the runtime's adapter.
        unsafe impl crate::Component for $ty {
            const NAME: &'static str = concat!("bevy::", stringify!($ty));
            const FIELDS: Option<&'static [Field]> = Some(<$ty as Schema>::SHAPE.fields());
        }
        crate::schema::plain_struct! { $ty { $($field: $fty),* } }
        const _: () = assert!(0 $(+ crate::schema::size_of_field(|s: &$ty| &s.$field))* == size_of::<$ty>());
    )*};
}
views! {
    Transform { translation: Vec3, rotation: Quat, scale: Vec3 }
    GlobalTransform { translation: Vec3, rotation: Quat, scale: Vec3 }
    Name { len: u32, bytes: [u8; NAME_CAPACITY] }
    Visibility { 0: u32 }
    Sprite { color: Color, custom_size: Vec2, sized: u32 }
}
