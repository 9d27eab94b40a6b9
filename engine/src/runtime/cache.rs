//! Compiled mods on disk: a mod whose optimized code was compiled once
//! loads it without compiling at the next start (or the next time its bytes
//! come back, say an undo in `--dev`), skipping the baseline tier. Only
//! optimized code is kept: baseline code is what a module never seen needs,
//! and writing it would compete with the reload it is for.
//!
//! One file per module and compiler, named by the BLAKE3 hash of the
//! module's bytes and the compiler's tier: `{hash}.{baseline|optimized}.cwasm`.
//! Each holds a header (a magic tag, the module's hash again, and the
//! BLAKE3 hash of the compiled code) and the code as wasmtime serializes it.
//!
//! Deserializing compiled code is `unsafe`: wasmtime runs it as is. So an
//! entry is trusted only after its header matches and its code hashes to
//! what the header says; wasmtime then refuses code made by another
//! version or configuration of itself. A truncated, corrupt or foreign
//! entry is deleted, logged, and the module compiled again. The folder
//! must be as trusted as the game's own files (whoever may write there
//! could write the game's executable too). It may be deleted at any time.
//!
//! Entries are written on a thread of their own, so caching adds nothing
//! to a load or a reload. The folder is kept under [`CodeCache::max_bytes`]
//! by deleting the least recently used entries (a hit marks an entry used),
//! so `--dev`, which makes a new module at every save, never fills a disk.

use super::Tier;
use bevy::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// The first bytes of every entry (the version of this format last).
const MAGIC: &[u8; 8] = b"BMODC\0\0\x01";
/// Magic, the module's hash, the code's hash.
const HEADER: usize = 8 + 32 + 32;

/// A folder of compiled mods. See the module docs.
#[derive(Clone, Debug)]
pub struct CodeCache {
    dir: PathBuf,
    /// The most bytes the folder's entries may take (512 MiB by default).
    pub max_bytes: u64,
    /// Entries being written, and a signal when that count changes.
    writing: Arc<(Mutex<usize>, Condvar)>,
}

/// What a module is known by in the cache: the hash of its bytes.
pub type Key = blake3::Hash;

impl CodeCache {
    /// A cache in `dir` (made when the first entry is written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CodeCache { dir: dir.into(), max_bytes: 512 << 20, writing: Default::default() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of a module's bytes.
    pub fn key(bytes: &[u8]) -> Key {
        blake3::hash(bytes)
    }

    fn path(&self, key: &Key, tier: Tier) -> PathBuf {
        let tier = match tier {
            Tier::Baseline => "baseline",
            Tier::Optimized => "optimized",
        };
        self.dir.join(format!("{}.{tier}.cwasm", key.to_hex()))
    }

    /// The module with `key` compiled by `engine` (of `tier`), if the cache
    /// holds a sound entry for it. A bad entry is removed.
    pub(crate) fn load(&self, engine: &wasmtime::Engine, key: &Key, tier: Tier) -> Option<wasmtime::Module> {
        let path = self.path(key, tier);
        let bytes = std::fs::read(&path).ok()?;
        match check(&bytes, key) {
            Ok(code) => {
                // SAFETY: `code` is what `store` wrote for this module and this
                // tier: its hash matches the header's, and the header's key is
                // the module's. wasmtime checks that its own version and
                // configuration made it.
                match unsafe { wasmtime::Module::deserialize(engine, code) } {
                    Ok(module) => {
                        // Most recently used: the last to be pruned.
                        if let Ok(f) = std::fs::File::options().append(true).open(&path) {
                            let _ = f.set_modified(std::time::SystemTime::now());
                        }
                        return Some(module);
                    }
                    Err(e) => {
                        warn!("compile cache: {} was made by another engine ({e}); compiling again", path.display())
                    }
                }
            }
            Err(why) => warn!("compile cache: {} is {why}; compiling again", path.display()),
        }
        let _ = std::fs::remove_file(&path);
        None
    }

    /// Writes `module` (of `tier`, with `key`) to the cache on a thread of
    /// its own (see [`write`](Self::write)).
    pub(crate) fn store(&self, key: &Key, tier: Tier, module: &wasmtime::Module) {
        let (cache, key, module) = (self.clone(), *key, module.clone());
        *self.writing.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let spawned = std::thread::Builder::new().name("mod-cache-write".into()).spawn(move || {
            cache.write(&key, tier, &module);
            cache.done_writing();
        });
        if let Err(e) = spawned {
            warn!("compile cache: cannot start a thread to write an entry: {e}");
            self.done_writing();
        }
    }

    fn done_writing(&self) {
        let (count, changed) = &*self.writing;
        *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        changed.notify_all();
    }

