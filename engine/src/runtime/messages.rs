//! The message bus shared by the engine and every mod: one channel per
//! message name, fixed-size records, double-buffered like Bevy's `Messages`
//! (a message is readable during the frame it was sent and the next).
//! Readers keep a cursor, so each reader sees each message once.

use bevy::prelude::*;
use bytemuck::Pod;
use std::collections::HashMap;

/// Largest message record, in bytes.
pub const MAX_RECORD_SIZE: usize = 64 * 1024;
/// Most message channels (names) a process holds; names are never freed.
pub const MAX_CHANNELS: usize = 4096;

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
        });
        self.by_name.insert(name.to_string(), id);
        Ok(id)
    }

    /// Creates the channel of an engine message type. The runtime registers
    /// the engine's own types at startup, before any mod can declare them.
    pub fn register<T: mod_api::Message + Pod>(&mut self) {
        self.typed::<T>();
    }

    fn typed<T: mod_api::Message + Pod>(&mut self) -> ChannelId {
        self.channel(T::NAME, size_of::<T>(), align_of::<T>()).unwrap_or_else(|e| {
            // Only engine code names types here; a mod that declared the same
            // name first with another layout is a bug in the engine's setup
            // (engine types are registered at startup), not the mod's.
            panic!("engine message type {}: {e}", T::NAME)
        })
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

    /// Engine → mods: sends one message.
    pub fn write<T: mod_api::Message + Pod>(&mut self, message: T) {
        let id = self.typed::<T>();
        self.write_raw(id, bytemuck::bytes_of(&message));
    }

    /// Engine → mods: sends every message of `messages`, in order.
    pub fn write_batch<T: mod_api::Message + Pod>(&mut self, messages: &[T]) {
        let id = self.typed::<T>();
        self.write_raw(id, bytemuck::cast_slice(messages));
    }

    /// Mods → engine: the messages of type `T` sent since `cursor`.
    pub fn read<T: mod_api::Message + Pod>(&mut self, cursor: &mut u64) -> Vec<T> {
        let mut out = Vec::new();
        self.read_into(cursor, &mut out);
        out
    }

    /// Like [`read`](Self::read), into `out` (cleared first), reusing its
    /// allocation.
    pub fn read_into<T: mod_api::Message + Pod>(&mut self, cursor: &mut u64, out: &mut Vec<T>) {
        let id = self.typed::<T>();
        let (bytes, next) = self.unread(id, *cursor);
        *cursor = next;
        out.clear();
        out.extend(bytes.chunks_exact(size_of::<T>()).map(bytemuck::pod_read_unaligned::<T>));
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
