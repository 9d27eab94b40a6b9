//! Component values by field (ABI.md, "Fields and layout changes"): the bytes of a component in
//! one layout are read into a RON value, a map from field name to value, and
//! written back in another layout. Hot reload uses it when a mod changes a
//! component's layout; save games store every component this way.
//!
//! The rules are serde's: a field is found by its name or one of its
//! aliases; a field the value lacks starts from the layout's default for it
//! (or zero); a field the layout lacks is dropped; a number converts to an
//! integer type only if it fits exactly, and to a float type as the nearest
//! float.

use mod_api::abi::{FieldDecl, FieldType};
use ron::Value;
use ron::value::{Map, Number};

/// Largest number of elements an array field may have.
const MAX_ARRAY_LEN: u32 = 64 * 1024;
/// Deepest nesting of structs and arrays in a field list.
const MAX_DEPTH: usize = 16;
/// Most values a field list may describe, per byte of the component and in
/// all, counting every field, struct and array element: reading a value
/// into RON (a save, a layout change) then costs time in proportion to its
/// bytes, even with arrays of zero-sized structs, which describe values
/// without bytes.
pub(crate) fn max_described_values(size: usize) -> u64 {
    4 * size as u64 + 256
}

/// Checks a field list a mod declared for a component of `size` bytes:
/// every field lies inside the component, arrays and nesting are bounded.
pub fn check_fields(fields: &[FieldDecl], size: usize) -> Result<(), String> {
    fn check_type(ty: &FieldType, depth: usize, path: &str) -> Result<(), String> {
        match ty {
            FieldType::Struct(inner) => check(inner, type_size(ty, depth, path)?, depth + 1, path),
            FieldType::Array { of, .. } => check_type(of, depth + 1, path),
            _ => Ok(()),
        }
    }
    fn check(fields: &[FieldDecl], size: usize, depth: usize, path: &str) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("{path}: fields nest deeper than {MAX_DEPTH} levels"));
        }
        for f in fields {
            let path = if path.is_empty() { f.name.clone() } else { format!("{path}.{}", f.name) };
            let field_size = type_size(&f.ty, depth, &path)?;
            let end = (f.offset as usize).checked_add(field_size);
            if end.is_none_or(|end| end > size) {
                return Err(format!("field {path} at offset {} does not fit in {size} bytes", f.offset));
            }
            if let Some(d) = &f.default
                && d.len() != field_size
            {
                return Err(format!("field {path}: its default has {} bytes, the field {field_size}", d.len()));
            }
            check_type(&f.ty, depth, &path)?;
        }
        Ok(())
    }
    check(fields, size, 0, "")?;
    let described = fields.iter().fold(0u64, |n, f| n.saturating_add(described_values(&f.ty)));
    let max = max_described_values(size);
    if described > max {
        return Err(format!(
            "its fields describe {described} values (fields, array elements and structs); the limit for \
             {size} bytes is {max} (4 per byte, plus 256)"
        ));
    }
    Ok(())
}

/// Values a field of type `ty` describes, itself included (saturating;
/// the depth is checked before).
fn described_values(ty: &FieldType) -> u64 {
    1u64.saturating_add(match ty {
        FieldType::Array { of, len, .. } => (*len as u64).saturating_mul(described_values(of)),
        FieldType::Struct(fields) => fields.iter().fold(0u64, |n, f| n.saturating_add(described_values(&f.ty))),
        _ => 0,
    })
}

