//! Logging through the host: lines appear in the game's log under the mod's name.

use crate::abi::level;

/// Sends `message` to the host's log at `level` (see [`crate::abi::level`]).
/// The host prefixes the line with the mod's name and file; the macros
/// [`info!`](crate::info) and friends format and call this.
///
/// ```
/// mod_api::log(mod_api::abi::level::WARN, "running low on rocks");
/// ```
pub fn log(level: i32, message: &str) {
    super::sys::log(level, message);
}

#[doc(hidden)]
pub fn __log_fmt(level: i32, args: core::fmt::Arguments<'_>) {
    match args.as_str() {
        Some(s) => log(level, s),
        None => log(level, &args.to_string()),
    }
}

/// Logs at info level, with `format!` syntax.
///
/// ```
/// use mod_api::prelude::*;
///
/// let n = 4;
/// info!("spawned {n} asteroids");
/// warn!("only {} lives left", 1);
/// ```
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::__log_fmt($crate::abi::level::INFO, format_args!($($t)*)) } }
/// Logs at warn level.
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::__log_fmt($crate::abi::level::WARN, format_args!($($t)*)) } }
/// Logs at error level.
#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::__log_fmt($crate::abi::level::ERROR, format_args!($($t)*)) } }
/// Logs at debug level.
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::__log_fmt($crate::abi::level::DEBUG, format_args!($($t)*)) } }

#[allow(dead_code)]
const _LEVELS: [i32; 5] = [level::ERROR, level::WARN, level::INFO, level::DEBUG, level::TRACE];
