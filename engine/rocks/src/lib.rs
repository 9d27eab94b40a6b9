//! The demo game's engine side. Its rules live in mods (`mods/ship`,
//! `mods/rocks`, `mods/rules`, `mods/mover`); the game shows them the types
//! of its own crate `rocks-api` through the runtime's public API
//! ([`expose_to_mods`]), as any Bevy game would, and supplies:
//! - drawing: [`Transform2d`], [`rocks_api::Sprite`] and [`rocks_api::Label`]
//!   are mirrored into Bevy's `Transform`, `Sprite`, `Text2d`;
//! - collisions: circle overlaps of [`Collider`]s become [`Collision`]
//!   messages for the mods;
//! - the HUD: score, lives and wave from [`ScoreChanged`] messages, and
//!   every mod error on screen;
//! - save games: F5 saves, F9 loads (`--save`, `--load` on the command line);
//! - headless runs ([`headless`]): fixed time step, scripted input, report.

pub mod headless;
mod hud;
pub mod manager;
pub mod saves;

use bevy::prelude::*;
use engine::runtime::{ModAccess, ModApp, ModSystems, ModdingPlugins};
use rocks_api::{Collider, Collision, Label, ScoreChanged, Transform2d, Velocity};
use std::path::PathBuf;

/// Width and height of the play field in world units; (0, 0) is its centre.
pub const FIELD: Vec2 = Vec2::new(1280.0, 720.0);

/// Options of one game run, from the command line or a test.
#[derive(Clone, Debug)]
pub struct GameConfig {
    /// The folder whose `.wasm` files are the mods.
    pub mods_dir: PathBuf,
    /// No window, no GPU, fixed time step.
    pub headless: bool,
    /// Headless: frames to run once the mods have started, then exit.
    pub frames: Option<u64>,
    /// Scripted keyboard input (RON, see [`headless::InputScript`]); headless
    /// runs and screenshot runs replay it.
    pub input: Option<PathBuf>,
    /// Write a RON [`headless::Report`] here at exit.
    pub report: Option<PathBuf>,
    /// Mods (by id or file; `all` for every mod) whose saved state the
    /// report includes.
    pub report_state: Vec<String>,
    /// Windowed: save a screenshot at frame `.1` to `.0`, then exit.
    pub screenshot: Option<(PathBuf, u64)>,
    /// Base of mods' random seeds.
    pub seed: u64,
    /// Live editing: the cargo workspace whose `mods/*` sources are watched
    /// and rebuilt into the mod folder when they change.
    pub dev: Option<PathBuf>,
    /// Install Bevy's log subscriber (off for tests that build many apps in one process).
    pub log: bool,
    /// Where F5 saves the game and F9 loads it from; headless runs save
    /// here when they end, if set.
    pub save: Option<PathBuf>,
    /// Load this save game as soon as the mods have started.
    pub load: Option<PathBuf>,
    /// CPU, memory and quota limits for every mod.
    pub limits: engine::runtime::ModLimits,
    /// Where compiled mods are kept between runs.
    pub compile_cache: engine::runtime::CompileCache,
}

/// Where F5/F9 save and load when no `--save` path is given.
pub const QUICKSAVE: &str = "saves/quicksave.ron";

impl Default for GameConfig {
    fn default() -> Self {
        GameConfig {
            mods_dir: PathBuf::from("assets/mods"),
            headless: false,
            frames: None,
            input: None,
            report: None,
            report_state: Vec::new(),
            screenshot: None,
            seed: 0x5EED,
            dev: None,
            log: true,
            save: None,
            load: None,
            limits: Default::default(),
            compile_cache: Default::default(),
        }
    }
}

/// What the HUD shows and the report records, from the mods' [`ScoreChanged`].
#[derive(Resource, Default, Debug, Clone, Copy)]
pub struct Scoreboard {
    pub score: u32,
    pub lives: u32,
    pub wave: u32,
    pub game_over: bool,
    /// True once any mod reported a score.
    pub reported: bool,
}

