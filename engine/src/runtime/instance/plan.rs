//! Step 0, once per instance: the descriptor becomes plans. Components and
//! channels are resolved by name against what the game exposes, each
//! parameter gets a plan, and each schedule's systems an order
//! (ABI.md, "The descriptor").

use super::ModInstance;
use crate::runtime::components::{ModComponents, NamedComponent};
use crate::runtime::error::PlanError;
use crate::runtime::expose::{GameApi, Kind, not_exposed};
use crate::runtime::messages::{ChannelId, ModMessages};
use crate::runtime::usage::ModUsage;
use bevy::ecs::change_detection::{MAX_CHANGE_AGE, Tick};
use bevy::ecs::component::ComponentId;
use bevy::ecs::storage::TableId;
use bevy::prelude::*;
use mod_api::abi::{Access, FieldDecl, FieldType, ModDescriptor, ParamDecl, ScheduleLabel};
use std::collections::HashMap;

/// An order naming another mod's system: `(system index, the other
/// system's name, whether this one runs after it)`.
pub type ForeignOrder = (usize, String, bool);

#[derive(Clone, Copy)]
pub(super) struct Term {
    pub(super) component: NamedComponent,
    pub(super) write: bool,
    /// The mod's local id of the component (for errors).
    pub(super) local: u32,
}

pub(super) struct QueryPlan {
    /// Whether the frame carries the entity ids up front; otherwise the
    /// mod fetches them with `query_entities` when it needs them.
    pub(super) eager_ids: bool,
    pub(super) terms: Vec<Term>,
    pub(super) required: Vec<ComponentId>,
    pub(super) without: Vec<ComponentId>,
    pub(super) tables: Vec<TableId>,
    pub(super) archetypes_seen: usize,
    /// `Changed<T>` filters: a row passes if each changed since `last_run`.
    pub(super) changed: Vec<ComponentId>,
    /// `Added<T>` filters: a row passes if each was added since `last_run`.
    pub(super) added: Vec<ComponentId>,
    /// The tick of the system's last run, for the filters (as a Bevy
    /// system's `last_run`: at first, everything is newer).
    pub(super) last_run: Tick,
    /// `Populated`: the system is not called when this matches nothing.
    pub(super) populated: bool,
}

impl QueryPlan {
    /// Whether rows must pass change filters, so batches are chosen rows
    /// rather than whole tables.
    pub(super) fn filters_rows(&self) -> bool {
        !self.changed.is_empty() || !self.added.is_empty()
    }
}

impl QueryPlan {
    /// Readies the query for a run at `this_run`: the tables of new
    /// archetypes added, and a last run older than Bevy's oldest comparable
    /// tick (a `Populated` system skipped for days) clamped, as Bevy clamps
    /// its systems' (`check_change_ticks`).
    pub(super) fn prepare(&mut self, world: &World, this_run: Tick) {
        self.update(world);
        self.clamp_last_run(this_run);
    }

    /// Keeps `last_run` within Bevy's oldest comparable tick of `this_run`.
    pub(super) fn clamp_last_run(&mut self, this_run: Tick) {
        if this_run.get().wrapping_sub(self.last_run.get()) > MAX_CHANGE_AGE {
            self.last_run = Tick::new(this_run.get().wrapping_sub(MAX_CHANGE_AGE));
        }
    }

    /// Whether any table the query matches has rows.
    pub(super) fn has_rows(&self, tables: &bevy::ecs::storage::Tables) -> bool {
        self.tables.iter().any(|&t| tables.get(t).is_some_and(|t| !t.is_empty()))
    }

    /// Adds the tables of archetypes created since the last run.
    pub(super) fn update(&mut self, world: &World) {
        let archetypes = world.archetypes();
        for archetype in archetypes.iter().skip(self.archetypes_seen) {
            let matches = self.required.iter().all(|&c| archetype.contains(c))
                && !self.without.iter().any(|&c| archetype.contains(c));
            if matches && !self.tables.contains(&archetype.table_id()) {
                self.tables.push(archetype.table_id());
            }
        }
        self.archetypes_seen = archetypes.len();
    }
}

