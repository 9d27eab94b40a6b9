//! Field lists of plain-data types (ABI.md, "Fields and layout changes"): what lets the host
//! carry component values over a layout change and write save games with
//! named fields. `#[derive(Component)]` implements [`Schema`] for you; the
//! types a component's fields may have implement it here.

use crate::abi::{FieldDecl, FieldType};
use crate::types::{Color, Entity, Quat, Vec2, Vec3};

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
    fn schema() -> FieldType;
}

macro_rules! scalars {
    ($($ty:ty => $field:ident),*) => {$(
        // SAFETY: every bit pattern is a valid number; no padding.
        unsafe impl Schema for $ty {
            fn schema() -> FieldType { FieldType::$field }
        }
    )*};
}
scalars!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, u64 => U64,
    i64 => I64, f32 => F32, f64 => F64, Entity => Entity);

// SAFETY: an array of plain data without padding has none either.
unsafe impl<T: Schema, const N: usize> Schema for [T; N] {
    fn schema() -> FieldType {
        FieldType::Array { of: Box::new(T::schema()), len: N as u32, stride: size_of::<T>() as u32 }
    }
}

/// One field of struct `S`: `field::<S, _>("x", offset_of!(S, x), |s| &s.x)`.
/// The accessor only names the field's type. Used by `#[derive(Component)]`.
#[doc(hidden)]
pub fn field<S, T: Schema>(name: &str, offset: usize, _type_of: fn(&S) -> &T) -> FieldDecl {
    FieldDecl { name: name.to_string(), offset: offset as u32, ty: T::schema(), aliases: Vec::new(), default: None }
}

/// The bytes of `value`, for a field's `#[component(default = ...)]`.
#[doc(hidden)]
pub fn default_bytes<T: Schema>(value: T) -> Vec<u8> {
    let mut bytes = vec![0u8; size_of::<T>()];
    // SAFETY: `bytes` has room for one `T`; the write may be unaligned.
    unsafe { core::ptr::write_unaligned(bytes.as_mut_ptr() as *mut T, value) };
    bytes
}

/// Implements [`Schema`] for a struct from its field names.
macro_rules! plain_struct {
    ($($ty:ident { $($field:tt),* })*) => {$(
        // SAFETY: `#[repr(C)]` structs of `f32`s: no padding.
        unsafe impl Schema for $ty {
            fn schema() -> FieldType {
                FieldType::Struct(vec![$(
                    field(stringify!($field), core::mem::offset_of!($ty, $field), |s: &$ty| &s.$field)
                ),*])
            }
        }
    )*};
}
plain_struct! {
    Vec2 { x, y }
    Vec3 { x, y, z }
    Quat { x, y, z, w }
    Color { r, g, b, a }
}

// SAFETY: no bytes at all. (A game function's `()` input or output.)
unsafe impl Schema for () {
    fn schema() -> FieldType {
        FieldType::Struct(Vec::new())
    }
}

/// The size of the field `_field` names: the derives add these up to check
/// that a struct has no padding.
#[doc(hidden)]
pub const fn size_of_field<S, T>(_field: fn(&S) -> &T) -> usize {
    size_of::<T>()
}

/// The fields of a struct type, as `Component::fields` returns them.
#[doc(hidden)]
pub fn struct_fields<T: Schema>() -> Vec<FieldDecl> {
    match T::schema() {
        FieldType::Struct(fields) => fields,
        other => vec![FieldDecl { name: "0".into(), offset: 0, ty: other, aliases: Vec::new(), default: None }],
    }
}
