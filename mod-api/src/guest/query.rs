//! `Query<D, F>`: the entities matching a filter, as contiguous columns.
//!
//! The host writes one batch per matching table: a length, the entity ids
//! and one column per component term (ABI.md, "Query data"). Iterating is
//! plain pointer arithmetic over those columns; `for_each_mut` and
//! `iter_batches_mut` keep the loops simple enough for LLVM to vectorise.

use super::param::{FrameCtx, SystemParam};
use super::registry;
use crate::abi::{Access, BatchHeader, ParamDecl, QueryHeader, QueryTerm};
use crate::{Component, Entity};
use core::marker::PhantomData;

/// Reads the next column pointers of one batch, in term order.
#[doc(hidden)]
pub struct ColumnCursor<'f> {
    frame: &'f FrameCtx,
    cols: *const u32,
    entities: *const u64,
}

impl ColumnCursor<'_> {
    fn next(&mut self) -> *mut u8 {
        // SAFETY: the host wrote one offset per term; `QueryData::fetch`
        // consumes exactly as many as `terms` declared.
        let offset = unsafe { self.cols.read_unaligned() };
        // SAFETY: advancing within the batch's offset array.
        self.cols = unsafe { self.cols.add(1) };
        if offset == 0 { core::ptr::null_mut() } else { self.frame.at(offset) }
    }
}

