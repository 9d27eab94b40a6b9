//! The bank: one wallet, shown as a label, credited with every [`Deposit`]
//! any mod sends. Its types live in the `bank-api` crate so other mods
//! (`mods/tipper`) can use them.

use bank_api::{Deposit, Wallet};
use mod_api::prelude::*;
use rocks_api::*;

fn open(mut commands: Commands) {
    commands.spawn((
        Wallet { coins: 0 },
        Transform2d::from_xy(-560.0, -320.0),
        Label::new("wallet: 0 coins", 20.0, Color::YELLOW),
    ));
}

fn credit(deposits: MessageReader<Deposit>, mut wallets: Query<(&mut Wallet, &mut Label)>) {
    let coins: u32 = deposits.read().map(|d| d.coins).sum();
    if coins == 0 {
        return;
    }
    wallets.for_each_mut(|(wallet, label)| {
        wallet.coins = wallet.coins.saturating_add(coins);
        *label = Label::new(&format!("wallet: {} coins", wallet.coins), label.font_size, label.color);
    });
}

#[mod_main]
fn main(app: &mut App) {
    app.add_systems(Startup, open).add_systems(Update, credit);
}