    /// Waits until every entry the cache started writing is written
    /// (for tools and tests that read the folder next).
    pub fn flush(&self) {
        let (count, changed) = &*self.writing;
        let mut n = count.lock().unwrap_or_else(|e| e.into_inner());
        while *n > 0 {
            n = changed.wait(n).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Writes `module` (of `tier`, with `key`) to the cache: to a file of
    /// its own first, renamed into place, so a reader never sees half an
    /// entry; then prunes the folder. Failing to write is logged and
    /// otherwise ignored.
    pub fn write(&self, key: &blake3::Hash, tier: Tier, module: &wasmtime::Module) {
        let result = (|| -> Result<(), String> {
            let code = module.serialize().map_err(|e| e.to_string())?;
            let mut entry = Vec::with_capacity(HEADER + code.len());
            entry.extend_from_slice(MAGIC);
            entry.extend_from_slice(key.as_bytes());
            entry.extend_from_slice(blake3::hash(&code).as_bytes());
            entry.extend_from_slice(&code);
            std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
            let path = self.path(key, tier);
            // Unique per writer: two games (or tests) sharing a cache never
            // write the same staging file.
            static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let staged = path.with_extension(format!("{}.{n}.part", std::process::id()));
            std::fs::write(&staged, &entry).map_err(|e| e.to_string())?;
            std::fs::rename(&staged, &path).map_err(|e| {
                let _ = std::fs::remove_file(&staged);
                e.to_string()
            })
        })();
        if let Err(e) = result {
            warn!("compile cache: cannot write to {}: {e}", self.dir.display());
        }
        self.prune();
    }

    /// Deletes the least recently used entries until the rest take at most
    /// [`max_bytes`](Self::max_bytes).
    fn prune(&self) {
        let Ok(read) = std::fs::read_dir(&self.dir) else { return };
        let files: Vec<std::fs::DirEntry> = read.filter_map(|e| e.ok()).collect();
        // A staging file an hour old was left by a game that exited while
        // writing it.
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for e in files.iter().filter(|e| e.path().extension().is_some_and(|x| x == "part")) {
            if e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < hour_ago) {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = files
            .iter()
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

/// The code of entry `bytes`, if its header is sound, it is for `key`, and
/// the code hashes to what the header says.
fn check<'a>(bytes: &'a [u8], key: &Key) -> Result<&'a [u8], &'static str> {
    if bytes.len() < HEADER {
        return Err("truncated");
    }
    let (header, code) = bytes.split_at(HEADER);
    if &header[..8] != MAGIC {
        return Err("not a cache entry of this format");
    }
    if &header[8..40] != key.as_bytes() {
        return Err("the entry of another module");
    }
    if &header[40..72] != blake3::hash(code).as_bytes() {
        return Err("corrupt (its code does not match its hash)");
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &Key, code: &[u8]) -> Vec<u8> {
        [MAGIC.as_slice(), key.as_bytes(), blake3::hash(code).as_bytes(), code].concat()
    }

    #[test]
    fn pruning_deletes_the_least_recently_used_entries() {
        let dir = std::env::temp_dir().join(format!("engine-cache-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let day = std::time::Duration::from_secs(86_400);
        let now = std::time::SystemTime::now();
        for (name, age) in [("old", 3), ("mid", 2), ("new", 1)] {
            let path = dir.join(format!("{name}.optimized.cwasm"));
            std::fs::write(&path, [0u8; 100]).unwrap();
            std::fs::File::options().append(true).open(&path).unwrap().set_modified(now - day * age).unwrap();
        }
        std::fs::write(dir.join("not-an-entry.txt"), [0u8; 1000]).unwrap();
        for (name, age) in [("stale.1.part", day), ("writing.2.part", std::time::Duration::ZERO)] {
            std::fs::write(dir.join(name), [0u8; 10]).unwrap();
            std::fs::File::options().append(true).open(dir.join(name)).unwrap().set_modified(now - age).unwrap();
        }
        let cache = CodeCache { max_bytes: 200, ..CodeCache::new(&dir) };
        cache.prune();
        let mut left: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, ["mid.optimized.cwasm", "new.optimized.cwasm", "not-an-entry.txt", "writing.2.part"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_a_sound_entry_for_the_key_passes() {
        let key = CodeCache::key(b"module bytes");
        let good = entry(&key, b"compiled code");
        assert_eq!(check(&good, &key), Ok(b"compiled code".as_slice()));
        assert_eq!(check(&good[..good.len() - 1], &key), Err("corrupt (its code does not match its hash)"));
        assert_eq!(check(&good[..HEADER - 1], &key), Err("truncated"));
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(check(&flipped, &key).is_err());
        let other = CodeCache::key(b"other module");
        assert_eq!(check(&good, &other), Err("the entry of another module"));
        let mut foreign = good;
        foreign[7] = 2;
        assert_eq!(check(&foreign, &key), Err("not a cache entry of this format"));
    }
}
