//! The descriptor a mod's `mod_init` returns: any bytes, as RON.
#![no_main]

use engine_fuzz::{Stage, compile, puppet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(module) = compile(&puppet(data, 0, false)) else { return };
    Stage::new().run(&module, &[], &[], 2);
});
