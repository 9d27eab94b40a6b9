//! What the `bank` mod offers other mods: its component and its message.
//!
//! A mod builds on another by depending on a crate like this one (for the
//! types, which are the same in every mod that names them through it: their
//! name is their Rust path, `bank_api::Wallet`) and by naming the other mod
//! in its manifest (so it only loads where that mod is, and after it). The
//! crate holds no `#[mod_main]`: the mod itself is `mods/bank`.

use mod_api::prelude::*;

/// Coins on an entity. The bank spawns one wallet and credits deposits to it.
#[derive(Component, Clone, Copy, Debug)]
#[repr(C)]
pub struct Wallet {
    pub coins: u32,
}

/// Any mod → the bank: credit `coins` to every wallet.
#[derive(Message, Clone, Copy, Debug)]
#[repr(C)]
pub struct Deposit {
    pub coins: u32,
}
