//! `Commands`: spawn, despawn, insert and remove, applied by the host after
//! the system returns (ABI.md, "Command stream").

use super::param::{FrameCtx, SystemParam};
use super::registry;
use crate::abi::{ParamDecl, ParamSlot, op};
use crate::{Component, Entity};

/// A set of components written together: a component or a tuple of up to
/// 8 of them, for [`Commands::spawn`] and [`EntityCommands::insert`].
pub trait Bundle {
    /// Declares the bundle's component types the host has not seen yet.
    #[doc(hidden)]
    fn declare(out: &mut CommandBuffer);
    #[doc(hidden)]
    fn write(self, out: &mut CommandBuffer) -> u32;
}

impl<T: Component> Bundle for T {
    fn declare(out: &mut CommandBuffer) {
        out.local_id::<T>();
    }
    fn write(self, out: &mut CommandBuffer) -> u32 {
        out.component(self);
        1
    }
}

macro_rules! impl_bundle_tuple {
    ($($b:ident $i:tt),*) => {
        impl<$($b: Bundle),*> Bundle for ($($b,)*) {
            fn declare(out: &mut CommandBuffer) { $($b::declare(out);)* }
            fn write(self, out: &mut CommandBuffer) -> u32 { 0 $(+ self.$i.write(out))* }
        }
    };
}
impl_bundle_tuple!(A 0);
impl_bundle_tuple!(A 0, B 1);
impl_bundle_tuple!(A 0, B 1, C 2);
impl_bundle_tuple!(A 0, B 1, C 2, D 3);
impl_bundle_tuple!(A 0, B 1, C 2, D 3, E 4);
impl_bundle_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
impl_bundle_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
impl_bundle_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// The encoded command stream of one system.
#[doc(hidden)]
#[derive(Default)]
pub struct CommandBuffer {
    bytes: Vec<u8>,
}

impl CommandBuffer {
    fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }
    /// Local id of `T`; declares it to the host first if the host has not seen it.
    fn local_id<T: Component>(&mut self) -> u32 {
        let id = registry::component_id::<T>();
        self.declare_up_to(id);
        id
    }
    /// Declares the components up to local id `id` that the host has not
    /// seen. Not generic, so one copy serves every component type.
    #[inline(never)]
    fn declare_up_to(&mut self, id: u32) {
        registry::with(|r| {
            if id < r.components_known_to_host {
                return;
            }
            for (i, decl) in r.components.iter().enumerate().skip(r.components_known_to_host as usize) {
                // ABI 1.2: the declaration with its fields, as RON.
                let ron = super::ron_out::component(decl);
                self.u32(op::DECLARE_COMPONENT_RON);
                self.u32(i as u32);
                self.u32(ron.len() as u32);
                self.bytes.extend_from_slice(ron.as_bytes());
                self.pad();
            }
            r.components_known_to_host = r.components.len() as u32;
        })
    }
    fn component<T: Component>(&mut self, value: T) {
        let id = self.local_id::<T>();
        self.u32(id);
        // SAFETY: `Component` types are plain data; their bytes are the ABI value.
        let bytes = unsafe { core::slice::from_raw_parts(&value as *const T as *const u8, size_of::<T>()) };
        self.bytes.extend_from_slice(bytes);
        self.pad();
    }
    fn bundle_op<B: Bundle>(&mut self, opcode: u32, entity: Option<Entity>, bundle: B) {
        // Declarations go before the op that uses them.
        B::declare(self);
        self.u32(opcode);
        if let Some(e) = entity {
            self.u64(e.0);
        }
        let count_at = self.bytes.len();
        self.u32(0);
        let count = bundle.write(self);
        self.bytes[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
    }
}

/// Queues changes to the world, applied after the system returns, in order.
///
/// A mod may change any entity that has at least one component mods can
/// see (one the game exposes or one a mod declared), including entities
/// spawned by other mods or the game; naming any other
/// entity (the window, the camera, UI) fails the mod. An entity that no
/// longer exists is skipped with a warning.
///
/// ```
/// use mod_api::prelude::*;
///
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// struct Bullet {
///     ttl: f32,
/// }
///
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// struct Burning;
///
/// fn expire_bullets(time: Res<Time>, mut bullets: Query<(Entity, &mut Bullet)>, mut commands: Commands) {
///     for (e, b) in bullets.iter_mut() {
///         b.ttl -= time.delta_secs();
///         if b.ttl <= 0.0 {
///             commands.entity(e).despawn();
///         } else if b.ttl < 0.2 {
///             commands.entity(e).insert(Burning).remove::<Visibility>();
///         }
///     }
/// }
/// # fn main() {}
/// ```
pub struct Commands<'s> {
    buf: &'s mut CommandBuffer,
}

impl Commands<'_> {
    /// Spawns an entity with `bundle`: a component or a tuple of them. The
    /// entity exists once the system has returned; its id is not returned
    /// (find it with a query next run).
    ///
    /// ```
    /// use mod_api::prelude::*;
    ///
    /// #[derive(Component, Clone, Copy)]
    /// #[repr(C)]
    /// struct Spin {
    ///     speed: f32,
    /// }
    ///
    /// fn spawn(mut commands: Commands) {
    ///     commands.spawn((
    ///         Transform::from_xyz(0.0, 200.0, 0.0),
    ///         Visibility::VISIBLE,
    ///         Spin { speed: 2.0 },
    ///     ));
    ///     commands.spawn((Transform::from_xyz(0.0, 150.0, 0.0), Name::new("hello")));
    /// }
    /// # fn main() {}
    /// ```
    pub fn spawn(&mut self, bundle: impl Bundle) {
        self.buf.bundle_op(op::SPAWN, None, bundle);
    }
    /// Commands for an existing entity: insert, remove, despawn.
    pub fn entity(&mut self, entity: Entity) -> EntityCommands<'_> {
        EntityCommands { buf: self.buf, entity }
    }
}

/// Commands for one entity, from [`Commands::entity`].
pub struct EntityCommands<'a> {
    buf: &'a mut CommandBuffer,
    entity: Entity,
}

impl EntityCommands<'_> {
    /// Adds or replaces the components of `bundle`.
    pub fn insert(&mut self, bundle: impl Bundle) -> &mut Self {
        self.buf.bundle_op(op::INSERT, Some(self.entity), bundle);
        self
    }
    /// Removes component `T`, if present.
    pub fn remove<T: Component>(&mut self) -> &mut Self {
        let id = self.buf.local_id::<T>();
        self.buf.u32(op::REMOVE);
        self.buf.u64(self.entity.0);
        self.buf.u32(id);
        self
    }
    /// Despawns the entity. Despawning an entity that no longer exists is a
    /// warning in the log, not an error.
    pub fn despawn(&mut self) {
        self.buf.u32(op::DESPAWN);
        self.buf.u64(self.entity.0);
    }
}

// SAFETY: declares an output slot; `finish` publishes the buffer.
unsafe impl SystemParam for Commands<'_> {
    type State = CommandBuffer;
    type Item<'s> = Commands<'s>;
    fn init() -> (CommandBuffer, ParamDecl) {
        (CommandBuffer::default(), ParamDecl::Commands)
    }
    unsafe fn fetch<'s>(state: &'s mut CommandBuffer, _: &'s FrameCtx, _: usize) -> Commands<'s> {
        state.bytes.clear();
        Commands { buf: state }
    }
    fn finish(state: &mut CommandBuffer, frame: &FrameCtx, slot: usize) {
        let out = ParamSlot { offset: state.bytes.as_ptr() as u32, len: state.bytes.len() as u32 };
        frame.set_slot(slot, out);
    }
}
