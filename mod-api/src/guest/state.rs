//! Mod state that survives a hot reload: resources added with
//! [`App::init_saved_resource`](crate::App::init_saved_resource) are written
//! to RON by the old version and read back by the new one (ABI.md, "State").
//!
//! serde's rules decide what carries over: a field added with
//! `#[serde(default)]` takes its default, a removed field is ignored, a field
//! renamed with `#[serde(alias = "old_name")]` keeps its value.
//!
//! The RON is written and read by the SDK's own serializer
//! ([`ron_serde`]), not the `ron` crate, which would
//! make every mod with saved state some 200 KiB larger.

use super::ron_out::push_quoted;
use super::{registry, ron_serde};
use serde::{Deserialize, Serialize};

/// The state document: what the old version hands the new one, as RON.
/// A migration hook ([`App::on_migrate`](crate::App::on_migrate)) edits it
/// before the saved resources are read from it.
///
/// ```
/// use mod_api::SavedState;
///
/// let mut state = SavedState::new("my-mod", "1.0.0");
/// state.set("my_mod::Lives", &3.0f32).unwrap();
/// assert_eq!(state.get::<f32>("my_mod::Lives"), Some(Ok(3.0)));
/// assert_eq!(state.get::<f32>("my_mod::Score"), None);
/// assert!(state.get::<String>("my_mod::Lives").unwrap().is_err());
/// assert_eq!(state.remove("my_mod::Lives").as_deref(), Some("3.0"));
/// ```
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SavedState {
    /// The mod's name (its manifest's `id`) when the state was saved.
    pub name: String,
    /// The mod's version when the state was saved: what a migration hook
    /// receives as `old_version`.
    pub version: String,
    /// Each saved resource by type name, as RON, in the document's order.
    /// NOTE: a list, not a map: a mod keeps a handful, and a `BTreeMap`'s
    /// code would add some 5 KiB to every mod with saved state (issue 15).
    #[serde(with = "as_map")]
    resources: Vec<(String, RawRon)>,
}

/// `SavedState::resources` as the RON map the document has.
mod as_map {
    use super::RawRon;
    use serde::ser::SerializeMap;

    pub fn serialize<S: serde::Serializer>(list: &[(String, RawRon)], s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(list.len()))?;
        for (key, value) in list {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, RawRon)>, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = Vec<(String, RawRon)>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a map of resource names to values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut list: Vec<(String, RawRon)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, RawRon>()? {
                    // As a map reads: a repeated key keeps its last value.
                    list.retain(|(k, _)| *k != key);
                    list.push((key, value));
                }
                Ok(list)
            }
        }
        d.deserialize_map(Entries)
    }
}

/// One value as RON text, as it stands in a [`SavedState`]: a saved
/// resource such as `(frames: 20, label: "20 frames")`, not yet read as
/// any type. It always holds exactly one valid RON value.
///
/// A migration hook can move one to another key (a resource type that was
/// renamed) without reading it, or read it as any type with
/// [`SavedState::get`].
///
/// ```
/// use mod_api::{RawRon, SavedState};
///
/// let mut state = SavedState::new("my-mod", "1.0.0");
/// state.set_raw("old::Score", RawRon::from_ron("(points: 7)").unwrap());
/// // `Score` moved from the module `old` to `new`.
/// assert!(state.rename("old::Score", "new::Score"));
/// assert_eq!(state.raw("new::Score").map(RawRon::as_str), Some("(points: 7)"));
/// assert!(RawRon::from_ron("(points: ").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RawRon(String);

impl RawRon {
    /// Checks that `text` holds one RON value, and keeps that value's text
    /// (without the whitespace and comments around it).
    pub fn from_ron(text: &str) -> Result<Self, String> {
        ron_serde::value_span(text).map(|s| RawRon(s.to_string())).map_err(|e| e.to_string())
    }
    /// The value's RON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The value's RON text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl core::fmt::Display for RawRon {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Written as the RON text itself (also by the `ron` crate, whose
/// `RawValue` has the same serde name).
impl Serialize for RawRon {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(ron_serde::RAW_VALUE, self.0.as_str())
    }
}

/// Read as the text of the next value (also from the `ron` crate).
impl<'de> Deserialize<'de> for RawRon {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = RawRon;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a RON value")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawRon, E> {
                Ok(RawRon(v.to_string()))
            }
        }
        deserializer.deserialize_newtype_struct(ron_serde::RAW_VALUE, Text)
    }
}

