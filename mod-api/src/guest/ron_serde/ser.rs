//! The serializer: any `Serialize` value as one line of RON, in the shapes
//! the `ron` crate (0.12) writes by default (see the module docs in
//! mod.rs), so the host's `ron` reads it back as the same value.
//!
//! It exists so a mod need not link `ron` or format floats with
//! `core::fmt` (tens of KiB each; module size is load and reload time):
//! floats go through `ryu`, integers through ron_out.rs's [`push_u64`].
//! The tests (tests.rs) hold it to the host's `ron` crate: what this
//! writes, `ron` reads as the same value.

use super::{Error, RAW_VALUE};
use crate::guest::ron_out::{HEX, push_quoted, push_u64};
use serde::ser::{self, Serialize};

/// `value` as RON.
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let mut ser = Serializer { out: String::new(), raw: false };
    value.serialize(&mut ser)?;
    Ok(ser.out)
}

pub(crate) struct Serializer {
    out: String,
    /// The next string is RON text to copy as it is (a `RawRon`).
    raw: bool,
}

impl Serializer {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// A struct field or variant name: as it is if it reads back as an
    /// identifier, else as a raw identifier `r#name` (as `ron` does).
    fn ident(&mut self, name: &str) -> Result<(), Error> {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(word)
            && !matches!(
                name,
                "true" | "false" | "Some" | "None" | "inf" | "inff32" | "inff64" | "NaN" | "NaNf32" | "NaNf64"
            );
        let raw_ok = !name.is_empty() && name.chars().all(|c| word(c) || matches!(c, '.' | '+' | '-') || !c.is_ascii());
        if !plain {
            if !raw_ok {
                return Err(Error::new(format!("`{name}` cannot be written as a RON identifier")));
            }
            self.push("r#");
        }
        self.push(name);
        Ok(())
    }

    fn signed(&mut self, v: i64) {
        if v < 0 {
            self.out.push('-');
        }
        push_u64(&mut self.out, v.unsigned_abs());
    }

    fn unsigned_128(&mut self, v: u128) {
        const E19: u64 = 10_000_000_000_000_000_000;
        match u64::try_from(v) {
            Ok(v) => push_u64(&mut self.out, v),
            Err(_) => {
                // The high digits, then the low 19 with their leading zeros.
                self.unsigned_128(v / u128::from(E19));
                let low = (v % u128::from(E19)) as u64;
                let mut width = 1;
                while width < 19 && low >= 10u64.pow(width) {
                    width += 1;
                }
                for _ in width..19 {
                    self.out.push('0');
                }
                push_u64(&mut self.out, low);
            }
        }
    }

    /// `inf`, `-inf`, `NaN` or `-NaN`, as `ron` writes and reads them.
    fn non_finite(&mut self, nan: bool, negative: bool) {
        if negative {
            self.out.push('-');
        }
        self.push(if nan { "NaN" } else { "inf" });
    }

    fn compound(&mut self, open: &str, close: &'static str) -> Compound<'_> {
        self.push(open);
        Compound { ser: self, first: true, close }
    }

    /// `Variant(`, the start of a variant with fields.
    fn variant(&mut self, variant: &str) -> Result<Compound<'_>, Error> {
        self.ident(variant)?;
        Ok(self.compound("(", ")"))
    }
}

/// A sequence, map, tuple or struct being written.
pub(crate) struct Compound<'a> {
    ser: &'a mut Serializer,
    first: bool,
    close: &'static str,
}

impl Compound<'_> {
    fn separate(&mut self) {
        if !self.first {
            self.ser.push(", ");
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.separate();
        value.serialize(&mut *self.ser)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.separate();
        self.ser.ident(key)?;
        self.ser.push(": ");
        value.serialize(&mut *self.ser)
    }

    fn close(self) -> Result<(), Error> {
        self.ser.push(self.close);
        Ok(())
    }
}

impl<'a> ser::Serializer for &'a mut Serializer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.push(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.signed(v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        if v < 0 {
            self.out.push('-');
        }
        self.unsigned_128(v.unsigned_abs());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        push_u64(&mut self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.unsigned_128(v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if v.is_finite() {
            self.push(ryu::Buffer::new().format_finite(v));
        } else {
            self.non_finite(v.is_nan(), v.is_sign_negative());
        }
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            self.push(ryu::Buffer::new().format_finite(v));
        } else {
            self.non_finite(v.is_nan(), v.is_sign_negative());
        }
        Ok(())
    }
    /// `'c'`: escaped as in a string (`ron` reads `'\"'` as `"`), and `'\''`.
    fn serialize_char(self, v: char) -> Result<(), Error> {
        if v == '\'' {
            self.push("'\\''");
        } else {
            // As a string, then the `"`s made `'`s.
            let start = self.out.len();
            push_quoted(&mut self.out, v.encode_utf8(&mut [0; 4]));
            self.out.replace_range(start..start + 1, "'");
            self.out.pop();
            self.out.push('\'');
        }
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if core::mem::take(&mut self.raw) {
            self.push(v);
        } else {
            push_quoted(&mut self.out, v);
        }
        Ok(())
    }
    /// `b"..."`: printable ASCII as it is, other bytes as `\xNN`.
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.push("b\"");
        for &b in v {
            match b {
                b'"' | b'\\' => {
                    self.out.push('\\');
                    self.out.push(b as char);
                }
                b' '..=b'~' => self.out.push(b as char),
                _ => {
                    self.push("\\x");
                    self.out.push(HEX[(b >> 4) as usize] as char);
                    self.out.push(HEX[(b & 0xf) as usize] as char);
                }
            }
        }
        self.out.push('"');
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.push("None");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.push("Some(");
        value.serialize(&mut *self)?;
        self.push(")");
        Ok(())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.push("()");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        self.ident(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<(), Error> {
        if name == RAW_VALUE {
            self.raw = true;
            let written = value.serialize(&mut *self);
            self.raw = false;
            return written;
        }
        self.push("(");
        value.serialize(&mut *self)?;
        self.push(")");
        Ok(())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut c = self.variant(variant)?;
        c.element(value)?;
        c.close()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.compound("[", "]"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>, Error> {
        Ok(self.compound("(", ")"))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, Error> {
        Ok(self.compound("(", ")"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Error> {
        self.variant(variant)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.compound("{", "}"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, Error> {
        Ok(self.compound("(", ")"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Error> {
        self.variant(variant)
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.element(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.ser.push(": ");
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}
