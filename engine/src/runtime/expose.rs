//! What a game shows its mods: its components, Bevy's built-in components
//! through adapters, its resources, its messages and its functions. Nothing
//! else of the world is in a mod's reach.
//!
//! A game calls these on its `App` ([`ModApp`]) or, for a bare `World`
//! (benchmarks, tools), the functions of the same names in this module.
//! Every exposed name's crate part (`rocks_api` in `rocks_api::Collider`)
//! becomes one of the game's *namespaces*: a mod that declares a name in
//! one of them that the game does not expose is refused at load, with the
//! list of what the game does expose; a mod's own types (in any other
//! crate) are the mod's business.

use super::components::{ModComponents, NamedComponent};
use super::messages::ModMessages;
use bevy::ecs::change_detection::Tick;
use bevy::ecs::component::{ComponentId, Mutable};
use bevy::ecs::message::{MessageCursor, MessageRegistry, Messages};
use bevy::prelude::*;
use std::collections::BTreeMap;

/// What mods may do with something the game exposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ModAccess {
    /// Mods may read it: query a component (`&T`), read a message.
    Read,
    /// Mods may also change it: query `&mut T`, insert and remove the
    /// component, spawn entities with it; write the message.
    ReadWrite,
}

impl ModAccess {
    fn text(self) -> &'static str {
        match self {
            ModAccess::Read => "read-only",
            ModAccess::ReadWrite => "read-write",
        }
    }
}

/// The kinds of things a game exposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Component,
    Message,
    Function,
    Resource,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Component => "component",
            Kind::Message => "message",
            Kind::Function => "function",
            Kind::Resource => "resource",
        })
    }
}

impl std::fmt::Display for ModAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// Why a mod was refused at load something it declared
/// ([`ModError::Refused`](super::ModError::Refused)).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The game does not expose `name` as a `kind` (`offered` says what it
    /// does expose there).
    #[error("{kind} {name} is not exposed by the game; {offered}")]
    NotExposed { kind: Kind, name: String, offered: String },
    /// The game exposes `name` with another layout than the mod's.
    #[error(
        "{kind} {name} is {game} in the game, but the mod declares {declared}: rebuild the mod against the game's crate"
    )]
    Layout { kind: Kind, name: String, game: String, declared: String },
    /// The mod asks to change what the game exposes read-only.
    #[error("{kind} {name} is exposed read-only by the game: mods may read it, not change it")]
    ReadOnly { kind: Kind, name: String },
}

/// An exposure the runtime refused ([`GameApi::errors`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExposeError {
    /// The game exposed `name` a second time, differently; the first stands.
    #[error("the game exposes {name} twice: as a {} ({}) and as a {} ({}); the first stands", first.0, first.1, second.0, second.1)]
    Twice { name: String, first: (Kind, ModAccess), second: (Kind, ModAccess) },
    /// A function's system takes `&mut World`.
    #[error("function {name}: an exclusive system (one taking &mut World) cannot be a mod function")]
    ExclusiveFunction { name: String },
    /// The runtime's tables refused `name` (full, or an invalid layout).
    #[error("{name} cannot be exposed: {cause}")]
    Unfit { name: String, cause: String },
}

/// Everything the game exposed, by name: what mods are refused against.
#[derive(Resource, Default)]
pub struct GameApi {
    items: BTreeMap<String, (Kind, ModAccess)>,
    /// Registrations the runtime refused (a name exposed twice with
    /// different layouts or access), in order; each was also logged.
    pub errors: Vec<ExposeError>,
}

impl GameApi {
    /// The crate part of `name`: `rocks_api` for `rocks_api::Collider`.
    fn namespace(name: &str) -> &str {
        name.split("::").next().unwrap_or(name)
    }

    /// Whether `name` lies in a namespace the game exposes anything from.
    fn in_game_namespace(&self, name: &str) -> bool {
        let ns = Self::namespace(name);
        self.items.keys().any(|k| Self::namespace(k) == ns)
    }

