//! Decimal text to `f32` / `f64`, correctly rounded (to nearest, ties to
//! even), with a few big-integer operations.
//!
//! Why not `str::parse`: `core`'s float parser, with its tables of powers
//! of five, costs a mod about 19 KB, and module size is load and reload
//! time. This one is exact but slow (microseconds per number), which does
//! not matter for a state document read once per reload. The tests hold it
//! to `core`'s parser on many values, ties and edge cases.

use core::cmp::Ordering;

/// A binary float format.
#[derive(Clone, Copy)]
pub(super) struct Format {
    /// Stored fraction bits: 23 or 52.
    frac: u32,
    /// Exponent bits: 8 or 11.
    exp: u32,
}

pub(super) const F32: Format = Format { frac: 23, exp: 8 };
pub(super) const F64: Format = Format { frac: 52, exp: 11 };

/// More significant digits than any decision between two neighbouring
/// `f64`s needs (767): the rest only count as "something more".
const MAX_DIGITS: usize = 800;

/// The bits of the float `text` names: `[+-]digits[.digits][(e|E)[+-]digits]`
/// (either side of the `.` may be empty, not both), `inf` or `NaN`, with
/// an optional sign. `None` if `text` is not such a number.
pub(super) fn parse(text: &str, f: Format) -> Option<u64> {
    let (negative, t) = strip_sign(text);
    let sign = u64::from(negative) << (f.frac + f.exp);
    let inf = ((1u64 << f.exp) - 1) << f.frac;
    match t {
        "inf" => return Some(sign | inf),
        "NaN" => return Some(sign | inf | 1 << (f.frac - 1)),
        _ => {}
    }
    let (mantissa, exponent) = t.split_once(['e', 'E']).map_or((t, None), |(m, e)| (m, Some(e)));
    // (A char array, not a char: a char pattern links core's memchr search.)
    let (int, fraction) = mantissa.split_once(['.']).unwrap_or((mantissa, ""));
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && fraction.is_empty()) || !is_digits(int) || !is_digits(fraction) {
        return None;
    }
    // The value is N × 10^exp10, N the significant digits.
    let mut exp10 = match exponent.map(strip_sign) {
        None => 0,
        Some((_, "")) => return None,
        Some((negative, e)) if is_digits(e) => {
            // Saturated: anything this large is 0 or infinite anyway.
            let e = e.bytes().fold(0i64, |v, b| (v * 10 + i64::from(b - b'0')).min(1 << 20));
            if negative { -e } else { e }
        }
        Some(_) => return None,
    };
    exp10 -= fraction.len() as i64;
    let mut digits: Vec<u8> = int.bytes().chain(fraction.bytes()).skip_while(|&b| b == b'0').collect();
    while digits.last() == Some(&b'0') {
        digits.pop();
        exp10 += 1;
    }
    if digits.is_empty() {
        return Some(sign);
    }
    if digits.len() > MAX_DIGITS {
        // The dropped digits end in a non-zero one: stand in a 1 for them,
        // which rounds the same way.
        exp10 += (digits.len() - MAX_DIGITS - 1) as i64;
        digits.truncate(MAX_DIGITS);
        digits.push(b'1');
    }
    // 10^310 is beyond either format's largest value, 10^-345 below half
    // its smallest.
    let magnitude = digits.len() as i64 + exp10;
    if magnitude > 310 {
        return Some(sign | inf);
    }
    if magnitude < -345 {
        return Some(sign);
    }

    // N × 10^e = num / den × 2^e, with the power of five on one side.
    let mut num = vec![0u32];
    for &d in &digits {
        mul_add(&mut num, 10, u32::from(d - b'0'));
    }
    let mut den = vec![1u32];
    mul_pow5(if exp10 >= 0 { &mut num } else { &mut den }, exp10.unsigned_abs());

    // Scale so the quotient has p + 2 or p + 3 bits (p = the precision),
    // enough for the rounding bit below the kept ones.
    let p = i64::from(f.frac) + 1;
    let shift = p + 2 - (bit_len(&num) - bit_len(&den));
    shl(if shift >= 0 { &mut num } else { &mut den }, shift.unsigned_abs());
    let mut q = 0u64;
    for i in (0..=p + 2).rev() {
        let mut d = den.clone();
        shl(&mut d, i as u64);
        if compare(&num, &d) != Ordering::Less {
            sub(&mut num, &d);
            q |= 1 << i;
        }
    }
    let mut sticky = num.iter().any(|&x| x != 0);

    // Round q × 2^(exp10 - shift) to the format: `keep` bits, fewer for a
    // subnormal number.
    let len = 64 - i64::from(q.leading_zeros());
    let top = len - 1 + exp10 - shift; // the exponent of q's leading bit
    let bias = (1i64 << (f.exp - 1)) - 1;
    let min_exp = 1 - bias;
    let keep = p - (min_exp - top).max(0);
    if keep < 0 {
        return Some(sign);
    }
    let drop = len - keep; // at least 2
    let mut m = q >> drop;
    let half = (q >> (drop - 1)) & 1 == 1;
    sticky |= q & ((1 << (drop - 1)) - 1) != 0;
    if half && (sticky || m & 1 == 1) {
        m += 1;
    }
    // For a normal number the leading bit of `m` adds 1 to the exponent
    // field, as does rounding up to the next power of two.
    let exponent = if top >= min_exp { ((top + bias - 1) as u64) << f.frac } else { 0 };
    Some(sign | (exponent + m).min(inf))
}

/// A leading `-` (true) or `+`, and the rest.
pub(super) fn strip_sign(s: &str) -> (bool, &str) {
    match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    }
}

// Big unsigned integers: 32-bit limbs, least significant first.

/// x = x × m + add.
fn mul_add(x: &mut Vec<u32>, m: u32, add: u32) {
    let mut carry = u64::from(add);
    for limb in x.iter_mut() {
        let v = u64::from(*limb) * u64::from(m) + carry;
        *limb = v as u32;
        carry = v >> 32;
    }
    if carry > 0 {
        x.push(carry as u32);
    }
}

/// x = x × 5^n.
fn mul_pow5(x: &mut Vec<u32>, mut n: u64) {
    while n > 0 {
        let k = n.min(13); // 5^13 < 2^32
        mul_add(x, 5u32.pow(k as u32), 0);
        n -= k;
    }
}

/// x = x × 2^n.
fn shl(x: &mut Vec<u32>, n: u64) {
    mul_add(x, 1 << (n % 32), 0);
    let mut shifted = vec![0; (n / 32) as usize];
    shifted.extend_from_slice(x);
    *x = shifted;
}

fn bit_len(x: &[u32]) -> i64 {
    x.iter().rposition(|&l| l != 0).map_or(0, |i| i as i64 * 32 + 32 - i64::from(x[i].leading_zeros()))
}

fn compare(a: &[u32], b: &[u32]) -> Ordering {
    let limb = |x: &[u32], i: usize| x.get(i).copied().unwrap_or(0);
    (0..a.len().max(b.len())).rev().map(|i| limb(a, i).cmp(&limb(b, i))).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
}

/// a = a - b, for a ≥ b.
fn sub(a: &mut [u32], b: &[u32]) {
    let mut borrow = false;
    for (i, limb) in a.iter_mut().enumerate() {
        let (v, b1) = limb.overflowing_sub(b.get(i).copied().unwrap_or(0));
        let (v, b2) = v.overflowing_sub(u32::from(borrow));
        *limb = v;
        borrow = b1 || b2;
    }
}
