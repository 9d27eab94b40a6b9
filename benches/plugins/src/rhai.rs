//! Rhai: the workloads as a Rhai script (`scripts/workload.rhai`, a line by
//! line translation of the workload crate), compiled to an AST that one
//! `Engine` runs.
//!
//! How data crosses the boundary, the fastest sound way Rhai offers:
//! - Rhai script functions cannot see the variables of the code that calls
//!   them, except that `Engine::call_fn` runs a function with the host's
//!   `Scope` below it: a name the function does not declare is looked up
//!   there. So the host keeps one `Scope` per plugin, holding the script's
//!   state and constants (its top level, run once at load, declares them)
//!   and the boundary arrays the host adds: the columns `px`, `py`, `vx`,
//!   `vy` and the messages `ids`, `values`, `out_ids`, `out_values`. The
//!   arrays live across frames: each frame the host refills them in place
//!   (`clear` and `extend`: no new allocation once they have grown),
//!   makes one `call_fn_with_options` call (without re-running the top
//!   level), and reads the results out of them.
//! - No array is copied in a call: a script function moves the arrays it
//!   works on out of the scope into its locals with Rhai's `take` and moves
//!   them back at the end. A local is found by its slot, a scope variable
//!   by a search by name at every access; taking them measured about 15–20%
//!   faster for `integrate` than indexing the scope variables directly,
//!   and faster than binding `this` to a map of the arrays. Answers are
//!   appended with `array += item`, about 40% faster than `push` here.
//! - Coordinates are f32 on the host and Rhai floats (f64) in the script;
//!   message ids are Rhai integers.
//! - State: the scope's `frames`, counted by the script's `integrate`.
//!   [`Guest::reload`] compiles the new file to a new AST and keeps the
//!   scope, Rhai's own hot-reload pattern: the new functions run on the old
//!   state. The new file's top level does not run again (it would declare
//!   a second `frames`), so a reload changes functions, not the constants.
//! - In the boids loop "close" is checked among the "near" bodies only, as
//!   in `scripts/workload.lua` (see the `lua` module). Rhai runs a call of an empty
//!   function without evaluating it, so `call_empty` measures the cost of
//!   `call_fn_with_options` itself (setup, function lookup, arguments).
//! - [`Guest::load`] is: read the file, create the `Engine` (standard
//!   packages; limits set for trusted scripts, as a game would: no limit on
//!   operations, array sizes or variables), compile, run the top level,
//!   add the boundary arrays.

use crate::workload::{Ping, Pong};
use crate::{Columns, Guest};
use rhai::{AST, Array, CallFnOptions, Dynamic, Engine, FuncArgs, INT, Scope};
use std::path::{Path, PathBuf};

/// The Rhai script of the workloads.
pub fn plugin_file() -> PathBuf {
    crate::bench_file("scripts/workload.rhai")
}

/// The script functions the host calls, with their number of parameters.
const FUNCTIONS: [(&str, usize); 4] = [("call_empty", 0), ("integrate", 2), ("boids", 2), ("on_events", 1)];

/// The boundary arrays the host adds to the scope.
const ARRAYS: [&str; 8] = ["px", "py", "vx", "vy", "ids", "values", "out_ids", "out_values"];

/// The workloads run by a Rhai engine.
pub struct RhaiGuest {
    engine: Engine,
    ast: AST,
    /// The script's state, constants and boundary arrays.
    scope: Scope<'static>,
}

/// Reads and compiles `file`; checks that it has the functions the host calls.
fn compile(engine: &Engine, file: &Path) -> Result<AST, String> {
    let source = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let ast = engine.compile(source).map_err(|e| format!("cannot compile {}: {e}", file.display()))?;
    for (name, params) in FUNCTIONS {
        if !ast.iter_functions().any(|f| f.name == name && f.params.len() == params) {
            return Err(format!("{}: no function `{name}` with {params} parameters", file.display()));
        }
    }
    Ok(ast)
}