pub(super) enum ParamPlan {
    Query(QueryPlan),
    Reader {
        channel: ChannelId,
        cursor: u64,
    },
    Writer {
        channel: ChannelId,
    },
    Commands,
    Guest,
    /// A game resource: copied into the frame, and back if `write`.
    Resource {
        resource: crate::runtime::expose::ExposedResource,
        write: bool,
        local: u32,
    },
}

/// A registered mod system.
pub struct SystemPlan {
    pub name: String,
    pub schedule: ScheduleLabel,
    pub(super) index: i32,
    pub(super) params: Vec<ParamPlan>,
    /// What this system mixes into its schedule run's seed: its mod's id
    /// and its name (`crate::runtime::schedule::system_seed_key`).
    pub(super) seed_key: u64,
    /// The frame of its last run that matched nothing, to be written again
    /// ([`IdleFrame`](super::copy_in::IdleFrame)).
    pub(super) idle: Option<super::copy_in::IdleFrame>,
}

impl SystemPlan {
    /// Its queries' change filters see what changes after `this_run`.
    pub(super) fn set_last_run(&mut self, this_run: Tick) {
        for param in &mut self.params {
            if let ParamPlan::Query(q) = param {
                q.last_run = this_run;
            }
        }
    }
}

impl ModInstance {
    pub(super) fn apply_descriptor(
        &mut self,
        world: &mut World,
        d: &ModDescriptor,
        replacing: Option<&ModInstance>,
    ) -> Result<(), PlanError> {
        check_bounds(d)?;
        // A world not prepared by the plugin gets the engine's types first, so
        // no mod can claim an engine name with another layout.
        if !world.contains_resource::<ModComponents>() {
            crate::runtime::prepare_world(world);
        }
        for c in &d.components {
            let comps = world.resource::<ModComponents>();
            let current = comps.get(&c.name);
            let owned = current.zip(replacing).is_some_and(|(cur, old)| old.uses(cur.id));
            // A layout change registers a new component under the old name.
            let migrates = owned && comps.layout_change(c).is_some();
            let what = || format!("component {}", c.name);
            let named = self.within_name_quota(world, current.is_none() || migrates, what, |world| {
                world.resource_scope(|world, mut comps: Mut<ModComponents>| {
                    if migrates { Ok(comps.register_new_layout(world, c)?) } else { comps.declare(world, c) }
                })
            })?;
            if migrates {
                self.migrations.push((c.clone(), named));
            }
            self.components.push(named);
            self.component_names.push(c.name.clone());
        }
        let mut channels = Vec::new();
        for m in &d.messages {
            if let Some(api) = world.get_resource::<GameApi>() {
                api.check_declared(Kind::Message, &m.name)?;
            }
            let new = !world.resource::<ModMessages>().contains(&m.name);
            let channel = self.within_name_quota(
                world,
                new,
                || format!("message {}", m.name),
                |world| {
                    let mut bus = world.resource_mut::<ModMessages>();
                    Ok(bus.channel(&m.name, m.size as usize, m.align as usize)?)
                },
            )?;
            channels.push(channel);
        }
        for f in &d.functions {
            let id = match world.get_resource::<crate::runtime::expose::ModFunctions>() {
                Some(functions) => functions.resolve(f)?,
                None => return Err(not_exposed(Kind::Function, &f.name, &[]).into()),
            };
            self.store.data_mut().functions.push(id);
        }
        let mut names = HashMap::new();
        for (index, s) in d.systems.iter().enumerate() {
            if names.insert(s.name.clone(), index).is_some() {
                return Err(format!("two systems are named {}", s.name).into());
            }
            let mut params = Vec::new();
            for p in &s.params {
                params.push(self.plan_param(p, &channels, world).map_err(|e| e.in_system(&s.name))?);
            }
            let seed_key = crate::runtime::schedule::system_seed_key(&d.name, &s.name);
            self.systems.push(SystemPlan {
                name: s.name.clone(),
                schedule: s.schedule,
                index: index as i32,
                params,
                seed_key,
                idle: None,
            });
        }
        for schedule in [ScheduleLabel::Startup, ScheduleLabel::Update, ScheduleLabel::FixedUpdate] {
            let (order, foreign) = order_systems(d, schedule)?;
            self.order[schedule as usize] = order;
            self.foreign.insert(schedule, foreign);
        }
        Ok(())
    }

