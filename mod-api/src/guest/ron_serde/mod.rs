//! RON for serde, written for the guest: the saved state of a mod (resources
//! added with `App::init_saved_resource`) is written and read with it.
//!
//! Why not the `ron` crate: it and `core::fmt`'s float formatting cost a mod
//! about 200 KiB of code and data, and module size is load and hot-reload
//! time (BENCHMARKS.md, sizes). This module is a small serializer and
//! deserializer behind serde's traits; floats are written with `ryu` and
//! read by float.rs, integers are written and read by hand (strings and
//! integers are written by the helpers in ron_out.rs, shared with the
//! descriptor writer), so nothing here formats a float with `core::fmt` or
//! links `core`'s float parser.
//!
//! What it writes: the RON the `ron` crate (0.12) writes by default, on one
//! line: structs `(field: v, ...)` without their names, tuples and tuple
//! structs `(a, b)`, newtype structs `(x)`, unit and unit structs `()`,
//! `Some(x)` / `None`, enum variants `V`, `V(x)`, `V(a, b)`, `V(f: x)`,
//! sequences `[a, b]`, maps `{k: v}`, escaped strings `"a\"b"`, chars `'c'`,
//! bytes `b"\x00a"`, integers in decimal, floats in their shortest
//! round-trip form, `inf`, `-inf`, `NaN`, `-NaN`.
//!
//! What it reads: all of the above, as `ron` writes it with or without
//! pretty printing, plus what a user may type into a saved state: any
//! whitespace, `//` and (nested) `/* */` comments, trailing commas, struct
//! names before `(`, raw strings `r#"..."#`, byte strings `br"..."`, byte
//! lists `[1, 2]`, `\x`, `\u{...}` escapes and `\` line continuations,
//! integers with `_`, `+` and `0x` / `0o` / `0b`, floats like `1e5`, `.5`.
//! It rejects `#![enable(...)]` extension headers (and any other `#!`
//! attribute), number suffixes (`1u8`), byte literals (`b'a'`), ranges
//! (`1..2`), and values nested deeper than [`MAX_DEPTH`].
//!
//! The host reads and writes the same text with the `ron` crate; the tests
//! (tests.rs) hold this module to it, in both directions.

mod de;
mod float;
mod ser;
#[cfg(test)]
mod tests;

pub(crate) use de::{from_str, value_span};
pub(crate) use ser::to_string;

/// The newtype struct name under which a value passes as RON text,
/// unchanged: the one the `ron` crate gives its `RawValue`, so that a
/// [`RawRon`](super::state::RawRon) passes through the host's `ron` as it
/// does through this module.
pub(crate) const RAW_VALUE: &str = "$ron::private::RawValue";

/// How deep values may nest (each `(`, `[`, `{`, `Some(`, `Variant(` is a
/// level) before the deserializer gives up rather than overflow the stack.
pub(crate) const MAX_DEPTH: u32 = 128;

/// The error past [`MAX_DEPTH`] (a literal: formatting it costs a mod
/// code).
const TOO_DEEP: &str = "values nest deeper than 128 levels";

/// What went wrong writing or reading RON: a message, and for text that
/// does not parse, where (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error {
    message: String,
    at: Option<(usize, usize)>,
}

impl Error {
    pub(crate) fn new(message: String) -> Self {
        Error { message, at: None }
    }

    /// The error at byte `offset` of `text`.
    pub(crate) fn at(message: String, text: &str, offset: usize) -> Self {
        let (mut line, mut column) = (1, 1);
        for &b in &text.as_bytes()[..offset] {
            if b == b'\n' {
                (line, column) = (line + 1, 1);
            } else if b & 0xc0 != 0x80 {
                column += 1; // the first byte of a character
            }
        }
        Error { message, at: Some((line, column)) }
    }

    /// The message without the position.
    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// Line and column, if known.
    #[cfg(test)]
    pub(crate) fn position(&self) -> Option<(usize, usize)> {
        self.at
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.at {
            Some((line, column)) => write!(f, "{line}:{column}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl serde::ser::Error for Error {
    fn custom<T: core::fmt::Display>(msg: T) -> Self {
        Error::new(msg.to_string())
    }
}

impl serde::de::Error for Error {
    fn custom<T: core::fmt::Display>(msg: T) -> Self {
        Error::new(msg.to_string())
    }
}