/// Builds the game's `App`, windowed or headless.
pub fn build_app(config: &GameConfig) -> App {
    let mut app = App::new();
    let modding = ModdingPlugins {
        mods_dir: absolute(&config.mods_dir),
        seed: config.seed,
        limits: config.limits.clone(),
        compile_cache: config.compile_cache.clone(),
    };
    // NOTE: the modding plugin registers an asset source, so it goes before the asset plugin.
    app.add_plugins(modding);
    expose_to_mods(&mut app);
    if config.headless {
        headless::add_headless_plugins(&mut app, config);
    } else {
        let assets = absolute(std::path::Path::new("assets")).to_string_lossy().into_owned();
        app.add_plugins(DefaultPlugins.set(AssetPlugin { file_path: assets, ..default() }).set(WindowPlugin {
            primary_window: Some(Window {
                title: "Rocks — a game made of WebAssembly mods".into(),
                resolution: (FIELD.x as u32, FIELD.y as u32).into(),
                resizable: false,
                ..default()
            }),
            ..default()
        }));
        app.insert_resource(ClearColor(Color::srgb(0.02, 0.02, 0.06)))
            .add_systems(Startup, spawn_camera)
            .add_systems(PostUpdate, (add_render_components, sync_transforms, sync_sprites, sync_labels).chain());
        hud::add_hud(&mut app);
        manager::add_manager(&mut app);
        if let Some((path, frame)) = config.screenshot.clone() {
            headless::add_screenshot(&mut app, config, path, frame);
        }
    }
    if let Some(workspace) = &config.dev {
        app.add_plugins(engine::runtime::dev::DevBuildPlugin {
            workspace: absolute(workspace),
            mods_dir: absolute(&config.mods_dir),
        });
    }
    saves::add_saves(&mut app, config);
    app.init_resource::<Scoreboard>()
        .add_systems(Update, detect_collisions.before(ModSystems::Update))
        .add_systems(Update, read_scores.after(ModSystems::Update));
    if let Some(report) = &config.report {
        headless::add_report(&mut app, report.clone(), config.report_state.clone());
    }
    app
}

/// What Rocks shows its mods: its components, all of which mods may change
/// (the rules are mods), the collisions it detects (mods read them) and the
/// scores mods report (mods write them, the HUD reads them).
pub fn expose_to_mods(app: &mut App) {
    app.add_mod_component::<Transform2d>(ModAccess::ReadWrite)
        .add_mod_component::<Velocity>(ModAccess::ReadWrite)
        .add_mod_component::<rocks_api::Sprite>(ModAccess::ReadWrite)
        .add_mod_component::<Label>(ModAccess::ReadWrite)
        .add_mod_component::<Collider>(ModAccess::ReadWrite)
        .add_mod_message::<Collision>(ModAccess::Read)
        .add_mod_message::<ScoreChanged>(ModAccess::ReadWrite);
}

pub(crate) fn absolute(p: &std::path::Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    }
}

fn spawn_camera(mut commands: Commands) {
    commands.spawn(Camera2d);
}

/// Most colliders the collision check looks at in a frame: it tests every
/// pair, so a mod spawning colliders without end must not freeze the game.
pub const MAX_COLLIDERS: usize = 1024;

/// Sends a [`Collision`] `{a, b}` for every overlapping pair where
/// `a.mask & b.layer != 0`, among the first [`MAX_COLLIDERS`] colliders.
pub fn detect_collisions(
    colliders: Query<(Entity, &Transform2d, &Collider)>,
    mut collisions: MessageWriter<Collision>,
    mut warned: Local<bool>,
) {
    let all: Vec<_> = colliders.iter().take(MAX_COLLIDERS).collect();
    if all.len() == MAX_COLLIDERS && !*warned && colliders.iter().nth(MAX_COLLIDERS).is_some() {
        *warned = true;
        warn!("more than {MAX_COLLIDERS} colliders: the collision check only looks at the first {MAX_COLLIDERS}");
    }
    for &(ea, ta, ca) in &all {
        if ca.mask == 0 {
            continue;
        }
        for &(eb, tb, cb) in &all {
            if ea == eb || ca.mask & cb.layer == 0 {
                continue;
            }
            let reach = ca.radius * ta.scale + cb.radius * tb.scale;
            if ta.translation.distance_squared(tb.translation) <= reach * reach {
                let a = mod_api::Entity(ea.to_bits());
                let b = mod_api::Entity(eb.to_bits());
                collisions.write(Collision { a, b });
            }
        }
    }
}

fn read_scores(mut scores: MessageReader<ScoreChanged>, mut board: ResMut<Scoreboard>) {
    if let Some(last) = scores.read().last() {
        *board = Scoreboard {
            score: last.score,
            lives: last.lives,
            wave: last.wave,
            game_over: last.game_over != 0,
            reported: true,
        };
    }
}

/// Values mods write are untrusted: the drawing code clamps them to what
/// Bevy can draw (NaN and infinities become `fallback`).
fn sane(v: f32, min: f32, max: f32, fallback: f32) -> f32 {
    if v.is_finite() { v.clamp(min, max) } else { fallback }
}

