//! The in-game mod manager: F1 opens a panel listing every mod with its
//! name, version, status, last error, reload count and time per frame, with
//! buttons to disable, enable and reload each (through
//! [`ModControl`](engine::runtime::ModControl)).

use bevy::prelude::*;
use engine::runtime::{ModControl, ModRegistry, ModStatus};

/// Whether the panel is shown.
#[derive(Resource, Default)]
pub struct ManagerOpen(pub bool);

#[derive(Component)]
struct Panel;

/// The text of the row of mod `.0` (index in the registry).
#[derive(Component)]
struct RowText(usize);

/// A button of the row of mod `.0`.
#[derive(Component, Clone, Copy, PartialEq)]
enum RowButton {
    Toggle(usize),
    Reload(usize),
}

const BUTTON: Color = Color::srgb(0.18, 0.2, 0.28);
const BUTTON_HOVER: Color = Color::srgb(0.28, 0.32, 0.45);

pub(super) fn add_manager(app: &mut App) {
    app.init_resource::<ManagerOpen>().add_systems(Update, (toggle, build_rows, refresh, click).chain());
}

fn toggle(keys: Res<ButtonInput<KeyCode>>, mut open: ResMut<ManagerOpen>) {
    if keys.just_pressed(KeyCode::F1) {
        open.0 = !open.0;
    }
}

fn text(size: f32, color: Color, value: impl Into<String>) -> impl Bundle {
    (Text::new(value), TextFont { font_size: FontSize::Px(size), ..default() }, TextColor(color))
}

/// (Re)builds the panel when it opens or the set of mods changes; removes
/// it when it closes.
fn build_rows(
    mut commands: Commands,
    open: Res<ManagerOpen>,
    registry: Res<ModRegistry>,
    panels: Query<Entity, With<Panel>>,
    rows: Query<&RowText>,
) {
    let built = !panels.is_empty();
    let rows_match = rows.iter().count() == registry.mods.len();
    if built && (!open.0 || !rows_match) {
        for panel in &panels {
            commands.entity(panel).despawn();
        }
    }
    if !open.0 || (built && rows_match) {
        return;
    }
    let panel = commands
        .spawn((
            Panel,
            Node {
                position_type: PositionType::Absolute,
                top: px(60.0),
                left: px(40.0),
                right: px(40.0),
                flex_direction: FlexDirection::Column,
                row_gap: px(8.0),
                padding: UiRect::all(px(16.0)),
                ..default()
            },
            BackgroundColor(Color::srgba(0.03, 0.04, 0.08, 0.94)),
            GlobalZIndex(10),
        ))
        .id();
    commands.entity(panel).with_children(|p| {
        p.spawn(text(24.0, Color::WHITE, "MODS  (F1 closes)"));
        for i in 0..registry.mods.len() {
            p.spawn(Node {
                flex_direction: FlexDirection::Row,
                column_gap: px(10.0),
                align_items: AlignItems::Center,
                ..default()
            })
            .with_children(|row| {
                for (label, button) in [("disable", RowButton::Toggle(i)), ("reload", RowButton::Reload(i))] {
                    row.spawn((
                        Button,
                        button,
                        Node { padding: UiRect::axes(px(10.0), px(4.0)), min_width: px(80.0), ..default() },
                        BackgroundColor(BUTTON),
                    ))
                    .with_child(text(16.0, Color::WHITE, label));
                }
                row.spawn((text(16.0, Color::WHITE, ""), RowText(i)));
            });
        }
    });
}

fn status_line(m: &engine::runtime::ModEntry) -> (String, Color) {
    let (status, color) = match &m.status() {
        ModStatus::Loading => ("loading".to_string(), Color::srgb(0.8, 0.8, 0.5)),
        ModStatus::Running => ("running".to_string(), Color::srgb(0.5, 0.95, 0.5)),
        ModStatus::Disabled => ("disabled".to_string(), Color::srgb(0.6, 0.6, 0.6)),
        ModStatus::Failed(e) => (format!("failed: {e}"), Color::srgb(1.0, 0.45, 0.45)),
    };
    let title = m.manifest.as_ref().map_or(m.name.as_str(), |manifest| manifest.name.as_str());
    let name = if m.name.is_empty() { m.file.clone() } else { format!("{title} {}", m.version) };
    let tier = m.instance().map(|i| format!(" ({:?})", i.tier()).to_lowercase()).unwrap_or_default();
    let mut line = format!(
        "{name}  [{}]  {status}{tier}  reloads {}  {:.2} ms/frame",
        m.file,
        m.reloads,
        m.time_per_frame.as_secs_f64() * 1000.0
    );
    if let Some(e) = &m.last_error {
        line.push_str(&format!("\n    last error: {e}"));
    }
    (line, color)
}

/// Updates every row's text and its toggle button's label.
fn refresh(
    open: Res<ManagerOpen>,
    registry: Res<ModRegistry>,
    mut texts: Query<(&RowText, &mut Text, &mut TextColor)>,
    buttons: Query<(&RowButton, &Children, &Interaction, &mut BackgroundColor)>,
    mut labels: Query<&mut Text, Without<RowText>>,
) {
    if !open.0 {
        return;
    }
    for (row, mut text, mut color) in &mut texts {
        let Some(m) = registry.mods.get(row.0) else { continue };
        let (line, c) = status_line(m);
        text.0 = line;
        color.0 = c;
    }
    for (button, children, interaction, mut background) in buttons {
        background.0 = if *interaction == Interaction::None { BUTTON } else { BUTTON_HOVER };
        let RowButton::Toggle(i) = *button else { continue };
        let Some(m) = registry.mods.get(i) else { continue };
        let label = if m.status() == ModStatus::Disabled { "enable" } else { "disable" };
        for child in children {
            if let Ok(mut t) = labels.get_mut(*child) {
                t.0 = label.to_string();
            }
        }
    }
}

fn click(
    registry: Res<ModRegistry>,
    buttons: Query<(&Interaction, &RowButton), Changed<Interaction>>,
    mut control: MessageWriter<ModControl>,
) {
    for (interaction, button) in &buttons {
        if *interaction != Interaction::Pressed {
            continue;
        }
        let (RowButton::Toggle(i) | RowButton::Reload(i)) = *button;
        let Some(m) = registry.mods.get(i) else { continue };
        control.write(match button {
            RowButton::Toggle(_) if m.status() == ModStatus::Disabled => ModControl::Enable(m.file.clone()),
            RowButton::Toggle(_) => ModControl::Disable(m.file.clone()),
            RowButton::Reload(_) => ModControl::Reload(m.file.clone()),
        });
    }
}
