//! What mods carry: sizes are deterministic (one toolchain, one lock file),
//! so these guard them. A mod pays for serde and RON only if it keeps
//! saved state; the ceilings are today's sizes with a little room, so code
//! creeping back into every mod fails here (BENCHMARKS.md, "Mod sizes").

use tests::*;

/// The function names in a module's `name` section.
fn function_names(bytes: &[u8]) -> Vec<String> {
    use wasmtime::wasmparser::{self, Name, NameSectionReader, Parser, Payload};
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Ok(Payload::CustomSection(c)) = payload
            && c.name() == "name"
        {
            for sub in NameSectionReader::new(wasmparser::BinaryReader::new(c.data(), c.data_offset())) {
                if let Ok(Name::Function(map)) = sub {
                    names.extend(map.into_iter().filter_map(|n| n.ok()).map(|n| n.name.to_string()));
                }
            }
        }
    }
    names
}

#[test]
fn a_mod_without_saved_state_carries_no_serde_or_ron() {
    for name in ["mover", "ship", "census", "tipper", "faulty", "bank", "swarm"] {
        let names = function_names(&mod_bytes(name));
        assert!(!names.is_empty(), "{name} has a name section");
        let heavy: Vec<&String> = names.iter().filter(|n| n.contains("serde") || n.contains("3ron")).collect();
        assert!(heavy.is_empty(), "{name} carries serde or RON: {:?}", &heavy[..heavy.len().min(5)]);
    }
}

#[test]
fn mods_stay_within_their_ceilings() {
    for (name, ceiling) in [("mover", 56 << 10), ("ship", 100 << 10), ("rocks", 440 << 10), ("rules", 440 << 10)] {
        let size = mod_bytes(name).len();
        assert!(size <= ceiling, "{name} is {size} bytes, over its ceiling of {ceiling}");
    }
}
