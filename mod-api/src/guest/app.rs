//! The mod's entry point registrar, the counterpart of Bevy's `App`.

use super::param::{ErasedSystem, IntoModSystem};
use super::registry;
use crate::abi::{ParamDecl, ScheduleLabel, SystemDecl};

/// What the mod's [`#[mod_main]`](crate::mod_main) function receives: it
/// registers the mod's systems and resources. Every method returns the
/// `App`, so calls chain. (The mod's name and version come from its
/// manifest, not from code.)
pub struct App {
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
}

impl App {
    /// Adds systems to a schedule: one system, or a tuple of up to 8,
    /// ordered with [`after`](IntoSystemConfigs::after),
    /// [`before`](IntoSystemConfigs::before) and
    /// [`chain`](IntoSystemConfigs::chain). Without ordering, a mod's
    /// systems in one schedule run in the order they were added.
    ///
    /// ```
    /// use mod_api::prelude::*;
    ///
    /// fn spawn_ship(mut commands: Commands) {
    ///     commands.spawn((Transform::from_xyz(0.0, 0.0, 0.0), Name::new("ship")));
    /// }
    /// fn aim() {}
    /// fn fire() {}
    /// fn wrap() {}
    /// fn physics() {}
    ///
    /// #[mod_main(manifest = "doc/spinner.ron")]
    /// fn build(app: &mut App) {
    ///     app.add_systems(Startup, spawn_ship)
    ///         .add_systems(Update, (aim, fire.after(aim), wrap))
    ///         .add_systems(FixedUpdate, physics);
    /// }
    /// # fn main() {}
    /// ```
    pub fn add_systems<M>(&mut self, schedule: ScheduleLabel, systems: impl IntoSystemConfigs<M>) -> &mut Self {
        for config in systems.into_configs().0 {
            let (params, system) = (config.build)();
            let decl = SystemDecl {
                name: config.name.to_string(),
                schedule,
                params,
                after: config.after,
                before: config.before,
            };
            registry::with(|r| r.systems.push((decl, system)));
        }
        self
    }
    /// Adds a mod resource with its default value (see
    /// [`Resource`](trait@crate::Resource)). It starts from its default in
    /// every new version of the mod (each hot reload); the swap to
    /// optimized code after a load keeps it (`ABI.md`, "Lifecycle", step 6).
    /// Use [`init_saved_resource`](Self::init_saved_resource) to keep it
    /// across reloads.
    pub fn init_resource<T: crate::Resource + Default>(&mut self) -> &mut Self {
        self.insert_resource(T::default())
    }
    /// Adds a mod resource with its default value that survives hot reloads:
    /// the old version's value is handed to the new version as RON, and read
    /// with serde's rules (new fields need `#[serde(default)]`; renamed ones
    /// `#[serde(alias = "…")]`). The key is the type's path. A value that
    /// does not read makes the new version start fresh (the old state is
    /// kept in `{mod}.rejected-state.ron`); a migration hook
    /// ([`on_migrate`](Self::on_migrate)) can fix it up first.
    ///
    /// ```
    /// use mod_api::prelude::*;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Resource, Default, Serialize, Deserialize)]
    /// struct Game {
    ///     score: u32,
    ///     /// Added in a later version: older states read as 0.
    ///     #[serde(default)]
    ///     best: u32,
    ///     /// Called `lives_left` before.
    ///     #[serde(alias = "lives_left")]
    ///     lives: u32,
    /// }
    ///
    /// fn score(mut game: ResMut<Game>) {
    ///     game.score += 1;
    ///     game.best = game.best.max(game.score);
    /// }
    ///
    /// fn build(app: &mut App) {
    ///     app.init_saved_resource::<Game>().add_systems(Update, score);
    /// }
    /// # fn main() {}
    /// ```
    pub fn init_saved_resource<T>(&mut self) -> &mut Self
    where
        T: crate::Resource + Default + serde::Serialize + for<'de> serde::Deserialize<'de>,
    {
        registry::with(|r| {
            r.saved.push(super::state::SavedResource {
                name: core::any::type_name::<T>(),
                save: super::state::saver::<T>,
                restore: super::state::restorer::<T>,
            });
            r.state_io = Some(super::state::STATE_IO);
        });
        self.init_resource::<T>()
    }

    /// Sets the migration hook: on every reload that hands over state, it
    /// runs once with the old version's version string and state document,
    /// before the saved resources are read from it, like Erlang's
    /// `code_change`. Use it for changes serde's attributes cannot express:
    ///
    /// ```
    /// # use mod_api::prelude::*;
    /// fn migrate(old_version: &str, state: &mut mod_api::SavedState) {
    ///     if old_version.starts_with("1.") {
    ///         // 1.x kept lives as a float.
    ///         if let Some(Ok(lives)) = state.get::<f32>("my_mod::Lives") {
    ///             state.set("my_mod::Lives", &(lives as u32)).unwrap();
    ///         }
    ///     }
    /// }
    /// # fn build(app: &mut App) {
    /// app.on_migrate(migrate);
    /// # }
    /// ```
    pub fn on_migrate(&mut self, hook: fn(old_version: &str, state: &mut super::state::SavedState)) -> &mut Self {
        registry::with(|r| r.migrate = Some(hook));
        self
    }

