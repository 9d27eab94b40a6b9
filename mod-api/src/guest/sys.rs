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
    #[link_name = "call_function"]
    fn host_call_function(function: i32, input: *const u8, input_len: usize, output: *mut u8, cap: usize) -> i32;
    #[link_name = "query_locate"]
    fn host_query_locate(slot: i32, entity: i64) -> i64;
    #[link_name = "query_fetch"]
    fn host_query_fetch(slot: i32) -> i32;
}

/// Keeps `query_fetch` among the mod's imports even in a mod that never
/// iterates a query (one that only calls `get`): a mod that imports it
/// tells the host it asks for columns and entity ids (ABI 1.8), so the host
/// writes neither up front, but only the rows `query_locate` finds, and
/// what the SDK asks for before it iterates.
#[cfg(target_arch = "wasm32")]
#[used]
static FETCHES_ON_DEMAND: unsafe extern "C" fn(i32) -> i32 = host_query_fetch;

#[cfg(not(target_arch = "wasm32"))]
unsafe fn host_log(level: i32, ptr: *const u8, len: usize) {
    // SAFETY: callers pass a live `str`.
    let text = unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) };
    eprintln!("[mod log {level}] {text}");
}

#[cfg(not(target_arch = "wasm32"))]
unsafe fn host_panic(_ptr: *const u8, _len: usize) {}

#[cfg(not(target_arch = "wasm32"))]
unsafe fn host_query_locate(_slot: i32, _entity: i64) -> i64 {
    -1
}

#[cfg(not(target_arch = "wasm32"))]
unsafe fn host_query_fetch(_slot: i32) -> i32 {
    1
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

/// Where `entity` is in the query in parameter slot `slot` (ABI.md,
/// `query_locate`): its batch and row, or `None` if the query did not
/// match it.
pub(crate) fn query_locate(slot: usize, entity: crate::Entity) -> Option<(usize, usize)> {
    // SAFETY: a plain call; the host reads nothing of the mod's memory.
    let at = unsafe { host_query_locate(slot as i32, entity.0 as i64) };
    (at >= 0).then_some(((at >> 32) as usize, at as u32 as usize))
}

/// Asks the host for every column of the query in parameter slot `slot`
/// (ABI.md, `query_fetch`): until then only the rows `query_locate` found
/// are written.
pub(crate) fn query_fetch(slot: usize) {
    // SAFETY: a plain call; the host writes only the query's own columns.
    unsafe { host_query_fetch(slot as i32) };
}
