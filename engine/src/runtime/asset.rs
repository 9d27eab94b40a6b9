//! Mods as Bevy assets: the `.wasm` loader validates the ABI version and
//! compiles the module with wasmtime's baseline compiler on Bevy's IO task
//! pool, off the main thread (the optimized code follows, see `WasmRuntime`).

use super::error::ModLoadError;
use bevy::asset::{AssetLoader, LoadContext, io::Reader};
use bevy::prelude::*;
use mod_api::abi::{self, ABI_MAJOR, ABI_MINOR, ABI_SECTION};
use mod_api::manifest::{MANIFEST_SECTION, Manifest};
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::wasmparser::{Parser, Payload};

/// A compiled mod, ready to instantiate. Cheap to clone (wasmtime's
/// `Module` is reference-counted).
#[derive(Asset, TypePath, Clone)]
pub struct ModAsset {
    /// The asset path of the file, as errors name it.
    pub file: String,
    pub module: wasmtime::Module,
    /// ABI version the mod declared.
    pub abi: (u16, u16),
    /// The mod's manifest, if its file has one (a mod built for ABI 1.3 or
    /// later with the Rust SDK always has).
    pub manifest: Option<Manifest>,
    /// Unique per compile in this process: a new serial is a new compile,
    /// which is a new version only if its [`digest`](Self::digest) differs.
    pub serial: u64,
    /// A hash of the file's bytes: a file written again with the same bytes
    /// is not a new version.
    pub digest: u64,
    /// For baseline code: the file's bytes, to compile the optimized code from.
    pub(crate) tier_up: Option<std::sync::Arc<[u8]>>,
}

/// Loads `.wasm` files as [`ModAsset`]s.
#[derive(TypePath)]
pub struct ModLoader {
    pub(crate) runtime: super::WasmRuntime,
}

/// Reads the ABI version from the module's custom section, before anything
/// is compiled or run.
pub fn read_abi_version(file: &str, bytes: &[u8]) -> Result<(u16, u16), ModLoadError> {
    let mut version = None;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| ModLoadError::NotWasm { file: file.to_string(), cause: e.to_string() })?;
        if let Payload::CustomSection(section) = payload
            && section.name() == ABI_SECTION
        {
            let data = section.data();
            if data.len() != 4 {
                return Err(ModLoadError::NotWasm {
                    file: file.to_string(),
                    cause: format!("the `{ABI_SECTION}` section is {} bytes, not 4", data.len()),
                });
            }
            version = Some((u16::from_le_bytes([data[0], data[1]]), u16::from_le_bytes([data[2], data[3]])));
        }
    }
    version.ok_or_else(|| ModLoadError::NoAbiVersion { file: file.to_string() })
}

/// The manifest in the module's custom section, if it has one: `Err` if the
/// section is not UTF-8 RON of a [`Manifest`] (the message gives the line
/// and column, and names unknown or missing fields).
pub fn read_manifest(file: &str, bytes: &[u8]) -> Result<Option<Manifest>, ModLoadError> {
    let err = |cause: String| ModLoadError::Manifest { file: file.to_string(), cause };
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| ModLoadError::NotWasm { file: file.to_string(), cause: e.to_string() })?;
        if let Payload::CustomSection(section) = payload
            && section.name() == MANIFEST_SECTION
        {
            let text = std::str::from_utf8(section.data()).map_err(|e| err(format!("is not UTF-8: {e}")))?;
            return ron::from_str(text).map(Some).map_err(|e| {
                err(format!("does not parse: {e}: fix the manifest (its fields: mod-api/ABI.md, \"Manifest\")"))
            });
        }
    }
    Ok(None)
}

/// Whether this host runs mods built for ABI `major.minor`: the same major,
/// a minor up to its own.
pub(crate) fn abi_supported(major: u16, minor: u16) -> bool {
    major == ABI_MAJOR && minor <= ABI_MINOR
}

