//! Lua 5.4 through mlua: the workloads as a Lua script
//! (`scripts/workload.lua`, a line by line translation of the workload
//! crate) that one Lua state runs.
//!
//! How data crosses the boundary, the way a game embedding Lua for speed
//! does it:
//! - The columns live in four Lua tables (`px`, `py`, `vx`, `vy`) that the
//!   host creates once and keeps across frames, so no table is allocated
//!   and no garbage is made per frame. Each frame the host writes the
//!   bodies into them with `raw_set` (no metamethods; Lua 5.4 stores floats
//!   unboxed in a table's array part), makes one call of the script's
//!   function with the tables as arguments (locals in the script, the
//!   fastest access Lua has), and reads the results back with `raw_get`.
//!   Each `raw_set`/`raw_get` is one call into Lua's C API (about 15–20 ns
//!   here), so for `integrate` the copies cost more than the script's loop.
//!   Coordinates are f32 on the host and Lua floats (f64) in the script.
//! - Events: the host fills two tables (ids as Lua integers, values as
//!   floats), makes one call, and reads the answers from two answer tables
//!   the script fills; the call returns how many there are.
//! - State: the global `frames`, counted by the script's `integrate`.
//!   [`Guest::reload`] runs the new chunk in the same Lua state, the usual
//!   way to hot-reload Lua: the chunk redefines the functions and keeps an
//!   existing count (`frames = frames or 0`). A new chunk that fails to
//!   compile changes nothing; one that fails while running may have
//!   redefined some functions already (Lua's own behaviour).
//! - In the boids loop both scripts check "close" only among the "near"
//!   bodies (equivalent because `SEPARATION < RADIUS`, which the tests
//!   check), the natural scalar form of the Rust kernel's branchless lanes.
//! - [`Guest::load`] is: read the file, create the Lua state (with Lua's
//!   standard libraries, as mlua's `Lua::new` opens them), run the chunk,
//!   look up the four functions and create the tables.

use crate::workload::{Ping, Pong};
use crate::{Columns, Guest};
use mlua::{Function, Lua, Table};
use std::path::{Path, PathBuf};

/// The Lua script of the workloads.
pub fn plugin_file() -> PathBuf {
    crate::bench_file("scripts/workload.lua")
}

/// The script's functions, looked up once per load or reload.
struct Functions {
    call_empty: Function,
    integrate: Function,
    boids: Function,
    on_events: Function,
}

impl Functions {
    fn get(lua: &Lua, file: &Path) -> Result<Functions, String> {
        let globals = lua.globals();
        let get = |name: &str| {
            globals
                .get::<Function>(name)
                .map_err(|e| format!("{}: no function `{name}` after running the script: {e}", file.display()))
        };
        Ok(Functions {
            call_empty: get("call_empty")?,
            integrate: get("integrate")?,
            boids: get("boids")?,
            on_events: get("on_events")?,
        })
    }
}

/// The workloads run by a Lua 5.4 state.
pub struct LuaGuest {
    lua: Lua,
    functions: Functions,
    /// The columns: positions and velocities, 1-based, kept across frames.
    px: Table,
    py: Table,
    vx: Table,
    vy: Table,
    /// The messages of a frame and their answers.
    ids: Table,
    values: Table,
    out_ids: Table,
    out_values: Table,
}

/// Reads `file` and runs it as a chunk in `lua`.
fn run_file(lua: &Lua, file: &Path) -> Result<(), String> {
    let source = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    lua.load(source)
        .set_name(format!("@{}", file.display()))
        .exec()
        .map_err(|e| format!("cannot run {}: {e}", file.display()))
}

/// Lua's index of row `i`.
fn key(i: usize) -> i64 {
    i as i64 + 1
}

fn put(table: &Table, i: usize, value: f32) {
    table.raw_set(key(i), f64::from(value)).unwrap_or_else(|e| panic!("cannot fill a Lua table: {e}"));
}

fn take(table: &Table, i: usize) -> f32 {
    table.raw_get::<f64>(key(i)).unwrap_or_else(|e| panic!("row {i} of a Lua result is not a number: {e}")) as f32
}

/// Reads coordinate `k` of `rows` back from `table`.
fn take_column(table: &Table, rows: &mut [[f32; 2]], k: usize) {
    for (i, row) in rows.iter_mut().enumerate() {
        row[k] = take(table, i);
    }
}

impl LuaGuest {
    /// Writes the columns into the Lua tables.
    fn put_columns(&self, cols: &Columns) {
        // Column by column: each table's array part is written in order.
        for (table, rows, k) in
            [(&self.px, &cols.pos, 0), (&self.py, &cols.pos, 1), (&self.vx, &cols.vel, 0), (&self.vy, &cols.vel, 1)]
        {
            for (i, row) in rows.iter().enumerate() {
                put(table, i, row[k]);
            }
        }
    }

    /// Calls `f(px, py, vx, vy, n, dt)`.
    fn call_columns(&self, f: &Function, what: &str, n: usize, dt: f32) {
        f.call::<()>((&self.px, &self.py, &self.vx, &self.vy, n, f64::from(dt)))
            .unwrap_or_else(|e| panic!("workload.lua `{what}` failed: {e}"));
    }
}

