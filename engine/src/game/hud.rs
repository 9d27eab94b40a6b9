//! The HUD: score, lives and wave from the mods, "GAME OVER", and every mod
//! error, drawn with Bevy UI.

use super::Scoreboard;
use crate::runtime::{ModRegistry, ModStatus};
use bevy::prelude::*;

#[derive(Component)]
struct ScoreText;
#[derive(Component)]
struct BannerText;
#[derive(Component)]
struct ErrorText;

pub(super) fn add_hud(app: &mut App) {
    app.add_systems(Startup, spawn_hud).add_systems(Update, update_hud);
}

fn spawn_hud(mut commands: Commands) {
    let font = |size: f32| TextFont { font_size: FontSize::Px(size), ..default() };
    commands.spawn((
        Text::new("Loading mods…"),
        font(28.0),
        TextColor(Color::WHITE),
        Node { position_type: PositionType::Absolute, top: px(12.0), left: px(16.0), ..default() },
        ScoreText,
    ));
    commands.spawn((
        Text::new(""),
        font(56.0),
        TextColor(Color::srgb(1.0, 0.35, 0.3)),
        TextLayout::justify(Justify::Center),
        Node { position_type: PositionType::Absolute, top: px(280.0), width: percent(100.0), justify_content: JustifyContent::Center, ..default() },
        BannerText,
    ));
    commands.spawn((
        Text::new(""),
        font(16.0),
        TextColor(Color::srgb(1.0, 0.45, 0.45)),
        Node { position_type: PositionType::Absolute, bottom: px(10.0), left: px(16.0), right: px(16.0), ..default() },
        ErrorText,
    ));
}

fn update_hud(
    board: Res<Scoreboard>,
    registry: Res<ModRegistry>,
    mut score: Query<&mut Text, (With<ScoreText>, Without<BannerText>, Without<ErrorText>)>,
    mut banner: Query<&mut Text, (With<BannerText>, Without<ScoreText>, Without<ErrorText>)>,
    mut errors: Query<&mut Text, (With<ErrorText>, Without<ScoreText>, Without<BannerText>)>,
) {
    let running = registry.mods.iter().filter(|m| m.status == ModStatus::Running).count();
    if let Ok(mut t) = score.single_mut() {
        t.0 = if !registry.settled() {
            "Loading mods…".to_string()
        } else if board.reported {
            format!("SCORE {:>6}    LIVES {}    WAVE {}    ({running} mods)", board.score, board.lives, board.wave)
        } else {
            format!("({running} mods running, none reports a score)")
        };
    }
    if let Ok(mut t) = banner.single_mut() {
        t.0 = if board.game_over { "GAME OVER\npress Enter to play again".into() } else { String::new() };
    }
    if let Ok(mut t) = errors.single_mut() {
        t.0 = registry
            .mods
            .iter()
            .filter_map(|m| match &m.status {
                ModStatus::Failed(e) => Some(format!("✖ {e}")),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
}