/// Checks bytes against the ABI and compiles them with `engine`.
pub fn compile(engine: &wasmtime::Engine, file: &str, bytes: &[u8]) -> Result<ModAsset, ModLoadError> {
    check_and_load(file, bytes, |bytes| compile_module(engine, file, bytes))
}

/// `bytes` compiled with `engine`.
pub(crate) fn compile_module(
    engine: &wasmtime::Engine,
    file: &str,
    bytes: &[u8],
) -> Result<wasmtime::Module, ModLoadError> {
    wasmtime::Module::new(engine, bytes)
        .map_err(|e| ModLoadError::Compile { file: file.to_string(), cause: format!("{e:#}") })
}

/// Checks `bytes` against the ABI (version, manifest), gets their code
/// from `module` (compiled, or from the compile cache), and checks the
/// code's exports, memory and imports.
pub(crate) fn check_and_load(
    file: &str,
    bytes: &[u8],
    module: impl FnOnce(&[u8]) -> Result<wasmtime::Module, ModLoadError>,
) -> Result<ModAsset, ModLoadError> {
    let (major, minor) = read_abi_version(file, bytes)?;
    let manifest = read_manifest(file, bytes)?;
    if !abi_supported(major, minor) {
        return Err(ModLoadError::AbiMismatch {
            file: file.to_string(),
            mod_major: major,
            mod_minor: minor,
            host_major: ABI_MAJOR,
            host_minor: ABI_MINOR,
        });
    }
    let module = module(bytes)?;
    for export in [abi::exports::MEMORY, abi::exports::ALLOC, abi::exports::INIT, abi::exports::RUN] {
        if module.get_export(export).is_none() {
            return Err(ModLoadError::MissingExport { file: file.to_string(), export });
        }
    }
    // Pointers are 32-bit (ABI.md, "Global rules"): a 64-bit or shared
    // memory would be read with the wrong width, so it is refused here.
    match module.get_export(abi::exports::MEMORY) {
        Some(wasmtime::ExternType::Memory(m)) if !m.is_64() && !m.is_shared() => {}
        Some(wasmtime::ExternType::Memory(m)) => {
            let what = if m.is_64() { "64-bit" } else { "shared" };
            return Err(ModLoadError::BadMemory {
                file: file.to_string(),
                cause: format!("its memory is {what}; the ABI takes an unshared 32-bit memory"),
            });
        }
        _ => {
            return Err(ModLoadError::BadMemory {
                file: file.to_string(),
                cause: "its export `memory` is not a memory".to_string(),
            });
        }
    }
    for import in module.imports() {
        let known = import.module() == abi::IMPORT_MODULE && abi::imports::ALL.contains(&import.name());
        if !known {
            return Err(ModLoadError::UnknownImport {
                file: file.to_string(),
                module: import.module().to_string(),
                name: import.name().to_string(),
            });
        }
    }
    static SERIAL: AtomicU64 = AtomicU64::new(1);
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let digest = digest(bytes);
    Ok(ModAsset { file: file.to_string(), module, abi: (major, minor), manifest, serial, digest, tier_up: None })
}

/// A hash of a mod file's bytes (FNV-1a over 64-bit words), to tell a new
/// version from the same bytes written again. Not for security: a mod that
/// wants to be reloaded only has to change.
pub fn digest(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().expect("8 bytes"))).wrapping_mul(PRIME);
        h ^= h >> 29;
    }
    for &b in words.remainder() {
        h = (h ^ b as u64).wrapping_mul(PRIME);
    }
    h
}

impl AssetLoader for ModLoader {
    type Asset = ModAsset;
    type Settings = ();
    type Error = ModLoadError;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        _settings: &(),
        load_context: &mut LoadContext<'_>,
    ) -> Result<ModAsset, ModLoadError> {
        let file = load_context.path().to_string();
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).await.map_err(|source| ModLoadError::Io { file: file.clone(), source })?;
        self.runtime.compile(&file, &bytes)
    }

    fn extensions(&self) -> &[&str] {
        &["wasm"]
    }
}
