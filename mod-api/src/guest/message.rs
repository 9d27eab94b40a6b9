//! Message readers and writers: buffered, fixed-size records shared by name
//! between the game and every mod (ABI.md, "Messages").

use super::param::{FrameCtx, SystemParam};
use super::registry;
use crate::Message;
use crate::abi::{ParamDecl, ParamSlot};

/// The messages of type `M` this system has not read yet: those sent since
/// its last run, by the game, other mods or this mod.
///
/// A message is kept for the frame it was sent in and the next one, so a
/// `FixedUpdate` reader may miss messages in frames without a fixed step.
/// The reader does not need `mut`.
///
/// ```
/// use mod_api::prelude::*;
///
/// /// Two entities touch (in the crate a game shares with its mods).
/// #[derive(Message, Clone, Copy)]
/// #[repr(C)]
/// pub struct Collision {
///     pub a: Entity,
///     pub b: Entity,
/// }
///
/// fn on_collisions(collisions: MessageReader<Collision>) {
///     for c in collisions.read() {
///         info!("{:?} touches {:?}", c.a, c.b);
///     }
/// }
/// # fn main() {}
/// ```
pub struct MessageReader<'s, M: Message> {
    messages: &'s [M],
}

impl<'s, M: Message> MessageReader<'s, M> {
    /// Every unread message, oldest first.
    pub fn read(&self) -> impl ExactSizeIterator<Item = &'s M> + 's {
        self.messages.iter()
    }
    /// Number of unread messages.
    pub fn len(&self) -> usize {
        self.messages.len()
    }
    /// True if there are no unread messages.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

// SAFETY: reads the records the host wrote into its slot.
unsafe impl<M: Message> SystemParam for MessageReader<'_, M> {
    type State = ();
    type Item<'s> = MessageReader<'s, M>;
    fn init() -> ((), ParamDecl) {
        ((), ParamDecl::MessageReader { message: registry::message_id::<M>() })
    }
    unsafe fn fetch<'s>(_: &'s mut (), frame: &'s FrameCtx, slot: usize) -> MessageReader<'s, M> {
        let s = frame.slot(slot);
        let count = s.len as usize / size_of::<M>().max(1);
        let messages = if count == 0 {
            &[][..]
        } else {
            // SAFETY: the host wrote `count` aligned records of `M` at the offset.
            unsafe { core::slice::from_raw_parts(frame.at(s.offset) as *const M, count) }
        };
        MessageReader { messages }
    }
}

/// Sends messages of type `M`; they become readable after this system
/// returns: by later systems, other mods, the game, and this system on its
/// next run.
pub struct MessageWriter<'s, M: Message> {
    buf: &'s mut Vec<M>,
}

impl<M: Message> MessageWriter<'_, M> {
    /// Sends one message.
    ///
    /// ```
    /// use mod_api::prelude::*;
    ///
    /// #[derive(Message, Clone, Copy)]
    /// #[repr(C)]
    /// pub struct WaveStarted {
    ///     pub wave: u32,
    /// }
    ///
    /// /// A message the game reads (its HUD shows the latest).
    /// #[derive(Message, Clone, Copy)]
    /// #[repr(C)]
    /// pub struct ScoreChanged {
    ///     pub score: u32,
    ///     pub wave: u32,
    /// }
    ///
    /// fn report(mut scores: MessageWriter<ScoreChanged>, mut waves: MessageWriter<WaveStarted>) {
    ///     scores.write(ScoreChanged { score: 120, wave: 2 });
    ///     waves.write(WaveStarted { wave: 2 });
    /// }
    /// # fn main() {}
    /// ```
    pub fn write(&mut self, message: M) {
        self.buf.push(message);
    }
    /// Sends every message of `messages`.
    pub fn write_batch(&mut self, messages: impl IntoIterator<Item = M>) {
        self.buf.extend(messages);
    }
}

// SAFETY: declares an output slot; `finish` publishes the buffer.
unsafe impl<M: Message> SystemParam for MessageWriter<'_, M> {
    type State = Vec<M>;
    type Item<'s> = MessageWriter<'s, M>;
    fn init() -> (Vec<M>, ParamDecl) {
        (Vec::new(), ParamDecl::MessageWriter { message: registry::message_id::<M>() })
    }
    unsafe fn fetch<'s>(state: &'s mut Vec<M>, _: &'s FrameCtx, _: usize) -> MessageWriter<'s, M> {
        state.clear();
        MessageWriter { buf: state }
    }
    fn finish(state: &mut Vec<M>, frame: &FrameCtx, slot: usize) {
        let len = (state.len() * size_of::<M>()) as u32;
        frame.set_slot(slot, ParamSlot { offset: state.as_ptr() as u32, len });
    }
}
