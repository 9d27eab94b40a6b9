//! Raw host imports, each followed by its safe wrapper. Off wasm (doctests,
//! `cargo check` of mods on the host), the imports are stubs that print to
//! stderr, so mod code compiles and links everywhere.

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "bevy_mod")]
unsafe extern "C" {
    #[link_name = "log"]
    fn host_log(level: i32, ptr: *const u8, len: usize);
    #[link_name = "panic"]
    fn host_panic(ptr: *const u8, len: usize);
}

#[cfg(not(target_arch = "wasm32"))]
unsafe fn host_log(level: i32, ptr: *const u8, len: usize) {
    // SAFETY: callers pass a live `str`.
    let text = unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) };
    eprintln!("[mod log {level}] {text}");
}

#[cfg(not(target_arch = "wasm32"))]
unsafe fn host_panic(_ptr: *const u8, _len: usize) {}

/// Sends one log line to the host (ABI.md, `log`).
pub(crate) fn log(level: i32, message: &str) {
    // SAFETY: the pointer and length describe a live `str` in our memory.
    unsafe { host_log(level, message.as_ptr(), message.len()) }
}

/// Tells the host why the mod is about to trap (ABI.md, `panic`).
pub(crate) fn panic_message(message: &str) {
    // SAFETY: as above.
    unsafe { host_panic(message.as_ptr(), message.len()) }
}
