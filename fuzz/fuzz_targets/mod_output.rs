//! Everything a running mod hands the host: command streams, message
//! records, output slot pointers and lengths, and the frame it writes back.
#![no_main]

use engine::wasmtime::Module;
use engine_fuzz::{DESCRIPTORS, MAX_BLOB, PARAMS, Stage, compile, puppet, slot_words};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// One puppet per descriptor, plain and garbling, compiled once.
fn puppets() -> &'static Vec<Module> {
    static PUPPETS: OnceLock<Vec<Module>> = OnceLock::new();
    PUPPETS.get_or_init(|| {
        (0..DESCRIPTORS.len() * 2)
            .map(|k| {
                let (which, garble) = (k % DESCRIPTORS.len(), k >= DESCRIPTORS.len());
                compile(&puppet(DESCRIPTORS[which].as_bytes(), PARAMS[which], garble)).expect("the puppet compiles")
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else { return };
    let which = choice as usize % DESCRIPTORS.len();
    let garble = choice & 0x80 != 0;
    // Up to three parameters: 4 bytes of slot words each, then the blob.
    let (raw_slots, blob) = rest.split_at(rest.len().min(12));
    let blob = &blob[..blob.len().min(MAX_BLOB)];
    let slots = slot_words(raw_slots, PARAMS[which]);
    let module = &puppets()[which + if garble { DESCRIPTORS.len() } else { 0 }];
    Stage::new().run(module, &slots, blob, 3);
});
