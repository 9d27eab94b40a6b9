//! Builds on the `bank` mod: sends it a [`Deposit`] of one coin every half
//! second. It knows the message through the `bank-api` crate, and its
//! manifest requires `bank`, so it loads after it, or not at all.

use bank_api::Deposit;
use mod_api::prelude::*;

fn tip(time: Res<Time>, mut since: Local<f32>, mut deposits: MessageWriter<Deposit>) {
    *since += time.delta_secs();
    if *since >= 0.5 {
        *since -= 0.5;
        deposits.write(Deposit { coins: 1 });
    }
}

#[mod_main]
fn main(app: &mut App) {
    app.add_systems(Update, tip);
}