/// The data a query fetches per entity: `&T`, `&mut T`, `Option<&T>`,
/// `Option<&mut T>`, [`Entity`], and tuples of these (up to 8).
///
/// # Safety
/// `terms` must declare exactly the columns `fetch` consumes.
pub unsafe trait QueryData {
    /// One entity's data.
    type Item<'a>;
    /// One batch's data, as slices.
    type Slice<'a>;
    #[doc(hidden)]
    type Fetch: Copy;
    /// The same data without write access (what `iter` yields).
    type ReadOnly: QueryData<Fetch = Self::Fetch>;
    /// Whether the data includes [`Entity`]: the host then writes the
    /// batches' entity ids up front (ABI 1.4 `entities`).
    #[doc(hidden)]
    const ENTITIES: bool = false;
    #[doc(hidden)]
    fn terms(terms: &mut Vec<QueryTerm>);
    #[doc(hidden)]
    unsafe fn fetch(cursor: &mut ColumnCursor<'_>) -> Self::Fetch;
    #[doc(hidden)]
    unsafe fn item<'a>(fetch: Self::Fetch, row: usize) -> Self::Item<'a>;
    #[doc(hidden)]
    unsafe fn slice<'a>(fetch: Self::Fetch, len: usize) -> Self::Slice<'a>;
}

// SAFETY: one read column.
unsafe impl<T: Component> QueryData for &T {
    type Item<'a> = &'a T;
    type Slice<'a> = &'a [T];
    type Fetch = *const T;
    type ReadOnly = Self;
    fn terms(terms: &mut Vec<QueryTerm>) {
        let component = registry::component_id::<T>();
        terms.push(QueryTerm { component, access: Access::Read, optional: false });
    }
    unsafe fn fetch(cursor: &mut ColumnCursor<'_>) -> *const T {
        cursor.next() as *const T
    }
    unsafe fn item<'a>(fetch: *const T, row: usize) -> &'a T {
        // SAFETY: row < batch len; the column holds len aligned `T`s.
        unsafe { &*fetch.add(row) }
    }
    unsafe fn slice<'a>(fetch: *const T, len: usize) -> &'a [T] {
        // SAFETY: as above.
        unsafe { core::slice::from_raw_parts(fetch, len) }
    }
}

// SAFETY: one written column.
unsafe impl<T: Component> QueryData for &mut T {
    type Item<'a> = &'a mut T;
    type Slice<'a> = &'a mut [T];
    type Fetch = *const T;
    type ReadOnly = &'static T;
    fn terms(terms: &mut Vec<QueryTerm>) {
        let component = registry::component_id::<T>();
        terms.push(QueryTerm { component, access: Access::Write, optional: false });
    }
    unsafe fn fetch(cursor: &mut ColumnCursor<'_>) -> *const T {
        cursor.next() as *const T
    }
    unsafe fn item<'a>(fetch: *const T, row: usize) -> &'a mut T {
        // SAFETY: row < batch len; each row is handed out once per iteration.
        unsafe { &mut *(fetch as *mut T).add(row) }
    }
    unsafe fn slice<'a>(fetch: *const T, len: usize) -> &'a mut [T] {
        // SAFETY: as above.
        unsafe { core::slice::from_raw_parts_mut(fetch as *mut T, len) }
    }
}

// SAFETY: one optional read column.
unsafe impl<T: Component> QueryData for Option<&T> {
    type Item<'a> = Option<&'a T>;
    type Slice<'a> = Option<&'a [T]>;
    type Fetch = *const T;
    type ReadOnly = Self;
    fn terms(terms: &mut Vec<QueryTerm>) {
        let component = registry::component_id::<T>();
        terms.push(QueryTerm { component, access: Access::Read, optional: true });
    }
    unsafe fn fetch(cursor: &mut ColumnCursor<'_>) -> *const T {
        cursor.next() as *const T
    }
    unsafe fn item<'a>(fetch: *const T, row: usize) -> Option<&'a T> {
        // SAFETY: null means the batch lacks the column.
        (!fetch.is_null()).then(|| unsafe { &*fetch.add(row) })
    }
    unsafe fn slice<'a>(fetch: *const T, len: usize) -> Option<&'a [T]> {
        // SAFETY: as above.
        (!fetch.is_null()).then(|| unsafe { core::slice::from_raw_parts(fetch, len) })
    }
}

// SAFETY: one optional written column.
unsafe impl<T: Component> QueryData for Option<&mut T> {
    type Item<'a> = Option<&'a mut T>;
    type Slice<'a> = Option<&'a mut [T]>;
    type Fetch = *const T;
    type ReadOnly = Option<&'static T>;
    fn terms(terms: &mut Vec<QueryTerm>) {
        let component = registry::component_id::<T>();
        terms.push(QueryTerm { component, access: Access::Write, optional: true });
    }
    unsafe fn fetch(cursor: &mut ColumnCursor<'_>) -> *const T {
        cursor.next() as *const T
    }
    unsafe fn item<'a>(fetch: *const T, row: usize) -> Option<&'a mut T> {
        // SAFETY: null means the batch lacks the column.
        (!fetch.is_null()).then(|| unsafe { &mut *(fetch as *mut T).add(row) })
    }
    unsafe fn slice<'a>(fetch: *const T, len: usize) -> Option<&'a mut [T]> {
        // SAFETY: as above.
        (!fetch.is_null()).then(|| unsafe { core::slice::from_raw_parts_mut(fetch as *mut T, len) })
    }
}

// SAFETY: no column; reads the batch's entity ids.
unsafe impl QueryData for Entity {
    const ENTITIES: bool = true;
    type Item<'a> = Entity;
    type Slice<'a> = &'a [Entity];
    type Fetch = *const Entity;
    type ReadOnly = Self;
    fn terms(_: &mut Vec<QueryTerm>) {}
    unsafe fn fetch(cursor: &mut ColumnCursor<'_>) -> *const Entity {
        cursor.entities as *const Entity
    }
    unsafe fn item<'a>(fetch: *const Entity, row: usize) -> Self::Item<'a> {
        // SAFETY: the host always writes entity ids (ABI.md).
        unsafe { *fetch.add(row) }
    }
    unsafe fn slice<'a>(fetch: *const Entity, len: usize) -> &'a [Entity] {
        // SAFETY: as above.
        unsafe { core::slice::from_raw_parts(fetch, len) }
    }
}

macro_rules! impl_query_data_tuple {
    ($($d:ident $i:tt),*) => {
        // SAFETY: the terms of each element, in order.
        #[allow(clippy::unused_unit, unused_variables)]
        unsafe impl<$($d: QueryData),*> QueryData for ($($d,)*) {
            type Item<'a> = ($($d::Item<'a>,)*);
            type Slice<'a> = ($($d::Slice<'a>,)*);
            type Fetch = ($($d::Fetch,)*);
            type ReadOnly = ($($d::ReadOnly,)*);
            const ENTITIES: bool = false $(|| $d::ENTITIES)*;
            fn terms(terms: &mut Vec<QueryTerm>) { $($d::terms(terms);)* }
            unsafe fn fetch(cursor: &mut ColumnCursor<'_>) -> Self::Fetch {
                // SAFETY: forwarded.
                ($(unsafe { $d::fetch(cursor) },)*)
            }
            unsafe fn item<'a>(fetch: Self::Fetch, row: usize) -> Self::Item<'a> {
                // SAFETY: forwarded.
                ($(unsafe { $d::item(fetch.$i, row) },)*)
            }
            unsafe fn slice<'a>(fetch: Self::Fetch, len: usize) -> Self::Slice<'a> {
                // SAFETY: forwarded.
                ($(unsafe { $d::slice(fetch.$i, len) },)*)
            }
        }
    };
}
impl_query_data_tuple!();
impl_query_data_tuple!(A 0);
impl_query_data_tuple!(A 0, B 1);
impl_query_data_tuple!(A 0, B 1, C 2);
impl_query_data_tuple!(A 0, B 1, C 2, D 3);
impl_query_data_tuple!(A 0, B 1, C 2, D 3, E 4);
impl_query_data_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
impl_query_data_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
impl_query_data_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// Filters that narrow a query without fetching data: [`With`],
/// [`Without`], [`Changed`], [`Added`] and tuples of them.
pub trait QueryFilter {
    #[doc(hidden)]
    fn filter(filters: &mut Filters);
}