    /// Runs `register`, which adds a name to a process-wide table if `adds`,
    /// within this mod's quota of names (`max_names_per_mod`): a mod may
    /// not fill the tables other mods need.
    pub(super) fn within_name_quota<T>(
        &self,
        world: &mut World,
        adds: bool,
        what: impl FnOnce() -> String,
        register: impl FnOnce(&mut World) -> Result<T, PlanError>,
    ) -> Result<T, PlanError> {
        if adds {
            world.get_resource_or_init::<ModUsage>().check_new_name(self.owner, &what(), &self.limits)?;
        }
        let registered = register(world)?;
        if adds {
            world.resource_mut::<ModUsage>().add_name(self.owner);
        }
        Ok(registered)
    }

    pub(super) fn plan_param(
        &self,
        p: &ParamDecl,
        channels: &[ChannelId],
        world: &World,
    ) -> Result<ParamPlan, PlanError> {
        let channel = |m: u32| channels.get(m as usize).copied().ok_or_else(|| format!("unknown message id {m}"));
        Ok(match p {
            ParamDecl::Query { terms, with, without, entities, changed, added, populated } => {
                let mut plan = QueryPlan {
                    eager_ids: *entities || !self.fetches_ids,
                    terms: Vec::new(),
                    required: Vec::new(),
                    without: Vec::new(),
                    tables: Vec::new(),
                    archetypes_seen: 0,
                    changed: Vec::new(),
                    added: Vec::new(),
                    last_run: Tick::new(world.read_change_tick().get().wrapping_sub(MAX_CHANGE_AGE)),
                    populated: *populated,
                };
                for t in terms {
                    let component = self.component(t.component)?;
                    let write = t.access == Access::Write;
                    if write && component.read_only {
                        return Err(GameApi::read_only(Kind::Component, self.component_name(t.component)).into());
                    }
                    plan.terms.push(Term { component, write, local: t.component });
                    if !t.optional {
                        plan.required.push(component.id);
                    }
                }
                for &w in with {
                    plan.required.push(self.component(w)?.id);
                }
                for &w in without {
                    plan.without.push(self.component(w)?.id);
                }
                // A changed or added component is one the entity has.
                for &c in changed {
                    let id = self.component(c)?.id;
                    plan.changed.push(id);
                    plan.required.push(id);
                }
                for &c in added {
                    let id = self.component(c)?.id;
                    plan.added.push(id);
                    plan.required.push(id);
                }
                plan.update(world);
                ParamPlan::Query(plan)
            }
            ParamDecl::MessageReader { message } => {
                // A new reader starts at the messages still held, like Bevy's.
                ParamPlan::Reader { channel: channel(*message)?, cursor: 0 }
            }
            ParamDecl::MessageWriter { message } => {
                let channel = channel(*message)?;
                let bus = world.resource::<ModMessages>();
                if !bus.mods_may_write(channel) {
                    return Err(GameApi::read_only(Kind::Message, bus.name(channel)).into());
                }
                ParamPlan::Writer { channel }
            }
            ParamDecl::Commands => ParamPlan::Commands,
            ParamDecl::Guest => ParamPlan::Guest,
            ParamDecl::Resource { resource: local, write } => {
                let decl = self
                    .descriptor
                    .resources
                    .get(*local as usize)
                    .ok_or_else(|| format!("unknown resource id {local}"))?;
                let resource = match world.get_resource::<crate::runtime::expose::ModResources>() {
                    Some(resources) => resources.resolve(decl)?,
                    None => return Err(not_exposed(Kind::Resource, &decl.name, &[]).into()),
                };
                if *write && resource.read_only {
                    return Err(GameApi::read_only(Kind::Resource, &decl.name).into());
                }
                ParamPlan::Resource { resource, write: *write, local: *local }
            }
        })
    }
}