/// Largest coordinate, scale and sprite size the game draws.
const FAR: f32 = 1.0e6;

fn to_transform(t: &Transform2d) -> Transform {
    let (x, y) = (sane(t.translation.x, -FAR, FAR, 0.0), sane(t.translation.y, -FAR, FAR, 0.0));
    Transform::from_xyz(x, y, 0.0)
        .with_rotation(Quat::from_rotation_z(sane(t.rotation, -FAR, FAR, 0.0)))
        .with_scale(Vec3::splat(sane(t.scale, -FAR, FAR, 1.0)))
}

/// A sprite size the game draws: finite, at most 4096 units a side.
fn sprite_size(s: Vec2) -> Vec2 {
    Vec2::new(sane(s.x, 0.0, 4096.0, 0.0), sane(s.y, 0.0, 4096.0, 0.0))
}

fn add_render_components(mut commands: Commands, new: Query<(Entity, &Transform2d), Without<Transform>>) {
    for (e, t) in &new {
        commands.entity(e).insert((to_transform(t), Visibility::default()));
    }
}

fn sync_transforms(mut q: Query<(&Transform2d, &mut Transform), Changed<Transform2d>>) {
    for (t2, mut t) in &mut q {
        *t = to_transform(t2);
    }
}

fn color(c: mod_api::Color) -> Color {
    let channel = |v: f32| sane(v, 0.0, 16.0, 0.0);
    Color::srgba(channel(c.r), channel(c.g), channel(c.b), sane(c.a, 0.0, 1.0, 1.0))
}

/// Draws a [`rocks_api::Sprite`]: rectangles as Bevy sprites, other shapes
/// as 2D meshes (one mesh per shape and size, one material per colour).
type ChangedSprites<'w, 's> = Query<
    'w,
    's,
    (Entity, &'static rocks_api::Sprite, Option<&'static MeshMaterial2d<ColorMaterial>>),
    Changed<rocks_api::Sprite>,
>;

/// Meshes by (shape, size bits), shared by every sprite of that shape and
/// size. A mod could make a new size every frame: past `MESH_CACHE_LIMIT`
/// the cache starts over (meshes still in use live on in their entities).
#[derive(Default)]
struct MeshCache(std::collections::HashMap<(u32, [u32; 2]), Handle<Mesh>>);

fn sync_sprites(
    mut commands: Commands,
    q: ChangedSprites,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    mut mesh_cache: Local<MeshCache>,
) {
    use rocks_api::Shape;
    const MESH_CACHE_LIMIT: usize = 1024;
    for (e, s, material) in &q {
        let shape = Shape::from_u32(s.shape);
        let size = sprite_size(s.size);
        if shape == Shape::Rectangle {
            commands.entity(e).insert(Sprite { color: color(s.color), custom_size: Some(size), ..default() });
            continue;
        }
        // Colour changes (blinking) reuse the entity's material.
        if let Some(mut m) = material.and_then(|m| materials.get_mut(&m.0)) {
            m.color = color(s.color);
            continue;
        }
        let key = (s.shape, [size.x.to_bits(), size.y.to_bits()]);
        if mesh_cache.0.len() >= MESH_CACHE_LIMIT && !mesh_cache.0.contains_key(&key) {
            mesh_cache.0.clear();
        }
        let mesh = mesh_cache
            .0
            .entry(key)
            .or_insert_with(|| {
                let (w, h) = (size.x, size.y);
                meshes.add(match shape {
                    Shape::Circle => Mesh::from(Ellipse::new(w / 2.0, h / 2.0)),
                    Shape::Triangle => Mesh::from(Triangle2d::new(
                        Vec2::new(0.0, h / 2.0),
                        Vec2::new(-w / 2.0, -h / 2.0),
                        Vec2::new(w / 2.0, -h / 2.0),
                    )),
                    _ => Mesh::from(RegularPolygon::new(w / 2.0, 6)),
                })
            })
            .clone();
        commands.entity(e).insert((Mesh2d(mesh), MeshMaterial2d(materials.add(ColorMaterial::from(color(s.color))))));
    }
}

fn sync_labels(mut commands: Commands, q: Query<(Entity, &rocks_api::Label), Changed<rocks_api::Label>>) {
    for (e, l) in &q {
        commands.entity(e).insert((
            Text2d::new(l.text()),
            TextFont { font_size: FontSize::Px(sane(l.font_size, 1.0, 256.0, 16.0)), ..default() },
            TextColor(color(l.color)),
        ));
    }
}
