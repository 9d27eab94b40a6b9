//! The deserializer: RON text (as the `ron` crate 0.12 writes it, compact
//! or pretty, or as a user edits it; see the module docs in mod.rs for the
//! subset) into any `Deserialize` value.
//!
//! It exists so a mod need not link `ron` (about 200 KiB with its tables
//! and `core::fmt`'s floats; module size is load and reload time). The
//! type-hinted `deserialize_*` methods parse only what they expect, so a
//! visitor's unused methods are not compiled in; `deserialize_any` serves
//! self-describing uses (untagged enums), and ignored values (unknown
//! fields) are skipped by a walker that calls no visitor at all.
//!
//! Nesting is capped at [`MAX_DEPTH`]; every failure is an `Err` with a
//! line and column, never a panic. The tests (tests.rs) hold it to the
//! host's `ron` crate: what `ron` writes, this reads as the same value.

use super::{Error, MAX_DEPTH, RAW_VALUE, float};
use serde::de::{self, DeserializeSeed, Visitor};
use std::borrow::Cow;

/// Reads one `T` from `text`, which must hold that value and nothing else
/// (whitespace and comments aside).
pub(crate) fn from_str<'de, T: de::Deserialize<'de>>(text: &'de str) -> Result<T, Error> {
    let mut de = Deserializer::new(text)?;
    let value = T::deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    value.map_err(|e| de.locate(e))
}

/// The exact text of the one RON value in `text`, without the whitespace
/// and comments around it.
pub(crate) fn value_span(text: &str) -> Result<&str, Error> {
    let mut de = Deserializer::new(text)?;
    let span = de.span().and_then(|s| de.end().map(|()| s));
    span.map_err(|e| de.locate(e))
}

pub(crate) struct Deserializer<'de> {
    src: &'de str,
    /// Byte offset of the cursor.
    pos: usize,
    /// Open `(`, `[`, `{`.
    depth: u32,
}

/// RON's whitespace (as the `ron` crate reads it).
fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\u{85}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
    )
}

/// A character of an identifier. Any non-ASCII character counts, so that
/// reading names needs no Unicode tables; the `ron` crate is stricter.
fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || (!c.is_ascii() && !is_space(c))
}

/// What may follow `r#` in a raw identifier.
fn is_raw_ident_char(c: char) -> bool {
    is_ident_char(c) || matches!(c, '.' | '+' | '-')
}

/// `tok` as an integer: sign and magnitude.
fn parse_int(tok: &str) -> Result<(bool, u128), String> {
    let (negative, t) = float::strip_sign(tok);
    let radix = [("0x", 16), ("0o", 8), ("0b", 2)].into_iter().find_map(|(p, base)| Some((base, t.strip_prefix(p)?)));
    let (base, digits) = radix.unwrap_or((10, t));
    if digits.is_empty() || digits.starts_with('_') {
        return Err(format!("`{tok}` is not an integer"));
    }
    let mut n: u128 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(base).ok_or_else(|| format!("`{tok}` is not an integer"))?;
        n = n
            .checked_mul(base.into())
            .and_then(|n| n.checked_add(d.into()))
            .ok_or_else(|| format!("`{tok}` is too large"))?;
    }
    Ok((negative, n))
}

/// Whether the number `tok` is a float: it has a fraction, an exponent, or
/// is `inf` / `NaN` (and is not hexadecimal, octal or binary).
fn is_float(tok: &str) -> bool {
    let t = tok.trim_start_matches(['+', '-']);
    !matches!(t.get(..2), Some("0x" | "0o" | "0b")) && t.contains(|c: char| c == '.' || c.is_ascii_alphabetic())
}

/// `tok` without the `_` digit separators RON allows.
fn digits(tok: &str) -> Cow<'_, str> {
    if tok.bytes().any(|b| b == b'_') {
        Cow::Owned(tok.chars().filter(|&c| c != '_').collect())
    } else {
        Cow::Borrowed(tok)
    }
}

