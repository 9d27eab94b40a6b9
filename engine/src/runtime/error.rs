//! Errors of the modding runtime. Every message names the mod (its file)
//! and the cause; nothing a mod does panics the host.

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
    #[error("{file} imports `{module}::{name}`, which the host does not provide")]
    UnknownImport { file: String, module: String, name: String },
    #[error("{file} failed to compile: {cause}")]
    Compile { file: String, cause: String },
    #[error("{file}: its manifest (section `{}`) {cause}", mod_api::manifest::MANIFEST_SECTION)]
    Manifest { file: String, cause: String },
}

/// Why a loaded mod stopped or could not start. Rendered into the log,
/// the report and the screen.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ModError {
    #[error("mod {module} failed to instantiate: {cause}")]
    Instantiate { module: String, cause: String },
    #[error("mod {module} trapped in {function}: {cause}")]
    Trap { module: String, function: String, cause: String },
    #[error("mod {module}: {cause}")]
    Descriptor { module: String, cause: String },
    #[error("mod {module}, system {system}: {cause}")]
    System { module: String, system: String, cause: String },
}
