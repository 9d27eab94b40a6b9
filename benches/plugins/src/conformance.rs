//! What every [`Guest`] must do, checked the same way for each system by
//! its module's tests: compute what the workload code computes, count its
//! frames, answer every message, and keep its state over a reload.

use crate::workload::{self, DT, Pong};
use crate::{Columns, Guest, check_columns, fresh_copy, reference_boids, reference_integrate};
use std::path::Path;

/// `integrate` (10 and 1,000 bodies, 5 frames each), `boids` (300 bodies,
/// 2 frames, then 50: a smaller flock ignores what is left of a bigger one)
/// and `events` (1,000 then 10 messages, appended after what `out` holds)
/// against the workload code; empty inputs are fine; `frames` counts the
/// integrate calls only.
pub fn computes_what_the_workload_code_computes(guest: &mut dyn Guest, what: &str, tolerance: f32) {
    for n in [10, 1_000] {
        let mut cols = Columns::start(n);
        for _ in 0..5 {
            guest.integrate(&mut cols, DT);
        }
        check_columns(&format!("{what} integrate {n}"), &cols, &reference_integrate(n, 5), tolerance).unwrap();
    }
    assert_eq!(guest.frames(), 10, "{what} counts one frame per integrate call");
    let mut cols = Columns::start(300);
    for _ in 0..2 {
        guest.boids(&mut cols, DT);
    }
    check_columns(&format!("{what} boids 300"), &cols, &reference_boids(300, 2), tolerance).unwrap();
    let mut cols = Columns::start(50);
    guest.boids(&mut cols, DT);
    check_columns(&format!("{what} boids 50 after 300"), &cols, &reference_boids(50, 1), tolerance).unwrap();
    assert_eq!(guest.frames(), 10, "{what}: boids do not count frames");
    let before = Pong { id: 7, value: 7.0 };
    for n in [1_000, 10] {
        let pings = workload::pings(n);
        let mut out = vec![before];
        guest.events(&pings, &mut out);
        assert_eq!(out[0], before, "{what}: events appends to what `out` holds");
        workload::check_answers(&format!("{what} events {n}"), &pings, &out[1..]).unwrap();
    }
    let mut empty = Columns::default();
    guest.integrate(&mut empty, DT);
    guest.boids(&mut empty, DT);
    let mut out = Vec::new();
    guest.events(&[], &mut out);
    assert!(out.is_empty(), "{what}: no messages, no answers");
    assert_eq!(guest.frames(), 11, "{what} counts a frame with no bodies too");
}

/// Three integrate frames, a reload from a fresh copy of `file`, one more
/// frame: the count goes on from 3 and the new code computes the same.
pub fn reload_keeps_the_state(guest: &mut dyn Guest, file: &Path, what: &str, tolerance: f32) {
    let mut cols = Columns::start(10);
    for _ in 0..3 {
        guest.integrate(&mut cols, DT);
    }
    assert_eq!(guest.frames(), 3);
    guest.reload(&fresh_copy(file)).unwrap_or_else(|e| panic!("{what} reload: {e}"));
    assert_eq!(guest.frames(), 3, "{what} keeps its state over a reload");
    guest.integrate(&mut cols, DT);
    assert_eq!(guest.frames(), 4, "{what}: the new code counts on");
    check_columns(&format!("{what} integrate after reload"), &cols, &reference_integrate(10, 4), tolerance).unwrap();
}

/// After [`reload_keeps_the_state`] (4 frames): reloads a copy of `file` in
/// which `from` is replaced by `to`, a frame counter that counts ten per
/// frame; the count goes on from 4, by ten.
pub fn reload_runs_the_edited_code(guest: &mut dyn Guest, file: &Path, (from, to): (&str, &str), what: &str) {
    let changed = fresh_copy(file);
    let source = std::fs::read_to_string(&changed).unwrap();
    assert!(source.contains(from), "{what}: the source has `{from}`");
    std::fs::write(&changed, source.replace(from, to)).unwrap();
    guest.reload(&changed).unwrap_or_else(|e| panic!("{what} reload: {e}"));
    assert_eq!(guest.frames(), 4, "{what} keeps its state over a reload");
    guest.integrate(&mut Columns::start(10), DT);
    assert_eq!(guest.frames(), 14, "{what}: the new code runs");
}
