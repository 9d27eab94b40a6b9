//! Step 5 of a system run: the outputs are checked in full before anything
//! is applied (ABI.md, "Write-back"): message writer slots, command streams
//! (encoding, component ids, entities, quotas, read-only components) and the
//! views of adapted components the system may have written. A run that
//! fails here changes nothing.

use super::ModInstance;
use super::copy_in::BatchLayout;
use super::plan::{ParamPlan, QueryPlan};
use crate::runtime::components::{ModComponents, NamedComponent};
use crate::runtime::error::ModError;
use crate::runtime::expose::{GameApi, Kind};
use crate::runtime::messages::{ChannelId, ModMessages};
use crate::runtime::usage::{ModUsage, value_bytes};
use bevy::prelude::*;
use mod_api::abi::{ComponentDecl, FRAME_HEADER_SIZE, FrameHeader, align_up, op};

/// What a run hands the host, read out of the mod's memory.
pub(super) struct Outputs {
    /// Each `Commands` parameter's stream, in parameter order.
    pub streams: Vec<Vec<u8>>,
    /// Each `MessageWriter`'s records, whole and within quota.
    pub sent: Vec<(ChannelId, Vec<u8>)>,
}

impl ModInstance {
    /// Reads and checks the output slots of the run of system `i` whose
    /// frame is at `base`.
    pub(super) fn check_outputs(
        &mut self,
        i: usize,
        world: &World,
        header: &FrameHeader,
        base: usize,
        size: usize,
    ) -> Result<Outputs, ModError> {
        let mut commands = Vec::new();
        let mut sent: Vec<(ChannelId, Vec<u8>)> = Vec::new();
        {
            let mem = self.memory.data(&self.store);
            let mem_len = mem.len();
            let frame = &mem[base..base + size];
            let read_slot = |p: usize| -> (usize, usize) {
                let at = FRAME_HEADER_SIZE + 8 * p;
                let word = |o: usize| u32::from_le_bytes(frame[o..o + 4].try_into().unwrap()) as usize;
                (word(at), word(at + 4))
            };
            for (p, param) in self.systems[i].params.iter_mut().enumerate() {
                match param {
                    ParamPlan::Query(_) | ParamPlan::Reader { .. } => {}
                    ParamPlan::Writer { channel } => {
                        let (ptr, len) = read_slot(p);
                        let record = world.resource::<ModMessages>().record_size(*channel);
                        if len == 0 {
                            continue;
                        }
                        let bytes = mem.get(ptr..ptr.saturating_add(len)).filter(|_| ptr + len <= mem_len);
                        let Some(bytes) = bytes.filter(|b| b.len().is_multiple_of(record)) else {
                            return Err(self.system_error(
                                i,
                                format!(
                                    "message writer slot {p} points at {len} bytes at {ptr:#x}: outside memory or not whole records"
                                ),
                            ));
                        };
                        if len / record > self.limits.max_messages_per_run {
                            return Err(self.system_error(
                                i,
                                format!(
                                    "sent {} messages in one run; the limit is {}",
                                    len / record,
                                    self.limits.max_messages_per_run
                                ),
                            ));
                        }
                        if self.sent_in_frame.0 != header.frame {
                            self.sent_in_frame = (header.frame, 0);
                        }
                        self.sent_in_frame.1 += len;
                        if self.sent_in_frame.1 > self.limits.max_message_bytes_per_frame {
                            return Err(self.system_error(
                                i,
                                format!(
                                    "sent more than {} bytes of messages in one frame (the limit, \
                                     max_message_bytes_per_frame)",
                                    self.limits.max_message_bytes_per_frame
                                ),
                            ));
                        }
                        sent.push((*channel, bytes.to_vec()));
                    }
                    ParamPlan::Commands => {
                        let (ptr, len) = read_slot(p);
                        let Some(bytes) = mem.get(ptr..ptr.saturating_add(len)) else {
                            return Err(self.system_error(
                                i,
                                format!("command slot points at {len} bytes at {ptr:#x}, outside memory"),
                            ));
                        };
                        commands.push(bytes.to_vec());
                    }
                    ParamPlan::Guest | ParamPlan::Resource { .. } => {}
                }
            }
        }
        Ok(Outputs { streams: commands, sent })
    }

