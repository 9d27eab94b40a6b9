//! The docs agree with the code: the mod API version the README and the
//! guide quote is the one the host speaks and `scripts/new-mod` writes.

use mod_api::abi::{ABI_MAJOR, ABI_MINOR};
use tests::*;

/// Every `MAJOR.MINOR` that follows `marker` in `text`.
fn versions_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.match_indices(marker)
        .map(|(at, _)| {
            let rest = &text[at + marker.len()..];
            let end = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
            rest[..end].trim_end_matches('.')
        })
        .collect()
}

#[test]
fn the_readme_and_the_guide_quote_the_mod_api_version_the_host_speaks() {
    let current = format!("{ABI_MAJOR}.{ABI_MINOR}");
    for doc in ["README.md", "docs/GUIDE.md"] {
        let text = std::fs::read_to_string(repo().join(doc)).unwrap();
        let quoted: Vec<&str> = [versions_after(&text, "api: \"^"), versions_after(&text, "speaks ")].concat();
        assert!(!quoted.is_empty(), "{doc} quotes the mod API version");
        for v in quoted {
            assert_eq!(v, current, "{doc} quotes mod API {v}, the host speaks {current}");
        }
    }
    // Each demo and example mod asks for the API it is built against.
    for dir in std::fs::read_dir(repo().join("mods")).unwrap().filter_map(|e| e.ok()) {
        let Ok(text) = std::fs::read_to_string(dir.path().join("mod.ron")) else { continue };
        for v in versions_after(&text, "api: \"^") {
            assert_eq!(v, current, "{} asks for mod API {v}", dir.path().display());
        }
    }
}
