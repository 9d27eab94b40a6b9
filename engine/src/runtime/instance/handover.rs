//! A new instance taking over from a running one: state hand-over on a
//! reload (`mod_save_state` / `mod_restore_state`, message cursors,
//! components whose layout changes), and the swap to the other compiler's
//! code of the same module (ABI.md, "Lifecycle", "State").

use super::ModInstance;
use super::call::{Deadline, arm, packed_text, trap_error};
use super::plan::ParamPlan;
use crate::runtime::components::{Migration, ModComponents};
use crate::runtime::error::ModError;
use crate::runtime::messages::ModMessages;
use bevy::prelude::*;
use mod_api::abi;

impl ModInstance {
    /// The UTF-8 text at a packed `(len << 32) | ptr` that export `what` returned.
    pub(super) fn packed_text(&self, packed: i64, what: &str) -> Result<String, ModError> {
        packed_text(self.memory.data(&self.store), packed, what)
            .map_err(|cause| ModError::Descriptor { module: self.label().to_string(), cause })
    }

    /// The mod's state as RON (ABI 1.1 `mod_save_state`), or `None` if the
    /// mod keeps none.
    pub fn save_state(&mut self) -> Result<Option<String>, ModError> {
        let Some(save) = self.save.clone() else { return Ok(None) };
        arm(&mut self.store, Deadline::Init(self.limits.init_deadline_ms));
        let packed = save.call(&mut self.store, ()).map_err(|e| {
            trap_error(&mut self.store, abi::exports::SAVE_STATE, abi::exports::SAVE_STATE, e, &self.limits)
        })?;
        let len = (packed as u64 >> 32) as usize;
        // No text: the mod keeps no state (the Rust SDK, for a mod that
        // saves no resource).
        if len == 0 {
            return Ok(None);
        }
        if len > self.limits.max_state_bytes {
            return Err(ModError::Descriptor {
                module: self.label().to_string(),
                cause: format!(
                    "{} returned {len} bytes of state; the limit is {} (max_state_bytes)",
                    abi::exports::SAVE_STATE,
                    self.limits.max_state_bytes
                ),
            });
        }
        self.packed_text(packed, abi::exports::SAVE_STATE).map(Some)
    }

    /// Hands `state` to the mod (ABI 1.1 `mod_restore_state`). `Ok(Err(why))`:
    /// the mod rejected it and starts fresh; `Err`: the mod trapped.
    pub fn restore_state(&mut self, state: &str) -> Result<Result<(), String>, ModError> {
        let Some(restore) = self.restore.clone() else { return Ok(Ok(())) };
        let during = abi::exports::RESTORE_STATE;
        self.ensure_buffer(state.len(), during)?;
        let at = self.buffer_ptr as usize;
        self.memory.data_mut(&mut self.store)[at..at + state.len()].copy_from_slice(state.as_bytes());
        arm(&mut self.store, Deadline::Init(self.limits.init_deadline_ms));
        let packed = restore
            .call(&mut self.store, (at as i32, state.len() as i32))
            .map_err(|e| trap_error(&mut self.store, during, during, e, &self.limits))?;
        if packed == 0 { Ok(Ok(())) } else { Ok(Err(self.packed_text(packed, during)?)) }
    }

    /// Takes over from `old`, the version this one replaces: message reader
    /// positions (see [`carry_over`](Self::carry_over)) and the mod's state.
    ///
    /// A trap while restoring is an error: the caller keeps the old version.
    /// State this version rejects, or that the old one cannot save, is not
    /// lost silently: this version starts fresh, the rejected state is kept
    /// in `{mods_dir}/{stem}.rejected-state.ron`, and the returned warning
    /// says so.
    pub fn take_over_from(
        &mut self,
        old: &mut ModInstance,
        world: &World,
        mods_dir: &std::path::Path,
    ) -> Result<Option<String>, ModError> {
        self.carry_over(old, world);
        let state = match old.save_state() {
            Ok(Some(state)) => state,
            Ok(None) => return Ok(None),
            Err(e) => {
                return Ok(Some(format!("the previous version could not save its state ({e}); the mod starts fresh")));
            }
        };
        match self.restore_state(&state)? {
            Ok(()) => Ok(None),
            Err(why) => {
                let file = self.file.clone();
                let stem = file.strip_suffix(".wasm").unwrap_or(&file);
                let kept = mods_dir.join(format!("{stem}.rejected-state.ron"));
                let where_kept = match std::fs::write(&kept, &state) {
                    Ok(()) => format!("the old state is kept in {}", kept.display()),
                    Err(e) => format!("the old state could not be written to {}: {e}", kept.display()),
                };
                Ok(Some(format!("state could not be restored ({why}); the mod starts fresh; {where_kept}")))
            }
        }
    }