/// What a query's filters declare (local component ids).
#[doc(hidden)]
#[derive(Default)]
pub struct Filters {
    with: Vec<u32>,
    without: Vec<u32>,
    changed: Vec<u32>,
    added: Vec<u32>,
}

/// Only entities that have `T`.
pub struct With<T>(PhantomData<T>);
/// Only entities that do not have `T`.
pub struct Without<T>(PhantomData<T>);
/// Only entities whose `T` changed since this system last ran, as Bevy's
/// `Changed<T>`: a value written by the game, by another system or mod, or
/// by this system's earlier runs (not its current one); added counts as
/// changed. On a system's first run (and the first after a reload),
/// every entity with `T` has changed.
///
/// ```
/// use mod_api::prelude::*;
///
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// struct Health {
///     points: f32,
/// }
///
/// // Only the entities whose health changed since the last frame.
/// fn report(hurt: Query<(Entity, &Health), Changed<Health>>) {
///     for (e, h) in hurt.iter() {
///         info!("{e:?} has {} points left", h.points);
///     }
/// }
/// # fn main() {}
/// ```
pub struct Changed<T>(PhantomData<T>);
/// Only entities that got `T` since this system last ran, as Bevy's
/// `Added<T>` (on a system's first run, every entity with `T`).
pub struct Added<T>(PhantomData<T>);

impl<T: Component> QueryFilter for With<T> {
    fn filter(f: &mut Filters) {
        f.with.push(registry::component_id::<T>());
    }
}
impl<T: Component> QueryFilter for Without<T> {
    fn filter(f: &mut Filters) {
        f.without.push(registry::component_id::<T>());
    }
}
impl<T: Component> QueryFilter for Changed<T> {
    fn filter(f: &mut Filters) {
        f.changed.push(registry::component_id::<T>());
    }
}
impl<T: Component> QueryFilter for Added<T> {
    fn filter(f: &mut Filters) {
        f.added.push(registry::component_id::<T>());
    }
}
macro_rules! impl_filter_tuple {
    ($($f:ident),*) => {
        #[allow(unused_variables)]
        impl<$($f: QueryFilter),*> QueryFilter for ($($f,)*) {
            fn filter(f: &mut Filters) { $($f::filter(f);)* }
        }
    };
}
impl_filter_tuple!();
impl_filter_tuple!(A);
impl_filter_tuple!(A, B);
impl_filter_tuple!(A, B, C);
impl_filter_tuple!(A, B, C, D);

