//! Save games: the whole modded game in one RON file, and back.
//!
//! A save holds every entity that has a component mods can see (the
//! engine's ABI components and every mod-declared one), each component by
//! field name (the runtime's `values` module), the layout of every component it contains, and
//! each running mod's state as its `mod_save_state` RON. Loading reverses
//! it: values are converted to the current layouts by field name (so a save
//! survives mods changing their components), entity ids inside components
//! are remapped to the new entities, and each mod's state goes through
//! `mod_restore_state` (and its migration hook, if the version changed).
//!
//! Loading is all or nothing: the file is parsed, every value converted and
//! every mod's state restored into fresh instances before the world is
//! touched. Any error names the file (and, for syntax errors, the line and
//! column) and leaves the running game as it was. Writing goes to a
//! temporary file renamed over the target, so a failed save never destroys
//! an older one.
//!
//! Not saved: messages in flight (they live two frames), and engine state
//! outside the ABI components (a game saves its own). Entity ids a mod keeps
//! in its *state* are not remapped: keep entity references in components.

use super::components::{ModComponents, NamedComponent, check_field_list, insert_bytes};
use super::instance::ModInstance;
use super::registry::{Life, Live};
use super::{ModFrameInput, ModRegistry, WasmRuntime, values};
use bevy::prelude::*;
use mod_api::abi::ComponentDecl;
use ron::Value;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Version of the save file format.
pub const SAVE_FORMAT: u32 = 1;

/// A saved game, as RON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveGame {
    /// [`SAVE_FORMAT`] of the file.
    pub format: u32,
    /// The mods' frame counter when saved.
    pub frame: u64,
    /// The mods' `FixedUpdate` step counter when saved. Together with the
    /// frame counter and the base seed it gives every later seed (files
    /// written before it existed load with 0).
    #[serde(default)]
    pub fixed_steps: u64,
    /// Every mod that was running, with its state.
    pub mods: Vec<SavedMod>,
    /// The layout of every component the entities carry.
    pub components: Vec<ComponentDecl>,
    pub entities: Vec<SavedEntity>,
}

/// One mod in a [`SaveGame`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedMod {
    pub file: String,
    pub name: String,
    pub version: String,
    /// The mod's `mod_save_state` document, inline; `None` if it keeps no state.
    pub state: Option<Box<ron::value::RawValue>>,
}

/// One entity in a [`SaveGame`]: its id when saved (for references from
/// other components) and its components by name, each a map of fields
/// (or a list of bytes, for a component whose declarer listed no fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedEntity {
    pub id: u64,
    pub components: BTreeMap<String, Value>,
}

/// Asks the runtime to save or load at the next frame boundary.
#[derive(Message, Debug, Clone)]
pub enum SaveGameRequest {
    Save(PathBuf),
    Load(PathBuf),
}

/// What became of a [`SaveGameRequest`]: `Ok` with a summary, or the error.
#[derive(Message, Debug, Clone)]
pub struct SaveGameDone {
    pub request: SaveGameRequest,
    pub result: Result<String, String>,
}

/// The head of a mod state document (see `mod_api::SavedState`).
#[derive(Deserialize)]
struct StateHead {
    name: String,
    version: String,
}

