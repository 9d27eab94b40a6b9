//! The descriptor and component declarations as RON, written by hand.
//!
//! serde's RON serializer, and even `core::fmt`, would add tens of KiB to
//! every mod, and module size is load and hot-reload time (issue 15): this
//! writer uses neither. Its low-level writers (quoted strings, decimal
//! numbers) are shared with the serializer of saved state
//! ([`ron_serde`](super::ron_serde)) and the state document. They live here,
//! outside `ron_serde`, because every mod carries them: a mod without saved
//! state must carry no function named after serde (tests/all/sizes.rs). The
//! host reads the text with the `ron` crate; the tests below hold the two to
//! the same values.

use super::registry::DeclaredComponent;
use crate::abi::{Access, FunctionDecl, MessageDecl, ParamDecl, ResourceDecl, ScheduleLabel, SystemDecl};
use crate::schema::{Field, Shape};

/// Appends `s` as a quoted RON string: `"`, `\\` and control characters
/// escaped.
pub(crate) fn push_quoted(out: &mut String, s: &str) {
    // Byte by byte: multi-byte characters pass through unchanged, and a
    // `char` decoder would cost every mod about 1 KiB (issue 15).
    // SAFETY: only whole UTF-8 sequences of `s` and ASCII are pushed.
    let out = unsafe { out.as_mut_vec() };
    out.push(b'"');
    for &b in s.as_bytes() {
        let escaped = match b {
            b'"' | b'\\' => b,
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0..0x20 => {
                out.extend_from_slice(b"\\u{");
                if b >= 0x10 {
                    out.push(b'1');
                }
                out.push(HEX[(b & 0xf) as usize]);
                out.push(b'}');
                continue;
            }
            _ => {
                out.push(b);
                continue;
            }
        };
        out.push(b'\\');
        out.push(escaped);
    }
    out.push(b'"');
}

/// Hexadecimal digits, for escapes.
pub(crate) const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `n` in decimal.
// Not inlined: the descriptor writer calls it in dozens of places, and
// inlined copies cost every mod about 2 KiB.
#[inline(never)]
pub(crate) fn push_u64(out: &mut String, n: u64) {
    // Most significant digit first, by division: no digit buffer to index,
    // so no bounds-check panic, whose message would link `core::fmt`'s
    // integer formatting into every mod (issue 15).
    let mut unit = 1;
    while n / unit >= 10 {
        unit *= 10;
    }
    loop {
        out.push((b'0' + (n / unit % 10) as u8) as char);
        if unit == 1 {
            break;
        }
        unit /= 10;
    }
}

/// RON text under construction.
struct Ron(String);

impl Ron {
    #[inline(never)]
    fn raw(&mut self, s: &str) -> &mut Self {
        self.0.push_str(s);
        self
    }

    /// A quoted string, escaped as RON reads it.
    #[inline(never)]
    fn text(&mut self, s: &str) -> &mut Self {
        push_quoted(&mut self.0, s);
        self
    }

    /// A decimal number.
    #[inline(never)]
    fn num(&mut self, n: u64) -> &mut Self {
        push_u64(&mut self.0, n);
        self
    }

    fn bool(&mut self, b: bool) -> &mut Self {
        self.raw(if b { "true" } else { "false" })
    }