/// The entities that have every component in `D` and pass the filter `F`,
/// like Bevy's `Query`. Write access (`&mut T`) is copied back to the world
/// after the system returns; read-only columns are not.
///
/// `D` is a [`QueryData`]: `&T`, `&mut T`, `Option<&T>`, `Option<&mut T>`,
/// [`Entity`], or a tuple of them. `F` is a [`QueryFilter`]: [`With<T>`],
/// [`Without<T>`], [`Changed<T>`], [`Added<T>`], or a tuple of them. Every component the game or any
/// mod declares can be queried, by any mod.
///
/// ```
/// use mod_api::prelude::*;
///
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// struct Rock {
///     size: u32,
/// }
///
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// struct Counted;
///
/// // From `mods/census`: every rock, its id, and whether it is counted yet.
/// fn count(rocks: Query<(Entity, &Rock, Option<&Counted>)>, mut commands: Commands) {
///     for (e, rock, counted) in rocks.iter() {
///         if counted.is_none() && rock.size == 3 {
///             commands.entity(e).insert(Counted);
///         }
///     }
/// }
///
/// // Filters: what is not a rock sinks.
/// fn sink(mut things: Query<&mut Transform, Without<Rock>>) {
///     things.for_each_mut(|t| t.translation.y -= 0.1);
/// }
///
/// /// Some entity hit another (a game's message).
/// #[derive(Message, Clone, Copy)]
/// #[repr(C)]
/// struct Hit {
///     a: Entity,
///     b: Entity,
/// }
///
/// // One entity by id.
/// fn hits(hits: MessageReader<Hit>, rocks: Query<&Rock>) {
///     for c in hits.read() {
///         if let Some(rock) = rocks.get(c.b) {
///             info!("hit a rock of size {}", rock.size);
///         }
///     }
/// }
/// # fn main() {}
/// ```
pub struct Query<'s, D: QueryData, F: QueryFilter = ()> {
    frame: &'s FrameCtx,
    header: *const QueryHeader,
    /// The query's parameter slot, for `query_locate`.
    slot: usize,
    _marker: PhantomData<(D, F)>,
}

impl<'s, D: QueryData, F: QueryFilter> Query<'s, D, F> {
    fn batch(&self, i: usize) -> (*const BatchHeader, ColumnCursor<'s>) {
        // SAFETY: the host wrote `batch_count` batches at `batch_stride`.
        unsafe {
            let h = &*self.header;
            let batch = (self.header as *const u8).add(size_of::<QueryHeader>() + i * h.batch_stride as usize)
                as *const BatchHeader;
            let b = &*batch;
            let cursor = ColumnCursor {
                frame: self.frame,
                cols: (batch as *const u8).add(size_of::<BatchHeader>()) as *const u32,
                entities: self.frame.at(b.entities) as *const u64,
            };
            (batch, cursor)
        }
    }

    /// Asks the host for every row of this query (ABI 1.8, `query_fetch`),
    /// before the system iterates: until then the host writes only the rows
    /// `get` finds, so a system that only looks entities up copies nothing
    /// else.
    fn fetch_all(&self) {
        // Nothing to ask for when the query matched nothing: the common
        // idle run makes no host call.
        if self.batch_count() != 0 {
            super::sys::query_fetch(self.slot);
        }
    }

    /// Asks for every row, and tells the host the system may change any of
    /// them (it takes them mutably by iterating), not only those `get_mut`
    /// found.
    fn touch_all(&self) {
        self.fetch_all();
        self.frame.report_touched(self.slot, crate::abi::TOUCHED_ALL);
    }

    fn batch_count(&self) -> usize {
        // SAFETY: see `batch`.
        unsafe { (*self.header).batch_count as usize }
    }

    fn batch_fetch<Q: QueryData<Fetch = D::Fetch>>(&self, i: usize) -> (usize, D::Fetch) {
        let (batch, mut cursor) = self.batch(i);
        // SAFETY: the batch was written for this query's terms.
        unsafe { ((*batch).len as usize, Q::fetch(&mut cursor)) }
    }

    /// Number of matching entities.
    pub fn len(&self) -> usize {
        (0..self.batch_count()).map(|i| self.batch_fetch::<D>(i).0).sum()
    }

