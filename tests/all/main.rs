//! One integration-test binary; one module per topic. Every test builds the
//! real mods (once per process, `support::built_mods`) and runs the real
//! engine headless on them.

mod bridge; // the bulk data path: queries, writes, commands, components across mods
mod cache; // the compile cache: a second start without compiling; bad entries rebuilt
mod demo; // the demo game played from a script, as the CLI does
mod dev; // live editing: saving a mod's source rebuilds and reloads it
mod docs; // the docs agree with the code (versions they quote)
mod failures; // broken files and failing mods: named errors, the game goes on
mod fireflies; // the second example game: any Bevy game made moddable with the public API
mod hostile; // hand-written mods attacking the host: each stopped by name, the game goes on
mod manager; // enabling, disabling and reloading mods at run time (what the mod manager does)
mod manifests; // manifests: dependencies resolved before loading, load order, errors that say what to do
mod messages; // engine → mod, mod → engine, mod → mod
mod reload; // hot reload: swaps between frames, failures keep the old version
mod save; // save games: the whole game to RON and back
mod scaffold;
mod sizes; // what mods carry: no serde or RON without saved state; size ceilings // scripts/new-mod: a new mod crate that builds and loads at once