    /// The access mods have to `name`, if the game exposes it as `kind`.
    pub(crate) fn access(&self, kind: Kind, name: &str) -> Option<ModAccess> {
        self.items.get(name).filter(|(k, _)| *k == kind).map(|(_, a)| *a)
    }

    /// Fails if `name` is in one of the game's namespaces but not exposed
    /// as `kind`: a mod may not invent names in the game's crates.
    pub(crate) fn check_declared(&self, kind: Kind, name: &str) -> Result<(), Refusal> {
        if self.access(kind, name).is_some() || !self.in_game_namespace(name) {
            return Ok(());
        }
        Err(Refusal::NotExposed { kind, name: name.to_string(), offered: self.offer(Self::namespace(name)) })
    }

    /// What the game exposes from namespace `ns`, in words.
    fn offer(&self, ns: &str) -> String {
        let items: Vec<String> = self
            .items
            .iter()
            .filter(|(name, _)| Self::namespace(name) == ns)
            .map(|(name, (kind, access))| format!("{kind} {name} ({access})"))
            .collect();
        format!("from {ns} it exposes {}", items.join(", "))
    }

    /// Records that the game exposes `name`; refuses a second registration
    /// that differs.
    fn add(&mut self, kind: Kind, name: &str, access: ModAccess) -> Result<(), ExposeError> {
        match self.items.get(name) {
            Some(&first) if first == (kind, access) => Ok(()),
            Some(&first) => Err(ExposeError::Twice { name: name.to_string(), first, second: (kind, access) }),
            None => {
                self.items.insert(name.to_string(), (kind, access));
                Ok(())
            }
        }
    }

    /// The error for a write to `name`, exposed read-only.
    pub(crate) fn read_only(kind: Kind, name: &str) -> Refusal {
        Refusal::ReadOnly { kind, name: name.to_string() }
    }
}

/// Records a refused registration: logged, and kept in [`GameApi::errors`].
fn refuse(world: &mut World, error: ExposeError) {
    error!("{error}");
    world.resource_mut::<GameApi>().errors.push(error);
}

/// Records that the game exposes `name` as `kind` with `access`; false,
/// with the refusal recorded, if it exposed the name differently before.
fn add_to_api(world: &mut World, kind: Kind, name: &str, access: ModAccess) -> bool {
    world.init_resource::<GameApi>();
    match world.resource_mut::<GameApi>().add(kind, name, access) {
        Ok(()) => true,
        Err(e) => {
            refuse(world, e);
            false
        }
    }
}

/// Shows mods the game's component `T` (one derived with
/// `#[derive(mod_api::Component)]` in a crate the game shares with its
/// mods). Its values are copied between the world and a mod as bytes: the
/// cheapest kind of exposure.
pub fn component<T>(world: &mut World, access: ModAccess)
where
    T: Component<Mutability = Mutable> + mod_api::Component,
{
    world.init_resource::<ModComponents>();
    if !add_to_api(world, Kind::Component, T::NAME, access) {
        return;
    }
    let id = world.register_component::<T>();
    let c = NamedComponent {
        id,
        size: size_of::<T>() as u32,
        align: align_of::<T>() as u32,
        adapter: None,
        read_only: access == ModAccess::Read,
    };
    world.resource_scope(|_, mut comps: Mut<ModComponents>| comps.register_game(T::NAME, c, T::fields()));
}