    /// True if no entity matches.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with every matching entity's data, read-only.
    pub fn for_each(&self, mut f: impl FnMut(<D::ReadOnly as QueryData>::Item<'_>)) {
        self.fetch_all();
        for i in 0..self.batch_count() {
            let (len, fetch) = self.batch_fetch::<D::ReadOnly>(i);
            // SAFETY: every row < len.
            unrolled(len, |row| f(unsafe { D::ReadOnly::item(fetch, row) }));
        }
    }

    /// Calls `f` with every matching entity's data. The fastest way to touch
    /// every entity: a plain loop per table, unrolled (see `unrolled`).
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
    /// fn spin(time: Res<Time>, mut q: Query<(&mut Transform, &Spin)>) {
    ///     q.for_each_mut(|(t, s)| t.rotation = Quat::from_rotation_z(s.speed * time.elapsed_secs() as f32));
    /// }
    /// # fn main() {}
    /// ```
    pub fn for_each_mut(&mut self, mut f: impl FnMut(D::Item<'_>)) {
        self.touch_all();
        for i in 0..self.batch_count() {
            let (len, fetch) = self.batch_fetch::<D>(i);
            // SAFETY: every row < len, each visited once.
            unrolled(len, |row| f(unsafe { D::item(fetch, row) }));
        }
    }

    /// Every matching entity's data, read-only.
    pub fn iter(&self) -> impl Iterator<Item = <D::ReadOnly as QueryData>::Item<'_>> + '_ {
        self.fetch_all();
        (0..self.batch_count()).flat_map(move |i| {
            let (len, fetch) = self.batch_fetch::<D::ReadOnly>(i);
            // SAFETY: row < len.
            (0..len).map(move |row| unsafe { D::ReadOnly::item(fetch, row) })
        })
    }

    /// Every matching entity's data.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = D::Item<'_>> + '_ {
        self.touch_all();
        let this = &*self;
        (0..this.batch_count()).flat_map(move |i| {
            let (len, fetch) = this.batch_fetch::<D>(i);
            // SAFETY: row < len; `&mut self` is held, each row handed out once.
            (0..len).map(move |row| unsafe { D::item(fetch, row) })
        })
    }

    /// The data as one tuple of slices per table: `(positions, velocities)`.
    /// Loops over slices vectorise well (build mods with `simd128`).
    ///
    /// ```
    /// use mod_api::prelude::*;
    ///
    /// #[derive(Component, Clone, Copy)]
    /// #[repr(C)]
    /// struct Velocity(Vec3);
    ///
    /// // One loop per table, over plain slices.
    /// fn integrate(time: Res<Time>, mut movers: Query<(&mut Transform, &Velocity)>) {
    ///     let dt = time.delta_secs();
    ///     for (transforms, velocities) in movers.iter_batches_mut() {
    ///         for (t, v) in transforms.iter_mut().zip(velocities) {
    ///             t.translation += v.0 * dt;
    ///         }
    ///     }
    /// }
    /// # fn main() {}
    /// ```
    pub fn iter_batches_mut(&mut self) -> impl Iterator<Item = D::Slice<'_>> + '_ {
        self.touch_all();
        let this = &*self;
        (0..this.batch_count()).map(move |i| {
            let (len, fetch) = this.batch_fetch::<D>(i);
            // SAFETY: each batch is handed out once while `&mut self` is held.
            unsafe { D::slice(fetch, len) }
        })
    }

    /// `entity`'s batch row, asking the host where it is (ABI.md,
    /// `query_locate`): constant time in the number of matched entities.
    fn find(&self, entity: Entity) -> Option<(usize, D::Fetch)> {
        // A query that matched nothing has nothing to find.
        if self.batch_count() == 0 {
            return None;
        }
        let (batch, row) = super::sys::query_locate(self.slot, entity)?;
        if batch >= self.batch_count() {
            return None;
        }
        let (len, fetch) = self.batch_fetch::<D>(batch);
        (row < len).then_some((row, fetch))
    }

    /// `entity`'s data, if it matches the query. One call to the host,
    /// whatever the number of entities the query matched.
    pub fn get(&self, entity: Entity) -> Option<<D::ReadOnly as QueryData>::Item<'_>> {
        // SAFETY: row found in the batch.
        self.find(entity).map(|(row, fetch)| unsafe { D::ReadOnly::item(fetch, row) })
    }

    /// `entity`'s data, if it matches the query (as [`get`](Self::get)).
    pub fn get_mut(&mut self, entity: Entity) -> Option<D::Item<'_>> {
        // SAFETY: row found in the batch; `&mut self` is held.
        self.find(entity).map(|(row, fetch)| unsafe { D::item(fetch, row) })
    }

    /// True if `entity` matches the query (as [`get`](Self::get)).
    pub fn contains(&self, entity: Entity) -> bool {
        self.find(entity).is_some()
    }

    /// The only matching entity's data, or `None` if there are none or several.
    pub fn single(&self) -> Option<<D::ReadOnly as QueryData>::Item<'_>> {
        let mut it = self.iter();
        let first = it.next()?;
        it.next().is_none().then_some(first)
    }

    /// The only matching entity's data, or `None` if there are none or several.
    pub fn single_mut(&mut self) -> Option<D::Item<'_>> {
        if self.len() != 1 {
            return None;
        }
        self.iter_mut().next()
    }
}