/// Bytes a value of `ty` spans.
fn type_size(ty: &FieldType, depth: usize, path: &str) -> Result<usize, String> {
    if depth > MAX_DEPTH {
        return Err(format!("{path}: fields nest deeper than {MAX_DEPTH} levels"));
    }
    if let Some(n) = ty.scalar_size() {
        return Ok(n);
    }
    match ty {
        FieldType::Array { of, len, stride } => {
            if *len > MAX_ARRAY_LEN {
                return Err(format!("{path}: arrays are limited to {MAX_ARRAY_LEN} elements"));
            }
            let elem = type_size(of, depth + 1, path)?;
            if (*stride as usize) < elem {
                return Err(format!("{path}: array stride {stride} is smaller than its element ({elem} bytes)"));
            }
            Ok(if *len == 0 { 0 } else { *stride as usize * (*len as usize - 1) + elem })
        }
        FieldType::Struct(fields) => {
            let mut end = 0;
            for f in fields {
                end = end.max(f.offset as usize + type_size(&f.ty, depth + 1, path)?);
            }
            Ok(end)
        }
        _ => unreachable!("scalars are handled above"),
    }
}

/// True if two field lists describe the same layout (names, offsets and
/// types; aliases and defaults do not matter).
pub fn same_layout(a: &[FieldDecl], b: &[FieldDecl]) -> bool {
    fn same_type(a: &FieldType, b: &FieldType) -> bool {
        match (a, b) {
            (FieldType::Struct(a), FieldType::Struct(b)) => same_layout(a, b),
            (FieldType::Array { of: a, len: la, stride: sa }, FieldType::Array { of: b, len: lb, stride: sb }) => {
                la == lb && sa == sb && same_type(a, b)
            }
            _ => a == b,
        }
    }
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| a.name == b.name && a.offset == b.offset && same_type(&a.ty, &b.ty))
}

/// Reads a component's bytes (already checked against `fields`) as a map of
/// its fields.
pub fn read(bytes: &[u8], fields: &[FieldDecl]) -> Value {
    read_struct(bytes, 0, fields)
}

fn read_struct(bytes: &[u8], base: usize, fields: &[FieldDecl]) -> Value {
    let mut map = Map::new();
    for f in fields {
        map.insert(Value::String(f.name.clone()), read_value(bytes, base + f.offset as usize, &f.ty));
    }
    Value::Map(map)
}

fn read_value(bytes: &[u8], at: usize, ty: &FieldType) -> Value {
    fn le<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
        bytes[at..at + N].try_into().expect("checked by check_fields")
    }
    let n = |n: Number| Value::Number(n);
    match ty {
        FieldType::Bool => Value::Bool(bytes[at] != 0),
        FieldType::U8 => n(Number::U8(bytes[at])),
        FieldType::I8 => n(Number::I8(bytes[at] as i8)),
        FieldType::U16 => n(Number::U16(u16::from_le_bytes(le(bytes, at)))),
        FieldType::I16 => n(Number::I16(i16::from_le_bytes(le(bytes, at)))),
        FieldType::U32 => n(Number::U32(u32::from_le_bytes(le(bytes, at)))),
        FieldType::I32 => n(Number::I32(i32::from_le_bytes(le(bytes, at)))),
        FieldType::U64 | FieldType::Entity => n(Number::U64(u64::from_le_bytes(le(bytes, at)))),
        FieldType::I64 => n(Number::I64(i64::from_le_bytes(le(bytes, at)))),
        FieldType::F32 => n(Number::from(f32::from_le_bytes(le(bytes, at)))),
        FieldType::F64 => n(Number::from(f64::from_le_bytes(le(bytes, at)))),
        FieldType::Array { of, len, stride } => {
            Value::Seq((0..*len as usize).map(|i| read_value(bytes, at + i * *stride as usize, of)).collect())
        }
        FieldType::Struct(fields) => read_struct(bytes, at, fields),
    }
}

/// Writes `value`, a map of fields, as a component of `size` bytes with
/// layout `fields`. `remap` maps every entity id written (save games give
/// loaded entities new ids). Errors name the field and the cause.
pub fn write(
    value: &Value,
    fields: &[FieldDecl],
    size: usize,
    remap: &mut dyn FnMut(u64) -> u64,
) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; size];
    write_struct(value, fields, &mut out, 0, "", remap)?;
    Ok(out)
}