/// Writes one saved resource as RON.
pub(crate) type SaveFn = fn() -> Result<RawRon, String>;
/// Reads one saved resource back from RON.
pub(crate) type RestoreFn = fn(&RawRon) -> Result<(), String>;

impl SavedState {
    /// An empty document for mod `name` at `version`.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        SavedState { name: name.into(), version: version.into(), resources: Vec::new() }
    }
    /// Resource `key` (a type path, e.g. `"my_mod::Score"`) read as `T`:
    /// `None` if absent, `Some(Err)` if it does not read as `T`.
    pub fn get<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Option<Result<T, String>> {
        self.raw(key).map(|raw| ron_serde::from_str(raw.as_str()).map_err(|e| e.to_string()))
    }
    /// Sets resource `key` to `value`.
    pub fn set<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), String> {
        let raw = ron_serde::to_string(value).map_err(|e| e.to_string())?;
        self.set_raw(key, RawRon(raw));
        Ok(())
    }
    /// Resource `key` as RON text, not read as any type.
    pub fn raw(&self, key: &str) -> Option<&RawRon> {
        self.resources.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Sets resource `key` to RON text.
    pub fn set_raw(&mut self, key: &str, value: RawRon) {
        match self.resources.iter_mut().find(|(k, _)| k == key) {
            Some((_, slot)) => *slot = value,
            None => self.resources.push((key.to_string(), value)),
        }
    }
    /// Moves resource `from` to key `to` (a resource type that was renamed
    /// or moved), replacing any value `to` had. `false` if there is no `from`.
    pub fn rename(&mut self, from: &str, to: &str) -> bool {
        let Some(at) = self.resources.iter().position(|(k, _)| k == from) else { return false };
        let (_, value) = self.resources.remove(at);
        self.set_raw(to, value);
        true
    }
    /// Removes resource `key`, returning its RON text.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let at = self.resources.iter().position(|(k, _)| k == key)?;
        Some(self.resources.remove(at).1.into_string())
    }
    /// The saved resources' keys, in the document's order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.resources.iter().map(|(k, _)| k.as_str())
    }

    /// The document as RON, laid out as ABI.md shows it: one line per
    /// resource.
    fn to_ron(&self) -> String {
        let mut out = String::from("(\n    name: ");
        push_quoted(&mut out, &self.name);
        out.push_str(",\n    version: ");
        push_quoted(&mut out, &self.version);
        out.push_str(",\n    resources: {");
        for (key, value) in &self.resources {
            out.push_str("\n        ");
            push_quoted(&mut out, key);
            out.push_str(": ");
            out.push_str(value.as_str());
            out.push(',');
        }
        if !self.resources.is_empty() {
            out.push_str("\n    ");
        }
        out.push_str("},\n)");
        out
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

pub(crate) fn saver<T: crate::Resource + Serialize>() -> Result<RawRon, String> {
    let ptr = registry::resource_ptr::<T>().ok_or("resource missing")?;
    // SAFETY: resources live as long as the instance; no system runs now.
    ron_serde::to_string(unsafe { &*ptr }).map(RawRon).map_err(|e| e.to_string())
}

pub(crate) fn restorer<T: crate::Resource + for<'de> Deserialize<'de>>(raw: &RawRon) -> Result<(), String> {
    let value: T = ron_serde::from_str(raw.as_str()).map_err(|e| e.to_string())?;
    registry::with(|r| r.insert_resource(value));
    Ok(())
}

/// `mod_save_state`: the saved resources as a RON [`SavedState`].
pub fn save(name: &str, version: &str) -> i64 {
    let mut doc = SavedState::new(name, version);
    let savers: Vec<(&'static str, SaveFn)> = registry::with(|r| r.saved.iter().map(|s| (s.name, s.save)).collect());
    for (name, save) in savers {
        match save() {
            Ok(raw) => doc.set_raw(name, raw),
            Err(e) => panic!("cannot save resource {name}: {e}"),
        }
    }
    super::export::hand_out(doc.to_ron())
}

/// `mod_restore_state`: reads a [`SavedState`]; returns 0, or the packed
/// address of an error message naming what could not be restored.
pub fn restore(ptr: i32, len: i32) -> i64 {
    // SAFETY: the host wrote `len` bytes at `ptr` in a buffer from `mod_alloc`.
    let bytes = unsafe { core::slice::from_raw_parts(ptr as usize as *const u8, len as usize) };
    let result = (|| {
        let text = core::str::from_utf8(bytes).map_err(|e| format!("state is not UTF-8: {e}"))?;
        let mut doc: SavedState = ron_serde::from_str(text).map_err(|e| format!("state does not parse: {e}"))?;
        if let Some(migrate) = registry::with(|r| r.migrate) {
            let from = doc.version.clone();
            migrate(&from, &mut doc);
        }
        let restorers: Vec<(&'static str, RestoreFn)> =
            registry::with(|r| r.saved.iter().map(|s| (s.name, s.restore)).collect());
        let mut errors = Vec::new();
        for (name, restore) in restorers {
            if let Some(raw) = doc.raw(name)
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

#[cfg(test)]
mod tests {
    use super::*;
    use ron::ser::PrettyConfig;
    use ron::value::RawValue;
    use std::collections::BTreeMap;

    /// The document as the host sees it: a `ron` `RawValue` per resource.
    #[derive(Serialize, Deserialize, Debug)]
    struct HostView {
        name: String,
        version: String,
        resources: BTreeMap<String, Box<RawValue>>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    struct CounterV1 {
        frames: u64,
        label: String,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct CounterV2 {
        #[serde(alias = "frames")]
        ticks: u64,
        #[serde(default)]
        bonus: u32,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct CounterV3 {
        frames: String,
    }

    /// Pretty RON of values of different types, in one list.
    mod erased {
        pub(super) trait Pretty {
            fn pretty(&self) -> String;
        }
        impl<T: serde::Serialize> Pretty for T {
            fn pretty(&self) -> String {
                ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default()).unwrap()
            }
        }
    }

    fn state() -> SavedState {
        let mut state = SavedState::new("counter", "1.0.0");
        state.set("counter::Counter", &CounterV1 { frames: 20, label: "20 \"frames\"\n".into() }).unwrap();
        state.set("counter::Pause", &(1.5f32, Some(-0.0f64), [f32::NAN, f32::INFINITY])).unwrap();
        state.set("odd \"key\"", &()).unwrap();
        state
    }

    #[test]
    fn the_document_is_laid_out_as_abi_md_shows_it() {
        let mut state = SavedState::new("counter", "1.0.0");
        state.set("counter::version::Counter", &CounterV1 { frames: 20, label: "20 frames".into() }).unwrap();
        assert_eq!(
            state.to_ron(),
            "(\n    name: \"counter\",\n    version: \"1.0.0\",\n    resources: {\n        \
             \"counter::version::Counter\": (frames: 20, label: \"20 frames\"),\n    },\n)"
        );
        state.resources.clear();
        assert_eq!(state.to_ron(), "(\n    name: \"counter\",\n    version: \"1.0.0\",\n    resources: {},\n)");
    }

    #[test]
    fn the_host_reads_what_the_mod_saves() {
        let state = state();
        let text = state.to_ron();
        let host: HostView = ron::from_str(&text).unwrap();
        assert_eq!((host.name.as_str(), host.version.as_str()), ("counter", "1.0.0"));
        assert_eq!(host.resources.len(), 3);
        for (key, raw) in &host.resources {
            assert_eq!(raw.get_ron(), state.raw(key).unwrap().as_str());
        }
        let v1: CounterV1 = host.resources["counter::Counter"].into_rust().unwrap();
        assert_eq!(v1.label, "20 \"frames\"\n");
        // And the mod reads it back.
        let back: SavedState = ron_serde::from_str(&text).unwrap();
        assert_eq!(back.resources, state.resources);
        assert_eq!(back.to_ron(), text);
    }

    #[test]
    fn the_mod_reads_what_the_host_and_older_sdks_wrote() {
        let state = state();
        // The older SDK wrote the document with `ron`, pretty (each value
        // pretty too); save games embed it in a pretty document of their
        // own, which hands back its text.
        let pretty = |value: &dyn erased::Pretty| RawValue::from_boxed_ron(value.pretty().into_boxed_str()).unwrap();
        let values = BTreeMap::from([
            ("counter::Counter".to_string(), pretty(&CounterV1 { frames: 20, label: "20 \"frames\"\n".into() })),
            ("counter::Pause".to_string(), pretty(&(1.5f32, Some(-0.0f64), [f32::NAN, f32::INFINITY]))),
            ("odd \"key\"".to_string(), pretty(&())),
        ]);
        let old = HostView { name: "counter".into(), version: "0.9.0".into(), resources: values };
        let old_text = ron::ser::to_string_pretty(&old, PrettyConfig::default()).unwrap();
        #[derive(Serialize, Deserialize)]
        struct SaveGame {
            mods: Vec<(String, Option<Box<RawValue>>)>,
        }
        let game = SaveGame {
            mods: vec![(
                "counter.wasm".into(),
                Some(RawValue::from_boxed_ron(old_text.clone().into_boxed_str()).unwrap()),
            )],
        };
        let game_text = ron::ser::to_string_pretty(&game, PrettyConfig::default()).unwrap();
        let reloaded: SaveGame = ron::from_str(&game_text).unwrap();
        let embedded = reloaded.mods[0].1.as_ref().unwrap().get_ron().to_string();
        for text in [old_text, embedded, ron::to_string(&old).unwrap()] {
            let read: SavedState = ron_serde::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(read.version, "0.9.0");
            assert_eq!(read.keys().collect::<Vec<_>>(), state.keys().collect::<Vec<_>>());
            assert_eq!(read.get::<CounterV1>("counter::Counter"), state.get::<CounterV1>("counter::Counter"));
            let pause = read.get::<(f32, Option<f64>, [f32; 2])>("counter::Pause").unwrap().unwrap();
            assert_eq!((pause.0, pause.1.map(f64::to_bits)), (1.5, Some((-0.0f64).to_bits())));
            assert!(pause.2[0].is_nan() && pause.2[1] == f32::INFINITY);
            assert_eq!(read.get::<()>("odd \"key\""), Some(Ok(())));
        }
    }

    #[test]
    fn raw_ron_passes_through_serde_unchanged() {
        let state = state();
        // Through `ron`, both ways, as `ron`'s own `RawValue` would.
        let text = ron::to_string(&state).unwrap();
        let host: HostView = ron::from_str(&text).unwrap();
        assert_eq!(host.resources["counter::Counter"].get_ron(), state.raw("counter::Counter").unwrap().as_str());
        let back: SavedState = ron::from_str(&text).unwrap();
        assert_eq!(back.resources, state.resources);
        // Through this crate's serializer.
        let text = ron_serde::to_string(&state).unwrap();
        let host: HostView = ron::from_str(&text).unwrap();
        assert_eq!(host.resources.len(), 3);
        let back: SavedState = ron_serde::from_str(&text).unwrap();
        assert_eq!(back.resources, state.resources);
        // `from_ron` keeps the value's text, without what surrounds it.
        let raw = RawRon::from_ron(" /* a */ (frames: 3, /* b */ label: \"x\") // c\n").unwrap();
        assert_eq!(raw.as_str(), "(frames: 3, /* b */ label: \"x\")");
        assert_eq!(raw.to_string(), raw.as_str());
        assert_eq!(raw.clone().into_string(), raw.as_str());
        for bad in ["", "(frames: 3", "1 2", "#![enable(implicit_some)] 1", "\"open"] {
            assert!(RawRon::from_ron(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_read_each_others_state_as_serde_says() {
        let state = state();
        // v2: `frames` renamed with an alias, a new defaulted field, `label`
        // dropped.
        let v2 = state.get::<CounterV2>("counter::Counter").unwrap().unwrap();
        assert_eq!(v2, CounterV2 { ticks: 20, bonus: 0 });
        // v3: `frames` is text now: an error naming the cause and where.
        let e = state.get::<CounterV3>("counter::Counter").unwrap().unwrap_err();
        assert_eq!(e, "1:10: expected a string, found `20`");
        // A migration hook's edits.
        let mut state = state;
        state.set("counter::Counter", &CounterV2 { ticks: 21, bonus: 1 }).unwrap();
        assert_eq!(state.get::<CounterV2>("counter::Counter"), Some(Ok(CounterV2 { ticks: 21, bonus: 1 })));
        assert_eq!(state.remove("counter::Counter").as_deref(), Some("(ticks: 21, bonus: 1)"));
        assert_eq!(state.get::<CounterV2>("counter::Counter"), None);
        assert_eq!(state.keys().collect::<Vec<_>>(), ["counter::Pause", "odd \"key\""]);
    }

    #[test]
    fn a_document_that_does_not_parse_says_where() {
        let text = "(\n    name: \"counter\",\n    version: \"1.0.0\",\n    resources: {\"a\": (x: 1,, )},\n)";
        let e = ron_serde::from_str::<SavedState>(text).unwrap_err().to_string();
        assert_eq!(e, "4:28: expected a value, found `,`");
        let e = ron_serde::from_str::<SavedState>("(name: \"counter\")").unwrap_err().to_string();
        assert_eq!(e, "1:17: missing field `version`");
    }
}