/// Takes a snapshot of the game. Calls every running mod's `mod_save_state`.
pub fn save_game(world: &mut World) -> Result<SaveGame, String> {
    let mut mods = Vec::new();
    world.resource_scope(|_, mut registry: Mut<ModRegistry>| {
        for entry in registry.mods.iter_mut() {
            let Some(live) = entry.life.live_mut() else { continue };
            let instance = &mut live.instance;
            let could_not = |e: String| format!("mod {} could not save its state: {e}", entry.file);
            let state = instance.save_state().map_err(|e| could_not(e.to_string()))?;
            let state = state
                .map(|text| ron::value::RawValue::from_boxed_ron(text.into_boxed_str()))
                .transpose()
                .map_err(|e| could_not(format!("its state is not RON: {e}")))?;
            mods.push(SavedMod {
                file: entry.file.clone(),
                name: entry.name.clone(),
                version: entry.version.clone(),
                state,
            });
        }
        Ok::<_, String>(())
    })?;

    let comps = world.resource::<ModComponents>();
    let mut known: Vec<(&str, NamedComponent)> = comps.iter().collect();
    // Plain-data components first: they say which entities are the mods'.
    // Bevy's components seen through adapters (a `Transform`) are saved
    // only on those, not on every camera and light of the game.
    known.sort_by_key(|(name, c)| (c.adapter.is_some(), *name));
    let mut components = Vec::new();
    let mut by_entity: BTreeMap<(u32, u64), BTreeMap<String, Value>> = BTreeMap::new();
    for (name, c) in known {
        let fields = comps.fields(name);
        let mut any = false;
        for (entity, bytes) in comps.values_of(world, c) {
            if c.adapter.is_some() && !by_entity.contains_key(&(entity.index_u32(), entity.to_bits())) {
                continue;
            }
            let value = match fields {
                Some(fields) => values::read(&bytes, fields),
                None => Value::Seq(bytes.iter().map(|&b| Value::Number(b.into())).collect()),
            };
            by_entity.entry((entity.index_u32(), entity.to_bits())).or_default().insert(name.to_string(), value);
            any = true;
        }
        if any {
            let fields = fields.map(<[_]>::to_vec);
            components.push(ComponentDecl { name: name.to_string(), size: c.size, align: c.align, fields });
        }
    }
    let entities = by_entity.into_iter().map(|((_, id), components)| SavedEntity { id, components }).collect();
    let input = world.resource::<ModFrameInput>();
    Ok(SaveGame {
        format: SAVE_FORMAT,
        frame: input.header.frame,
        fixed_steps: input.fixed_steps,
        mods,
        components,
        entities,
    })
}

/// Writes `save` to `path` as RON, through a temporary file in the same
/// folder renamed over `path`: an existing save is replaced only by a
/// complete new one.
pub fn write_save(path: &Path, save: &SaveGame) -> Result<(), String> {
    let text = ron::ser::to_string_pretty(save, ron::ser::PrettyConfig::default())
        .map_err(|e| format!("cannot write save {}: {e}", path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("ron.tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write save {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write save {}: {e}", path.display()))
}

/// Reads a save file. Errors name the file, and for RON errors the line and
/// column.
pub fn read_save(path: &Path) -> Result<SaveGame, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read save {}: {e}", path.display()))?;
    let save: SaveGame = ron::from_str(&text).map_err(|e| format!("save {}:{e}", path.display()))?;
    if save.format != SAVE_FORMAT {
        return Err(format!(
            "save {} has format {}, this engine reads format {SAVE_FORMAT}",
            path.display(),
            save.format
        ));
    }
    Ok(save)
}

