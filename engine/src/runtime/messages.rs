//! The mods' message bus: one channel per message name, fixed-size
//! records, double-buffered like Bevy's `Messages` (a message is readable
//! during the frame it was sent and the next). Readers keep a cursor, so
//! each reader sees each message once.
//!
//! Game code never needs it: a message type the game exposes
//! (`expose::message`) is bridged both ways with Bevy's own `Messages<T>`,
//! which game code reads and writes. The typed `read`/`write` here serve
//! tools and tests that watch mods' own messages.

use super::expose::MessageBridge;
use bevy::prelude::*;
use std::collections::HashMap;

/// Largest message record, in bytes.
pub const MAX_RECORD_SIZE: usize = 64 * 1024;
/// Most message channels (names) a process holds; names are never freed.
/// Each mod may add at most `ModLimits::max_names_per_mod` (see
/// `MAX_COMPONENTS`).
pub const MAX_CHANNELS: usize = 65_536;

/// Index of a channel in [`ModMessages`].
pub type ChannelId = usize;

pub(crate) struct Channel {
    pub name: String,
    pub size: usize,
    pub align: usize,
    /// Records, oldest first; the first has sequence number `first_seq`.
    records: Vec<u8>,
    first_seq: u64,
    /// Sequence number where the current frame's messages start.
    frame_start: u64,
    /// Mods may write it (false for a game message exposed read-only).
    mods_write: bool,
    /// The game's Bevy message type it is bridged with, if it is the game's.
    bridge: Option<MessageBridge>,
}

impl Channel {
    fn next_seq(&self) -> u64 {
        self.first_seq + (self.records.len() / self.size.max(1)) as u64
    }
}

/// Every message channel. Engine code uses [`ModMessages::write`] and
/// [`ModMessages::read`] with the `mod_api` message types.
#[derive(Resource, Default)]
pub struct ModMessages {
    channels: Vec<Channel>,
    by_name: HashMap<String, ChannelId>,
}

impl ModMessages {
    /// The channel for `name`, created on first use. Fails if the channel
    /// exists with another record layout.
    pub fn channel(&mut self, name: &str, size: usize, align: usize) -> Result<ChannelId, String> {
        if let Some(&id) = self.by_name.get(name) {
            let c = &self.channels[id];
            if c.size != size || c.align != align {
                return Err(format!(
                    "message {name} is {size} bytes (align {align}) here but {} bytes (align {}) where it was first declared",
                    c.size, c.align
                ));
            }
            return Ok(id);
        }
        if size == 0 || !align.is_power_of_two() || !size.is_multiple_of(align) || align > 16 || size > MAX_RECORD_SIZE
        {
            return Err(format!("message {name} has an invalid layout: size {size}, align {align}"));
        }
        if self.channels.len() >= MAX_CHANNELS {
            return Err(format!("message {name} would be channel {}: the limit is {MAX_CHANNELS}", MAX_CHANNELS + 1));
        }
        let id = self.channels.len();
        self.channels.push(Channel {
            name: name.to_string(),
            size,
            align,
            records: Vec::new(),
            first_seq: 0,
            frame_start: 0,
            mods_write: true,
            bridge: None,
        });
        self.by_name.insert(name.to_string(), id);
        Ok(id)
    }

    /// Whether a channel named `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Creates the channel of a message type the game exposes (see
    /// `expose::message`), bridged with Bevy's `Messages` of that type.
    pub(crate) fn register_game(
        &mut self,
        name: &str,
        size: usize,
        align: usize,
        mods_write: bool,
        bridge: MessageBridge,
    ) -> Result<ChannelId, String> {
        let id = self.channel(name, size, align)?;
        let c = &mut self.channels[id];
        c.mods_write = mods_write;
        c.bridge = Some(bridge);
        Ok(id)
    }

    /// Whether mods may write channel `id`.
    pub(crate) fn mods_may_write(&self, id: ChannelId) -> bool {
        self.channels[id].mods_write
    }

    /// The bridge of channel `id` with the game's Bevy messages, if any.
    pub(crate) fn bridge(&self, id: ChannelId) -> Option<MessageBridge> {
        self.channels[id].bridge
    }