impl<'de> Deserializer<'de> {
    /// Starts reading `src`, refusing `#!` attributes up front.
    fn new(src: &'de str) -> Result<Self, Error> {
        let mut de = Deserializer { src, pos: 0, depth: 0 };
        de.ws()?;
        if de.rest().starts_with('#') {
            return Err(de.error("RON extensions and attributes (`#![...]`) are not supported here"));
        }
        Ok(de)
    }

    /// After the value: only whitespace and comments may follow.
    fn end(&mut self) -> Result<(), Error> {
        self.ws()?;
        if self.pos < self.src.len() { Err(self.expected("the end of the text")) } else { Ok(()) }
    }

    /// `e` with the cursor's position, if it has none (a visitor's error).
    fn locate(&self, e: Error) -> Error {
        if e.at.is_some() { e } else { Error::at(e.message, self.src, self.pos) }
    }

    fn rest(&self) -> &'de str {
        self.src.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn error(&self, message: &str) -> Error {
        Error::at(message.to_string(), self.src, self.pos)
    }

    /// "expected {what}, found {the next token}".
    fn expected(&self, what: &str) -> Error {
        // Up to a delimiter, at least a character, at most about 32 bytes.
        let rest = self.rest().as_bytes();
        let stop = rest.iter().position(|b| b" \t\r\n()[]{},:".contains(b)).unwrap_or(rest.len());
        let mut len = stop.clamp(rest.len().min(1), 32);
        while rest.get(len).is_some_and(|&b| b & 0xc0 == 0x80) {
            len += 1; // to the end of a character
        }
        let message = match core::str::from_utf8(&rest[..len]) {
            Ok("") => format!("expected {what}, found the end of the text"),
            found => format!("expected {what}, found `{}`", found.unwrap_or("?")),
        };
        Error::at(message, self.src, self.pos)
    }

    fn eat(&mut self, c: u8) -> bool {
        let here = self.peek() == Some(c);
        self.pos += usize::from(here);
        here
    }

    fn expect(&mut self, c: u8) -> Result<(), Error> {
        if self.eat(c) {
            return Ok(());
        }
        let what = match c {
            b'(' => "`(`",
            b')' => "`)`",
            b'[' => "`[`",
            b']' => "`]`",
            b'{' => "`{`",
            b'}' => "`}`",
            b',' => "`,`",
            b':' => "`:`",
            _ => "`\"`",
        };
        Err(self.expected(what))
    }

    /// Whether the identifier `word` is next (and not the start of a longer
    /// identifier).
    fn at_word(&self, word: &str) -> bool {
        let rest = self.rest();
        rest.strip_prefix(word).is_some_and(|after| !after.starts_with(is_ident_char))
    }

    /// Consumes the identifier `word` if it is next.
    fn eat_word(&mut self, word: &str) -> bool {
        let here = self.at_word(word);
        if here {
            self.pos += word.len();
        }
        here
    }

    /// Whether an identifier starts at the cursor.
    fn at_ident(&self) -> bool {
        let rest = self.rest();
        rest.starts_with("r#") || rest.starts_with(|c: char| is_ident_char(c) && !c.is_ascii_digit())
    }

