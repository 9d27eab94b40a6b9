//! The SDK's RON against the `ron` crate (0.12), the host's reader and
//! writer: what this module writes, `ron` reads as the same value; what
//! `ron` writes (compact or pretty), this module reads as the same value.
//! Then hand-edited text, serde's attributes, and hostile input, which must
//! give an error, never a panic or a stack overflow.

use super::{Error, from_str, to_string, value_span};
use ron::ser::PrettyConfig;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Default)]
struct Unit;

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Default)]
struct Newtype(u32);

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Default)]
struct Pair(i16, String);

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Default)]
struct Inner {
    x: f32,
    label: String,
    flags: Vec<bool>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
enum Key {
    A,
    B(u8),
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Shape {
    Dot,
    Circle(f32),
    Rect(f32, f64),
    Poly { sides: u8, name: String },
    Wrapped(Inner),
    Boxed(Box<Shape>),
    Nothing(()),
    Maybe(Option<u8>),
    Empty {},
    EmptyTuple(),
}

/// Bytes, written with `serialize_bytes` (a `Vec<u8>` is a sequence).
#[derive(Debug, PartialEq, Clone, Default)]
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Ints {
    a: i8,
    b: i16,
    c: i32,
    d: i64,
    e: u8,
    f: u16,
    g: u32,
    h: u64,
}

const INT_MIN: Ints = Ints { a: i8::MIN, b: i16::MIN, c: i32::MIN, d: i64::MIN, e: 0, f: 0, g: 0, h: 0 };
const INT_MAX: Ints =
    Ints { a: i8::MAX, b: i16::MAX, c: i32::MAX, d: i64::MAX, e: u8::MAX, f: u16::MAX, g: u32::MAX, h: u64::MAX };

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Everything {
    unit: (),
    unit_struct: Unit,
    newtype: Newtype,
    pair: Pair,
    tuple: (u8, String, bool),
    one_tuple: (i32,),
    nested: Inner,
    list: Vec<Inner>,
    empty: Vec<u32>,
    btree: BTreeMap<String, i64>,
    hash: HashMap<u32, Vec<String>>,
    enum_keys: BTreeMap<Key, (u8, u8)>,
    some: Option<Box<Inner>>,
    none: Option<u32>,
    some_none: Option<Option<u8>>,
    shapes: Vec<Shape>,
    text: String,
    chars: Vec<char>,
    bytes: Bytes,
    ints: Vec<Ints>,
    #[serde(rename = "odd-name")]
    odd: u8,
    #[serde(rename = "None")]
    keyword: u8,
    #[serde(rename = "ünï")]
    unicode_name: u8,
    r#type: u8,
}

fn inner(x: f32, label: &str) -> Inner {
    Inner { x, label: label.into(), flags: vec![true, false] }
}

fn everything() -> Everything {
    Everything {
        unit: (),
        unit_struct: Unit,
        newtype: Newtype(7),
        pair: Pair(-3, "pair".into()),
        tuple: (1, "t".into(), true),
        one_tuple: (-1,),
        nested: inner(0.5, "nested"),
        list: vec![inner(1.0, "a"), inner(-2.25, "b")],
        empty: vec![],
        btree: [("one".to_string(), 1), ("minus".to_string(), -1), (String::new(), 0)].into(),
        hash: [(1, vec!["x".to_string()]), (2, vec![])].into(),
        enum_keys: [(Key::A, (1, 2)), (Key::B(3), (4, 5))].into(),
        some: Some(Box::new(inner(3.0, "boxed"))),
        none: None,
        some_none: Some(None),
        shapes: vec![
            Shape::Dot,
            Shape::Circle(1.5),
            Shape::Rect(2.0, -3.5e-10),
            Shape::Poly { sides: 6, name: "hex".into() },
            Shape::Wrapped(inner(0.1, "w")),
            Shape::Boxed(Box::new(Shape::Boxed(Box::new(Shape::Dot)))),
            Shape::Nothing(()),
            Shape::Maybe(Some(4)),
            Shape::Maybe(None),
            Shape::Empty {},
            Shape::EmptyTuple(),
        ],
        text: "quote \" backslash \\ newline \n tab \t cr \r nul \0 bell \u{7} del \u{7f} é ü 漢字 🦀 \u{301} \u{2028} 'single'"
            .into(),
        chars: vec!['a', '\'', '"', '\\', '\n', '\t', '\0', 'é', '🦀', ' ', '\u{2028}'],
        bytes: Bytes(vec![0, 1, b'a', b'"', b'\\', b'\'', b'\n', 0x7f, 0x80, 0xff]),
        ints: vec![INT_MIN, INT_MAX],
        odd: 1,
        keyword: 2,
        unicode_name: 3,
        r#type: 4,
    }
}

/// `value` through every path: ours → ours, ours → `ron`, `ron` (compact
/// and pretty) → ours.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let ours = to_string(value).unwrap();
    assert_eq!(&from_str::<T>(&ours).unwrap(), value, "ours → ours: {ours}");
    let theirs: T = ron::from_str(&ours).unwrap_or_else(|e| panic!("ron cannot read {ours}: {e}"));
    assert_eq!(&theirs, value, "ours → ron: {ours}");
    let compact = ron::to_string(value).unwrap();
    assert_eq!(&from_str::<T>(&compact).unwrap_or_else(|e| panic!("{e}: {compact}")), value, "ron → ours: {compact}");
    let pretty = ron::ser::to_string_pretty(value, PrettyConfig::default()).unwrap();
    assert_eq!(&from_str::<T>(&pretty).unwrap_or_else(|e| panic!("{e}: {pretty}")), value, "pretty → ours: {pretty}");
    // Skipping it as an unknown value, and taking its span, accept it too.
    from_str::<IgnoredAny>(&pretty).unwrap();
    assert_eq!(value_span(&format!(" /* c */ {ours} // c")).unwrap(), ours);
}

#[test]
fn everything_round_trips_both_ways() {
    round_trip(&everything());
}

#[test]
fn each_shape_round_trips_on_its_own() {
    for shape in everything().shapes {
        round_trip(&shape);
    }
    round_trip(&Unit);
    round_trip(&());
    round_trip(&Newtype(0));
    round_trip(&Some(Newtype(1)));
    round_trip(&(Unit, Newtype(2), (), Some(())));
    round_trip(&vec![Some(vec![Key::A]), None]);
    round_trip(&BTreeMap::<String, Shape>::new());
    round_trip(&String::new());
    round_trip(&Bytes(vec![]));
    round_trip(&INT_MIN);
    round_trip(&INT_MAX);
}

#[test]
fn the_text_looks_like_rons_default() {
    assert_eq!(to_string(&inner(1.0, "a\"b")).unwrap(), r#"(x: 1.0, label: "a\"b", flags: [true, false])"#);
    assert_eq!(to_string(&Newtype(3)).unwrap(), "(3)");
    assert_eq!(to_string(&Unit).unwrap(), "()");
    assert_eq!(to_string(&(1u8, "x")).unwrap(), r#"(1, "x")"#);
    assert_eq!(to_string(&Shape::Dot).unwrap(), "Dot");
    assert_eq!(to_string(&Shape::Circle(2.0)).unwrap(), "Circle(2.0)");
    assert_eq!(to_string(&Shape::Rect(1.0, 2.0)).unwrap(), "Rect(1.0, 2.0)");
    assert_eq!(to_string(&Shape::Poly { sides: 3, name: "t".into() }).unwrap(), r#"Poly(sides: 3, name: "t")"#);
    assert_eq!(to_string(&Some(None::<u8>)).unwrap(), "Some(None)");
    assert_eq!(to_string(&BTreeMap::from([(1, 'x')])).unwrap(), "{1: 'x'}");
    assert_eq!(to_string(&Bytes(vec![b'a', 0, b'"'])).unwrap(), r#"b"a\x00\"""#);
    assert_eq!(to_string(&'\'').unwrap(), r"'\''");
    assert_eq!(to_string(&"\u{1}").unwrap(), r#""\u{1}""#);
    let e = everything();
    let text = to_string(&(e.odd, e.keyword)).unwrap();
    assert_eq!(text, "(1, 2)");
    let names = to_string(&e).unwrap();
    assert!(names.contains("r#odd-name: 1, r#None: 2, r#ünï: 3, type: 4"), "{names}");
}

#[test]
fn integers_of_every_width_round_trip() {
    for v in [i64::MIN, i64::MIN + 1, -1, 0, 1, 9, 10, 99, 100, i64::MAX] {
        round_trip(&v);
    }
    for v in [0, 1, 9, 10, u64::MAX / 10, u64::MAX - 1, u64::MAX] {
        round_trip(&v);
    }
    // The host's `ron` is built without 128-bit integers: these round-trip
    // through this module, and the host passes them on (as it does a
    // state document) without reading them as a type.
    let wide_u = [0, 1, u64::MAX as u128, u64::MAX as u128 + 1, 10u128.pow(19), 10u128.pow(19) * 7 + 3, u128::MAX];
    for v in wide_u {
        let text = to_string(&v).unwrap();
        assert_eq!(text, v.to_string());
        assert_eq!(from_str::<u128>(&text).unwrap(), v);
        ron::value::RawValue::from_ron(&text).unwrap();
    }
    let wide_i = [i128::MIN, i128::MIN + 1, i64::MIN as i128 - 1, -1, 0, i64::MAX as i128 + 1, i128::MAX];
    for v in wide_i {
        let text = to_string(&v).unwrap();
        assert_eq!(text, v.to_string());
        assert_eq!(from_str::<i128>(&text).unwrap(), v);
        ron::value::RawValue::from_ron(&text).unwrap();
    }
    // Out of range: an error naming the type, not a wrapped value.
    for (text, ty) in [("256", "u8"), ("-1", "u8"), ("128", "i8"), ("-129", "i8"), ("18446744073709551616", "u64")] {
        let e = match ty {
            "u8" => from_str::<u8>(text).unwrap_err(),
            "i8" => from_str::<i8>(text).unwrap_err(),
            _ => from_str::<u64>(text).unwrap_err(),
        };
        assert!(e.to_string().contains(&format!("`{text}` is out of range for {ty}")), "{e}");
    }
    assert_eq!(from_str::<i8>("-128").unwrap(), i8::MIN);
    assert!(from_str::<u128>("340282366920938463463374607431768211456").unwrap_err().to_string().contains("too large"));
    assert!(from_str::<i128>("-170141183460469231731687303715884105729").is_err());
}

fn f32s() -> Vec<f32> {
    vec![
        0.0,
        -0.0,
        0.1,
        -0.1,
        1.0,
        3.0,
        1e-7,
        1e30,
        1.5e-40,
        123456.79,
        16777216.0,
        16777218.0,
        std::f32::consts::PI,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        f32::EPSILON,
        f32::from_bits(1),
        f32::from_bits(0x007f_ffff),
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
    ]
}

fn f64s() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        0.1,
        0.2 + 0.1,
        1.0,
        1e-7,
        1e30,
        1e23,
        1e22,
        9007199254740993.0,
        std::f64::consts::E,
        f32::MAX as f64,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        f64::from_bits(1),
        f64::from_bits(0x000f_ffff_ffff_ffff),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
    ]
}

#[test]
fn floats_round_trip_exactly() {
    for v in f32s() {
        let ours = to_string(&v).unwrap();
        assert_eq!(ron::from_str::<f32>(&ours).unwrap().to_bits(), v.to_bits(), "ours → ron: {ours}");
        assert_eq!(from_str::<f32>(&ours).unwrap().to_bits(), v.to_bits(), "ours → ours: {ours}");
        let theirs = ron::to_string(&v).unwrap();
        assert_eq!(from_str::<f32>(&theirs).unwrap().to_bits(), v.to_bits(), "ron → ours: {theirs}");
        // In a variant (NaN fails `PartialEq`), and read as an `f64` (a
        // field that became one): the `f64` nearest the text.
        if !v.is_nan() {
            round_trip(&Shape::Circle(v));
        }
        if v.is_finite() {
            assert_eq!(from_str::<f64>(&ours).unwrap(), ours.parse::<f64>().unwrap());
        }
    }
    for v in f64s() {
        let ours = to_string(&v).unwrap();
        assert_eq!(ron::from_str::<f64>(&ours).unwrap().to_bits(), v.to_bits(), "ours → ron: {ours}");
        assert_eq!(from_str::<f64>(&ours).unwrap().to_bits(), v.to_bits(), "ours → ours: {ours}");
        let theirs = ron::to_string(&v).unwrap();
        assert_eq!(from_str::<f64>(&theirs).unwrap().to_bits(), v.to_bits(), "ron → ours: {theirs}");
    }
    assert_eq!(to_string(&f64::NAN).unwrap(), "NaN");
    assert_eq!(to_string(&-f64::NAN).unwrap(), "-NaN");
    assert_eq!(to_string(&f32::NEG_INFINITY).unwrap(), "-inf");
    assert_eq!(to_string(&0.1f32).unwrap(), "0.1");
    assert_eq!(to_string(&1e-7f64).unwrap(), "1e-7");
    assert_eq!(to_string(&-0.0f64).unwrap(), "-0.0");
}

/// A tiny deterministic generator for the randomized tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn floats_read_as_core_reads_them() {
    use super::float::{F32, F64, parse};
    let check64 = |text: &str| {
        let expected = text.parse::<f64>().ok().map(f64::to_bits);
        assert_eq!(parse(text, F64), expected, "{text} as f64");
    };
    let check32 = |text: &str| {
        let expected = text.parse::<f32>().ok().map(f32::to_bits).map(u64::from);
        assert_eq!(parse(text, F32), expected, "{text} as f32");
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        // Shortest forms of random bit patterns, and long exact forms.
        let v = f64::from_bits(rng.next());
        if v.is_finite() {
            check64(ryu::Buffer::new().format_finite(v));
            check64(&format!("{v:e}"));
            check64(&format!("{:.30e}", v));
            check32(&format!("{:.12e}", v));
        }
        let w = f32::from_bits(rng.next() as u32);
        if w.is_finite() {
            check32(ryu::Buffer::new().format_finite(w));
            check32(&format!("{:.20e}", w));
            check64(&format!("{w:e}"));
        }
        // Random digits and exponents, all over and beyond the range.
        let digits: String = (0..1 + rng.below(30)).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
        let exp = rng.below(800) as i64 - 400;
        let dot = rng.below(digits.len() as u64 + 1) as usize;
        let text = format!("{}.{}e{exp}", &digits[..dot], &digits[dot..]);
        check64(&text);
        check32(&text);
    }
    // Exact midpoints between neighbours (ties go to even), and just
    // either side of them; the edges of both ranges.
    for bits in
        [0u64, 1, 2, 3, 0x000f_ffff_ffff_ffff, 0x0010_0000_0000_0000, 0x3ff0_0000_0000_0000, 0x7fef_ffff_ffff_ffff]
    {
        for text in exact_midpoint(bits) {
            check64(&text);
        }
    }
    for text in [
        "0",
        "-0",
        "0.0",
        "00.000e5",
        "1",
        "+1",
        "1.",
        ".5",
        "-.5e-3",
        "1e0",
        "1E+2",
        "1e-400",
        "1e400",
        "-1e400",
        "1e99999999999999999999",
        "1e-99999999999999999999",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "4.9406564584124654e-324",
        "2.2250738585072011e-308",
        "2.2250738585072014e-308",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "3.4028235e38",
        "3.4028236e38",
        "3.40282357e38",
        "1.4e-45",
        "7e-46",
        "7.1e-46",
        "1.17549435e-38",
        "9007199254740993",
        "9007199254740992.5",
        "123456789012345678901234567890",
        "0.000000000000000000000000000001",
        &"1".repeat(900),
        &format!("0.{}1", "0".repeat(1000)),
        &format!("1{}e-900", "0".repeat(899)),
        &format!(
            "2.{}1e-324",
            "4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328125"
        ),
    ] {
        check64(text);
        check32(text);
    }
    for bad in ["", ".", "-", "e5", "1e", "1e+", "1.5.3", "1e5e3", "--1", "0x10", "1f32", "infinity", "nan", "1 "] {
        assert_eq!(parse(bad, F64), None, "{bad:?}");
    }
    assert_eq!(parse("inf", F32), Some(u64::from(f32::INFINITY.to_bits())));
    assert_eq!(parse("-NaN", F64), Some((-f64::NAN).to_bits()));
}

/// The exact decimal text of the midpoint between the `f64` with `bits`
/// and the next one up, and the texts just below and above it.
fn exact_midpoint(bits: u64) -> [String; 3] {
    // mid = (2m + 1) × 2^(e - 1) with m, e the float's integer mantissa and
    // exponent: print it exactly with decimal long multiplication.
    let exp_field = (bits >> 52) as i64;
    let frac = bits & ((1 << 52) - 1);
    let (m, e) = if exp_field == 0 { (frac, -1074) } else { (frac | 1 << 52, exp_field - 1075) };
    let mut digits = Vec::new(); // little-endian decimal
    let mut n = 2 * m + 1;
    while n > 0 {
        digits.push((n % 10) as u8);
        n /= 10;
    }
    let mul = |d: &mut Vec<u8>, k: u8| {
        let mut carry = 0;
        for x in d.iter_mut() {
            let v = *x * k + carry;
            *x = v % 10;
            carry = v / 10;
        }
        while carry > 0 {
            d.push(carry % 10);
            carry /= 10;
        }
    };
    let e = e - 1;
    let scale = if e >= 0 {
        for _ in 0..e {
            mul(&mut digits, 2);
        }
        0
    } else {
        // × 2^e = × 5^-e / 10^-e
        for _ in 0..-e {
            mul(&mut digits, 5);
        }
        -e
    };
    let text: String = digits.iter().rev().map(|d| char::from(b'0' + d)).collect();
    let exact = format!("{text}e-{scale}");
    let below = format!("{}e-{}", minus_one(&text), scale);
    let above = format!("{text}1e-{}", scale + 1);
    [exact, below, above]
}

/// `digits` minus one in the last place, for just below a midpoint.
fn minus_one(digits: &str) -> String {
    let mut d: Vec<u8> = digits.bytes().collect();
    let mut i = d.len() - 1;
    loop {
        if d[i] > b'0' {
            d[i] -= 1;
            break;
        }
        d[i] = b'9';
        i -= 1;
    }
    String::from_utf8(d).unwrap()
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
struct V1 {
    frames: u64,
    label: String,
    extra: Vec<Shape>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct V2 {
    #[serde(alias = "frames")]
    ticks: u64,
    #[serde(default = "seven")]
    bonus: u32,
    #[serde(default)]
    best: Option<u8>,
}

fn seven() -> u32 {
    7
}

#[test]
fn serde_attributes_carry_state_across_versions() {
    let old = V1 { frames: 20, label: "20 frames".into(), extra: everything().shapes };
    for text in [
        to_string(&old).unwrap(),
        ron::to_string(&old).unwrap(),
        ron::ser::to_string_pretty(&old, PrettyConfig::default()).unwrap(),
    ] {
        let new: V2 = from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(new, V2 { ticks: 20, bonus: 7, best: None });
    }
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        frames: u64,
    }
    let e = from_str::<Strict>("(frames: 1, label: \"x\")").unwrap_err();
    assert!(e.to_string().contains("unknown field `label`"), "{e}");
    let e = from_str::<V2>("(bonus: 1)").unwrap_err();
    assert!(e.to_string().contains("missing field `ticks`"), "{e}");
    assert_eq!(e.position(), Some((1, 10)));
    let e = from_str::<V2>("(ticks: 1, ticks: 2)").unwrap_err();
    assert!(e.to_string().contains("duplicate field `ticks`"), "{e}");
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(untagged)]
enum Loose {
    Flag(bool),
    Num(u64),
    Neg(i64),
    Float(f64),
    // Untyped, a unit variant reads as its name: before `Text`, or it
    // would be taken for a string.
    Variant(Key),
    Text(String),
    Char(char),
    Tuple(u8, String),
    List(Vec<Loose>),
    Pair { a: u8, b: Option<u8> },
    Unit(()),
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(tag = "kind")]
enum Tagged {
    A { x: u32 },
    B(Inner),
    C,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    A(u8),
    B { s: String },
    C,
}

#[test]
fn self_describing_types_read_with_deserialize_any() {
    let loose = vec![
        Loose::Flag(true),
        Loose::Num(u64::MAX),
        Loose::Neg(-5),
        Loose::Float(-2.5),
        Loose::Float(f64::INFINITY),
        Loose::Text("t".into()),
        Loose::Char('c'),
        Loose::List(vec![Loose::Num(1), Loose::Text("x".into()), Loose::Flag(false)]),
        Loose::Pair { a: 1, b: Some(2) },
        Loose::Pair { a: 1, b: None },
        Loose::Tuple(3, "three".into()),
        Loose::Variant(Key::A),
        Loose::Unit(()),
    ];
    for v in &loose {
        let text = to_string(v).unwrap();
        assert_eq!(&from_str::<Loose>(&text).unwrap_or_else(|e| panic!("{e}: {text}")), v, "{text}");
        let text = ron::to_string(v).unwrap();
        assert_eq!(&from_str::<Loose>(&text).unwrap_or_else(|e| panic!("{e}: {text}")), v, "{text}");
    }
    for v in [Tagged::A { x: 1 }, Tagged::B(inner(1.0, "b")), Tagged::C] {
        round_trip(&v);
    }
    for v in [Adjacent::A(1), Adjacent::B { s: "s".into() }, Adjacent::C] {
        round_trip(&v);
    }
    // Untyped numbers come as the narrowest of u64, i64, u128, i128, f64.
    struct Untyped(String);
    impl<'de> Deserialize<'de> for Untyped {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Untyped;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a number")
                }
                fn visit_u64<E>(self, v: u64) -> Result<Untyped, E> {
                    Ok(Untyped(format!("u64 {v}")))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Untyped, E> {
                    Ok(Untyped(format!("i64 {v}")))
                }
                fn visit_u128<E>(self, v: u128) -> Result<Untyped, E> {
                    Ok(Untyped(format!("u128 {v}")))
                }
                fn visit_i128<E>(self, v: i128) -> Result<Untyped, E> {
                    Ok(Untyped(format!("i128 {v}")))
                }
                fn visit_f64<E>(self, v: f64) -> Result<Untyped, E> {
                    Ok(Untyped(format!("f64 {v:?}")))
                }
            }
            d.deserialize_any(V)
        }
    }
    for (text, seen) in [
        ("0", "u64 0"),
        ("+7", "u64 7"),
        ("0x10", "u64 16"),
        ("-0", "i64 0"),
        ("-9223372036854775808", "i64 -9223372036854775808"),
        ("18446744073709551616", "u128 18446744073709551616"),
        ("-9223372036854775809", "i128 -9223372036854775809"),
        ("1e3", "f64 1000.0"),
        ("1_000.5", "f64 1000.5"),
        ("-inf", "f64 -inf"),
        ("NaN", "f64 NaN"),
    ] {
        assert_eq!(from_str::<Untyped>(text).unwrap().0, seen);
    }
    assert_eq!(from_str::<Loose>(r##"r#"raw "quoted""#"##).unwrap(), Loose::Text("raw \"quoted\"".into()));
}

#[test]
fn flattened_structs_round_trip_as_maps() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Outer {
        id: u8,
        #[serde(flatten)]
        inner: Inner,
        #[serde(flatten)]
        rest: BTreeMap<String, u8>,
    }
    let value = Outer { id: 1, inner: inner(2.0, "i"), rest: BTreeMap::from([("z".to_string(), 3)]) };
    round_trip(&value);
    assert_eq!(to_string(&value).unwrap(), r#"{"id": 1, "x": 2.0, "label": "i", "flags": [true, false], "z": 3}"#);
}

#[test]
fn borrowed_strings_come_from_the_text() {
    #[derive(Deserialize)]
    struct Borrowing<'a> {
        #[serde(borrow)]
        name: &'a str,
    }
    let text = String::from("(name: \"plain\")");
    assert_eq!(from_str::<Borrowing>(&text).unwrap().name, "plain");
    // With an escape the string is built, which a `&str` cannot hold.
    assert!(from_str::<Borrowing>("(name: \"a\\nb\")").is_err());
    assert_eq!(from_str::<std::borrow::Cow<str>>("\"a\\nb\"").unwrap(), "a\nb");
}

#[test]
fn hand_edited_text_reads() {
    let text = r##"
        // A state a user edited.
        #![doc = "no"]
    "##;
    let e = from_str::<IgnoredAny>(text).unwrap_err();
    assert!(e.to_string().contains("extensions and attributes"), "{e}");
    assert_eq!(e.position(), Some((3, 9)));
    let e = from_str::<u8>("#![enable(implicit_some)] 1").unwrap_err();
    assert!(e.to_string().contains("not supported"), "{e}");

    let text = "Everything /* the name is optional */ (\r\n\
        unit: (),\n\
        unit_struct: Unit,\n\
        newtype: Newtype ( 7 , ),\n\
        pair: Pair(-3, r#\"pair\"#,),\n\
        tuple: (0x1, \"t\", true,),\n\
        one_tuple: (-1),\n\
        nested: Inner(x: 0.5, label: \"nest\\\n                 ed\", flags: [true, false,],),\n\
        list: [(x: 1, label: \"a\", flags: [true, false]), (x: -2.25, label: r\"b\", flags: [true, false],), ],\n\
        empty: [ /* nothing */ ],\n\
        btree: {\"one\": +1, \"minus\": -1, \"\": 0,},\n\
        hash: {1: [\"\\x78\"], 0b10: []},\n\
        enum_keys: {A: (1, 2), B(3): (4, 5)},\n\
        some: Some ( (x: 3e0, label: \"boxed\", flags: [true, false]) ),\n\
        none: None,\n\
        some_none: Some(None,),\n\
        shapes: [Dot, Circle(1.5), Rect(2, -3.5e-10), Poly(name: \"hex\", sides: 6,), Wrapped((x: .1, label: \"w\", flags: [true, false])),\n\
            Boxed(Boxed(Dot)), Nothing(()), Maybe(Some(4)), Maybe(None), Empty(), EmptyTuple()],\n\
        text: \"quote \\\" backslash \\\\ newline \\n tab \\t cr \\r nul \\0 bell \\u{7} del \\u{7F} \\u{e9} ü 漢字 🦀 \\u{301} \\u{2028} \\'single\\'\",\n\
        chars: ['a', '\\'', '\"', '\\\\', '\\n', '\t', '\\0', 'é', '\\u{1F980}', ' ', '\u{2028}'],\n\
        bytes: b\"\\x00\\x01a\\\"\\\\'\\n\\x7f\\x80\\xff\",\n\
        ints: [(a: -128, b: -32_768, c: -2147483648, d: -9223372036854775808, e: 0, f: 0, g: 0, h: 0),\n\
               (a: 127, b: 32767, c: 2147483647, d: 9223372036854775807, e: 255, f: 0xffff, g: 4_294_967_295, h: 18446744073709551615)],\n\
        r#odd-name: 1, r#None: 2, ünï: 3, r#type: 4, \u{2029}\n\
        unknown: {\"deep\": [Some((a: r##\"x\"##, b: b\"y\", c: 'z', d: -inf, e: NaN, f: 0x1F, g: Variant(1, 2), h: ()))]},\n\
        /* nested /* comments */ end */\n\
    ) // trailing comment";
    let read: Everything = from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let mut expected = everything();
    expected.nested.label = "nested".into();
    assert_eq!(read, expected);
    // `ron` reads the same text as the same value (the unknown field aside).
    let theirs: Everything = ron::from_str(text).unwrap();
    assert_eq!(theirs, expected);
    // Bytes also as a raw byte string or a list of numbers.
    assert_eq!(from_str::<Bytes>(r###"br##"a"#b"##"###).unwrap(), Bytes(b"a\"#b".to_vec()));
    assert_eq!(from_str::<Bytes>("[1, 0xff,]").unwrap(), Bytes(vec![1, 255]));
    assert_eq!(from_str::<((), Unit)>("(( ), ( /* */ ))").unwrap(), ((), Unit));
    fails::<Bytes>("[256]", "out of range for u8");
    fails::<Bytes>("\"text\"", "expected bytes");
}

/// Parses `text` as `T`, expecting an error that contains `part`.
fn fails<T: DeserializeOwned + Debug>(text: &str, part: &str) -> Error {
    let e = from_str::<T>(text).expect_err(text);
    assert!(e.to_string().contains(part), "{text:?}: {e} should mention {part:?}");
    e
}

#[test]
fn bad_text_is_an_error_with_its_position() {
    let e = fails::<Inner>("(x: 1.0,\n label: \"unterminated)", "unterminated string");
    assert_eq!(e.position(), Some((2, 9)));
    fails::<Inner>("(x: 1.0, /* label", "unterminated comment");
    fails::<String>("\"a\\q\"", "unknown escape");
    fails::<String>("\"\\u{110000}\"", "Unicode scalar value");
    fails::<String>("\"\\u{}\"", "Unicode scalar value");
    fails::<String>("\"\\x4\"", "two hexadecimal digits");
    fails::<String>("\"\\xff\"", "not UTF-8");
    fails::<String>("r##\"abc\"#", "unterminated raw string");
    fails::<char>("'ab'", "one character");
    fails::<char>("''", "one character");
    fails::<char>("'\\x80'", "one character");
    fails::<u32>("\"huge\"", "expected a number");
    fails::<u32>("1.5", "`1.5` is not an integer");
    fails::<u32>("0x", "not an integer");
    assert_eq!(from_str::<u32>("1_0_").unwrap(), 10); // as `ron` reads it
    fails::<u32>("_1", "`_1` is not an integer");
    fails::<u32>("1u32", "not an integer");
    fails::<f32>("1.2.3", "not a number");
    fails::<f64>("1..2", "not a number");
    fails::<bool>("yes", "expected `true` or `false`");
    fails::<Option<u8>>("Something(1)", "expected `Some(...)` or `None`");
    fails::<Option<u8>>("Some 1", "expected `(`");
    fails::<Inner>("(x: 1.0 label: \"a\")", "expected `,`");
    fails::<Inner>("(x 1.0)", "expected `:`");
    fails::<Inner>("[1]", "expected `(`");
    fails::<Inner>("(\"x\": 1.0)", "expected an identifier");
    fails::<Vec<u8>>("[1, 2", "expected `,`");
    fails::<Vec<u8>>("[1,, 2]", "expected a number");
    fails::<(u8, u8)>("(1, 2, 3)", "expected `)`");
    fails::<(u8, u8)>("(1)", "invalid length 1");
    fails::<Shape>("Hexagon", "unknown variant `Hexagon`");
    fails::<Shape>("Circle", "expected `(`");
    fails::<Shape>("Circle(1.0, 2.0)", "expected `)`");
    fails::<Unit>("Unit(", "expected the end of the text, found `(`");
    fails::<Unit>("(", "expected `)`");
    fails::<u8>("", "expected a number, found the end of the text");
    fails::<u8>("1 2", "expected the end of the text, found `2`");
    fails::<IgnoredAny>("", "expected a value");
    fails::<IgnoredAny>("}", "expected a value");
    fails::<IgnoredAny>("/ 1", "expected a value");
    fails::<IgnoredAny>("12abc", "not a number");
    fails::<IgnoredAny>("1e5x", "not a number");
    fails::<IgnoredAny>("(a: 1, b: [1, 2,, 3])", "expected a value");
    // A visitor's error gets the position where reading stopped.
    let e = fails::<V2>("(ticks: \"huge\")", "expected a number, found `\"huge\"`");
    assert_eq!(e.position(), Some((1, 9)));
    let e = fails::<Loose>("(\n  a: 1,\n  b: \"x\")", "did not match any variant");
    assert_eq!(e.position(), Some((3, 10)));
    assert_eq!(e.message(), "data did not match any variant of untagged enum Loose");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Deep(Vec<Deep>);
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Chain(Option<Box<Chain>>);
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    enum Tree {
        Leaf,
        Node(Box<Tree>),
    }
    let n = 100_000;
    for text in [
        "[".repeat(n),
        format!("{}{}", "[".repeat(n), "]".repeat(n)),
        "([".repeat(n),
        "(Some(".repeat(n),
        "Node(".repeat(n),
        "{1: ".repeat(n),
        "(a: ".repeat(n),
        "A(".repeat(n),
    ] {
        for e in [
            from_str::<IgnoredAny>(&text).unwrap_err(),
            from_str::<Deep>(&text).unwrap_err(),
            from_str::<Chain>(&text).unwrap_err(),
            from_str::<Tree>(&text).unwrap_err(),
            value_span(&text).unwrap_err(),
        ] {
            let message = e.to_string();
            assert!(message.contains("deeper than 128") || message.contains("expected"), "{message}");
        }
        assert!(from_str::<IgnoredAny>(&text).unwrap_err().to_string().contains("deeper than 128"));
    }
    assert!(super::TOO_DEEP.contains(&super::MAX_DEPTH.to_string()));
    // 128 levels still read.
    let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
    from_str::<IgnoredAny>(&ok).unwrap();
    let deep = format!("{}Leaf{}", "Node(".repeat(127), ")".repeat(127));
    from_str::<Tree>(&deep).unwrap();
}

#[test]
fn huge_numbers_are_errors() {
    let huge = "9".repeat(10_000);
    fails::<u64>(&huge, "too large");
    fails::<i64>(&format!("-{huge}"), "too large");
    fails::<u128>(&huge, "too large");
    fails::<IgnoredAny>(&format!("[{huge}, 1]"), "too large");
    fails::<IgnoredAny>(&format!("-{huge}"), "too large");
    assert_eq!(from_str::<f64>(&huge).unwrap(), f64::INFINITY);
    assert_eq!(from_str::<f32>(&format!("1e{huge}")).unwrap(), f32::INFINITY);
    assert_eq!(from_str::<f64>(&format!("1e-{huge}")).unwrap(), 0.0);
    assert_eq!(from_str::<f64>(&format!("0.{}1", "0".repeat(10_000))).unwrap(), 0.0);
}

/// Every prefix of a valid document, and random damage to it: an error or
/// a value, never a panic.
#[test]
fn truncated_and_damaged_text_never_panics() {
    let texts = [
        ron::ser::to_string_pretty(&everything(), PrettyConfig::default()).unwrap(),
        to_string(&everything()).unwrap(),
    ];
    for text in &texts {
        for (end, _) in text.char_indices() {
            let prefix = &text[..end];
            assert!(from_str::<Everything>(prefix).is_err(), "{prefix}");
            assert!(from_str::<IgnoredAny>(prefix).is_err(), "{prefix}");
            assert!(value_span(prefix).is_err(), "{prefix}");
            let _ = from_str::<Loose>(prefix);
        }
    }
    let alphabet = b"()[]{}:,\"'\\/*#rb0123456789.-+eExNaninfSomeNone_ \n";
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for round in 0..3_000 {
        let mut bytes = texts[round % 2].clone().into_bytes();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len() as u64) as usize;
            match rng.below(3) {
                0 => bytes[at] = alphabet[rng.below(alphabet.len() as u64) as usize],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, alphabet[rng.below(alphabet.len() as u64) as usize]),
            }
        }
        let Ok(text) = String::from_utf8(bytes) else { continue };
        let _ = from_str::<Everything>(&text);
        let _ = from_str::<IgnoredAny>(&text);
        let _ = from_str::<Loose>(&text);
        let _ = value_span(&text);
    }
}

#[test]
fn a_value_span_is_the_exact_text() {
    assert_eq!(value_span("  (a: 1, /* c */ b: [2])  // x\n").unwrap(), "(a: 1, /* c */ b: [2])");
    assert_eq!(value_span("Variant").unwrap(), "Variant");
    assert_eq!(value_span("Some ( 1 )").unwrap(), "Some ( 1 )");
    assert_eq!(value_span("r#\"a\"#").unwrap(), "r#\"a\"#");
    assert_eq!(value_span("-1.5e3").unwrap(), "-1.5e3");
    fails::<IgnoredAny>("(a: 1) (b: 2)", "expected the end of the text");
    assert!(value_span("(a: 1) (b: 2)").is_err());
    assert!(value_span("").is_err());
}

#[test]
fn writing_refuses_what_ron_cannot_read_back() {
    #[derive(Serialize)]
    struct Spaced {
        #[serde(rename = "has space")]
        x: u8,
    }
    assert!(to_string(&Spaced { x: 1 }).unwrap_err().to_string().contains("cannot be written as a RON identifier"));
    #[derive(Serialize)]
    struct Failing;
    impl Failing {
        fn fail<S: serde::Serializer>(_: &u8, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no"))
        }
    }
    #[derive(Serialize)]
    struct Holder {
        #[serde(serialize_with = "Failing::fail")]
        x: u8,
    }
    assert_eq!(to_string(&Holder { x: 1 }).unwrap_err().to_string(), "no");
    let _ = Failing;
}