/// Replaces the running game with the one saved in `path`: entities, their
/// components and every mod's state. All or nothing (see the module docs).
/// Returns a one-line summary.
pub fn load_game(world: &mut World, path: &Path) -> Result<String, String> {
    let save = read_save(path)?;
    let in_file = |what: String| format!("save {}: {what}", path.display());

    // 1. Every component value, converted to the current layouts (entity ids
    //    are only checked here; they are remapped once the entities exist).
    let plans = component_plans(world, &save).map_err(in_file)?;
    for (n, entity) in save.entities.iter().enumerate() {
        for (name, value) in &entity.components {
            plans[name.as_str()]
                .convert(value, &mut |id| id)
                .map_err(|e| in_file(format!("entity {n}, {name}: {e}")))?;
        }
    }

    // 2. Every saved mod's state, restored into a fresh instance.
    let mut registry = world.remove_resource::<ModRegistry>().expect("the modding plugin is installed");
    let fresh = match restore_mods(world, &registry, &save) {
        Ok(fresh) => fresh,
        Err(e) => {
            world.insert_resource(registry);
            return Err(in_file(e));
        }
    };

    // 3. Commit: the saved entities replace the modded ones, the fresh
    //    instances replace the running ones.
    let visible: Vec<bevy::ecs::component::ComponentId> =
        world.resource::<ModComponents>().iter().filter(|(_, c)| c.adapter.is_none()).map(|(_, c)| c.id).collect();
    let doomed: Vec<Entity> = world
        .archetypes()
        .iter()
        .filter(|a| visible.iter().any(|&id| a.contains(id)))
        .flat_map(|a| a.entities().iter().map(|e| e.id()))
        .collect();
    for e in doomed {
        world.despawn(e);
    }
    let new_ids: HashMap<u64, u64> =
        save.entities.iter().map(|saved| (saved.id, world.spawn_empty().id().to_bits())).collect();
    let mut remap = |id: u64| new_ids.get(&id).copied().unwrap_or(id);
    for saved in &save.entities {
        let entity = Entity::from_bits(new_ids[&saved.id]);
        for (name, value) in &saved.components {
            let plan = &plans[name.as_str()];
            let bytes = plan.convert(value, &mut remap).expect("converted in step 1");
            insert_bytes(&mut world.entity_mut(entity), plan.to, &bytes);
        }
    }
    let mut restored = Vec::new();
    for (index, instance) in fresh {
        let entry = &mut registry.mods[index];
        // A disabled mod stays disabled; one waiting for a new version runs
        // its restored state.
        let was_disabled = matches!(entry.life, Life::Disabled(_));
        entry.life.become_(|live| {
            let live = Live { instance, ..live.expect("only mods with an instance are restored") };
            if was_disabled { Life::Disabled(live) } else { Life::Running(live) }
        });
        restored.push(entry.name.clone());
    }
    let untouched: Vec<String> = registry
        .mods
        .iter()
        .filter(|m| m.instance().is_some() && !restored.contains(&m.name))
        .map(|m| m.name.clone())
        .collect();
    world.insert_resource(registry);
    let mut input = world.resource_mut::<ModFrameInput>();
    input.header.frame = save.frame;
    input.fixed_steps = save.fixed_steps;
    let mut summary = format!(
        "loaded {}: {} entities, state of {}",
        path.display(),
        save.entities.len(),
        if restored.is_empty() { "no mod".to_string() } else { restored.join(", ") }
    );
    if !untouched.is_empty() {
        summary.push_str(&format!("; not in the save, kept as they were: {}", untouched.join(", ")));
    }
    Ok(summary)
}

/// A fresh instance of every saved mod, its state restored, each with the
/// index of the registry entry it is to replace.
fn restore_mods(
    world: &mut World,
    registry: &ModRegistry,
    save: &SaveGame,
) -> Result<Vec<(usize, ModInstance)>, String> {
    let runtime = world.resource::<WasmRuntime>().clone();
    let mut fresh = Vec::new();
    for saved in &save.mods {
        let index =
            registry.mods.iter().position(|m| m.name == saved.name && m.instance().is_some()).ok_or_else(|| {
                format!(
                    "it holds the state of mod {} {} ({}), which is not running here: install or fix that mod",
                    saved.name, saved.version, saved.file
                )
            })?;
        let entry = &registry.mods[index];
        let old = entry.instance().expect("checked above");
        let module = old.module().clone();
        let mut instance =
            ModInstance::new(&runtime, &module, &entry.file, world, Some(old)).map_err(|e| e.to_string())?;
        instance.carry_over(old, world);
        if let Some(state) = &saved.state {
            let state = state.get_ron();
            let head: StateHead =
                ron::from_str(state).map_err(|e| format!("the state of mod {} does not parse: {e}", saved.name))?;
            if head.name != entry.name {
                return Err(format!(
                    "the state saved for mod {} belongs to mod {} {}",
                    saved.name, head.name, head.version
                ));
            }
            if let Err(why) = instance.restore_state(state).map_err(|e| e.to_string())? {
                return Err(format!("mod {} ({}) rejected its saved state: {why}", entry.name, entry.file));
            }
        }
        fresh.push((index, instance));
    }
    Ok(fresh)
}