    /// Reads every command stream of the run into commands (see
    /// [`read_commands`](Self::read_commands)), all before any is applied.
    pub(super) fn check_commands<'b>(
        &mut self,
        i: usize,
        world: &mut World,
        streams: &'b [Vec<u8>],
    ) -> Result<Vec<Vec<Command<'b>>>, ModError> {
        let (mut growth, mut live) = (Growth::default(), None);
        let mut checked = Vec::with_capacity(streams.len());
        for bytes in streams {
            let read = self.read_commands(world, bytes, &mut growth, &mut live);
            checked.push(read.map_err(|e| self.system_error(i, e))?);
        }
        if growth.reshapes > 0 {
            // What the run would add counts in full (an insert may replace
            // a value, which adds nothing) before anything is applied.
            let (owner, limits) = (self.owner, &self.limits);
            world
                .resource_scope(|world, mut usage: Mut<ModUsage>| {
                    usage.check_archetypes(owner, limits)?;
                    usage.check_growth(world, owner, growth.spawns, growth.bytes, limits)
                })
                .map_err(|e| self.system_error(i, e))?;
        }
        Ok(checked)
    }

    /// Views of adapted components the system wrote must be values the
    /// components can take, before anything is written back.
    pub(super) fn check_views(&self, i: usize, base: usize, size: usize) -> Result<(), ModError> {
        let frame = &self.memory.data(&self.store)[base..base + size];
        for (p, param) in self.systems[i].params.iter().enumerate() {
            // Columns left out and never all written (ABI 1.8): only the
            // rows the host wrote can go back, so only they are checked.
            let written = self.deferred.iter().find(|d| d.slot == p as u32).and_then(|d| d.unfetched_rows());
            if let ParamPlan::Query(q) = param
                && let Err((local, e)) = check_query_views(frame, q, &self.batches[p], written)
            {
                return Err(self.system_error(i, format!("component {}: {e}", self.component_name(local))));
            }
        }
        Ok(())
    }

    /// A component a command declares (ABI.md, "Command stream"): it gets
    /// the next local id.
    pub(super) fn declare_at_run_time(
        &mut self,
        world: &mut World,
        local: u32,
        decl: &ComponentDecl,
    ) -> Result<(), String> {
        if local as usize != self.components.len() {
            return Err(format!("declared component {} as id {local}, expected {}", decl.name, self.components.len()));
        }
        let new = world.resource::<ModComponents>().get(&decl.name).is_none();
        let c = self
            .within_name_quota(
                world,
                new,
                || format!("component {}", decl.name),
                |world| world.resource_scope(|world, mut comps: Mut<ModComponents>| comps.declare(world, decl)),
            )
            .map_err(|e| e.to_string())?;
        self.components.push(c);
        self.component_names.push(decl.name.clone());
        Ok(())
    }

    /// Reads a command stream (ABI.md, "Command stream") into commands,
    /// checking every read, component id, entity and quota, without
    /// changing the world (declarations aside: they last for the instance
    /// anyway). A malformed stream is an error for the mod, and then none of
    /// the run's commands is applied. `growth` counts what the run's
    /// spawns and inserts add across its command parameters, `live` the
    /// world's entities.
    pub(super) fn read_commands<'b>(
        &mut self,
        world: &mut World,
        bytes: &'b [u8],
        growth: &mut Growth,
        live: &mut Option<usize>,
    ) -> Result<Vec<Command<'b>>, String> {
        let mut r = Cursor { bytes, at: 0 };
        let mut out = Vec::new();
        while r.at < bytes.len() {
            let opcode = r.u32()?;
            growth.commands += 1;
            if growth.commands > self.limits.max_commands_per_run {
                return Err(format!(
                    "sent more than {} commands in one run (the limit, max_commands_per_run)",
                    self.limits.max_commands_per_run
                ));
            }
            if matches!(opcode, op::SPAWN | op::INSERT | op::REMOVE) {
                growth.reshapes += 1;
            }
            match opcode {
                op::DECLARE_COMPONENT => {
                    let local = r.u32()?;
                    let (size, align, name_len) = (r.u32()?, r.u32()?, r.u32()? as usize);
                    let name = std::str::from_utf8(r.take(name_len)?)
                        .map_err(|_| "component name is not UTF-8".to_string())?
                        .to_string();
                    r.pad()?;
                    self.declare_at_run_time(world, local, &ComponentDecl { name, size, align, fields: None })?;
                }
                op::DECLARE_COMPONENT_RON => {
                    let local = r.u32()?;
                    let len = r.u32()? as usize;
                    let text = std::str::from_utf8(r.take(len)?)
                        .map_err(|_| "component declaration is not UTF-8".to_string())?;
                    r.pad()?;
                    let decl: ComponentDecl =
                        ron::from_str(text).map_err(|e| format!("component declaration does not parse: {e}"))?;
                    self.declare_at_run_time(world, local, &decl)?;
                }
                op::SPAWN | op::INSERT => {
                    let entity = if opcode == op::INSERT { Some(r.entity(world)?) } else { None };
                    let count = r.u32()? as usize;
                    let mut bundle: Vec<(NamedComponent, &'b [u8])> = Vec::with_capacity(count.min(64));
                    for _ in 0..count {
                        let local = r.u32()?;
                        let c = self.component(local)?;
                        let data = r.take(c.size as usize)?;
                        r.pad()?;
                        if c.read_only {
                            return Err(GameApi::read_only(Kind::Component, self.component_name(local)).to_string());
                        }
                        if let Some(adapter) = c.adapter {
                            (adapter.check)(data)
                                .map_err(|e| format!("component {}: {e}", self.component_name(local)))?;
                        }
                        if bundle.iter().any(|(b, _)| b.id == c.id) {
                            return Err("a bundle names the same component twice".into());
                        }
                        bundle.push((c, data));
                        growth.bytes += value_bytes(c.size as usize);
                    }
                    match entity {
                        Some(entity) => out.push(Command::Insert(entity, bundle)),
                        None => {
                            growth.spawns += 1;
                            if growth.spawns > self.limits.max_spawns_per_run {
                                return Err(format!(
                                    "spawned more than {} entities in one run (the limit, max_spawns_per_run)",
                                    self.limits.max_spawns_per_run
                                ));
                            }
                            let count =
                                *live.get_or_insert_with(|| world.archetypes().iter().map(|a| a.len() as usize).sum());
                            if count >= self.limits.max_world_entities {
                                return Err(format!(
                                    "spawn refused: the world holds {count} entities, the limit (max_world_entities)"
                                ));
                            }
                            *live = Some(count + 1);
                            out.push(Command::Spawn(bundle));
                        }
                    }
                }
                op::REMOVE => {
                    let entity = r.entity(world)?;
                    let local = r.u32()?;
                    let c = self.component(local)?;
                    if c.read_only {
                        return Err(GameApi::read_only(Kind::Component, self.component_name(local)).to_string());
                    }
                    out.push(Command::Remove(entity, c));
                }
                op::DESPAWN => out.push(Command::Despawn(r.entity(world)?)),
                other => return Err(format!("unknown command opcode {other} at byte {}", r.at - 4)),
            }
        }
        Ok(out)
    }
}