/// A conversion between a Bevy component that is not plain data and a
/// plain-data view of it that mods use instead (Bevy's `Transform` and
/// [`mod_api::Transform`], say). The runtime converts whole columns, once
/// per mod system per frame: into views before the system runs, back into
/// the components after it, for the columns it may write.
///
/// ```
/// use bevy::prelude::*;
/// use engine::runtime::ComponentAdapter;
///
/// /// The game's health, with a flag a mod must not see as a `bool`.
/// #[derive(Component)]
/// struct Health { points: f32, dead: bool }
///
/// /// What mods see (in the crate the game shares with its mods).
/// #[derive(mod_api::Component, Clone, Copy)]
/// #[repr(C)]
/// struct HealthView { points: f32, dead: u32 }
///
/// struct HealthAdapter;
///
/// impl ComponentAdapter for HealthAdapter {
///     type Component = Health;
///     type View = HealthView;
///     fn to_view(h: &Health) -> HealthView {
///         HealthView { points: h.points, dead: h.dead as u32 }
///     }
///     fn check(v: &HealthView) -> Result<(), String> {
///         if v.dead > 1 { Err(format!("dead is {}, not 0 or 1", v.dead)) } else { Ok(()) }
///     }
///     fn apply(v: &HealthView, h: &mut Health) {
///         (h.points, h.dead) = (v.points, v.dead == 1);
///     }
///     fn from_view(v: &HealthView) -> Health {
///         Health { points: v.points, dead: v.dead == 1 }
///     }
/// }
/// ```
pub trait ComponentAdapter: Send + Sync + 'static {
    /// The Bevy component.
    type Component: Component<Mutability = Mutable>;
    /// What mods see: plain data, registered under `View::NAME`.
    type View: mod_api::Component;
    /// Whether mods may only read it, whatever access the game asks for
    /// (Bevy computes a `GlobalTransform`; a mod cannot set it).
    const READ_ONLY: bool = false;
    /// The view of a component.
    fn to_view(component: &Self::Component) -> Self::View;
    /// Whether a mod's view is a value the component can take; a mod that
    /// writes one that is not fails with this error, and nothing of its run
    /// is applied.
    fn check(_view: &Self::View) -> Result<(), String> {
        Ok(())
    }
    /// Writes a checked view back into the component.
    fn apply(view: &Self::View, component: &mut Self::Component);
    /// A new component from a checked view (a mod spawning or inserting it).
    fn from_view(view: &Self::View) -> Self::Component;
}

/// An adapter's conversions, type-erased, as the data path calls them.
#[derive(Clone, Copy)]
pub(crate) struct AdapterFns {
    /// Fills `out` with the views of the `len` components at `column`.
    pub to_views: unsafe fn(column: *const u8, len: usize, out: &mut [u8]),
    /// Checks every view in `views`.
    pub check: fn(views: &[u8]) -> Result<(), String>,
    /// Applies checked views to the `ticks.len()` components at `column`:
    /// only those that differ from the component's own view, setting their
    /// change ticks (in `ticks`) to `tick`.
    pub apply_views: unsafe fn(views: &[u8], column: *mut u8, ticks: &mut [Tick], tick: Tick),
    /// Inserts the component made from one checked view.
    pub insert: fn(entity: &mut EntityWorldMut, view: &[u8]),
}

