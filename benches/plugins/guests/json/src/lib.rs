//! The plugins benchmark's JSON-boundary guest (core wasm, no WASI).
//!
//! It models a mod behind an interface like Wasvy's, where every query
//! item's components cross the boundary as JSON text, one entity at a time.
//! The host is `benches/plugins/src/json_boundary.rs`.
//!
//! # ABI
//!
//! - `alloc(len: u32) -> u32`: the address of the guest's input buffer,
//!   grown to at least `len` bytes. The buffer only moves in `alloc`, so the
//!   host keeps the address and its size and calls `alloc` again only for a
//!   longer text.
//! - Every other export is `f(ptr: u32, len: u32) -> u64`: it reads a JSON
//!   text of `len` bytes at `ptr` and answers a JSON text, returned as
//!   `ptr << 32 | len`. The answer lives in the guest's output buffer and is
//!   valid until the next call. Every call carries JSON both ways, `null`
//!   when there is nothing to say.
//! - Bad input makes the guest panic, which traps.
//!
//! # Exports
//!
//! - `call_empty`: `null` → `null`.
//! - `frame_begin`: `{"dt":…}` → `null`. Starts one frame of `integrate`:
//!   keeps `dt` for the entity calls and counts the frame (the guest's
//!   `frames` state counts `frame_begin` calls).
//! - `integrate_entity`: one query item,
//!   `{"transform":{"translation":[x,y]},"velocity":[vx,vy]}` → the updated
//!   mutable component, `{"translation":[x,y]}`.
//! - `boids_begin`: `null` → `null`, empties the guest's copy of the bodies.
//! - `boids_put`: one query item (as for `integrate_entity`) → `null`; the
//!   guest appends the entity's components to its own columns.
//! - `boids_step`: `{"dt":…}` → `null`, one [`workload::Boids::step`] on the
//!   guest's copy.
//! - `boids_get`: an entity's index, `7` → its updated item (as above).
//! - `event`: a `Ping`, `{"id":…,"value":…}` → its `Pong`, same shape.
//! - `frames`: `null` → the number of frames, e.g. `12`.
//! - `save_state`: `null` → the guest's state, `{"frames":…}`.
//! - `restore_state`: a saved state → `null`.

use plugin_workload::json::{Frame, Item, Transform, Velocity};
use plugin_workload::{self as workload, Ping, Pong, V2};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::cell::RefCell;

/// What survives a reload.
#[derive(Serialize, Deserialize)]
struct Saved {
    frames: u64,
}

#[derive(Default)]
struct State {
    input: Vec<u8>,
    output: Vec<u8>,
    frames: u64,
    dt: f32,
    pos: Vec<V2>,
    vel: Vec<V2>,
    boids: workload::Boids,
}

thread_local! {
    // NOTE: wasm32-unknown-unknown without atomics has one thread, so this
    // is a plain global.
    static STATE: RefCell<State> = RefCell::new(State::default());
}

#[unsafe(no_mangle)]
pub extern "C" fn alloc(len: u32) -> u32 {
    STATE.with_borrow_mut(|s| {
        if s.input.len() < len as usize {
            s.input.resize(len as usize, 0);
        }
        s.input.as_mut_ptr() as u32
    })
}

/// Runs one call: parses the argument at `ptr`, runs `f`, writes its answer
/// as JSON into the output buffer and returns where it is.
fn call<A: DeserializeOwned, R: Serialize>(ptr: u32, len: u32, f: impl FnOnce(&mut State, A) -> R) -> u64 {
    // SAFETY: the host wrote `len` bytes at `ptr`, inside the input buffer
    // it got from `alloc`, which nothing else touches during the call.
    let text = unsafe { std::slice::from_raw_parts(ptr as *const u8, len as usize) };
    let arg: A = serde_json::from_slice(text).unwrap_or_else(|e| panic!("bad JSON argument: {e}"));
    STATE.with_borrow_mut(|s| {
        let result = f(s, arg);
        s.output.clear();
        serde_json::to_writer(&mut s.output, &result).expect("a result serializes");
        ((s.output.as_ptr() as u64) << 32) | s.output.len() as u64
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn call_empty(ptr: u32, len: u32) -> u64 {
    call(ptr, len, |_, ()| ())
}

#[unsafe(no_mangle)]
pub extern "C" fn frame_begin(ptr: u32, len: u32) -> u64 {
    call(ptr, len, |s, frame: Frame| {
        s.dt = frame.dt;
        s.frames += 1;
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn integrate_entity(ptr: u32, len: u32) -> u64 {
    call(ptr, len, |s, mut item: Item| {
        workload::integrate_one(&mut item.transform.translation, item.velocity.0, s.dt);
        item.transform
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn boids_begin(ptr: u32, len: u32) -> u64 {
    call(ptr, len, |s, ()| {
        s.pos.clear();
        s.vel.clear();
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn boids_put(ptr: u32, len: u32) -> u64 {
    call(ptr, len, |s, item: Item| {
        s.pos.push(item.transform.translation);
        s.vel.push(item.velocity.0);
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn boids_step(ptr: u32, len: u32) -> u64 {
    call(ptr, len, |s, frame: Frame| {
        let State { pos, vel, boids, .. } = s;
        boids.step(pos, vel, frame.dt);
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn boids_get(ptr: u32, len: u32) -> u64 {
    call(ptr, len, |s, i: usize| {
        let (pos, vel) = match (s.pos.get(i), s.vel.get(i)) {
            (Some(p), Some(v)) => (*p, *v),
            _ => panic!("boids_get: no entity {i} among {}", s.pos.len()),
        };
        Item { transform: Transform { translation: pos }, velocity: Velocity(vel) }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn event(ptr: u32, len: u32) -> u64 {
    call(ptr, len, |_, ping: Ping| -> Pong { workload::answer(&ping) })
}

#[unsafe(no_mangle)]
pub extern "C" fn frames(ptr: u32, len: u32) -> u64 {
    call(ptr, len, |s, ()| s.frames)
}

#[unsafe(no_mangle)]
pub extern "C" fn save_state(ptr: u32, len: u32) -> u64 {
    call(ptr, len, |s, ()| Saved { frames: s.frames })
}

#[unsafe(no_mangle)]
pub extern "C" fn restore_state(ptr: u32, len: u32) -> u64 {
    call(ptr, len, |s, saved: Saved| {
        s.frames = saved.frames;
    })
}
