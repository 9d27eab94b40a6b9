//! The process-wide wasmtime state: two compilers (tiered compilation),
//! a linker each, and the epoch ticker that enforces deadlines.

use super::asset::{check_and_load, compile_module};
use super::cache::CodeCache;
use super::instance::{self, HostState};
use super::{ModAsset, ModLimits, ModLoadError};
use bevy::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The process-wide wasmtime state: two compilers and one linker each.
///
/// Mods compile twice (tiered compilation, as browsers do): first with the
/// baseline compiler, winch, which is about seven times faster than
/// cranelift and makes worse code, so a changed mod runs within a frame or
/// two; then with the optimizing compiler, cranelift, in the background,
/// and the optimized code is swapped in at a later frame boundary with the
/// mod's state (see `tier_up_mods`). Both engines interrupt on the same
/// epoch ticks.
#[derive(Resource, Clone)]
pub struct WasmRuntime {
    /// The optimizing compiler (cranelift) and the linker for its modules.
    pub engine: wasmtime::Engine,
    pub linker: Arc<wasmtime::Linker<HostState>>,
    /// The baseline compiler (winch), where this platform has it.
    baseline: Option<(wasmtime::Engine, Arc<wasmtime::Linker<HostState>>)>,
    pub limits: ModLimits,
    /// Compiled code kept on disk, if the game keeps it ([`with_cache`](Self::with_cache)).
    cache: Option<CodeCache>,
    ticker_stop: Arc<AtomicBool>,
}

/// Which compiler made a module's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tier {
    /// Winch: compiled fast, runs slower; replaced by optimized code soon.
    Baseline,
    /// Cranelift.
    Optimized,
}

impl WasmRuntime {
    /// Both engines with epoch interruption, their linkers, and the epoch
    /// ticker. Without a baseline compiler for this platform, mods compile
    /// once, optimized.
    pub fn new(limits: ModLimits) -> Self {
        let tier = |strategy: wasmtime::Strategy| -> wasmtime::Result<_> {
            let mut config = wasmtime::Config::new();
            config.epoch_interruption(true).strategy(strategy);
            let engine = wasmtime::Engine::new(&config)?;
            let mut linker = wasmtime::Linker::new(&engine);
            instance::define_imports(&mut linker).expect("host functions have distinct names");
            Ok((engine, Arc::new(linker)))
        };
        let (engine, linker) = tier(wasmtime::Strategy::Cranelift).expect("a default wasmtime config is valid");
        let baseline = tier(wasmtime::Strategy::Winch)
            .inspect_err(|e| info!("no baseline compiler on this platform ({e}); mods compile optimized only"))
            .ok();
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let weak: Vec<_> =
            std::iter::once(&engine).chain(baseline.as_ref().map(|(e, _)| e)).map(|e| e.weak()).collect();
        let stop = ticker_stop.clone();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    for engine in &weak {
                        match engine.upgrade() {
                            Some(engine) => engine.increment_epoch(),
                            None => return,
                        }
                    }
                }
            })
            .expect("can spawn the epoch thread");
        WasmRuntime { engine, linker, baseline, limits, cache: None, ticker_stop }
    }

    /// The same runtime, keeping optimized code in `cache`: a module whose
    /// optimized code was compiled before loads it without compiling,
    /// skipping the baseline tier.
    pub fn with_cache(mut self, cache: CodeCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The compile cache, if any.
    pub fn cache(&self) -> Option<&CodeCache> {
        self.cache.as_ref()
    }

    /// The optimized code of `bytes`: from the cache if it holds it, else
    /// compiled and then written to it (in the background).
    fn optimized_module(&self, file: &str, bytes: &[u8]) -> Result<wasmtime::Module, ModLoadError> {
        let Some(cache) = &self.cache else { return compile_module(&self.engine, file, bytes) };
        let key = CodeCache::key(bytes);
        if let Some(module) = cache.load(&self.engine, &key, Tier::Optimized) {
            debug!("mod {file}: optimized code from the compile cache");
            return Ok(module);
        }
        let module = compile_module(&self.engine, file, bytes)?;
        cache.store(&key, Tier::Optimized, &module);
        Ok(module)
    }

    /// The optimized code of `bytes`, if the cache holds it.
    fn cached_optimized(&self, bytes: &[u8]) -> Option<wasmtime::Module> {
        self.cache.as_ref()?.load(&self.engine, &CodeCache::key(bytes), Tier::Optimized)
    }

    /// Checks `bytes` against the ABI and compiles them with the fastest
    /// compiler that takes them: the baseline one if there is one (the
    /// asset then carries the bytes for [`tier_up`](Self::tier_up)), else
    /// the optimizing one.
    pub fn compile(&self, file: &str, bytes: &[u8]) -> Result<ModAsset, ModLoadError> {
        let optimized = |bytes: &[u8]| self.optimized_module(file, bytes);
        let Some((baseline, _)) = &self.baseline else { return check_and_load(file, bytes, optimized) };
        // Optimized code compiled before: no need for the baseline tier.
        if let Some(module) = self.cached_optimized(bytes) {
            return check_and_load(file, bytes, |_| Ok(module));
        }
        // NOTE: baseline code is not cached: writing it competes with the
        // reload it is for (about 45 ms of `file_to_new_code` on two cores),
        // and a start that finds optimized code needs none.
        match check_and_load(file, bytes, |bytes| compile_module(baseline, file, bytes)) {
            Ok(mut asset) => {
                asset.tier_up = Some(bytes.into());
                Ok(asset)
            }
            // NOTE: winch lacks some proposals cranelift has; the optimizing
            // compiler decides, and reports the error if the module is bad.
            Err(ModLoadError::Compile { cause, .. }) => {
                let asset = check_and_load(file, bytes, optimized)?;
                info!("mod {file}: the baseline compiler does not take it ({cause}); it runs optimized code only");
                Ok(asset)
            }
            Err(e) => Err(e),
        }
    }

    /// Compiles a baseline asset's bytes with the optimizing compiler.
    pub fn tier_up(&self, asset: &ModAsset) -> Option<Result<wasmtime::Module, ModLoadError>> {
        let bytes = asset.tier_up.as_ref()?;
        Some(check_and_load(&asset.file, bytes, |b| self.optimized_module(&asset.file, b)).map(|a| a.module))
    }

    /// The linker for `module`, by the engine that compiled it.
    pub fn linker_for(&self, module: &wasmtime::Module) -> &wasmtime::Linker<HostState> {
        match (self.tier_of(module), &self.baseline) {
            (Tier::Baseline, Some((_, linker))) => linker,
            _ => &self.linker,
        }
    }

    /// Which compiler made `module`.
    pub fn tier_of(&self, module: &wasmtime::Module) -> Tier {
        match &self.baseline {
            Some((engine, _)) if wasmtime::Engine::same(module.engine(), engine) => Tier::Baseline,
            _ => Tier::Optimized,
        }
    }
}

impl Drop for WasmRuntime {
    fn drop(&mut self) {
        if Arc::strong_count(&self.ticker_stop) == 2 {
            self.ticker_stop.store(true, Ordering::Relaxed);
        }
    }
}
