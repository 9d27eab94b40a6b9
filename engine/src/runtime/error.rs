//! Errors of the modding runtime. Every message names the mod (its file)
//! and the cause; nothing a mod does panics the host.

use super::expose::Refusal;
use thiserror::Error;

/// Why a mod could not be loaded (compiled) from its file.
#[derive(Debug, Error)]
pub enum ModLoadError {
    #[error("could not read {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file} is not a WebAssembly module: {cause}")]
    NotWasm { file: String, cause: String },
    #[error(
        "{file} has no `{}` custom section: it was not built with mod-api's #[mod_main] (or declares no ABI version)",
        mod_api::abi::ABI_SECTION
    )]
    NoAbiVersion { file: String },
    #[error(
        "{file} was built for mod ABI {mod_major}.{mod_minor}, but this engine speaks ABI {host_major}.{host_minor}: rebuild the mod against a matching mod-api"
    )]
    AbiMismatch { file: String, mod_major: u16, mod_minor: u16, host_major: u16, host_minor: u16 },
    #[error("{file} lacks the export `{export}` the ABI requires (ABI.md, \"Exported by the mod\")")]
    MissingExport { file: String, export: &'static str },
    #[error("{file}: {cause}")]
    BadMemory { file: String, cause: String },
    #[error("{file} imports `{module}::{name}`, which the host does not provide")]
    UnknownImport { file: String, module: String, name: String },
    #[error("{file} failed to compile: {cause}")]
    Compile { file: String, cause: String },
    #[error("{file}: its manifest (section `{}`) {cause}", mod_api::manifest::MANIFEST_SECTION)]
    Manifest { file: String, cause: String },
}

/// Why a mod stopped, could not start or waits ([`ModEntry::error`](super::ModEntry::error)).
/// Rendered into the log, the report and the screen; game code may branch
/// on the variant.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ModError {
    /// Its file did not load: not readable, not a module, built for
    /// another ABI, refused by the compiler (the cause names the file).
    #[error("{cause}")]
    Load { module: String, cause: String },
    /// Left out before loading: its manifest does not resolve with the
    /// other mods (a missing or conflicting dependency, a cycle, an API
    /// version this engine does not speak).
    #[error("{cause}")]
    LeftOut { module: String, cause: String },
    /// It asks for something the game does not expose, exposes with
    /// another layout, or exposes read-only.
    #[error("mod {module}: {}{refusal}", system.as_ref().map(|s| format!("system {s}: ")).unwrap_or_default())]
    Refused { module: String, system: Option<String>, refusal: Box<Refusal> },
    /// Stopped until a new version of it arrives: `reloaded`'s reload
    /// changed the layout of `component`, which this mod uses.
    #[error(
        "waiting for a new version: component {component} changed layout when {reloaded} was reloaded, and this \
         mod uses the old layout; rebuild it (its state is kept until then)"
    )]
    Waiting { module: String, component: String, reloaded: String },
    #[error("mod {module} failed to instantiate: {cause}")]
    Instantiate { module: String, cause: String },
    #[error("mod {module} trapped in {function}: {cause}")]
    Trap { module: String, function: String, cause: String },
    #[error("mod {module}: {cause}")]
    Descriptor { module: String, cause: String },
    #[error("mod {module}, system {system}: {cause}")]
    System { module: String, system: String, cause: String },
}

impl ModError {
    /// The mod's file (or its label, `name (file)`), as the error names it.
    pub fn module(&self) -> &str {
        match self {
            ModError::Load { module, .. }
            | ModError::LeftOut { module, .. }
            | ModError::Refused { module, .. }
            | ModError::Waiting { module, .. }
            | ModError::Instantiate { module, .. }
            | ModError::Trap { module, .. }
            | ModError::Descriptor { module, .. }
            | ModError::System { module, .. } => module,
        }
    }
}

/// Why planning a mod's descriptor failed: a refusal of the game's, or a
/// descriptor that is wrong in itself.
#[derive(Debug)]
pub(crate) enum PlanError {
    Refused { system: Option<String>, refusal: Refusal },
    Invalid(String),
}

impl PlanError {
    /// The same error, found in system `name`.
    pub fn in_system(self, name: &str) -> PlanError {
        match self {
            PlanError::Refused { system: None, refusal } => PlanError::Refused { system: Some(name.into()), refusal },
            PlanError::Invalid(e) => PlanError::Invalid(format!("system {name}: {e}")),
            other => other,
        }
    }

    /// As the mod's error, naming `module`.
    pub fn for_mod(self, module: &str) -> ModError {
        match self {
            PlanError::Refused { system, refusal } => {
                ModError::Refused { module: module.into(), system, refusal: Box::new(refusal) }
            }
            PlanError::Invalid(cause) => ModError::Descriptor { module: module.into(), cause },
        }
    }
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Refused { system: Some(system), refusal } => write!(f, "system {system}: {refusal}"),
            PlanError::Refused { system: None, refusal } => refusal.fmt(f),
            PlanError::Invalid(e) => f.write_str(e),
        }
    }
}

impl From<String> for PlanError {
    fn from(e: String) -> Self {
        PlanError::Invalid(e)
    }
}

impl From<Refusal> for PlanError {
    fn from(refusal: Refusal) -> Self {
        PlanError::Refused { system: None, refusal }
    }
}