impl Guest for LuaGuest {
    fn load(file: &Path) -> Result<Self, String> {
        let lua = Lua::new();
        run_file(&lua, file)?;
        let functions = Functions::get(&lua, file)?;
        let table = || lua.create_table().map_err(|e| format!("{}: cannot create a Lua table: {e}", file.display()));
        Ok(LuaGuest {
            px: table()?,
            py: table()?,
            vx: table()?,
            vy: table()?,
            ids: table()?,
            values: table()?,
            out_ids: table()?,
            out_values: table()?,
            functions,
            lua,
        })
    }

    fn call_empty(&mut self) {
        self.functions.call_empty.call::<()>(()).unwrap_or_else(|e| panic!("workload.lua `call_empty` failed: {e}"));
    }

    fn integrate(&mut self, cols: &mut Columns, dt: f32) {
        self.put_columns(cols);
        self.call_columns(&self.functions.integrate, "integrate", cols.pos.len(), dt);
        take_column(&self.px, &mut cols.pos, 0);
        take_column(&self.py, &mut cols.pos, 1);
    }

    fn boids(&mut self, cols: &mut Columns, dt: f32) {
        self.put_columns(cols);
        self.call_columns(&self.functions.boids, "boids", cols.pos.len(), dt);
        take_column(&self.px, &mut cols.pos, 0);
        take_column(&self.py, &mut cols.pos, 1);
        take_column(&self.vx, &mut cols.vel, 0);
        take_column(&self.vy, &mut cols.vel, 1);
    }

    fn events(&mut self, pings: &[Ping], out: &mut Vec<Pong>) {
        for (i, ping) in pings.iter().enumerate() {
            self.ids.raw_set(key(i), ping.id).unwrap_or_else(|e| panic!("cannot fill a Lua table: {e}"));
            put(&self.values, i, ping.value);
        }
        let count = self
            .functions
            .on_events
            .call::<usize>((&self.ids, &self.values, pings.len(), &self.out_ids, &self.out_values))
            .unwrap_or_else(|e| panic!("workload.lua `on_events` failed: {e}"));
        out.reserve(count);
        for i in 0..count {
            let id = self.out_ids.raw_get::<u32>(key(i)).unwrap_or_else(|e| panic!("answer {i} has no valid id: {e}"));
            out.push(Pong { id, value: take(&self.out_values, i) });
        }
    }

    fn frames(&mut self) -> u64 {
        self.lua.globals().get::<u64>("frames").unwrap_or_else(|e| panic!("workload.lua has no valid `frames`: {e}"))
    }

    fn reload(&mut self, file: &Path) -> Result<(), String> {
        run_file(&self.lua, file)?;
        self.functions = Functions::get(&self.lua, file)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fresh_copy;
    use crate::workload::{Boids, DT};

    /// Scripts compute in f64 and sum in another order than the Rust kernel.
    const TOLERANCE: f32 = 1e-2;

    fn load() -> LuaGuest {
        LuaGuest::load(&plugin_file()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn constants_match_the_workload_crate() {
        let plugin = load();
        let globals = plugin.lua.globals();
        for (name, want) in [
            ("RADIUS", Boids::RADIUS),
            ("SEPARATION", Boids::SEPARATION),
            ("COHESION", Boids::COHESION),
            ("ALIGNMENT", Boids::ALIGNMENT),
            ("SEPARATION_GAIN", Boids::SEPARATION_GAIN),
            ("MAX_SPEED", Boids::MAX_SPEED),
        ] {
            let got: f64 = globals.get(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got as f32, want, "{name}");
        }
        // The script checks "close" among the near bodies only.
        assert!(
            globals.get::<f64>("SEPARATION").unwrap() < globals.get::<f64>("RADIUS").unwrap(),
            "SEPARATION < RADIUS"
        );
    }

    #[test]
    fn computes_what_the_workload_code_computes() {
        crate::conformance::computes_what_the_workload_code_computes(&mut load(), "lua", TOLERANCE);
    }

    #[test]
    fn reload_keeps_frames_and_runs_the_new_code() {
        let mut plugin = load();
        crate::conformance::reload_keeps_the_state(&mut plugin, &plugin_file(), "lua", TOLERANCE);
        crate::conformance::reload_runs_the_edited_code(
            &mut plugin,
            &plugin_file(),
            ("frames = frames + 1", "frames = frames + 10"),
            "lua",
        );
    }

    #[test]
    fn errors_name_the_file() {
        let missing = Path::new("/nonexistent/workload.lua");
        let err = LuaGuest::load(missing).err().expect("a missing file does not load");
        assert!(err.contains("/nonexistent/workload.lua"), "{err}");

        let broken = fresh_copy(&plugin_file());
        std::fs::write(&broken, "function integrate(").unwrap();
        let mut plugin = load();
        let err = plugin.reload(&broken).expect_err("a broken script does not reload");
        assert!(err.contains(&broken.display().to_string()), "{err}");
        // The old code still runs.
        let mut cols = Columns::start(10);
        plugin.integrate(&mut cols, DT);
        assert_eq!(plugin.frames(), 1);
    }
}
