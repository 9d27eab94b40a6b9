//! Adapters for Bevy's built-in components (see [`ComponentAdapter`]):
//! what a game passes to `app.add_mod_adapter::<…>(access)` to show mods
//! Bevy's `Transform`, `GlobalTransform`, `Name`, `Visibility` (feature
//! `visibility`) or a `Sprite`'s colour and size (feature `sprite`). Mods
//! see the plain-data views of [`mod_api::builtin`].

use super::expose::ComponentAdapter;
use bevy::prelude::*;
use mod_api::builtin as view;

/// Bevy's `Transform` as [`mod_api::Transform`].
pub struct TransformAdapter;

impl ComponentAdapter for TransformAdapter {
    type Component = Transform;
    type View = view::Transform;
    #[inline]
    fn to_view(t: &Transform) -> view::Transform {
        view::Transform { translation: t.translation, rotation: t.rotation.into(), scale: t.scale }
    }
    #[inline]
    fn apply(v: &view::Transform, t: &mut Transform) {
        *t = Self::from_view(v);
    }
    #[inline]
    fn from_view(v: &view::Transform) -> Transform {
        Transform { translation: v.translation, rotation: v.rotation.into(), scale: v.scale }
    }
}

/// Bevy's `GlobalTransform` as [`mod_api::GlobalTransform`], read-only
/// (whatever access the game asks for): Bevy computes it from the
/// `Transform`s in `PostUpdate`, so mods see last frame's.
pub struct GlobalTransformAdapter;

impl ComponentAdapter for GlobalTransformAdapter {
    type Component = GlobalTransform;
    type View = view::GlobalTransform;
    const READ_ONLY: bool = true;
    #[inline]
    fn to_view(t: &GlobalTransform) -> view::GlobalTransform {
        let (scale, rotation, translation) = t.to_scale_rotation_translation();
        view::GlobalTransform { translation, rotation: rotation.into(), scale }
    }
    #[inline]
    fn apply(_: &view::GlobalTransform, _: &mut GlobalTransform) {
        unreachable!("GlobalTransform is read-only for mods")
    }
    #[inline]
    fn from_view(v: &view::GlobalTransform) -> GlobalTransform {
        GlobalTransform::from(Transform { translation: v.translation, rotation: v.rotation.into(), scale: v.scale })
    }
}

/// Bevy's `Name` as [`mod_api::Name`]: names longer than
/// [`view::NAME_CAPACITY`] bytes reach mods cut short.
pub struct NameAdapter;

impl ComponentAdapter for NameAdapter {
    type Component = Name;
    type View = view::Name;
    #[inline]
    fn to_view(n: &Name) -> view::Name {
        view::Name::new(n.as_str())
    }
    #[inline]
    fn check(v: &view::Name) -> Result<(), String> {
        let len = v.len as usize;
        if len > view::NAME_CAPACITY {
            return Err(format!("a Name of {len} bytes; the limit is {}", view::NAME_CAPACITY));
        }
        std::str::from_utf8(&v.bytes[..len]).map(drop).map_err(|e| format!("a Name that is not UTF-8 ({e})"))
    }
    #[inline]
    fn apply(v: &view::Name, n: &mut Name) {
        if n.as_str() != v.as_str() {
            *n = Self::from_view(v);
        }
    }
    #[inline]
    fn from_view(v: &view::Name) -> Name {
        Name::new(v.as_str().to_string())
    }
}

/// Bevy's `Visibility` as [`mod_api::Visibility`].
#[cfg(feature = "visibility")]
pub struct VisibilityAdapter;

#[cfg(feature = "visibility")]
impl ComponentAdapter for VisibilityAdapter {
    type Component = Visibility;
    type View = view::Visibility;
    #[inline]
    fn to_view(v: &Visibility) -> view::Visibility {
        match v {
            Visibility::Inherited => view::Visibility::INHERITED,
            Visibility::Hidden => view::Visibility::HIDDEN,
            Visibility::Visible => view::Visibility::VISIBLE,
        }
    }
    #[inline]
    fn check(v: &view::Visibility) -> Result<(), String> {
        match v.0 {
            0..=2 => Ok(()),
            n => Err(format!("a Visibility of {n}; it is 0 (inherited), 1 (hidden) or 2 (visible)")),
        }
    }
    #[inline]
    fn apply(v: &view::Visibility, out: &mut Visibility) {
        *out = Self::from_view(v);
    }
    #[inline]
    fn from_view(v: &view::Visibility) -> Visibility {
        match v.0 {
            1 => Visibility::Hidden,
            2 => Visibility::Visible,
            _ => Visibility::Inherited,
        }
    }
}

