//! A mod's manifest: who it is and what it needs, read by the host before
//! anything of the mod is compiled or run (ABI.md, "Manifest").
//!
//! A Rust mod writes it as `mod.ron` in its crate root; `#[mod_main]` embeds
//! the file in the module's custom section [`MANIFEST_SECTION`]. A mod in
//! another language puts the same RON text in that section.
//!
//! ```ron
//! (
//!     id: "rules",
//!     name: "Rocks: rules",
//!     version: "0.1.0",
//!     authors: ["The Rocks team"],
//!     description: "Score, lives and waves.",
//!     api: "^1.2",
//!     dependencies: [
//!         (id: "rocks", version: "^0.1"),
//!         (id: "ship", version: ">=0.1, <0.3", kind: Optional),
//!         (id: "old-rules", version: "*", kind: Incompatible),
//!     ],
//!     load_after: ["mover"],
//! )
//! ```

use serde::{Deserialize, Serialize};

/// Name of the custom section holding the manifest (UTF-8 RON).
pub const MANIFEST_SECTION: &str = "bevy_mod_manifest";

/// Who a mod is and what it needs. Unknown fields are an error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique among installed mods: lowercase letters, digits, `-` and `_`.
    /// `#[mod_main]` sends it as the descriptor's `name`, which the host
    /// checks against it.
    pub id: String,
    /// What players read.
    pub name: String,
    /// Semantic version (`1.2.0`); must equal the descriptor's version.
    pub version: String,
    /// Who made it (optional).
    #[serde(default)]
    pub authors: Vec<String>,
    /// What it does, in a sentence (optional).
    #[serde(default)]
    pub description: String,
    /// The mod API (ABI) versions it works with, as a semver requirement
    /// (`"^1.2"`, `">=1.0, <2"`).
    pub api: String,
    /// The mods it needs, works with, or cannot run beside (optional).
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// Ids of mods this one loads (and runs) before, when both are present.
    #[serde(default)]
    pub load_before: Vec<String>,
    /// Ids of mods this one loads (and runs) after, when both are present.
    #[serde(default)]
    pub load_after: Vec<String>,
}

/// Another mod this one relates to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// The other mod's [`Manifest::id`].
    pub id: String,
    /// Semver requirement on the other mod's version (`"^0.1"`, `"*"`).
    pub version: String,
    /// Required (the default), optional or incompatible.
    #[serde(default)]
    pub kind: DependencyKind,
}

/// How a [`Dependency`] relates the two mods; `Required` when omitted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DependencyKind {
    /// Must be installed, in a matching version; loads first.
    #[default]
    Required,
    /// If installed, must match; loads first. Absent is fine.
    Optional,
    /// Must not be installed in a matching version.
    Incompatible,
}