impl AdapterFns {
    fn of<A: ComponentAdapter>() -> AdapterFns {
        fn view<A: ComponentAdapter>(bytes: &[u8]) -> A::View {
            debug_assert_eq!(bytes.len(), size_of::<A::View>());
            // SAFETY: `View` is plain data (`mod_api::Component`): any bytes
            // of its size are a value; the read may be unaligned.
            unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const A::View) }
        }
        unsafe fn to_views<A: ComponentAdapter>(column: *const u8, len: usize, out: &mut [u8]) {
            // SAFETY: the caller passes a column of `len` components.
            let components = unsafe { std::slice::from_raw_parts(column as *const A::Component, len) };
            for (c, slot) in components.iter().zip(out.chunks_exact_mut(size_of::<A::View>().max(1))) {
                // SAFETY: `slot` has room for one view.
                unsafe { std::ptr::write_unaligned(slot.as_mut_ptr() as *mut A::View, A::to_view(c)) };
            }
        }
        fn check<A: ComponentAdapter>(views: &[u8]) -> Result<(), String> {
            views.chunks_exact(size_of::<A::View>().max(1)).try_for_each(|v| A::check(&view::<A>(v)))
        }
        unsafe fn apply_views<A: ComponentAdapter>(views: &[u8], column: *mut u8, ticks: &mut [Tick], tick: Tick) {
            /// Whether two views have the same bytes (plain data without
            /// padding), compared word by word: a `memcmp` call per row
            /// made `integrate_transform_100k` three times slower.
            fn same<V>(a: &V, b: &V) -> bool {
                let (a, b) = (a as *const V as *const u8, b as *const V as *const u8);
                let words = size_of::<V>() / 4;
                // SAFETY: both point at `size_of::<V>()` readable bytes.
                let word = |p: *const u8, i: usize| unsafe { (p.add(4 * i) as *const u32).read_unaligned() };
                let byte = |p: *const u8, i: usize| unsafe { p.add(i).read() };
                (0..words).all(|i| word(a, i) == word(b, i))
                    && (4 * words..size_of::<V>()).all(|i| byte(a, i) == byte(b, i))
            }
            // SAFETY: the caller passes a column of `ticks.len()` components it may write.
            let components = unsafe { std::slice::from_raw_parts_mut(column as *mut A::Component, ticks.len()) };
            for ((c, v), t) in components.iter_mut().zip(views.chunks_exact(size_of::<A::View>().max(1))).zip(ticks) {
                let new = view::<A>(v);
                if !same(&A::to_view(c), &new) {
                    A::apply(&new, c);
                    *t = tick;
                }
            }
        }
        fn insert<A: ComponentAdapter>(entity: &mut EntityWorldMut, bytes: &[u8]) {
            entity.insert(A::from_view(&view::<A>(bytes)));
        }
        AdapterFns { to_views: to_views::<A>, check: check::<A>, apply_views: apply_views::<A>, insert: insert::<A> }
    }
}

/// Shows mods a Bevy component that is not plain data, through adapter `A`
/// (the runtime's adapters for Bevy's built-in components are in
/// [`adapters`](super::adapters)). Mods see `A::View`, named `A::View::NAME`.
pub fn adapter<A: ComponentAdapter>(world: &mut World, access: ModAccess) {
    let access = if A::READ_ONLY { ModAccess::Read } else { access };
    let name = <A::View as mod_api::Component>::NAME;
    world.init_resource::<ModComponents>();
    if !add_to_api(world, Kind::Component, name, access) {
        return;
    }
    let id: ComponentId = world.register_component::<A::Component>();
    let c = NamedComponent {
        id,
        size: size_of::<A::View>() as u32,
        align: align_of::<A::View>() as u32,
        adapter: Some(AdapterFns::of::<A>()),
        read_only: access == ModAccess::Read,
    };
    let fields = <A::View as mod_api::Component>::fields();
    world.resource_scope(|_, mut comps: Mut<ModComponents>| comps.register_game(name, c, fields));
}

/// Where the runtime's channel of a Bevy message type `T` has read the
/// game's `Messages<T>` up to.
#[derive(Resource)]
struct BridgeCursor<T: Message>(MessageCursor<T>);

/// The two directions between a channel and Bevy's `Messages<T>`.
#[derive(Clone, Copy)]
pub(crate) struct MessageBridge {
    /// Moves what game code wrote to `Messages<T>` since the last pull into
    /// the channel, for mods to read.
    pub pull: fn(&mut World, super::ChannelId),
    /// Publishes a mod's records: into the channel (for other mods) and
    /// into `Messages<T>` (for game code), after whatever the game wrote
    /// before them.
    pub push: fn(&mut World, super::ChannelId, &[u8]),
}