/// The boundary array `name` of `scope` (a new one if a failed call left
/// something else there).
fn array<'s>(scope: &'s mut Scope<'static>, name: &str) -> &'s mut Array {
    if scope.get_value_mut::<Array>(name).is_none() {
        scope.set_value(name, Array::new());
    }
    scope.get_value_mut::<Array>(name).expect("the array was just set")
}

/// Refills the boundary array `name` with `values`.
fn put(scope: &mut Scope<'static>, name: &str, values: impl Iterator<Item = f32>) {
    let array = array(scope, name);
    array.clear();
    array.extend(values.map(|v| Dynamic::from_float(f64::from(v))));
}

fn float(value: &Dynamic, name: &str, i: usize) -> f32 {
    value.as_float().unwrap_or_else(|t| panic!("workload.rhai left a {t} in {name}[{i}]")) as f32
}

/// Overwrites `out` with pairs of the boundary arrays `x` and `y`.
fn take_pairs(scope: &mut Scope<'static>, x: &str, y: &str, out: &mut [[f32; 2]]) {
    let xs = std::mem::take(array(scope, x));
    let ys = array(scope, y);
    assert!(xs.len() >= out.len() && ys.len() >= out.len(), "workload.rhai shortened {x} or {y}");
    for (i, (o, (a, b))) in out.iter_mut().zip(xs.iter().zip(ys.iter())).enumerate() {
        *o = [float(a, x, i), float(b, y, i)];
    }
    *array(scope, x) = xs;
}

impl RhaiGuest {
    fn call(&mut self, name: &str, args: impl FuncArgs) {
        let options = CallFnOptions::new().eval_ast(false);
        if let Err(e) = self.engine.call_fn_with_options::<Dynamic>(options, &mut self.scope, &self.ast, name, args) {
            panic!("workload.rhai `{name}` failed: {e}");
        }
    }

    fn put_columns(&mut self, cols: &Columns) {
        put(&mut self.scope, "px", cols.pos.iter().map(|p| p[0]));
        put(&mut self.scope, "py", cols.pos.iter().map(|p| p[1]));
        put(&mut self.scope, "vx", cols.vel.iter().map(|v| v[0]));
        put(&mut self.scope, "vy", cols.vel.iter().map(|v| v[1]));
    }
}

impl Guest for RhaiGuest {
    fn load(file: &Path) -> Result<Self, String> {
        let mut engine = Engine::new();
        // Trusted scripts, as in a game: no limits on the work a call does.
        engine.set_max_operations(0);
        engine.set_max_array_size(0);
        engine.set_max_variables(usize::MAX);
        let ast = compile(&engine, file)?;
        let mut scope = Scope::new();
        engine.run_ast_with_scope(&mut scope, &ast).map_err(|e| format!("cannot run {}: {e}", file.display()))?;
        for name in ARRAYS {
            scope.push(name, Array::new());
        }
        Ok(RhaiGuest { engine, ast, scope })
    }

    fn call_empty(&mut self) {
        self.call("call_empty", ());
    }

    fn integrate(&mut self, cols: &mut Columns, dt: f32) {
        self.put_columns(cols);
        self.call("integrate", (cols.pos.len() as INT, f64::from(dt)));
        take_pairs(&mut self.scope, "px", "py", &mut cols.pos);
    }

    fn boids(&mut self, cols: &mut Columns, dt: f32) {
        self.put_columns(cols);
        self.call("boids", (cols.pos.len() as INT, f64::from(dt)));
        take_pairs(&mut self.scope, "px", "py", &mut cols.pos);
        take_pairs(&mut self.scope, "vx", "vy", &mut cols.vel);
    }