    /// `[a,b,…,]`, each item written by `item`. RON takes the trailing
    /// comma, and writing one after every item is less code than between.
    fn list<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.0.push('[');
        for x in items {
            item(self, x);
            self.0.push(',');
        }
        self.0.push(']');
        self
    }

    fn nums(&mut self, items: &[u32]) -> &mut Self {
        self.list(items, |r, &n| {
            r.num(n as u64);
        })
    }

    fn texts<S: AsRef<str>>(&mut self, items: &[S]) -> &mut Self {
        self.list(items, |r, s| {
            r.text(s.as_ref());
        })
    }

    fn ty(&mut self, t: &Shape) -> &mut Self {
        // The scalars' names are picked first and written by one call:
        // LLVM makes that a table, where a call per arm costs code.
        let scalar = match *t {
            Shape::Array { of, len, stride } => {
                return self
                    .raw("Array(of:")
                    .ty(of)
                    .raw(",len:")
                    .num(len as u64)
                    .raw(",stride:")
                    .num(stride as u64)
                    .raw(")");
            }
            Shape::Struct(fields) => return self.raw("Struct(").fields(fields).raw(")"),
            Shape::Bool => "Bool",
            Shape::U8 => "U8",
            Shape::I8 => "I8",
            Shape::U16 => "U16",
            Shape::I16 => "I16",
            Shape::U32 => "U32",
            Shape::I32 => "I32",
            Shape::U64 => "U64",
            Shape::I64 => "I64",
            Shape::F32 => "F32",
            Shape::F64 => "F64",
            Shape::Entity => "Entity",
        };
        self.raw(scalar)
    }

    fn fields(&mut self, fields: &[Field]) -> &mut Self {
        self.list(fields, |r, f| {
            r.raw("(name:").text(f.name).raw(",offset:").num(f.offset as u64).raw(",ty:").ty(&f.ty);
            r.raw(",aliases:").texts(f.aliases);
            if let Some(d) = f.default {
                r.raw(",default:Some(").list(d, |r, &b| {
                    r.num(b as u64);
                });
                r.raw(")");
            }
            r.raw(")");
        })
    }

    fn component(&mut self, c: &DeclaredComponent) -> &mut Self {
        self.raw("(name:").text(c.name).raw(",size:").num(c.size as u64).raw(",align:").num(c.align as u64);
        if let Some(fields) = c.fields {
            self.raw(",fields:Some(").fields(fields).raw(")");
        }
        self.raw(")")
    }

    fn sized(&mut self, name: &str, size: u32, align: u32) -> &mut Self {
        self.raw("(name:").text(name).raw(",size:").num(size as u64).raw(",align:").num(align as u64).raw(")")
    }

    fn param(&mut self, p: &ParamDecl) -> &mut Self {
        match p {
            ParamDecl::Query { terms, with, without, entities, changed, added, populated } => {
                self.raw("Query(terms:").list(terms, |r, t| {
                    let access = match t.access {
                        Access::Read => "Read",
                        Access::Write => "Write",
                    };
                    r.raw("(component:").num(t.component as u64).raw(",access:").raw(access);
                    r.raw(",optional:").bool(t.optional).raw(")");
                });
                self.raw(",with:").nums(with).raw(",without:").nums(without);
                if !changed.is_empty() {
                    self.raw(",changed:").nums(changed);
                }
                if !added.is_empty() {
                    self.raw(",added:").nums(added);
                }
                if *populated {
                    self.raw(",populated:true");
                }
                self.raw(",entities:").bool(*entities).raw(")")
            }
            ParamDecl::MessageReader { message } => self.raw("MessageReader(message:").num(*message as u64).raw(")"),
            ParamDecl::MessageWriter { message } => self.raw("MessageWriter(message:").num(*message as u64).raw(")"),
            ParamDecl::Commands => self.raw("Commands"),
            ParamDecl::Guest => self.raw("Guest"),
            ParamDecl::Resource { resource, write } => {
                self.raw("Resource(resource:").num(*resource as u64).raw(",write:").bool(*write).raw(")")
            }
        }
    }

    fn system(&mut self, s: &SystemDecl) -> &mut Self {
        let schedule = match s.schedule {
            ScheduleLabel::Startup => "Startup",
            ScheduleLabel::Update => "Update",
            ScheduleLabel::FixedUpdate => "FixedUpdate",
        };
        self.raw("(name:").text(&s.name).raw(",schedule:").raw(schedule);
        self.raw(",params:").list(&s.params, |r, p| {
            r.param(p);
        });
        self.raw(",after:").texts(&s.after).raw(",before:").texts(&s.before).raw(")")
    }
}