/// Checks what `d` declares against the bounds of
/// [`limits::descriptor`](super::limits::descriptor), and that every name
/// is printable on one line (a name goes into logs and errors, where a
/// newline could forge a line of the engine's own). Linear in the
/// descriptor's size.
pub(super) fn check_bounds(d: &ModDescriptor) -> Result<(), String> {
    use super::limits::descriptor::*;
    let count = |what: &str, n: usize, max: usize| {
        if n > max { Err(format!("declares {n} {what}; the limit is {max}")) } else { Ok(()) }
    };
    let name = |what: &str, name: &str| {
        if name.len() > MAX_NAME_BYTES {
            return Err(format!("{what} name of {} bytes; the limit is {MAX_NAME_BYTES}", name.len()));
        }
        if name.chars().any(char::is_control) {
            return Err(format!("{what} name {name:?} holds control characters"));
        }
        Ok(())
    };
    fn fields(list: &[FieldDecl], name: &dyn Fn(&str, &str) -> Result<(), String>) -> Result<(), String> {
        for f in list {
            name("field", &f.name)?;
            f.aliases.iter().try_for_each(|a| name("field alias", a))?;
            let mut ty = &f.ty;
            while let FieldType::Array { of, .. } = ty {
                ty = of;
            }
            if let FieldType::Struct(inner) = ty {
                fields(inner, name)?;
            }
        }
        Ok(())
    }
    name("mod", &d.name)?;
    name("version", &d.version)?;
    count("systems", d.systems.len(), MAX_SYSTEMS)?;
    count("components", d.components.len(), MAX_DECLARED)?;
    count("messages", d.messages.len(), MAX_DECLARED)?;
    count("functions", d.functions.len(), MAX_DECLARED)?;
    count("resources", d.resources.len(), MAX_DECLARED)?;
    for c in &d.components {
        name("component", &c.name)?;
        // Nesting depth is bounded by the parser and `values::check_fields`.
        fields(c.fields.as_deref().unwrap_or_default(), &name)?;
    }
    d.messages.iter().try_for_each(|m| name("message", &m.name))?;
    d.functions.iter().try_for_each(|f| name("function", &f.name))?;
    d.resources.iter().try_for_each(|r| name("resource", &r.name))?;
    for s in &d.systems {
        name("system", &s.name)?;
        let of = |what: &str| format!("{what} of system {}", s.name);
        count(&of("parameters"), s.params.len(), MAX_PARAMS)?;
        count(&of("after/before constraints"), s.after.len() + s.before.len(), MAX_CONSTRAINTS)?;
        s.after.iter().chain(&s.before).try_for_each(|o| name("system", o))?;
        for p in &s.params {
            if let ParamDecl::Query { terms, with, without, changed, added, .. } = p {
                count(&of("query terms"), terms.len(), MAX_TERMS)?;
                count(&of("query With filters"), with.len(), MAX_TERMS)?;
                count(&of("query Without filters"), without.len(), MAX_TERMS)?;
                count(&of("query Changed filters"), changed.len(), MAX_TERMS)?;
                count(&of("query Added filters"), added.len(), MAX_TERMS)?;
            }
        }
    }
    Ok(())
}

