//! Field lists of plain-data types (ABI.md, "Fields and layout changes"): what lets the host
//! carry component values over a layout change and write save games with
//! named fields. `#[derive(Component)]` implements [`Schema`] for you; the
//! types a component's fields may have implement it here.

use crate::abi::{FieldDecl, FieldType};
use crate::types::{Color, Entity, Quat, Vec2, Vec3};

/// A type as the host sees it, as constant data: what [`Schema::SHAPE`]
/// and [`Component::FIELDS`](crate::Component::FIELDS) hold. A mod writes
/// its component declarations straight from these constants, so it carries
/// no code that builds them (issue 15); the host turns them into
/// [`FieldType`]s with [`Shape::field_type`].
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// `bool`: one byte, 0 or 1.
    Bool,
    /// `u8`.
    U8,
    /// `i8`.
    I8,
    /// `u16`.
    U16,
    /// `i16`.
    I16,
    /// `u32`.
    U32,
    /// `i32`.
    I32,
    /// `u64`.
    U64,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// An [`Entity`].
    Entity,
    /// `len` values of `of`, each `stride` bytes apart.
    Array {
        /// The element type.
        of: &'static Shape,
        /// Number of elements.
        len: u32,
        /// Bytes from one element to the next.
        stride: u32,
    },
    /// Nested plain data.
    Struct(&'static [Field]),
}

/// One field of a struct [`Shape`]: the constant form of [`FieldDecl`].
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// The field's name; tuple fields are `"0"`, `"1"`, ...
    pub name: &'static str,
    /// Byte offset within the struct.
    pub offset: u32,
    /// The field's type.
    pub ty: Shape,
    /// Earlier names of this field (`#[component(alias = "...")]`).
    pub aliases: &'static [&'static str],
    /// The bytes a field new in this version starts from
    /// (`#[component(default = ...)]`).
    pub default: Option<&'static [u8]>,
}

impl Shape {
    /// The fields of a struct shape; none for any other.
    pub const fn fields(&self) -> &'static [Field] {
        match *self {
            Shape::Struct(fields) => fields,
            _ => &[],
        }
    }

    /// The shape as the ABI's [`FieldType`].
    pub fn field_type(&self) -> FieldType {
        match *self {
            Shape::Bool => FieldType::Bool,
            Shape::U8 => FieldType::U8,
            Shape::I8 => FieldType::I8,
            Shape::U16 => FieldType::U16,
            Shape::I16 => FieldType::I16,
            Shape::U32 => FieldType::U32,
            Shape::I32 => FieldType::I32,
            Shape::U64 => FieldType::U64,
            Shape::I64 => FieldType::I64,
            Shape::F32 => FieldType::F32,
            Shape::F64 => FieldType::F64,
            Shape::Entity => FieldType::Entity,
            Shape::Array { of, len, stride } => FieldType::Array { of: Box::new(of.field_type()), len, stride },
            Shape::Struct(fields) => FieldType::Struct(fields.iter().map(Field::decl).collect()),
        }
    }
}

impl Field {
    /// The field as the ABI's [`FieldDecl`].
    pub fn decl(&self) -> FieldDecl {
        FieldDecl {
            name: self.name.to_string(),
            offset: self.offset,
            ty: self.ty.field_type(),
            aliases: self.aliases.iter().map(|a| a.to_string()).collect(),
            default: self.default.map(<[u8]>::to_vec),
        }
    }
}

/// A plain-data type whose layout the host can read field by field.
///
/// A field of a `#[derive(Component)]` (or `Message`) struct must have a
/// `Schema` type: numbers, arrays of them, [`Entity`], [`Vec2`], [`Vec3`],
/// [`Quat`], [`Color`], or another derived struct.
///
/// # Safety
/// Every bit pattern of `Self`'s size must be a valid `Self`, and `Self`
/// has no padding: its values cross between the host and mods as bytes, and
/// a mod may write any bytes. So `bool`, `char`, enums and references are
/// not `Schema` types (use `u8` for a flag, `u32` for a choice); the derives
/// check that a struct has no padding.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not plain data a mod may share with the game",
    label = "not every bit pattern is a valid `{Self}`, or it holds pointers",
    note = "use numbers, arrays, Entity, Vec2, Vec3, Quat, Color or a derived struct: a u8 for a flag \
            (not bool), a u32 for a choice (not an enum or char)"
)]
pub unsafe trait Schema: Copy + 'static {
    /// The type as the host sees it.
    const SHAPE: Shape;
}

macro_rules! scalars {
    ($($ty:ty => $field:ident),*) => {$(
        // SAFETY: every bit pattern is a valid number; no padding.
        unsafe impl Schema for $ty {
            const SHAPE: Shape = Shape::$field;
        }
    )*};
}
scalars!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, u64 => U64,
    i64 => I64, f32 => F32, f64 => F64, Entity => Entity);

// SAFETY: an array of plain data without padding has none either.
unsafe impl<T: Schema, const N: usize> Schema for [T; N] {
    const SHAPE: Shape = Shape::Array { of: &T::SHAPE, len: N as u32, stride: size_of::<T>() as u32 };
}

/// The bytes of `value`, for a field's `#[component(default = ...)]`: a
/// constant, `N` is `size_of::<T>()`.
#[doc(hidden)]
pub const fn bytes_of<T: Schema, const N: usize>(value: T) -> [u8; N] {
    assert!(size_of::<T>() == N, "the default's size is its field's");
    #[repr(C)]
    union Bytes<T: Copy, const N: usize> {
        value: T,
        bytes: [u8; N],
    }
    // SAFETY: `T` is `N` bytes of plain data without padding (`Schema`), so
    // every byte is initialized.
    unsafe { Bytes { value }.bytes }
}

/// Implements [`Schema`] for a struct from its field names.
macro_rules! plain_struct {
    ($($ty:ident { $($field:tt: $fty:ty),* })*) => {$(
        // SAFETY: used on `#[repr(C)]` structs of plain data without
        // padding, naming every field.
        unsafe impl $crate::schema::Schema for $ty {
            const SHAPE: $crate::schema::Shape = $crate::schema::Shape::Struct(&[$(
                $crate::schema::Field {
                    name: stringify!($field),
                    offset: core::mem::offset_of!($ty, $field) as u32,
                    ty: <$fty as $crate::schema::Schema>::SHAPE,
                    aliases: &[],
                    default: None,
                }
            ),*]);
        }
    )*};
}
pub(crate) use plain_struct;
plain_struct! {
    Vec2 { x: f32, y: f32 }
    Vec3 { x: f32, y: f32, z: f32 }
    Quat { x: f32, y: f32, z: f32, w: f32 }
    Color { r: f32, g: f32, b: f32, a: f32 }
}

// SAFETY: no bytes at all. (A game function's `()` input or output.)
unsafe impl Schema for () {
    const SHAPE: Shape = Shape::Struct(&[]);
}

/// The size of the field `_field` names: the derives add these up to check
/// that a struct has no padding.
#[doc(hidden)]
pub const fn size_of_field<S, T>(_field: fn(&S) -> &T) -> usize {
    size_of::<T>()
}