    /// Adds (or replaces) a mod resource with `value`.
    pub fn insert_resource<T: crate::Resource>(&mut self, value: T) -> &mut Self {
        registry::with(|r| r.insert_resource(value));
        self
    }
}

type Builder = Box<dyn FnOnce() -> (Vec<ParamDecl>, Box<dyn ErasedSystem>)>;

#[doc(hidden)]
pub struct SystemConfig {
    name: &'static str,
    build: Builder,
    after: Vec<String>,
    before: Vec<String>,
}

/// One or more systems with their ordering, built by [`IntoSystemConfigs`]
/// and passed to [`App::add_systems`].
pub struct SystemConfigs(Vec<SystemConfig>);

#[doc(hidden)]
pub struct IsSystem;
#[doc(hidden)]
pub struct IsTuple;

/// Systems and tuples of systems, with ordering: `.after(x)`, `.before(x)`,
/// `.chain()` between systems of the same mod and schedule, and
/// `.after_system(name)`, `.before_system(name)` against another mod's
/// systems.
///
/// ```
/// use mod_api::prelude::*;
///
/// fn track_waves() {}
/// fn resolve_hits() {}
/// fn report() {}
/// fn fade_popups() {}
///
/// fn build(app: &mut App) {
///     // As `mods/rules` does: these three run in this order...
///     app.add_systems(Update, (track_waves, resolve_hits, report).chain())
///         // ...and this one before `report`.
///         .add_systems(Update, fade_popups.before(report));
/// }
/// # fn main() {}
/// ```
pub trait IntoSystemConfigs<Marker>: Sized {
    #[doc(hidden)]
    fn into_configs(self) -> SystemConfigs;
    /// Runs these systems after `other`.
    fn after<M>(self, other: impl IntoModSystem<M>) -> SystemConfigs {
        let name = other.system_name().to_string();
        let mut c = self.into_configs();
        c.0.iter_mut().for_each(|s| s.after.push(name.clone()));
        c
    }
    /// Runs these systems before `other`.
    fn before<M>(self, other: impl IntoModSystem<M>) -> SystemConfigs {
        let name = other.system_name().to_string();
        let mut c = self.into_configs();
        c.0.iter_mut().for_each(|s| s.before.push(name.clone()));
        c
    }
    /// Runs these systems after the system named `name` of another mod
    /// (its Rust path, as that mod's descriptor lists it, e.g.
    /// `"rocks::split"`), when that mod runs. Mods otherwise run one after
    /// another in load order (`mod-api/ABI.md`, "Manifest").
    ///
    /// ```
    /// use mod_api::prelude::*;
    ///
    /// fn score() {}
    ///
    /// fn build(app: &mut App) {
    ///     // Score after the rocks mod has split this frame's rocks.
    ///     app.add_systems(Update, score.after_system("rocks::split"));
    /// }
    /// # fn main() {}
    /// ```
    fn after_system(self, name: &str) -> SystemConfigs {
        let mut c = self.into_configs();
        c.0.iter_mut().for_each(|s| s.after.push(name.to_string()));
        c
    }
    /// Runs these systems before the system named `name` of another mod
    /// (see [`after_system`](Self::after_system)).
    fn before_system(self, name: &str) -> SystemConfigs {
        let mut c = self.into_configs();
        c.0.iter_mut().for_each(|s| s.before.push(name.to_string()));
        c
    }
    /// Runs these systems one after another, in the order given.
    fn chain(self) -> SystemConfigs {
        let mut c = self.into_configs();
        for i in 1..c.0.len() {
            let prev = c.0[i - 1].name.to_string();
            c.0[i].after.push(prev);
        }
        c
    }
}

impl<M, S: IntoModSystem<M>> IntoSystemConfigs<(IsSystem, M)> for S {
    fn into_configs(self) -> SystemConfigs {
        let name = self.system_name();
        SystemConfigs(vec![SystemConfig {
            name,
            build: Box::new(move || self.build()),
            after: Vec::new(),
            before: Vec::new(),
        }])
    }
}

impl IntoSystemConfigs<()> for SystemConfigs {
    fn into_configs(self) -> SystemConfigs {
        self
    }
}

macro_rules! impl_configs_tuple {
    ($($c:ident $m:ident $i:tt),*) => {
        impl<$($m, $c: IntoSystemConfigs<$m>),*> IntoSystemConfigs<(IsTuple, $($m,)*)> for ($($c,)*) {
            fn into_configs(self) -> SystemConfigs {
                let mut all = Vec::new();
                $(all.extend(self.$i.into_configs().0);)*
                SystemConfigs(all)
            }
        }
    };
}
impl_configs_tuple!(A MA 0, B MB 1);
impl_configs_tuple!(A MA 0, B MB 1, C MC 2);
impl_configs_tuple!(A MA 0, B MB 1, C MC 2, D MD 3);
impl_configs_tuple!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4);
impl_configs_tuple!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4, F MF 5);
impl_configs_tuple!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4, F MF 5, G MG 6);
impl_configs_tuple!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4, F MF 5, G MG 6, H MH 7);
