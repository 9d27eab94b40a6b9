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
    #[link_name = "query_entities"]
    fn host_query_entities(slot: i32) -> i32;
    #[link_name = "call_function"]
    fn host_call_function(function: i32, input: *const u8, input_len: usize, output: *mut u8, cap: usize) -> i32;
}

/// Keeps `query_entities` among the mod's imports even if no query of the
/// mod ever needs ids: a mod that imports it tells the host it fetches
/// entity ids on demand (ABI 1.4), so the host skips writing them for
/// queries that do not declare `entities`.
#[cfg(target_arch = "wasm32")]
#[used]
static FETCHES_IDS_ON_DEMAND: unsafe extern "C" fn(i32) -> i32 = host_query_entities;

#[cfg(not(target_arch = "wasm32"))]
unsafe fn host_log(level: i32, ptr: *const u8, len: usize) {
    // SAFETY: callers pass a live `str`.
    let text = unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) };
    eprintln!("[mod log {level}] {text}");
}

#[cfg(not(target_arch = "wasm32"))]
unsafe fn host_panic(_ptr: *const u8, _len: usize) {}

#[cfg(not(target_arch = "wasm32"))]
unsafe fn host_query_entities(_slot: i32) -> i32 {
    0
}

#[cfg(not(target_arch = "wasm32"))]
unsafe fn host_call_function(_: i32, _: *const u8, _: usize, output: *mut u8, cap: usize) -> i32 {
    let text = b"game functions run only inside the game";
    let n = text.len().min(cap);
    // SAFETY: the caller passes `cap` writable bytes.
    unsafe { core::ptr::copy_nonoverlapping(text.as_ptr(), output, n) };
    n.max(1) as i32
}

/// Calls the game function with local id `local` (ABI.md, `call_function`):
/// its output, or the error text it reported.
pub(crate) fn call_function<F: crate::GameFunction>(local: u32, input: &F::In) -> Result<F::Out, String> {
    // Room for the output, or for an error message of up to 1 KiB.
    let cap = size_of::<F::Out>().max(1024);
    let mut buf = vec![0u8; cap];
    // SAFETY: `input` is plain data of its size; `buf` has `cap` bytes.
    let status = unsafe {
        host_call_function(local as i32, input as *const F::In as *const u8, size_of::<F::In>(), buf.as_mut_ptr(), cap)
    };
    if status == 0 {
        // SAFETY: the host wrote one `Out`, plain data, at the start of `buf`.
        return Ok(unsafe { core::ptr::read_unaligned(buf.as_ptr() as *const F::Out) });
    }
    let len = (status as u32 as usize).min(cap);
    Err(String::from_utf8_lossy(&buf[..len]).into_owned())
}

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

/// Asks the host to write the entity ids of every batch of the query in
/// parameter slot `slot` (ABI.md, `query_entities`). `false` if the host
/// answered that it has no ids for that slot: a host bug, which the mod
/// cannot fix, so it is logged as an error and the lookup finds nothing
/// rather than stopping the mod.
pub(crate) fn query_entities(slot: usize) -> bool {
    // SAFETY: the host writes into the frame it laid out for this call.
    let status = unsafe { host_query_entities(slot as i32) };
    if status != 0 {
        let text = format!(
            "the host has no entity ids for query parameter {slot} (status {status}): lookups in it find \
             nothing this run; please report this host bug"
        );
        log(crate::abi::level::ERROR, &text);
    }
    status == 0
}