/// `decl` as RON, for `DECLARE_COMPONENT_RON`.
pub(crate) fn component(decl: &DeclaredComponent) -> String {
    let mut r = Ron(String::new());
    r.component(decl);
    r.0
}

/// What the descriptor lists, borrowed from the registry: `mod_init`
/// builds no [`ModDescriptor`](crate::abi::ModDescriptor), so the mod has no code to build or drop one.
pub(crate) struct Described<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub components: &'a [DeclaredComponent],
    pub messages: &'a [MessageDecl],
    pub functions: &'a [FunctionDecl],
    pub resources: &'a [ResourceDecl],
}

/// The descriptor `mod_init` returns, as RON, with `systems` in place of
/// `d.systems` (the registry keeps them beside the systems themselves).
#[inline(never)]
pub(crate) fn descriptor<'a>(d: &Described<'_>, systems: impl Iterator<Item = &'a SystemDecl>) -> String {
    let mut r = Ron(String::new());
    r.raw("(name:").text(d.name).raw(",version:").text(d.version);
    r.raw(",components:").list(d.components, |r, c| {
        r.component(c);
    });
    r.raw(",messages:").list(d.messages, |r, m: &MessageDecl| {
        r.sized(&m.name, m.size, m.align);
    });
    r.raw(",systems:[");
    for (i, s) in systems.enumerate() {
        if i > 0 {
            r.raw(",");
        }
        r.system(s);
    }
    r.raw("]");
    if !d.functions.is_empty() {
        r.raw(",functions:").list(d.functions, |r, f: &FunctionDecl| {
            r.raw("(name:").text(&f.name).raw(",input_size:").num(f.input_size as u64);
            r.raw(",output_size:").num(f.output_size as u64).raw(")");
        });
    }
    if !d.resources.is_empty() {
        r.raw(",resources:").list(d.resources, |r, res: &ResourceDecl| {
            r.sized(&res.name, res.size, res.align);
        });
    }
    r.raw(")");
    r.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{ComponentDecl, FieldDecl, FieldType, ModDescriptor, QueryTerm};

    const fn field(name: &'static str, offset: u32, ty: Shape) -> Field {
        Field { name, offset, ty, aliases: &[], default: None }
    }

    const POS: [Field; 2] = [field("x", 0, Shape::F32), field("y", 4, Shape::F32)];
    const TALLY: [Field; 4] = [
        field("pos", 0, Shape::Struct(&POS)),
        Field {
            aliases: &["frames", "odd\"name\\with\nnewline"],
            default: Some(&[9, 0, 0, 0, 0, 0, 0, 255]),
            ..field("ticks", 8, Shape::U64)
        },
        field("bytes", 16, Shape::Array { of: &Shape::U8, len: 16, stride: 1 }),
        field("who", 24, Shape::Entity),
    ];

    fn tally() -> DeclaredComponent {
        DeclaredComponent { name: "my_mod::Tally", size: 32, align: 8, fields: Some(&TALLY) }
    }

    /// What the host should read: written by hand, not by `Field::decl`.
    fn tally_as_read() -> ComponentDecl {
        let plain =
            |name: &str, offset, ty| FieldDecl { name: name.into(), offset, ty, aliases: vec![], default: None };
        let mut renamed = plain("ticks", 8, FieldType::U64);
        renamed.aliases = vec!["frames".into(), "odd\"name\\with\nnewline".into()];
        renamed.default = Some(vec![9, 0, 0, 0, 0, 0, 0, 255]);
        ComponentDecl {
            name: "my_mod::Tally".into(),
            size: 32,
            align: 8,
            fields: Some(vec![
                plain("pos", 0, FieldType::Struct(vec![plain("x", 0, FieldType::F32), plain("y", 4, FieldType::F32)])),
                renamed,
                plain("bytes", 16, FieldType::Array { of: Box::new(FieldType::U8), len: 16, stride: 1 }),
                plain("who", 24, FieldType::Entity),
            ]),
        }
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0, 7, 10, 99, 100, 1_000_000_007, 10u64.pow(19), u64::MAX] {
            let mut out = String::from("x");
            push_u64(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }

    #[test]
    fn a_component_reads_back_as_the_same() {
        let text = component(&tally());
        assert_eq!(ron::from_str::<ComponentDecl>(&text).unwrap(), tally_as_read(), "{text}");
        let bare = DeclaredComponent { fields: None, ..tally() };
        let read = ron::from_str::<ComponentDecl>(&component(&bare)).unwrap();
        assert_eq!(read, ComponentDecl { fields: None, ..tally_as_read() });
    }

    #[test]
    fn a_field_declares_itself_as_written() {
        let decls: Vec<FieldDecl> = TALLY.iter().map(Field::decl).collect();
        assert_eq!(Some(decls), tally_as_read().fields);
    }

    #[test]
    fn a_descriptor_reads_back_as_the_same() {
        let system = |name: &str, schedule, params| SystemDecl {
            name: name.into(),
            schedule,
            params,
            after: vec!["other::a".into()],
            before: vec![],
        };
        let d = ModDescriptor {
            name: "my-mod\u{1}\u{1f}\u{7f}é✓\t\r".into(),
            version: "1.2.30".into(),
            components: vec![tally_as_read(), ComponentDecl { name: "z::Z".into(), size: 0, align: 1, fields: None }],
            messages: vec![MessageDecl { name: "m::Ping".into(), size: 4, align: 4 }],
            systems: vec![
                system(
                    "my_mod::run",
                    ScheduleLabel::Update,
                    vec![
                        ParamDecl::Query {
                            terms: vec![
                                QueryTerm { component: 0, access: Access::Write, optional: false },
                                QueryTerm { component: 1, access: Access::Read, optional: true },
                            ],
                            with: vec![1],
                            without: vec![0, 4_000_000_000],
                            entities: true,
                            changed: vec![],
                            added: vec![],
                            populated: false,
                        },
                        ParamDecl::Query {
                            terms: vec![],
                            with: vec![],
                            without: vec![],
                            entities: false,
                            changed: vec![0, 1],
                            added: vec![1],
                            populated: true,
                        },
                        ParamDecl::MessageReader { message: 0 },
                        ParamDecl::MessageWriter { message: 0 },
                        ParamDecl::Commands,
                        ParamDecl::Guest,
                        ParamDecl::Resource { resource: 0, write: true },
                    ],
                ),
                system("my_mod::start", ScheduleLabel::Startup, vec![]),
                system("my_mod::step", ScheduleLabel::FixedUpdate, vec![]),
            ],
            functions: vec![FunctionDecl { name: "g::f".into(), input_size: 12, output_size: 0 }],
            resources: vec![ResourceDecl { name: "g::Score".into(), size: 8, align: 8 }],
        };
        let z = DeclaredComponent { name: "z::Z", size: 0, align: 1, fields: None };
        let text = written(&d, &[tally(), z]);
        assert_eq!(ron::from_str::<ModDescriptor>(&text).unwrap(), d, "{text}");
        let empty = ModDescriptor { name: "e".into(), version: "0.1.0".into(), ..Default::default() };
        assert_eq!(ron::from_str::<ModDescriptor>(&written(&empty, &[])).unwrap(), empty);
    }

    /// `d` as the mod writes it, from `components` (the same as `d`'s).
    fn written(d: &ModDescriptor, components: &[DeclaredComponent]) -> String {
        let parts = Described {
            name: &d.name,
            version: &d.version,
            components,
            messages: &d.messages,
            functions: &d.functions,
            resources: &d.resources,
        };
        descriptor(&parts, d.systems.iter())
    }
}