/// A Bevy `Sprite`'s colour and custom size as [`view::Sprite`]; the rest
/// (its image, atlas, flips) stays the game's. A sprite a mod spawns has
/// Bevy's default image.
#[cfg(feature = "sprite")]
pub struct SpriteAdapter;

#[cfg(feature = "sprite")]
impl ComponentAdapter for SpriteAdapter {
    type Component = Sprite;
    type View = view::Sprite;
    #[inline]
    fn to_view(s: &Sprite) -> view::Sprite {
        let [r, g, b, a] = s.color.to_srgba().to_f32_array();
        view::Sprite {
            color: mod_api::Color { r, g, b, a },
            custom_size: s.custom_size.unwrap_or_default(),
            sized: s.custom_size.is_some() as u32,
        }
    }
    #[inline]
    fn check(v: &view::Sprite) -> Result<(), String> {
        let c = v.color;
        let finite = [c.r, c.g, c.b, c.a, v.custom_size.x, v.custom_size.y].iter().all(|x| x.is_finite());
        if !finite {
            return Err("a Sprite with a colour or size that is not a finite number".into());
        }
        if v.sized > 1 {
            return Err(format!("a Sprite whose `sized` is {}, not 0 or 1", v.sized));
        }
        Ok(())
    }
    #[inline]
    fn apply(v: &view::Sprite, s: &mut Sprite) {
        let c = v.color;
        s.color = Color::srgba(c.r, c.g, c.b, c.a);
        s.custom_size = (v.sized == 1).then_some(v.custom_size);
    }
    #[inline]
    fn from_view(v: &view::Sprite) -> Sprite {
        let mut s = Sprite::default();
        Self::apply(v, &mut s);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A view read back from a component gives the same component.
    fn round_trip<A: ComponentAdapter>(c: &A::Component) -> A::Component {
        let v = A::to_view(c);
        assert_eq!(A::check(&v), Ok(()));
        A::from_view(&v)
    }

    #[test]
    fn transforms_and_names_survive_a_round_trip() {
        let t =
            Transform::from_xyz(1.0, 2.0, 3.0).with_rotation(Quat::from_rotation_y(0.5)).with_scale(Vec3::splat(2.0));
        assert_eq!(round_trip::<TransformAdapter>(&t), t);
        let g = GlobalTransform::from(t);
        let back = round_trip::<GlobalTransformAdapter>(&g);
        assert!(back.translation().distance(g.translation()) < 1e-5);
        assert_eq!(round_trip::<NameAdapter>(&Name::new("firefly")).as_str(), "firefly");
        // Longer than a view holds: cut on a character boundary.
        let long = Name::new("é".repeat(40));
        assert_eq!(NameAdapter::to_view(&long).as_str(), "é".repeat(30));
    }

    #[test]
    fn a_view_the_component_cannot_take_is_refused() {
        let mut name = NameAdapter::to_view(&Name::new("x"));
        name.len = 61;
        assert!(NameAdapter::check(&name).unwrap_err().contains("61 bytes"));
        name.len = 2;
        name.bytes[..2].copy_from_slice(&[0xff, 0xfe]);
        assert!(NameAdapter::check(&name).unwrap_err().contains("not UTF-8"));
    }

    #[cfg(feature = "visibility")]
    #[test]
    fn visibility_has_three_values() {
        for v in [Visibility::Inherited, Visibility::Hidden, Visibility::Visible] {
            assert_eq!(round_trip::<VisibilityAdapter>(&v), v);
        }
        let err = VisibilityAdapter::check(&view::Visibility(7)).unwrap_err();
        assert!(err.contains("a Visibility of 7"), "{err}");
    }

    #[cfg(feature = "sprite")]
    #[test]
    fn a_sprite_shows_its_colour_and_size_and_keeps_the_rest() {
        let mut s = Sprite { flip_x: true, ..Sprite::sized(Vec2::new(4.0, 2.0)) };
        s.color = Color::srgba(1.0, 0.5, 0.25, 1.0);
        let v = SpriteAdapter::to_view(&s);
        assert_eq!((v.custom_size, v.sized), (Vec2::new(4.0, 2.0), 1));
        assert!((v.color.g - 0.5).abs() < 1e-6);
        let mut changed = view::Sprite { sized: 0, ..v };
        changed.color.a = 0.5;
        SpriteAdapter::apply(&changed, &mut s);
        assert_eq!((s.custom_size, s.flip_x), (None, true), "the size went, the flip stayed the game's");
        assert!((s.color.alpha() - 0.5).abs() < 1e-6);
        let nan = view::Sprite { custom_size: Vec2::new(f32::NAN, 1.0), ..v };
        assert!(SpriteAdapter::check(&nan).is_err());
    }
}