    /// Moves what game code wrote to the exposed message types since the
    /// last pull into their channels, so mods running next read it.
    pub(crate) fn pull_game_messages(world: &mut World) {
        let bridges: Vec<(ChannelId, MessageBridge)> = world
            .resource::<ModMessages>()
            .channels
            .iter()
            .enumerate()
            .filter_map(|(id, c)| Some((id, c.bridge?)))
            .collect();
        for (id, bridge) in bridges {
            (bridge.pull)(world, id);
        }
    }

    /// The channel of `T`. Panics if it exists with another layout: the
    /// typed API serves tools and tests, which name their own types.
    fn typed<T: mod_api::Message>(&mut self) -> ChannelId {
        self.channel(T::NAME, size_of::<T>(), align_of::<T>()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Appends whole records (`bytes.len()` is a multiple of the record size).
    pub(crate) fn write_raw(&mut self, id: ChannelId, bytes: &[u8]) {
        self.channels[id].records.extend_from_slice(bytes);
    }

    /// The unread records for a reader at `cursor`, and the cursor after them.
    pub(crate) fn unread(&self, id: ChannelId, cursor: u64) -> (&[u8], u64) {
        let c = &self.channels[id];
        let from = cursor.max(c.first_seq);
        let start = ((from - c.first_seq) as usize * c.size).min(c.records.len());
        (&c.records[start..], c.next_seq())
    }

    pub(crate) fn record_size(&self, id: ChannelId) -> usize {
        self.channels[id].size
    }

    /// Number of records held in channel `id` (this frame's and last frame's).
    pub fn held(&self, id: ChannelId) -> usize {
        let c = &self.channels[id];
        c.records.len() / c.size
    }

    /// Sends messages on the channel of `T` (a tool or test playing a mod;
    /// game code writes Bevy messages).
    pub fn write_batch<T: mod_api::Message>(&mut self, messages: &[T]) {
        let id = self.typed::<T>();
        // SAFETY: `T` is plain data without padding (`mod_api::Message`).
        let bytes = unsafe { std::slice::from_raw_parts(messages.as_ptr() as *const u8, size_of_val(messages)) };
        self.write_raw(id, bytes);
    }

    /// Sends one message ([`write_batch`](Self::write_batch)).
    pub fn write<T: mod_api::Message>(&mut self, message: T) {
        self.write_batch(&[message])
    }

    /// Like [`read`](Self::read), into `out` (cleared first), reusing its
    /// allocation.
    pub fn read_into<T: mod_api::Message>(&mut self, cursor: &mut u64, out: &mut Vec<T>) {
        let id = self.typed::<T>();
        let (bytes, next) = self.unread(id, *cursor);
        *cursor = next;
        out.clear();
        // SAFETY: whole records of `T`, plain data; the reads may be unaligned.
        out.extend(
            bytes.chunks_exact(size_of::<T>()).map(|r| unsafe { std::ptr::read_unaligned(r.as_ptr() as *const T) }),
        );
    }

    /// The messages of type `T` sent since `cursor` (a tool or test
    /// watching mods; game code reads Bevy messages).
    pub fn read<T: mod_api::Message>(&mut self, cursor: &mut u64) -> Vec<T> {
        let id = self.typed::<T>();
        let (bytes, next) = self.unread(id, *cursor);
        *cursor = next;
        // SAFETY: whole records of `T`, plain data; the reads may be unaligned.
        bytes
            .chunks_exact(size_of::<T>())
            .map(|r| unsafe { std::ptr::read_unaligned(r.as_ptr() as *const T) })
            .collect()
    }

    /// The name of channel `id`.
    pub fn name(&self, id: ChannelId) -> &str {
        &self.channels[id].name
    }

    /// Drops the messages of the frame before last (runs first in
    /// [`ModSystems::Activate`](super::ModSystems::Activate), `PreUpdate`).
    pub fn update(&mut self) {
        for c in &mut self.channels {
            let drop = ((c.frame_start - c.first_seq) as usize * c.size).min(c.records.len());
            c.records.drain(..drop);
            c.first_seq = c.frame_start;
            c.frame_start = c.next_seq();
        }
    }
}

pub(crate) fn update_messages(mut messages: ResMut<ModMessages>) {
    messages.update();
}