    fn events(&mut self, pings: &[Ping], out: &mut Vec<Pong>) {
        let ids = array(&mut self.scope, "ids");
        ids.clear();
        ids.extend(pings.iter().map(|p| Dynamic::from_int(INT::from(p.id))));
        put(&mut self.scope, "values", pings.iter().map(|p| p.value));
        array(&mut self.scope, "out_ids").clear();
        array(&mut self.scope, "out_values").clear();
        self.call("on_events", (pings.len() as INT,));
        let out_ids = std::mem::take(array(&mut self.scope, "out_ids"));
        let out_values = array(&mut self.scope, "out_values");
        assert_eq!(out_ids.len(), out_values.len(), "workload.rhai answered with as many ids as values");
        out.reserve(out_ids.len());
        for (i, (id, value)) in out_ids.iter().zip(out_values.iter()).enumerate() {
            let id = id.as_int().ok().and_then(|id| u32::try_from(id).ok());
            let id = id.unwrap_or_else(|| panic!("workload.rhai answer {i} has no valid id"));
            out.push(Pong { id, value: float(value, "out_values", i) });
        }
        *array(&mut self.scope, "out_ids") = out_ids;
    }

    fn frames(&mut self) -> u64 {
        let frames = self.scope.get_value::<INT>("frames").expect("workload.rhai has an integer `frames`");
        u64::try_from(frames).expect("`frames` is not negative")
    }

    fn reload(&mut self, file: &Path) -> Result<(), String> {
        self.ast = compile(&self.engine, file)?;
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

    fn load() -> RhaiGuest {
        RhaiGuest::load(&plugin_file()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn constants_match_the_workload_crate() {
        let plugin = load();
        for (name, want) in [
            ("RADIUS", Boids::RADIUS),
            ("SEPARATION", Boids::SEPARATION),
            ("COHESION", Boids::COHESION),
            ("ALIGNMENT", Boids::ALIGNMENT),
            ("SEPARATION_GAIN", Boids::SEPARATION_GAIN),
            ("MAX_SPEED", Boids::MAX_SPEED),
        ] {
            let got = plugin.scope.get_value::<f64>(name).unwrap_or_else(|| panic!("no float {name} in the scope"));
            assert!(plugin.scope.is_constant(name).unwrap_or(false), "{name} is a constant");
            assert_eq!(got as f32, want, "{name}");
        }
        // The script checks "close" among the near bodies only.
        assert!(
            plugin.scope.get_value::<f64>("SEPARATION").unwrap() < plugin.scope.get_value::<f64>("RADIUS").unwrap(),
            "SEPARATION < RADIUS"
        );
    }

    #[test]
    fn computes_what_the_workload_code_computes() {
        crate::conformance::computes_what_the_workload_code_computes(&mut load(), "rhai", TOLERANCE);
    }

    #[test]
    fn reload_keeps_frames_and_runs_the_new_code() {
        let mut plugin = load();
        crate::conformance::reload_keeps_the_state(&mut plugin, &plugin_file(), "rhai", TOLERANCE);
        crate::conformance::reload_runs_the_edited_code(
            &mut plugin,
            &plugin_file(),
            ("frames += 1;", "frames += 10;"),
            "rhai",
        );
    }

    #[test]
    fn errors_name_the_file() {
        let missing = Path::new("/nonexistent/workload.rhai");
        let err = RhaiGuest::load(missing).err().expect("a missing file does not load");
        assert!(err.contains("/nonexistent/workload.rhai"), "{err}");

        let mut plugin = load();
        for broken_source in ["fn integrate(", "fn integrate(n, dt) {}"] {
            let broken = fresh_copy(&plugin_file());
            std::fs::write(&broken, broken_source).unwrap();
            let err = plugin.reload(&broken).expect_err("a broken script does not reload");
            assert!(err.contains(&broken.display().to_string()), "{err}");
        }
        // The old code still runs.
        let mut cols = Columns::start(10);
        plugin.integrate(&mut cols, DT);
        assert_eq!(plugin.frames(), 1);
    }
}