    /// Skips whitespace and comments.
    fn ws(&mut self) -> Result<(), Error> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start_matches(is_space);
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                self.pos += trimmed.bytes().position(|b| b == b'\n').unwrap_or(trimmed.len());
            } else if trimmed.starts_with("/*") {
                self.block_comment()?;
            } else {
                return Ok(());
            }
        }
    }

    /// Skips a `/* */` comment, which may nest.
    fn block_comment(&mut self) -> Result<(), Error> {
        let start = self.pos;
        let b = self.src.as_bytes();
        let mut level = 0u32;
        loop {
            match (b.get(self.pos), b.get(self.pos + 1)) {
                (Some(b'/'), Some(b'*')) => level += 1,
                (Some(b'*'), Some(b'/')) => level -= 1,
                (Some(_), _) => {
                    self.pos += 1;
                    continue;
                }
                (None, _) => {
                    self.pos = start;
                    return Err(self.error("unterminated comment"));
                }
            }
            self.pos += 2;
            if level == 0 {
                return Ok(());
            }
        }
    }

    /// Skips whitespace and an opening `c`: one level deeper.
    fn open(&mut self, c: u8) -> Result<(), Error> {
        self.ws()?;
        if self.depth >= MAX_DEPTH {
            return Err(self.error(super::TOO_DEEP));
        }
        self.expect(c)?;
        self.depth += 1;
        Ok(())
    }

    /// Skips whitespace and the closing `c` of what [`open`](Self::open)
    /// opened.
    fn close(&mut self, c: u8) -> Result<(), Error> {
        self.ws()?;
        self.expect(c)?;
        self.depth -= 1;
        Ok(())
    }

    /// Closes `Some(x`, `Variant(x` or a newtype `(x`: a trailing comma may
    /// come first.
    fn close_one(&mut self) -> Result<(), Error> {
        self.ws()?;
        self.eat(b',');
        self.close(b')')
    }

    /// Before each item of a list closed by `close`: whether there is one,
    /// having consumed the comma before it. `first` is true until the first
    /// item.
    fn next_item(&mut self, first: &mut bool, close: u8) -> Result<bool, Error> {
        self.ws()?;
        if self.peek() == Some(close) {
            return Ok(false);
        }
        if !*first {
            self.expect(b',')?;
            self.ws()?;
            if self.peek() == Some(close) {
                return Ok(false);
            }
        }
        *first = false;
        Ok(true)
    }

    /// An identifier, or a raw identifier `r#name` (without the `r#`).
    fn ident(&mut self) -> Result<&'de str, Error> {
        let rest = self.rest();
        let raw = rest.strip_prefix("r#");
        let body = raw.unwrap_or(rest);
        let allowed = if raw.is_some() { is_raw_ident_char } else { is_ident_char };
        let name = body.split(|c| !allowed(c)).next().unwrap_or_default();
        if name.is_empty() || (raw.is_none() && name.starts_with(|c: char| c.is_ascii_digit())) {
            return Err(self.expected("an identifier"));
        }
        self.pos += rest.len() - body.len() + name.len();
        Ok(name)
    }

    /// An optional struct name before `(` (`ron` writes none by default;
    /// any name is accepted, so a renamed type still reads).
    fn skip_name(&mut self) -> Result<(), Error> {
        self.ws()?;
        if self.at_ident() {
            self.ident()?;
        }
        Ok(())
    }

    /// Whether a raw string (`r"` or `r#..."`) starts at the cursor, after
    /// `skip` bytes (1 for the `b` of a byte string).
    fn at_raw_string(&self, skip: usize) -> bool {
        let rest = &self.rest().as_bytes()[skip.min(self.rest().len())..];
        rest.first() == Some(&b'r') && matches!(rest.iter().skip(1).find(|&&b| b != b'#'), Some(b'"'))
    }

    /// A quoted string's contents, the cursor on the opening quote: borrowed
    /// from the text unless it holds escapes.
    fn quoted(&mut self) -> Result<Cow<'de, [u8]>, Error> {
        let b = self.src.as_bytes();
        let open = self.pos;
        self.pos += 1;
        let mut run = self.pos;
        let mut owned: Option<Vec<u8>> = None;
        loop {
            match b.get(self.pos) {
                Some(b'"') => {
                    let tail = &b[run..self.pos];
                    self.pos += 1;
                    return Ok(match owned {
                        None => Cow::Borrowed(tail),
                        Some(mut v) => {
                            v.extend_from_slice(tail);
                            Cow::Owned(v)
                        }
                    });
                }
                Some(b'\\') => {
                    let v = owned.get_or_insert_with(Vec::new);
                    v.extend_from_slice(&b[run..self.pos]);
                    self.pos += 1;
                    self.escape(v)?;
                    run = self.pos;
                }
                Some(_) => self.pos += 1,
                None => {
                    self.pos = open;
                    return Err(self.error("unterminated string"));
                }
            }
        }
    }

    /// A raw string's contents (`r#"..."#`), the cursor on the `r`.
    fn raw_quoted(&mut self) -> Result<&'de str, Error> {
        let open = self.pos;
        self.pos += 1;
        let hashes = self.rest().bytes().take_while(|&b| b == b'#').count();
        self.pos += hashes;
        self.expect(b'"')?;
        let body = self.rest();
        let b = body.as_bytes();
        for end in (0..b.len()).filter(|&i| b[i] == b'"') {
            if b[end + 1..].iter().take_while(|&&b| b == b'#').count() >= hashes {
                self.pos += end + 1 + hashes;
                return Ok(body.get(..end).unwrap_or_default());
            }
        }
        self.pos = open;
        Err(self.error("unterminated raw string"))
    }

    /// One escape, after its `\`, appended to `out` as UTF-8 (or as the
    /// byte a `\x` escape names).
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        let at = self.pos - 1;
        let Some(c) = self.peek() else {
            return Err(self.error("unterminated escape"));
        };
        self.pos += 1;
        let byte = match c {
            b'\'' | b'"' | b'\\' => c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'0' => 0,
            b'x' => {
                let Some(byte) = self.hex(2, 2) else {
                    self.pos = at;
                    return Err(self.error("`\\x` takes two hexadecimal digits"));
                };
                byte as u8
            }
            b'u' => {
                let code = if self.eat(b'{') { self.hex(1, 6).filter(|_| self.eat(b'}')) } else { None };
                let Some(c) = code.and_then(char::from_u32) else {
                    self.pos = at;
                    return Err(self.error("`\\u` takes a Unicode scalar value in hexadecimal, as in `\\u{e9}`"));
                };
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(());
            }
            b'\n' | b'\r' => {
                // A line continuation: the line break and the next line's
                // indentation are not part of the string.
                let rest = self.rest();
                self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
                return Ok(());
            }
            _ => {
                self.pos = at;
                return Err(self.error("unknown escape"));
            }
        };
        out.push(byte);
        Ok(())
    }

    /// `min` to `max` hexadecimal digits, as a number.
    fn hex(&mut self, min: usize, max: usize) -> Option<u32> {
        let digits = self.rest().bytes().take(max).take_while(u8::is_ascii_hexdigit);
        let (count, n) =
            digits.fold((0, 0), |(count, n), b| (count + 1, n * 16 + (b as char).to_digit(16).unwrap_or(0)));
        self.pos += count;
        (count >= min).then_some(n)
    }

    /// A string: `"..."` or `r#"..."#`.
    fn string(&mut self) -> Result<Cow<'de, str>, Error> {
        self.ws()?;
        let start = self.pos;
        let text = match self.peek() {
            Some(b'"') => self.quoted()?,
            Some(b'r') if self.at_raw_string(0) => return self.raw_quoted().map(Cow::Borrowed),
            _ => return Err(self.expected("a string")),
        };
        let checked = match text {
            Cow::Borrowed(b) => core::str::from_utf8(b).map(Cow::Borrowed).ok(),
            Cow::Owned(v) => String::from_utf8(v).map(Cow::Owned).ok(),
        };
        checked.ok_or_else(|| Error::at("the escapes in this string are not UTF-8".into(), self.src, start))
    }

    /// Bytes: `b"..."`, `br#"..."#`, or a list of numbers `[1, 2]`.
    fn bytes(&mut self) -> Result<Cow<'de, [u8]>, Error> {
        self.ws()?;
        let rest = self.rest();
        if rest.starts_with("b\"") {
            self.pos += 1;
            self.quoted()
        } else if rest.starts_with('b') && self.at_raw_string(1) {
            self.pos += 1;
            self.raw_quoted().map(|s| Cow::Borrowed(s.as_bytes()))
        } else if rest.starts_with('[') {
            self.open(b'[')?;
            let mut bytes = Vec::new();
            let mut first = true;
            while self.next_item(&mut first, b']')? {
                bytes.push(self.unsigned(u8::MAX.into(), "u8")? as u8);
            }
            self.close(b']')?;
            Ok(Cow::Owned(bytes))
        } else {
            Err(self.expected("bytes (`b\"...\"`)"))
        }
    }

    /// A char: `'c'`, or an escape `'\n'`.
    fn char(&mut self) -> Result<char, Error> {
        self.ws()?;
        let start = self.pos;
        if !self.eat(b'\'') {
            return Err(self.expected("a character (`'c'`)"));
        }
        let c = if self.eat(b'\\') {
            let mut v = Vec::new();
            self.escape(&mut v)?;
            let mut chars = core::str::from_utf8(&v).ok().map(str::chars);
            chars.as_mut().and_then(Iterator::next).filter(|_| chars.and_then(|mut c| c.next()).is_none())
        } else {
            let c = self.rest().chars().next();
            self.pos += c.map_or(0, char::len_utf8);
            c
        };
        match c {
            Some(c) if self.eat(b'\'') => Ok(c),
            _ => {
                self.pos = start;
                Err(self.error("expected one character between `'`s"))
            }
        }
    }

    /// The text of a number: an optional sign, then digits, letters, `_`
    /// and `.`, and a sign right after a decimal exponent's `e`. Also
    /// takes `inf` and `NaN`.
    fn number(&mut self) -> Result<&'de str, Error> {
        self.ws()?;
        let rest = self.rest();
        let b = rest.as_bytes();
        let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
        let radix = matches!(b.get(i..i + 2), Some(b"0x" | b"0o" | b"0b"));
        let start = i;
        while let Some(&c) = b.get(i) {
            let exponent_sign = matches!(c, b'+' | b'-') && !radix && matches!(b[i - 1], b'e' | b'E');
            if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exponent_sign) {
                break;
            }
            i += 1;
        }
        if i == start {
            return Err(self.expected("a number"));
        }
        self.pos += i;
        Ok(rest.get(..i).unwrap_or_default())
    }

    /// An integer in `0..=max`, for the type `ty` (named in errors).
    fn unsigned(&mut self, max: u128, ty: &str) -> Result<u128, Error> {
        let tok = self.number()?;
        let start = self.pos - tok.len();
        match parse_int(tok) {
            Ok((negative, n)) if n <= max && !(negative && n > 0) => Ok(n),
            Ok(_) => Err(Error::at(format!("`{tok}` is out of range for {ty}"), self.src, start)),
            Err(e) => Err(Error::at(e, self.src, start)),
        }
    }

    /// An integer in `min..=max`, for the type `ty` (named in errors).
    fn signed(&mut self, min: i128, max: i128, ty: &str) -> Result<i128, Error> {
        let tok = self.number()?;
        let start = self.pos - tok.len();
        let value = parse_int(tok).map_err(|e| Error::at(e, self.src, start))?;
        let value = match value {
            (false, n) => i128::try_from(n).ok(),
            (true, n) => 0i128.checked_sub_unsigned(n),
        };
        value
            .filter(|v| (min..=max).contains(v))
            .ok_or_else(|| Error::at(format!("`{tok}` is out of range for {ty}"), self.src, start))
    }

    /// A float's text, with any `_` removed, and where it starts.
    fn float_text(&mut self) -> Result<(Cow<'de, str>, usize), Error> {
        let tok = self.number()?;
        Ok((digits(tok), self.pos - tok.len()))
    }

    fn not_a_number(&self, tok: &str, start: usize) -> Error {
        Error::at(format!("`{tok}` is not a number"), self.src, start)
    }

    /// A float in `format`, as its bits.
    fn float(&mut self, format: float::Format) -> Result<u64, Error> {
        let (tok, start) = self.float_text()?;
        float::parse(&tok, format).ok_or_else(|| self.not_a_number(&tok, start))
    }

    /// The exact text of the next value.
    fn span(&mut self) -> Result<&'de str, Error> {
        self.ws()?;
        let start = self.pos;
        self.skip_value()?;
        Ok(self.src.get(start..self.pos).unwrap_or_default())
    }

    /// Skips one value, checking its syntax (numbers only loosely), without
    /// calling a visitor: for ignored values and [`span`](Self::span).
    fn skip_value(&mut self) -> Result<(), Error> {
        self.ws()?;
        match self.peek() {
            Some(c @ (b'(' | b'[' | b'{')) => self.skip_group(c),
            Some(b'"') => self.quoted().map(drop),
            Some(b'\'') => self.char().map(drop),
            Some(b'r') if self.at_raw_string(0) => self.raw_quoted().map(drop),
            Some(b'b') if self.rest().starts_with("b\"") => {
                self.pos += 1;
                self.quoted().map(drop)
            }
            Some(b'b') if self.at_raw_string(1) => {
                self.pos += 1;
                self.raw_quoted().map(drop)
            }
            Some(b'0'..=b'9' | b'+' | b'-' | b'.') => {
                let tok = self.number()?;
                let start = self.pos - tok.len();
                if !is_float(tok) {
                    return parse_int(tok).map(drop).map_err(|e| Error::at(e, self.src, start));
                }
                let t = tok.trim_start_matches(['+', '-']);
                let valid = matches!(t, "inf" | "NaN")
                    || (t.contains(|c: char| c.is_ascii_digit())
                        && t.chars().all(|c| c.is_ascii_digit() || matches!(c, '_' | '.' | 'e' | 'E' | '+' | '-')));
                if valid { Ok(()) } else { Err(self.not_a_number(tok, start)) }
            }
            _ if !self.at_ident() => Err(self.expected("a value")),
            _ => {
                // A word (`true`, `None`, a unit variant), or a name before
                // a group (`Some(..)`, a variant, a named struct).
                self.ident()?;
                let end = self.pos;
                self.ws()?;
                if self.peek() == Some(b'(') {
                    self.skip_group(b'(')
                } else {
                    self.pos = end;
                    Ok(())
                }
            }
        }
    }

    /// Skips `(...)`, `[...]` or `{...}`: values, each maybe followed by
    /// `: value` (a struct's or map's entries).
    fn skip_group(&mut self, open: u8) -> Result<(), Error> {
        let close = match open {
            b'(' => b')',
            b'[' => b']',
            _ => b'}',
        };
        self.open(open)?;
        let mut first = true;
        while self.next_item(&mut first, close)? {
            self.skip_value()?;
            self.ws()?;
            if open != b'[' && self.eat(b':') {
                self.skip_value()?;
            }
        }
        self.close(close)
    }

    /// `( ... )` read without a type: `()` is unit, `(name: v, ...)` a
    /// struct (as a map), anything else a tuple (as a sequence).
    fn any_group<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        self.open(b'(')?;
        self.ws()?;
        if self.peek() == Some(b')') {
            self.close(b')')?;
            return visitor.visit_unit();
        }
        let start = self.pos;
        let named = self.ident().is_ok() && {
            self.ws()?;
            self.peek() == Some(b':')
        };
        self.pos = start;
        if named { self.visit_map::<true, V>(b')', visitor) } else { self.visit_seq(b')', visitor) }
    }

    /// Hands the items up to `close` (the opening already read) to
    /// `visitor`, then reads `close`.
    fn visit_seq<V: Visitor<'de>>(&mut self, close: u8, visitor: V) -> Result<V::Value, Error> {
        let mut items = Items { de: self, close, first: true };
        let value = visitor.visit_seq(&mut items)?;
        items.finish()?;
        Ok(value)
    }

    /// Hands the entries up to `close` (the opening already read) to
    /// `visitor`, then reads `close`. With `NAMES`, keys are identifiers
    /// (a struct's fields).
    fn visit_map<const NAMES: bool, V: Visitor<'de>>(&mut self, close: u8, visitor: V) -> Result<V::Value, Error> {
        let mut entries = Entries::<NAMES> { items: Items { de: self, close, first: true } };
        let value = visitor.visit_map(&mut entries)?;
        entries.items.finish()?;
        Ok(value)
    }
}