/// Sorts the systems of one schedule so every `after`/`before` holds, keeping
/// registration order otherwise.
/// Constraints naming a system of another mod (a name whose crate part, the
/// text before the first `::`, is none of this mod's) are not errors: they
/// are returned, as `(system, other, runs after it)`, for the runtime to
/// order across mods.
pub(super) fn order_systems(
    d: &ModDescriptor,
    schedule: ScheduleLabel,
) -> Result<(Vec<usize>, Vec<ForeignOrder>), String> {
    let crate_of = |name: &str| name.split("::").next().unwrap_or(name).to_string();
    let own: std::collections::HashSet<String> = d.systems.iter().map(|s| crate_of(&s.name)).collect();
    let foreign_name = |name: &str| name.contains("::") && !own.contains(&crate_of(name));
    let mut foreign = Vec::new();
    let members: Vec<usize> = (0..d.systems.len()).filter(|&i| d.systems[i].schedule == schedule).collect();
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    for (k, &i) in members.iter().enumerate() {
        index_of.entry(d.systems[i].name.as_str()).or_insert(k);
    }
    // Edges between positions in `members`.
    let mut edges = Vec::new();
    for (k, &i) in members.iter().enumerate() {
        let s = &d.systems[i];
        for a in &s.after {
            if !index_of.contains_key(a.as_str()) && foreign_name(a) {
                foreign.push((i, a.clone(), true));
                continue;
            }
            let j = *index_of.get(a.as_str()).ok_or_else(|| {
                format!("system {} runs after {a}, which is not a {schedule:?} system of this mod", s.name)
            })?;
            edges.push((j, k));
        }
        for b in &s.before {
            if !index_of.contains_key(b.as_str()) && foreign_name(b) {
                foreign.push((i, b.clone(), false));
                continue;
            }
            let j = *index_of.get(b.as_str()).ok_or_else(|| {
                format!("system {} runs before {b}, which is not a {schedule:?} system of this mod", s.name)
            })?;
            edges.push((k, j));
        }
    }
    // Registration order where the rules leave a choice.
    let order = crate::runtime::topo::order(members.len(), &edges, |k| k).map_err(|stuck| {
        let names: Vec<&str> = stuck.iter().map(|&k| d.systems[members[k]].name.as_str()).collect();
        format!("systems order themselves in a cycle: {}", names.join(", "))
    })?;
    Ok((order.into_iter().map(|k| members[k]).collect(), foreign))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mod_api::abi::SystemDecl;

    fn system(name: &str, after: &[&str], before: &[&str]) -> SystemDecl {
        SystemDecl {
            name: name.into(),
            schedule: ScheduleLabel::Update,
            params: vec![],
            after: after.iter().map(|s| s.to_string()).collect(),
            before: before.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn names(d: &ModDescriptor) -> Result<Vec<String>, String> {
        order_systems(d, ScheduleLabel::Update).map(|(o, _)| o.into_iter().map(|i| d.systems[i].name.clone()).collect())
    }

    #[test]
    fn registration_order_holds_without_constraints() {
        let d = ModDescriptor { systems: vec![system("a", &[], &[]), system("b", &[], &[])], ..Default::default() };
        assert_eq!(names(&d).unwrap(), ["a", "b"]);
    }

    #[test]
    fn after_and_before_reorder() {
        let d = ModDescriptor {
            systems: vec![system("a", &["c"], &[]), system("b", &[], &["c"]), system("c", &[], &[])],
            ..Default::default()
        };
        assert_eq!(names(&d).unwrap(), ["b", "c", "a"]);
    }

    #[test]
    fn a_cycle_is_an_error_naming_the_systems() {
        let d =
            ModDescriptor { systems: vec![system("a", &["b"], &[]), system("b", &["a"], &[])], ..Default::default() };
        let e = names(&d).unwrap_err();
        assert!(e.contains("cycle") && e.contains('a') && e.contains('b'), "{e}");
    }

    #[test]
    fn ordering_against_an_unknown_system_is_an_error() {
        let d = ModDescriptor { systems: vec![system("a", &["ghost"], &[])], ..Default::default() };
        let e = names(&d).unwrap_err();
        assert!(e.contains("ghost") && e.contains("a"), "{e}");
    }
}