impl MessageBridge {
    fn of<T: Message + mod_api::Message>() -> MessageBridge {
        fn pull<T: Message + mod_api::Message>(world: &mut World, channel: super::ChannelId) {
            world.resource_scope(|world, mut cursor: Mut<BridgeCursor<T>>| {
                let Some(messages) = world.get_resource::<Messages<T>>() else { return };
                let mut bytes = Vec::new();
                for m in cursor.0.read(messages) {
                    // SAFETY: `T` is plain data without padding (`mod_api::Message`).
                    bytes.extend_from_slice(unsafe {
                        std::slice::from_raw_parts(m as *const T as *const u8, size_of::<T>())
                    });
                }
                if !bytes.is_empty() {
                    world.resource_mut::<ModMessages>().write_raw(channel, &bytes);
                }
            });
        }
        fn push<T: Message + mod_api::Message>(world: &mut World, channel: super::ChannelId, bytes: &[u8]) {
            pull::<T>(world, channel);
            world.resource_mut::<ModMessages>().write_raw(channel, bytes);
            // SAFETY: whole records of plain data (checked by the caller);
            // the reads may be unaligned.
            let records = bytes
                .chunks_exact(size_of::<T>().max(1))
                .map(|r| unsafe { std::ptr::read_unaligned(r.as_ptr() as *const T) });
            world.resource_mut::<Messages<T>>().write_batch(records);
            world.resource_scope(|world, mut cursor: Mut<BridgeCursor<T>>| {
                // The game's cursor moves past the records just written:
                // they are the mods', not the game's, and must not come back.
                cursor.0.read(world.resource::<Messages<T>>()).for_each(drop);
            });
        }
        MessageBridge { pull: pull::<T>, push: push::<T> }
    }
}

/// Shows mods the game's message type `T` (derived with
/// `#[derive(mod_api::Message)]` in a crate the game shares with its mods)
/// as a Bevy message: game code writes it with `MessageWriter<T>` and mods
/// read it; with [`ModAccess::ReadWrite`], mods write it too and game code
/// reads it with `MessageReader<T>`. Messages game code writes reach the
/// mods' systems of the same frame that run after it; those mods write are
/// in `Messages<T>` as soon as the mod's system returns.
pub fn message<T: Message + mod_api::Message>(world: &mut World, access: ModAccess) {
    world.init_resource::<ModMessages>();
    if !add_to_api(world, Kind::Message, T::NAME, access) {
        return;
    }
    if !world.contains_resource::<Messages<T>>() {
        MessageRegistry::register_message::<T>(world);
    }
    let cursor = world.resource::<Messages<T>>().get_cursor();
    world.insert_resource(BridgeCursor::<T>(cursor));
    let registered = world.resource_mut::<ModMessages>().register_game(
        T::NAME,
        size_of::<T>(),
        align_of::<T>(),
        access == ModAccess::ReadWrite,
        MessageBridge::of::<T>(),
    );
    if let Err(cause) = registered {
        refuse(world, ExposeError::Unfit { name: T::NAME.to_string(), cause });
    }
}

/// [`expose`](self) on an `App`, Bevy-style:
///
/// ```
/// use bevy::prelude::*;
/// use engine::runtime::{ModAccess, ModApp, adapters::TransformAdapter};
///
/// /// In the crate the game shares with its mods.
/// #[derive(mod_api::Component, Clone, Copy)]
/// #[repr(C)]
/// pub struct Health { pub points: f32 }
///
/// #[derive(mod_api::Message, Clone, Copy)]
/// #[repr(C)]
/// pub struct Explosion { pub at: mod_api::Vec2 }
///
/// let mut app = App::new();
/// app.add_mod_component::<Health>(ModAccess::ReadWrite)
///     .add_mod_adapter::<TransformAdapter>(ModAccess::ReadWrite)
///     .add_mod_message::<Explosion>(ModAccess::ReadWrite);
/// ```
pub trait ModApp {
    /// Shows mods the game's component `T` ([`component`]).
    fn add_mod_component<T>(&mut self, access: ModAccess) -> &mut Self
    where
        T: Component<Mutability = Mutable> + mod_api::Component;
    /// Shows mods a Bevy component through adapter `A` ([`adapter`]).
    fn add_mod_adapter<A: ComponentAdapter>(&mut self, access: ModAccess) -> &mut Self;
    /// Shows mods the game's message type `T` as a Bevy message ([`message`]).
    fn add_mod_message<T: Message + mod_api::Message>(&mut self, access: ModAccess) -> &mut Self;
    /// Shows mods the game's resource `T` ([`resource`]).
    fn add_mod_resource<T>(&mut self, access: ModAccess) -> &mut Self
    where
        T: Resource<Mutability = Mutable> + mod_api::GameResource;
    /// Lets mods call the game function `F`, implemented by `system` ([`function`]).
    fn add_mod_function<F, S, R, M, MO>(&mut self, function: F, system: S) -> &mut Self
    where
        F: mod_api::GameFunction,
        S: IntoSystem<In<F::In>, R, M>,
        R: FunctionOutput<F::Out, MO>,
        M: 'static,
        MO: 'static;
}