    /// Takes over from the version it replaces: each message reader of a
    /// system with the same name and parameter position continues where the
    /// old one stopped; other readers start after the messages already held,
    /// so nothing is read twice.
    pub fn carry_over(&mut self, old: &ModInstance, world: &World) {
        self.skip_held_messages(world);
        for system in &mut self.systems {
            let Some(old_system) = old.systems.iter().find(|s| s.name == system.name) else { continue };
            for (new, old) in system.params.iter_mut().zip(&old_system.params) {
                if let (
                    ParamPlan::Reader { channel, cursor },
                    ParamPlan::Reader { channel: old_channel, cursor: old_cursor },
                ) = (new, old)
                    && channel == old_channel
                {
                    *cursor = *old_cursor;
                }
            }
        }
    }

    /// Takes over from `old`, the same module compiled by the other tier:
    /// its whole linear memory (so every resource, `Local` and allocation
    /// of the mod carries over, not only its saved state), the components
    /// it declared at run time, its frame buffer, its message cursors and
    /// its queries' last runs (a change filter sees, after the swap, only
    /// what changed since its system last ran, as if no swap happened).
    /// Mutable globals that the module does not export are not copied; at a
    /// frame boundary the one a Rust mod has (the stack pointer) is back at
    /// its initial value anyway. Unlike a reload nothing may differ, so any
    /// failure is an error and `old` keeps running.
    pub fn take_over_as_other_tier(&mut self, old: &mut ModInstance, world: &World) -> Result<(), String> {
        let same = self.components.iter().zip(&old.components).all(|(a, b)| a.same(b));
        if !self.migrations.is_empty() || !same || old.components.len() < self.components.len() {
            return Err("its component layouts differ from the running code's".into());
        }
        self.carry_over(old, world);
        if self.systems.len() != old.systems.len() {
            return Err("its systems differ from the running code's".into());
        }
        for (new, old) in self.systems.iter_mut().zip(&old.systems) {
            if new.name != old.name || new.params.len() != old.params.len() {
                return Err(format!("its system {} differs from the running code's", new.name));
            }
            for (new, old) in new.params.iter_mut().zip(&old.params) {
                if let (ParamPlan::Query(new), ParamPlan::Query(old)) = (new, old) {
                    new.last_run = old.last_run;
                }
            }
        }
        let (have, need) = (self.memory.data_size(&self.store), old.memory.data_size(&old.store));
        if need > have {
            let pages = (need - have).div_ceil(65536) as u64;
            self.memory
                .grow(&mut self.store, pages)
                .map_err(|e| format!("its memory cannot grow to {need} bytes: {e}"))?;
        }
        let from = old.memory.data(&old.store);
        let to = self.memory.data_mut(&mut self.store);
        to[..from.len()].copy_from_slice(from);
        to[from.len()..].fill(0);
        for global in old.exported_globals() {
            if let Some(g) = self.instance.get_global(&mut self.store, &global.0)
                && g.ty(&self.store).mutability() == wasmtime::Mutability::Var
            {
                g.set(&mut self.store, global.1).map_err(|e| format!("global {}: {e}", global.0))?;
            }
        }
        self.components = old.components.clone();
        self.component_names = old.component_names.clone();
        (self.buffer_ptr, self.buffer_cap) = (old.buffer_ptr, old.buffer_cap);
        self.sent_in_frame = old.sent_in_frame;
        Ok(())
    }

    /// The module's exported mutable globals and their values.
    pub(super) fn exported_globals(&mut self) -> Vec<(String, wasmtime::Val)> {
        let names: Vec<String> = self
            .module
            .exports()
            .filter(
                |e| matches!(e.ty(), wasmtime::ExternType::Global(g) if g.mutability() == wasmtime::Mutability::Var),
            )
            .map(|e| e.name().to_string())
            .collect();
        names
            .into_iter()
            .filter_map(|name| {
                let value = self.instance.get_global(&mut self.store, &name)?.get(&mut self.store);
                Some((name, value))
            })
            .collect()
    }

    /// Converts the values of every component whose layout this version
    /// changes, without touching the world: an error (naming the component,
    /// the entity and the field) means the swap must not happen.
    pub fn prepare_migrations(&self, world: &World) -> Result<Vec<Migration>, ModError> {
        let comps = world.resource::<ModComponents>();
        self.migrations
            .iter()
            .map(|(decl, to)| comps.prepare_migration(world, decl, *to))
            .collect::<Result<_, _>>()
            .map_err(|cause| ModError::Descriptor { module: self.label().to_string(), cause })
    }

    /// Starts every message reader after the messages already held.
    pub fn skip_held_messages(&mut self, world: &World) {
        let bus = world.resource::<ModMessages>();
        for system in &mut self.systems {
            for p in &mut system.params {
                if let ParamPlan::Reader { channel, cursor } = p {
                    *cursor = bus.unread(*channel, 0).1;
                }
            }
        }
    }
}