/// What a run's commands would add to the world: entities spawned, and
/// bytes of component values (as [`ModUsage`] counts them); and how many
/// commands it sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Growth {
    /// Commands read, of any kind.
    commands: usize,
    /// Commands that may change an entity's set of components, and so
    /// create an archetype.
    reshapes: usize,
    spawns: usize,
    bytes: usize,
}

/// One checked command of a mod's command stream; component values borrow
/// the stream. `None` entities no longer existed when the stream was read.
pub(super) enum Command<'b> {
    Spawn(Vec<(NamedComponent, &'b [u8])>),
    Insert(Option<Entity>, Vec<(NamedComponent, &'b [u8])>),
    Remove(Option<Entity>, NamedComponent),
    Despawn(Option<Entity>),
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("command stream ends early at byte {} (needs {n} more)", self.at))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn pad(&mut self) -> Result<(), String> {
        let n = align_up(self.at, 4) - self.at;
        self.take(n).map(|_| ())
    }
    /// An entity from the stream; `None` (with a warning) if it no longer
    /// exists. An entity without any component mods can see (the engine's
    /// own: windows, cameras, UI) is an error.
    fn entity(&mut self, world: &World) -> Result<Option<Entity>, String> {
        let bits = self.u64()?;
        let e = Entity::try_from_bits(bits).ok_or_else(|| format!("{bits:#x} is not an entity id"))?;
        if world.get_entity(e).is_err() {
            warn!(target: "mod", "command for entity {e} ignored: it does not exist (any more)");
            return Ok(None);
        }
        if !world.resource::<ModComponents>().is_mod_visible(world, e) {
            return Err(format!("entity {e} is not the mods' to change: it has no component mods can see"));
        }
        Ok(Some(e))
    }
}

/// Checks the views a mod wrote into query `q`'s writable adapter columns;
/// the error names the term's local component id.
pub(super) fn check_query_views(
    frame: &[u8],
    q: &QueryPlan,
    batches: &[BatchLayout],
    only: Option<impl Iterator<Item = (u32, u32)>>,
) -> Result<(), (u32, String)> {
    // Only views written back through an adapter are checked.
    if !q.terms.iter().any(|t| t.write && t.component.adapter.is_some()) {
        return Ok(());
    }
    let check = |b: &BatchLayout, rows: std::ops::Range<usize>| {
        for (t, &at) in q.terms.iter().zip(&b.columns_at) {
            let Some(adapter) = t.component.adapter.filter(|_| t.write && at != 0) else { continue };
            let size = t.component.size as usize;
            (adapter.check)(&frame[at + size * rows.start..at + size * rows.end]).map_err(|e| (t.local, e))?;
        }
        Ok(())
    };
    match only {
        Some(mut rows) => {
            rows.try_for_each(|(batch, row)| check(&batches[batch as usize], row as usize..row as usize + 1))
        }
        None => batches.iter().try_for_each(|b| check(b, 0..b.len)),
    }
}
