//! The HUD: score, lives and wave from the mods, "GAME OVER", every mod
//! error, and what became of the last save or load, drawn with Bevy UI.

use super::Scoreboard;
use bevy::prelude::*;
use engine::runtime::ModRegistry;

/// Which HUD line a text entity is.
#[derive(Component, Clone, Copy, PartialEq, Eq)]
enum HudText {
    Score,
    Banner,
    Errors,
}

pub(super) fn add_hud(app: &mut App) {
    app.add_systems(Startup, spawn_hud).add_systems(Update, update_hud);
}

fn spawn_hud(mut commands: Commands) {
    let font = |size: f32| TextFont { font_size: FontSize::Px(size), ..default() };
    commands.spawn((
        Text::new("Loading mods..."),
        font(28.0),
        TextColor(Color::WHITE),
        Node { position_type: PositionType::Absolute, top: px(12.0), left: px(16.0), ..default() },
        HudText::Score,
    ));
    commands.spawn((
        Text::new(""),
        font(56.0),
        TextColor(Color::srgb(1.0, 0.35, 0.3)),
        TextLayout::justify(Justify::Center),
        Node {
            position_type: PositionType::Absolute,
            top: px(280.0),
            width: percent(100.0),
            justify_content: JustifyContent::Center,
            ..default()
        },
        HudText::Banner,
    ));
    commands.spawn((
        Text::new(""),
        font(16.0),
        TextColor(Color::srgb(1.0, 0.45, 0.45)),
        Node { position_type: PositionType::Absolute, bottom: px(10.0), left: px(16.0), right: px(16.0), ..default() },
        HudText::Errors,
    ));
}

fn update_hud(
    board: Res<Scoreboard>,
    registry: Res<ModRegistry>,
    saves: Res<super::saves::SaveLog>,
    dev: Option<Res<engine::runtime::dev::DevBuild>>,
    mut texts: Query<(&mut Text, &HudText)>,
) {
    let running = registry.mods.iter().filter(|m| m.is_running()).count();
    for (mut text, which) in &mut texts {
        text.0 = match which {
            HudText::Score if !registry.settled() => "Loading mods...".to_string(),
            HudText::Score if board.reported => {
                format!("SCORE {:>6}    LIVES {}    WAVE {}    ({running} mods)", board.score, board.lives, board.wave)
            }
            HudText::Score => format!("({running} mods running, none reports a score)"),
            HudText::Banner if board.game_over => "GAME OVER\npress Enter to play again".into(),
            HudText::Banner => String::new(),
            HudText::Errors => {
                let build = dev.as_ref().and_then(|d| match (&d.last_error, d.building.is_empty()) {
                    (_, false) => Some(format!("building {}...", d.building.join(", "))),
                    (Some(e), true) => Some(format!("error: {e}")),
                    _ => None,
                });
                // A save's outcome shows for a few seconds; a failure longer.
                let save = saves.latest.as_ref().and_then(|(result, age)| match result {
                    Ok(done) if age.as_secs_f32() < 4.0 => Some(done.clone()),
                    Err(e) if age.as_secs_f32() < 12.0 => Some(format!("error: {e}")),
                    _ => None,
                });
                registry
                    .mods
                    .iter()
                    .filter_map(|m| match (m.error(), &m.last_error) {
                        (Some(e), _) => Some(format!("error: {e}")),
                        (_, Some(e)) => Some(format!("warning: {}: {e}", m.file)),
                        _ => None,
                    })
                    .chain(build)
                    .chain(save)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        };
    }
}