impl ModApp for App {
    fn add_mod_component<T>(&mut self, access: ModAccess) -> &mut Self
    where
        T: Component<Mutability = Mutable> + mod_api::Component,
    {
        component::<T>(self.world_mut(), access);
        self
    }
    fn add_mod_adapter<A: ComponentAdapter>(&mut self, access: ModAccess) -> &mut Self {
        adapter::<A>(self.world_mut(), access);
        self
    }
    fn add_mod_message<T: Message + mod_api::Message>(&mut self, access: ModAccess) -> &mut Self {
        message::<T>(self.world_mut(), access);
        self
    }
    fn add_mod_resource<T>(&mut self, access: ModAccess) -> &mut Self
    where
        T: Resource<Mutability = Mutable> + mod_api::GameResource,
    {
        resource::<T>(self.world_mut(), access);
        self
    }
    fn add_mod_function<F, S, R, M, MO>(&mut self, function: F, system: S) -> &mut Self
    where
        F: mod_api::GameFunction,
        S: IntoSystem<In<F::In>, R, M>,
        R: FunctionOutput<F::Out, MO>,
        M: 'static,
        MO: 'static,
    {
        self::function(self.world_mut(), function, system);
        self
    }
}

/// What a game function's Bevy system may return for a [`GameFunction`]
/// with output `O`: `O` itself, or `Result<O, E>`, whose error the mod gets
/// as a value (its text).
///
/// [`GameFunction`]: mod_api::GameFunction
pub trait FunctionOutput<O, Marker>: Send + 'static {
    /// The output, or the error text the mod receives.
    fn into_result(self) -> Result<O, String>;
}

#[doc(hidden)]
pub struct Infallible;
#[doc(hidden)]
pub struct Fallible;

impl<O: Send + 'static> FunctionOutput<O, Infallible> for O {
    fn into_result(self) -> Result<O, String> {
        Ok(self)
    }
}

impl<O: Send + 'static, E: std::fmt::Display + Send + 'static> FunctionOutput<O, Fallible> for Result<O, E> {
    fn into_result(self) -> Result<O, String> {
        self.map_err(|e| e.to_string())
    }
}

/// A game function's system, type-erased: the runtime calls it with bytes.
pub(crate) trait ErasedFunction: Send + Sync {
    /// Runs the system on `input` (one `In`) and writes its output into
    /// `output` (room for one `Out`); its deferred changes wait for
    /// [`apply_deferred`](Self::apply_deferred).
    fn call(&mut self, world: &mut World, input: &[u8], output: &mut [u8]) -> Result<(), String>;
    /// Applies what the system deferred (its `Commands`).
    fn apply_deferred(&mut self, world: &mut World);
}

struct FunctionSystem<F: mod_api::GameFunction, R, M> {
    system: Box<dyn System<In = In<F::In>, Out = R>>,
    initialized: bool,
    _marker: std::marker::PhantomData<fn() -> (F, M)>,
}

impl<F, R, M> ErasedFunction for FunctionSystem<F, R, M>
where
    F: mod_api::GameFunction,
    R: FunctionOutput<F::Out, M>,
    M: 'static,
{
    fn call(&mut self, world: &mut World, input: &[u8], output: &mut [u8]) -> Result<(), String> {
        if !self.initialized {
            self.system.initialize(world);
            self.initialized = true;
        }
        debug_assert_eq!((input.len(), output.len()), (size_of::<F::In>(), size_of::<F::Out>()));
        // SAFETY: `In` is plain data (`Schema`) of `input.len()` bytes; unaligned read.
        let value = unsafe { std::ptr::read_unaligned(input.as_ptr() as *const F::In) };
        let out = self.system.run_without_applying_deferred(value, world).map_err(|e| e.to_string())?;
        let out = out.into_result()?;
        // SAFETY: `output` has room for one `Out`; unaligned write.
        unsafe { std::ptr::write_unaligned(output.as_mut_ptr() as *mut F::Out, out) };
        Ok(())
    }
    fn apply_deferred(&mut self, world: &mut World) {
        self.system.apply_deferred(world);
    }
}