fn write_struct(
    value: &Value,
    fields: &[FieldDecl],
    out: &mut [u8],
    base: usize,
    path: &str,
    remap: &mut dyn FnMut(u64) -> u64,
) -> Result<(), String> {
    let Value::Map(map) = value else {
        return Err(format!("{}expected a struct of fields, found {}", at_path(path), describe(value)));
    };
    for f in fields {
        let path = if path.is_empty() { f.name.clone() } else { format!("{path}.{}", f.name) };
        let at = base + f.offset as usize;
        let found = std::iter::once(&f.name).chain(&f.aliases).find_map(|name| map.get(&Value::String(name.clone())));
        match (found, &f.default) {
            (Some(v), _) => write_value(v, &f.ty, out, at, &path, remap)?,
            (None, Some(default)) => out[at..at + default.len()].copy_from_slice(default),
            (None, None) => {} // zero, as `out` starts
        }
    }
    Ok(())
}

fn write_value(
    value: &Value,
    ty: &FieldType,
    out: &mut [u8],
    at: usize,
    path: &str,
    remap: &mut dyn FnMut(u64) -> u64,
) -> Result<(), String> {
    let mut put = |bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
    match ty {
        FieldType::Bool => match value {
            Value::Bool(b) => put(&[*b as u8]),
            other => match integer(other) {
                Some(v @ 0..=1) => put(&[v as u8]),
                _ => return Err(format!("{}expected a bool, found {}", at_path(path), describe(other))),
            },
        },
        FieldType::U8 => put(&fit::<u8>(value, path)?.to_le_bytes()),
        FieldType::I8 => put(&fit::<i8>(value, path)?.to_le_bytes()),
        FieldType::U16 => put(&fit::<u16>(value, path)?.to_le_bytes()),
        FieldType::I16 => put(&fit::<i16>(value, path)?.to_le_bytes()),
        FieldType::U32 => put(&fit::<u32>(value, path)?.to_le_bytes()),
        FieldType::I32 => put(&fit::<i32>(value, path)?.to_le_bytes()),
        FieldType::U64 => put(&fit::<u64>(value, path)?.to_le_bytes()),
        FieldType::I64 => put(&fit::<i64>(value, path)?.to_le_bytes()),
        FieldType::Entity => put(&remap(fit::<u64>(value, path)?).to_le_bytes()),
        FieldType::F32 => put(&(float(value, path)? as f32).to_le_bytes()),
        FieldType::F64 => put(&float(value, path)?.to_le_bytes()),
        FieldType::Array { of, len, stride } => {
            let Value::Seq(items) = value else {
                return Err(format!("{}expected a list, found {}", at_path(path), describe(value)));
            };
            if items.len() > *len as usize {
                return Err(format!("{}{} elements do not fit in {len}", at_path(path), items.len()));
            }
            for (i, item) in items.iter().enumerate() {
                write_value(item, of, out, at + i * *stride as usize, &format!("{path}[{i}]"), remap)?;
            }
        }
        FieldType::Struct(fields) => write_struct(value, fields, out, at, path, remap)?,
    }
    Ok(())
}

fn at_path(path: &str) -> String {
    if path.is_empty() { String::new() } else { format!("field {path}: ") }
}

fn describe(v: &Value) -> String {
    let text = ron::to_string(v).unwrap_or_else(|_| format!("{v:?}"));
    if text.len() > 40 { format!("{}…", &text[..text.floor_char_boundary(40)]) } else { text }
}

/// The value as an integer, if it is one (or a float with no fraction).
fn integer(v: &Value) -> Option<i128> {
    let Value::Number(n) = v else { return None };
    Some(match *n {
        Number::I8(x) => x.into(),
        Number::I16(x) => x.into(),
        Number::I32(x) => x.into(),
        Number::I64(x) => x.into(),
        Number::U8(x) => x.into(),
        Number::U16(x) => x.into(),
        Number::U32(x) => x.into(),
        Number::U64(x) => x.into(),
        _ => {
            let f = n.into_f64();
            if f.fract() != 0.0 || !f.is_finite() || f.abs() > 2f64.powi(64) {
                return None;
            }
            f as i128
        }
    })
}