/// The declaration of a `Query<D, F>` parameter.
fn query_decl<D: QueryData, F: QueryFilter>(populated: bool) -> ParamDecl {
    let mut terms = Vec::new();
    D::terms(&mut terms);
    let mut f = Filters::default();
    F::filter(&mut f);
    let Filters { with, without, changed, added } = f;
    ParamDecl::Query { terms, with, without, entities: D::ENTITIES, changed, added, populated }
}

// SAFETY: declares the terms `fetch` reads (through `QueryData::terms`).
unsafe impl<D: QueryData + 'static, F: QueryFilter + 'static> SystemParam for Query<'_, D, F> {
    type State = ();
    type Item<'s> = Query<'s, D, F>;
    fn init() -> ((), ParamDecl) {
        ((), query_decl::<D, F>(false))
    }
    unsafe fn fetch<'s>(_: &'s mut (), frame: &'s FrameCtx, slot: usize) -> Query<'s, D, F> {
        let header = frame.at(frame.slot(slot).offset) as *const QueryHeader;
        // Until the system takes rows mutably by iterating, it changes only
        // those `get_mut` finds (`query_locate`): the host compares no other.
        frame.report_touched(slot, crate::abi::TOUCHED_LOCATED);
        Query { frame, header, slot, _marker: PhantomData }
    }
}

/// A [`Query`] that must match at least one entity for the system to run,
/// as Bevy's `Populated`: in a frame where it matches nothing, the host
/// does not call the system at all (nothing is copied, nothing is run).
/// It is a `Query` otherwise (it dereferences to one).
///
/// ```
/// use mod_api::prelude::*;
///
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// struct Burning {
///     left: f32,
/// }
///
/// // Nothing burns most of the time: then this system costs nothing.
/// fn burn(time: Res<Time>, mut fires: Populated<&mut Burning>) {
///     fires.for_each_mut(|b| b.left -= time.delta_secs());
/// }
/// # fn main() {}
/// ```
pub struct Populated<'s, D: QueryData, F: QueryFilter = ()>(Query<'s, D, F>);

impl<'s, D: QueryData, F: QueryFilter> core::ops::Deref for Populated<'s, D, F> {
    type Target = Query<'s, D, F>;
    fn deref(&self) -> &Query<'s, D, F> {
        &self.0
    }
}
impl<D: QueryData, F: QueryFilter> core::ops::DerefMut for Populated<'_, D, F> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

// SAFETY: as `Query`'s.
unsafe impl<D: QueryData + 'static, F: QueryFilter + 'static> SystemParam for Populated<'_, D, F> {
    type State = ();
    type Item<'s> = Populated<'s, D, F>;
    fn init() -> ((), ParamDecl) {
        ((), query_decl::<D, F>(true))
    }
    unsafe fn fetch<'s>(state: &'s mut (), frame: &'s FrameCtx, slot: usize) -> Populated<'s, D, F> {
        // SAFETY: forwarded.
        Populated(unsafe { <Query<'s, D, F> as SystemParam>::fetch(state, frame, slot) })
    }
}

/// Calls `f(row)` for every row below `len`, eight rows per loop iteration.
///
/// NOTE: wasmtime checks the mod's deadline (an epoch counter) on every loop
/// back-edge, and cranelift reloads the loop's spilled values around that
/// check; with eight calls of `f` per iteration the check costs an eighth as
/// much per entity. `f` is inlined eight times, so keep it small (it is the
/// body of a `for_each`).
#[inline(always)]
fn unrolled(len: usize, mut f: impl FnMut(usize)) {
    const UNROLL: usize = 8;
    let whole = len / UNROLL * UNROLL;
    let mut row = 0;
    while row < whole {
        for k in 0..UNROLL {
            f(row + k);
        }
        row += UNROLL;
    }
    while row < len {
        f(row);
        row += 1;
    }
}