/// One exposed function.
struct FunctionSlot {
    name: String,
    input_size: u32,
    output_size: u32,
    /// Out while it runs (`ModFunctions::take`).
    system: Option<Box<dyn ErasedFunction>>,
}

/// The game functions mods may call, by id.
#[derive(Resource, Default)]
pub struct ModFunctions {
    slots: Vec<FunctionSlot>,
    by_name: std::collections::HashMap<String, usize>,
}

impl ModFunctions {
    /// The id of the function named `name`, checked against a mod's
    /// declaration of its layout.
    pub(crate) fn resolve(&self, decl: &mod_api::abi::FunctionDecl) -> Result<usize, Refusal> {
        let id = *self.by_name.get(&decl.name).ok_or_else(|| {
            let offered: Vec<&str> = self.slots.iter().map(|s| s.name.as_str()).collect();
            not_exposed(Kind::Function, &decl.name, &offered)
        })?;
        let s = &self.slots[id];
        if (s.input_size, s.output_size) != (decl.input_size, decl.output_size) {
            return Err(Refusal::Layout {
                kind: Kind::Function,
                name: decl.name.clone(),
                game: format!("{} bytes in, {} bytes out", s.input_size, s.output_size),
                declared: format!("{} bytes in, {} bytes out", decl.input_size, decl.output_size),
            });
        }
        Ok(id)
    }

    /// `(name, input size, output size)` of function `id`.
    pub(crate) fn signature(&self, id: usize) -> (&str, usize, usize) {
        let s = &self.slots[id];
        (&s.name, s.input_size as usize, s.output_size as usize)
    }

    /// Takes function `id`'s system out to run it (`None` if it is running:
    /// a game function never calls into a mod, so never while it runs).
    pub(crate) fn take(&mut self, id: usize) -> Option<Box<dyn ErasedFunction>> {
        self.slots.get_mut(id)?.system.take()
    }

    /// Puts a system taken with [`take`](Self::take) back.
    pub(crate) fn put_back(&mut self, id: usize, system: Box<dyn ErasedFunction>) {
        self.slots[id].system = Some(system);
    }
}

/// The refusal of a `kind` named `name` that the game does not expose, among
/// the `offered` ones of its kind.
pub(crate) fn not_exposed(kind: Kind, name: &str, offered: &[&str]) -> Refusal {
    let offered = if offered.is_empty() { "none".to_string() } else { offered.join(", ") };
    Refusal::NotExposed { kind, name: name.to_string(), offered: format!("the game exposes the {kind}s {offered}") }
}

/// Runs function `id` on `input`, writing its output to `output`.
pub(crate) fn call_function(world: &mut World, id: usize, input: &[u8], output: &mut [u8]) -> Result<(), String> {
    let Some(mut system) = world.resource_mut::<ModFunctions>().take(id) else {
        return Err("the function is already running".into());
    };
    let result = system.call(world, input, output);
    world.resource_mut::<ModFunctions>().put_back(id, system);
    result
}

/// Applies what function `id` deferred (its `Commands`).
pub(crate) fn apply_function(world: &mut World, id: usize) {
    if let Some(mut system) = world.resource_mut::<ModFunctions>().take(id) {
        system.apply_deferred(world);
        world.resource_mut::<ModFunctions>().put_back(id, system);
    }
}

