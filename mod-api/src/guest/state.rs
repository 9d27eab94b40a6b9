//! Mod state that survives a hot reload: resources added with
//! [`App::init_saved_resource`](crate::App::init_saved_resource) are written
//! to RON by the old version and read back by the new one (ABI.md, "State").
//!
//! serde's rules decide what carries over: a field added with
//! `#[serde(default)]` takes its default, a removed field is ignored, a field
//! renamed with `#[serde(alias = "old_name")]` keeps its value.

use super::registry;
use ron::value::RawValue;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The state document: what the old version hands the new one, as RON.
/// A migration hook ([`App::on_migrate`](crate::App::on_migrate)) edits it
/// before the saved resources are read from it.
///
/// ```
/// use mod_api::SavedState;
///
/// let mut state = SavedState { name: "my-mod".into(), version: "1.0.0".into(), resources: Default::default() };
/// state.set("my_mod::Lives", &3.0f32).unwrap();
/// assert_eq!(state.get::<f32>("my_mod::Lives"), Some(Ok(3.0)));
/// assert_eq!(state.get::<f32>("my_mod::Score"), None);
/// assert!(state.get::<String>("my_mod::Lives").unwrap().is_err());
/// assert_eq!(state.remove("my_mod::Lives").as_deref(), Some("3.0"));
/// ```
#[derive(Serialize, Deserialize, Debug)]
pub struct SavedState {
    /// The mod's name (its manifest's `id`) when the state was saved.
    pub name: String,
    /// The mod's version when the state was saved: what a migration hook
    /// receives as `old_version`.
    pub version: String,
    /// Each saved resource by type name, as RON.
    pub resources: BTreeMap<String, Box<RawValue>>,
}

/// Writes one saved resource as RON.
pub(crate) type SaveFn = fn() -> Result<Box<RawValue>, String>;
/// Reads one saved resource back from RON.
pub(crate) type RestoreFn = fn(&RawValue) -> Result<(), String>;

impl SavedState {
    /// Resource `key` (a type path, e.g. `"my_mod::Score"`) read as `T`:
    /// `None` if absent, `Some(Err)` if it does not read as `T`.
    pub fn get<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Option<Result<T, String>> {
        self.resources.get(key).map(|raw| raw.into_rust().map_err(|e| e.to_string()))
    }
    /// Sets resource `key` to `value`.
    pub fn set<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), String> {
        let raw = RawValue::from_rust(value).map_err(|e| e.to_string())?;
        self.resources.insert(key.to_string(), raw);
        Ok(())
    }
    /// Removes resource `key`, returning its RON text.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.resources.remove(key).map(|raw| raw.get_ron().to_string())
    }
    /// The saved resources' keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }
}

/// The state exports' implementation, set when the first resource is
/// saved (`App::init_saved_resource`).
#[derive(Clone, Copy)]
pub(crate) struct StateIo {
    pub save: fn(&str, &str) -> i64,
    pub restore: fn(i32, i32) -> i64,
}

/// What `init_saved_resource` installs.
pub(crate) const STATE_IO: StateIo = StateIo { save, restore };

/// A migration hook: `(old version, old state)`, see
/// [`App::on_migrate`](crate::App::on_migrate).
pub(crate) type MigrateFn = fn(&str, &mut SavedState);

pub(crate) struct SavedResource {
    pub name: &'static str,
    pub save: SaveFn,
    pub restore: RestoreFn,
}

pub(crate) fn saver<T: crate::Resource + Serialize>() -> Result<Box<RawValue>, String> {
    let ptr = registry::resource_ptr::<T>().ok_or("resource missing")?;
    // SAFETY: resources live as long as the instance; no system runs now.
    RawValue::from_rust(unsafe { &*ptr }).map_err(|e| e.to_string())
}

pub(crate) fn restorer<T: crate::Resource + for<'de> Deserialize<'de>>(raw: &RawValue) -> Result<(), String> {
    let value: T = raw.into_rust().map_err(|e| e.to_string())?;
    registry::with(|r| r.insert_resource(value));
    Ok(())
}

/// `mod_save_state`: the saved resources as a RON [`SavedState`].
pub fn save(name: &str, version: &str) -> i64 {
    let mut resources = BTreeMap::new();
    let savers: Vec<(&'static str, SaveFn)> = registry::with(|r| r.saved.iter().map(|s| (s.name, s.save)).collect());
    for (name, save) in savers {
        match save() {
            Ok(raw) => {
                resources.insert(name.to_string(), raw);
            }
            Err(e) => panic!("cannot save resource {name}: {e}"),
        }
    }
    let doc = SavedState { name: name.to_string(), version: version.to_string(), resources };
    super::export::hand_out(
        ron::ser::to_string_pretty(&doc, ron::ser::PrettyConfig::default()).expect("state serializes"),
    )
}

/// `mod_restore_state`: reads a [`SavedState`]; returns 0, or the packed
/// address of an error message naming what could not be restored.
pub fn restore(ptr: i32, len: i32) -> i64 {
    // SAFETY: the host wrote `len` bytes at `ptr` in a buffer from `mod_alloc`.
    let bytes = unsafe { core::slice::from_raw_parts(ptr as usize as *const u8, len as usize) };
    let result = (|| {
        let text = core::str::from_utf8(bytes).map_err(|e| format!("state is not UTF-8: {e}"))?;
        let mut doc: SavedState = ron::from_str(text).map_err(|e| format!("state does not parse: {e}"))?;
        if let Some(migrate) = registry::with(|r| r.migrate) {
            let from = doc.version.clone();
            migrate(&from, &mut doc);
        }
        let restorers: Vec<(&'static str, RestoreFn)> =
            registry::with(|r| r.saved.iter().map(|s| (s.name, s.restore)).collect());
        let mut errors = Vec::new();
        for (name, restore) in restorers {
            if let Some(raw) = doc.resources.get(name)
                && let Err(e) = restore(raw)
            {
                errors.push(format!("{name}: {e}"));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
    })();
    match result {
        Ok(()) => 0,
        Err(e) => super::export::hand_out(e),
    }
}