/// How to turn one saved component's values into the current layout.
struct Plan<'a> {
    saved: &'a ComponentDecl,
    to: NamedComponent,
    /// The current layout's fields (or the saved ones, if the current
    /// declarer listed none and the size agrees).
    fields: Option<Vec<mod_api::abi::FieldDecl>>,
}

impl Plan<'_> {
    fn convert(&self, value: &Value, remap: &mut dyn FnMut(u64) -> u64) -> Result<Vec<u8>, String> {
        match (&self.fields, &self.saved.fields) {
            (Some(fields), Some(_)) => values::write(value, fields, self.to.size as usize, remap),
            _ => {
                // Raw bytes: only the same size carries over.
                let Value::Seq(items) = value else {
                    return Err("expected a list of bytes (the component lists no fields)".into());
                };
                let bytes: Vec<u8> = items
                    .iter()
                    .map(|v| match v {
                        Value::Number(n) => u8::try_from(n.into_f64() as i64).map_err(|_| "not a byte".to_string()),
                        _ => Err("not a byte".to_string()),
                    })
                    .collect::<Result<_, _>>()?;
                if bytes.len() != self.to.size as usize {
                    return Err(format!("{} bytes saved, the component is {} bytes now", bytes.len(), self.to.size));
                }
                Ok(bytes)
            }
        }
    }
}

fn component_plans<'a>(world: &World, save: &'a SaveGame) -> Result<HashMap<&'a str, Plan<'a>>, String> {
    let comps = world.resource::<ModComponents>();
    let mut plans = HashMap::new();
    for saved in &save.components {
        let to = comps.get(&saved.name).ok_or_else(|| {
            format!("component {} is not declared by any running mod: install the mod that defines it", saved.name)
        })?;
        let fields = match (comps.fields(&saved.name), &saved.fields) {
            (Some(current), _) => Some(current.to_vec()),
            (None, Some(old)) if saved.size == to.size => Some(old.clone()),
            (None, _) => None,
        };
        check_field_list(saved)?;
        plans.insert(saved.name.as_str(), Plan { saved, to, fields });
    }
    for (n, entity) in save.entities.iter().enumerate() {
        if let Some(name) = entity.components.keys().find(|name| !plans.contains_key(name.as_str())) {
            return Err(format!("entity {n} has component {name}, which the save's component list lacks"));
        }
    }
    Ok(plans)
}

/// Serves [`SaveGameRequest`]s at the frame boundary (after mods start).
pub(crate) fn handle_save_requests(world: &mut World) {
    let requests: Vec<SaveGameRequest> = world.resource_mut::<Messages<SaveGameRequest>>().drain().collect();
    for request in requests {
        let result = match &request {
            SaveGameRequest::Save(path) => save_game(world).and_then(|save| {
                write_save(path, &save)?;
                Ok(format!("saved {} entities to {}", save.entities.len(), path.display()))
            }),
            SaveGameRequest::Load(path) => load_game(world, path),
        };
        match &result {
            Ok(summary) => info!("{summary}"),
            Err(e) => error!("{e}"),
        }
        world.write_message(SaveGameDone { request, result });
    }
}

/// Save games on request ([`SaveGameRequest`]), at the frame boundary
/// after mods start: no mod code is on the stack while the game is saved
/// or replaced.
pub struct SaveGamePlugin;

impl Plugin for SaveGamePlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<SaveGameRequest>().add_message::<SaveGameDone>().add_systems(
            PreUpdate,
            handle_save_requests.after(super::lifecycle::activate_mods).in_set(super::ModSystems::Activate),
        );
    }
}