/// Shows mods the game function `F` (declared with
/// [`mod_api::game_functions!`] in the crate the game shares with its
/// mods), implemented by `system`: an ordinary Bevy system taking `In<F::In>`
/// and returning `F::Out` or `Result<F::Out, E>` (the mod gets the error's
/// text as a value).
///
/// A mod's call runs the system at once, inside the calling mod system,
/// and its output goes back to the mod. What it changes directly (resources,
/// components through queries) is changed at once; what it defers through
/// `Commands` (spawning, despawning, inserting) is applied right after the
/// calling mod system has returned, after that system's own changes, and
/// is seen from the next system run on. The system's time counts to the
/// calling mod's deadline. An exclusive system (`&mut World`) is refused:
/// it could move the tables the calling system's data was copied from.
pub fn function<F, S, R, M, MO>(world: &mut World, _function: F, system: S)
where
    F: mod_api::GameFunction,
    S: IntoSystem<In<F::In>, R, M>,
    R: FunctionOutput<F::Out, MO>,
    M: 'static,
    MO: 'static,
{
    world.init_resource::<GameApi>();
    world.init_resource::<ModFunctions>();
    let system: Box<dyn System<In = In<F::In>, Out = R>> = Box::new(IntoSystem::into_system(system));
    if system.is_exclusive() {
        return refuse(world, ExposeError::ExclusiveFunction { name: F::NAME.to_string() });
    }
    if !add_to_api(world, Kind::Function, F::NAME, ModAccess::ReadWrite) {
        return;
    }
    let mut functions = world.resource_mut::<ModFunctions>();
    let id = functions.slots.len();
    functions.slots.push(FunctionSlot {
        name: F::NAME.to_string(),
        input_size: size_of::<F::In>() as u32,
        output_size: size_of::<F::Out>() as u32,
        system: Some(Box::new(FunctionSystem::<F, R, MO> {
            system,
            initialized: false,
            _marker: std::marker::PhantomData,
        })),
    });
    functions.by_name.insert(F::NAME.to_string(), id);
}

/// A resource the game exposes, as the data path uses it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExposedResource {
    pub id: ComponentId,
    pub size: u32,
    pub align: u32,
    pub read_only: bool,
}

/// The game resources mods may read or write, by name.
#[derive(Resource, Default)]
pub struct ModResources {
    by_name: std::collections::HashMap<String, ExposedResource>,
}

impl ModResources {
    /// The resource a mod declared, checked against what the game exposes.
    pub(crate) fn resolve(&self, decl: &mod_api::abi::ResourceDecl) -> Result<ExposedResource, Refusal> {
        let r = *self.by_name.get(&decl.name).ok_or_else(|| {
            let mut offered: Vec<&str> = self.by_name.keys().map(|n| n.as_str()).collect();
            offered.sort_unstable();
            not_exposed(Kind::Resource, &decl.name, &offered)
        })?;
        if (r.size, r.align) != (decl.size, decl.align) {
            return Err(Refusal::Layout {
                kind: Kind::Resource,
                name: decl.name.clone(),
                game: format!("{} bytes (align {})", r.size, r.align),
                declared: format!("{} bytes (align {})", decl.size, decl.align),
            });
        }
        Ok(r)
    }
}

/// Shows mods the game's resource `T` (derived with
/// `#[derive(mod_api::GameResource)]` in the crate the game shares with its
/// mods): a system's `Res<T>` gets a copy of it, and with
/// [`ModAccess::ReadWrite`] a `ResMut<T>` system's changes are written back
/// after it runs (and Bevy's change detection sees them). The game inserts
/// the resource itself, as any Bevy resource; a mod system that asks for it
/// while it is not in the world fails, naming it.
pub fn resource<T>(world: &mut World, access: ModAccess)
where
    T: Resource<Mutability = Mutable> + mod_api::GameResource,
{
    world.init_resource::<ModResources>();
    if !add_to_api(world, Kind::Resource, T::NAME, access) {
        return;
    }
    let id = world.register_component::<T>();
    let r = ExposedResource {
        id,
        size: size_of::<T>() as u32,
        align: align_of::<T>() as u32,
        read_only: access == ModAccess::Read,
    };
    world.resource_mut::<ModResources>().by_name.insert(T::NAME.to_string(), r);
}