fn fit<T: TryFrom<i128>>(v: &Value, path: &str) -> Result<T, String> {
    let wanted = std::any::type_name::<T>();
    integer(v)
        .and_then(|i| T::try_from(i).ok())
        .ok_or_else(|| format!("{}{} does not fit {wanted}", at_path(path), describe(v)))
}

fn float(v: &Value, path: &str) -> Result<f64, String> {
    match v {
        Value::Number(n) => Ok(n.into_f64()),
        other => Err(format!("{}expected a number, found {}", at_path(path), describe(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, offset: u32, ty: FieldType) -> FieldDecl {
        FieldDecl { name: name.into(), offset, ty, aliases: vec![], default: None }
    }

    #[test]
    fn fields_carry_over_by_name_alias_and_default() {
        // Old: { size: u32 @0, spin: f32 @4 }. New: { spin: f32 @0, hits: u16 @4
        // (default 7), grade: u32 @8 (alias "size") }.
        let old = vec![field("size", 0, FieldType::U32), field("spin", 4, FieldType::F32)];
        let mut hits = field("hits", 4, FieldType::U16);
        hits.default = Some(7u16.to_le_bytes().to_vec());
        let mut grade = field("grade", 8, FieldType::U32);
        grade.aliases = vec!["size".into()];
        let new = vec![field("spin", 0, FieldType::F32), hits, grade];
        let mut bytes = 3u32.to_le_bytes().to_vec();
        bytes.extend(0.5f32.to_le_bytes());
        let out = write(&read(&bytes, &old), &new, 12, &mut |e| e).unwrap();
        assert_eq!(f32::from_le_bytes(out[0..4].try_into().unwrap()), 0.5);
        assert_eq!(u16::from_le_bytes(out[4..6].try_into().unwrap()), 7);
        assert_eq!(u32::from_le_bytes(out[8..12].try_into().unwrap()), 3);
    }

    #[test]
    fn a_value_that_does_not_fit_is_an_error_naming_the_field() {
        let old = vec![field("spin", 0, FieldType::F32)];
        let new = vec![field("spin", 0, FieldType::U8)];
        let value = read(&2.5f32.to_le_bytes(), &old);
        let e = write(&value, &new, 1, &mut |e| e).unwrap_err();
        assert!(e.contains("field spin") && e.contains("2.5") && e.contains("u8"), "{e}");
    }

    #[test]
    fn hostile_field_lists_are_refused() {
        let e = check_fields(&[field("x", 6, FieldType::U32)], 8).unwrap_err();
        assert!(e.contains("field x"), "{e}");
        let huge = FieldType::Array { of: Box::new(FieldType::U8), len: u32::MAX, stride: 1 };
        assert!(check_fields(&[field("a", 0, huge)], 8).is_err());
        let zero_stride = FieldType::Array { of: Box::new(FieldType::U32), len: 4, stride: 0 };
        assert!(check_fields(&[field("a", 0, zero_stride)], 64).is_err());
        // A default inside an array's struct elements is checked too.
        let mut inner = field("x", 0, FieldType::U32);
        inner.default = Some(vec![1; 64]);
        let structs = FieldType::Array { of: Box::new(FieldType::Struct(vec![inner])), len: 2, stride: 4 };
        let e = check_fields(&[field("a", 0, structs)], 8).unwrap_err();
        assert!(e.contains("a.x") && e.contains("default"), "{e}");
    }

    #[test]
    fn entity_fields_are_remapped() {
        let fields = vec![field("target", 0, FieldType::Entity)];
        let value = read(&41u64.to_le_bytes(), &fields);
        let out = write(&value, &fields, 8, &mut |e| e + 1).unwrap();
        assert_eq!(u64::from_le_bytes(out.try_into().unwrap()), 42);
    }
}