/// The items of a sequence or tuple, for a visitor.
struct Items<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    close: u8,
    first: bool,
}

impl Items<'_, '_> {
    /// After the visitor: a trailing comma (if the visitor stopped after its
    /// last item), then the closing bracket.
    fn finish(self) -> Result<(), Error> {
        self.de.ws()?;
        if !self.first {
            self.de.eat(b',');
        }
        self.de.close(self.close)
    }
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        if self.de.next_item(&mut self.first, self.close)? {
            seed.deserialize(&mut *self.de).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// The entries of a map, or with `NAMES` of a struct, for a visitor. (A
/// constant rather than a field, so a key type is compiled for one kind of
/// key only.)
struct Entries<'a, 'de, const NAMES: bool> {
    items: Items<'a, 'de>,
}

impl<'de, const NAMES: bool> de::MapAccess<'de> for Entries<'_, 'de, NAMES> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let items = &mut self.items;
        if !items.de.next_item(&mut items.first, items.close)? {
            return Ok(None);
        }
        if NAMES {
            seed.deserialize(Name(&mut *items.de)).map(Some)
        } else {
            seed.deserialize(&mut *items.de).map(Some)
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let de = &mut *self.items.de;
        de.ws()?;
        de.expect(b':')?;
        seed.deserialize(de)
    }
}

/// Reads an identifier (a field or variant name) as a string, whatever the
/// visitor asks for.
struct Name<'a, 'de>(&'a mut Deserializer<'de>);

impl<'de> de::Deserializer<'de> for Name<'_, 'de> {
    type Error = Error;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.0.ws()?;
        visitor.visit_borrowed_str(self.0.ident()?)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// An enum value: its variant's name, then what the variant holds.
struct Enum<'a, 'de>(&'a mut Deserializer<'de>);

impl<'de> de::EnumAccess<'de> for Enum<'_, 'de> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let variant = seed.deserialize(Name(&mut *self.0))?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for Enum<'_, 'de> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        self.0.open(b'(')?;
        let value = seed.deserialize(&mut *self.0)?;
        self.0.close_one()?;
        Ok(value)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_tuple(self.0, len, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        self.0.open(b'(')?;
        self.0.visit_map::<true, V>(b')', visitor)
    }
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.ws()?;
        match self.peek() {
            Some(b'(') => self.any_group(visitor),
            Some(b'[') => self.deserialize_seq(visitor),
            Some(b'{') => self.deserialize_map(visitor),
            Some(b'"') => self.deserialize_string(visitor),
            Some(b'\'') => self.deserialize_char(visitor),
            Some(b'r') if self.at_raw_string(0) => self.deserialize_string(visitor),
            Some(b'b') if self.rest().starts_with("b\"") || self.at_raw_string(1) => self.deserialize_byte_buf(visitor),
            Some(b'0'..=b'9' | b'+' | b'-' | b'.') => {
                let tok = self.number()?;
                let start = self.pos - tok.len();
                if is_float(tok) {
                    self.pos = start;
                    return self.deserialize_f64(visitor);
                }
                match parse_int(tok).map_err(|e| Error::at(e, self.src, start))? {
                    (false, n) => match u64::try_from(n) {
                        Ok(n) => visitor.visit_u64(n),
                        Err(_) => visitor.visit_u128(n),
                    },
                    (true, n) => match 0i128.checked_sub_unsigned(n) {
                        Some(n) => match i64::try_from(n) {
                            Ok(n) => visitor.visit_i64(n),
                            Err(_) => visitor.visit_i128(n),
                        },
                        None => Err(Error::at(format!("`{tok}` is too large"), self.src, start)),
                    },
                }
            }
            _ if !self.at_ident() => Err(self.expected("a value")),
            _ => {
                if self.at_word("true") || self.at_word("false") {
                    return self.deserialize_bool(visitor);
                } else if self.at_word("inf") || self.at_word("NaN") {
                    return self.deserialize_f64(visitor);
                } else if self.at_word("None") || self.at_word("Some") {
                    return self.deserialize_option(visitor);
                }
                // A unit variant reads as its name; a name before a group
                // (a variant with fields, a named struct) is dropped.
                let name = self.ident()?;
                let end = self.pos;
                self.ws()?;
                if self.peek() == Some(b'(') {
                    self.any_group(visitor)
                } else {
                    self.pos = end;
                    visitor.visit_borrowed_str(name)
                }
            }
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.ws()?;
        if self.eat_word("true") {
            visitor.visit_bool(true)
        } else if self.eat_word("false") {
            visitor.visit_bool(false)
        } else {
            Err(self.expected("`true` or `false`"))
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i8(self.signed(i8::MIN.into(), i8::MAX.into(), "i8")? as i8)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i16(self.signed(i16::MIN.into(), i16::MAX.into(), "i16")? as i16)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i32(self.signed(i32::MIN.into(), i32::MAX.into(), "i32")? as i32)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i64(self.signed(i64::MIN.into(), i64::MAX.into(), "i64")? as i64)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i128(self.signed(i128::MIN, i128::MAX, "i128")?)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u8(self.unsigned(u8::MAX.into(), "u8")? as u8)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u16(self.unsigned(u16::MAX.into(), "u16")? as u16)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u32(self.unsigned(u32::MAX.into(), "u32")? as u32)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(self.unsigned(u64::MAX.into(), "u64")? as u64)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u128(self.unsigned(u128::MAX, "u128")?)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f32(f32::from_bits(self.float(float::F32)? as u32))
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f64(f64::from_bits(self.float(float::F64)?))
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_char(self.char()?)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.string()? {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_string(s),
        }
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.bytes()? {
            Cow::Borrowed(b) => visitor.visit_borrowed_bytes(b),
            Cow::Owned(b) => visitor.visit_byte_buf(b),
        }
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.ws()?;
        if self.eat_word("None") {
            visitor.visit_none()
        } else if self.eat_word("Some") {
            self.open(b'(')?;
            let value = visitor.visit_some(&mut *self)?;
            self.close_one()?;
            Ok(value)
        } else {
            Err(self.expected("`Some(...)` or `None`"))
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.open(b'(')?;
        self.close(b')')?;
        visitor.visit_unit()
    }
    /// `()`, or the struct's name.
    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.ws()?;
        if self.at_ident() {
            self.ident()?;
            visitor.visit_unit()
        } else {
            self.deserialize_unit(visitor)
        }
    }
    /// `(x)` or `Name(x)`; or, for a [`RawRon`](crate::RawRon), the value's
    /// text as it is.
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        if name == RAW_VALUE {
            return visitor.visit_borrowed_str(self.span()?);
        }
        self.skip_name()?;
        self.open(b'(')?;
        let value = visitor.visit_newtype_struct(&mut *self)?;
        self.close_one()?;
        Ok(value)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.open(b'[')?;
        self.visit_seq(b']', visitor)
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.open(b'(')?;
        self.visit_seq(b')', visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.skip_name()?;
        self.deserialize_tuple(len, visitor)
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.open(b'{')?;
        self.visit_map::<false, V>(b'}', visitor)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.skip_name()?;
        self.open(b'(')?;
        self.visit_map::<true, V>(b')', visitor)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.ws()?;
        visitor.visit_enum(Enum(self))
    }
    /// An identifier, or a string (the tag of an internally tagged enum is
    /// written as one).
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.ws()?;
        if self.peek() == Some(b'"') || self.at_raw_string(0) {
            self.deserialize_str(visitor)
        } else {
            de::Deserializer::deserialize_any(Name(self), visitor)
        }
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.skip_value()?;
        visitor.visit_unit()
    }
}
