//! Derives and the `#[mod_main]` attribute of `mod-api`. Misuse is reported
//! as a compile error on the offending token, naming the fix.

use proc_macro::TokenStream;
use quote::quote;
use syn::{DeriveInput, ItemFn, parse_macro_input};

/// Component and message types cross the host boundary as bytes, so their
/// layout must be fixed: `#[repr(C)]` or `#[repr(transparent)]`, no generics.
fn check_plain_data(input: &DeriveInput, what: &str) -> Result<(), syn::Error> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            format!("a mod {what} cannot be generic: its name and layout are fixed in the ABI"),
        ));
    }
    let fixed = input.attrs.iter().any(|a| {
        a.path().is_ident("repr")
            && a.parse_args_with(syn::punctuated::Punctuated::<syn::Ident, syn::Token![,]>::parse_terminated)
                .map(|ids| ids.iter().any(|i| i == "C" || i == "transparent"))
                .unwrap_or(false)
    });
    if !fixed {
        return Err(syn::Error::new_spanned(
            &input.ident,
            format!("a mod {what} needs a fixed layout: add #[repr(C)] above `struct {}`", input.ident),
        ));
    }
    if !matches!(input.data, syn::Data::Struct(_)) {
        return Err(syn::Error::new_spanned(
            &input.ident,
            format!("a mod {what} must be a struct of plain data (numbers, bool, arrays, Vec2, Color, Entity)"),
        ));
    }
    Ok(())
}

/// Compile-time checks that make the derived `unsafe impl` sound: every
/// field's type is plain data (`Schema`: no `bool`, `char`, enum or
/// reference) and the fields cover the struct without padding, so every byte
/// a mod or the host may write is part of a valid value.
fn plain_data_checks(input: &DeriveInput) -> proc_macro2::TokenStream {
    let syn::Data::Struct(data) = &input.data else { unreachable!("checked by check_plain_data") };
    let ident = &input.ident;
    let sizes = data.fields.iter().enumerate().map(|(i, f)| {
        let member = match &f.ident {
            Some(id) => syn::Member::Named(id.clone()),
            None => syn::Member::Unnamed(syn::Index::from(i)),
        };
        let ty = &f.ty;
        quote!(::mod_api::__private::size_of_field::<#ident, #ty>(|s: &#ident| &s.#member))
    });
    let message = format!(
        "`{ident}` has padding between or after its fields: mods could leave those bytes undefined. \
         Reorder the fields from the largest alignment to the smallest, or add explicit `_pad: [u8; N]` fields"
    );
    quote! {
        const _: () = ::core::assert!(0usize #(+ #sizes)* == ::core::mem::size_of::<#ident>(), #message);
    }
}

/// What a derived plain-data struct always gets: the checks that make its
/// `unsafe impl`s sound and its field list (`Schema`). Fails if `input` is
/// not a `#[repr(C)]` struct.
fn plain_struct(input: &DeriveInput, what: &str) -> Result<proc_macro2::TokenStream, syn::Error> {
    check_plain_data(input, what)?;
    let fields = field_decls(input)?;
    let ident = &input.ident;
    let checks = plain_data_checks(input);
    Ok(quote! {
        #checks
        // SAFETY: a #[repr(C)] / #[repr(transparent)] struct of plain data
        // without padding (checked above).
        unsafe impl ::mod_api::Schema for #ident {
            const SHAPE: ::mod_api::__private::Shape = ::mod_api::__private::Shape::Struct(&[#(#fields),*]);
        }
    })
}

/// Makes a `#[repr(C)]`, `Copy` struct a component shared by name with the
/// engine and other mods, and lists its fields for the host (ABI 1.2), so
/// its values survive a layout change and save games name them.
///
/// Field attributes, with serde's meaning:
/// - `#[component(alias = "old_name")]`: the field was called `old_name`;
/// - `#[component(default = EXPR)]`: the value the field starts from when a
///   new version adds it (otherwise zero); `EXPR` is a constant expression.
#[proc_macro_derive(Component, attributes(component))]
pub fn derive_component(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let plain = match plain_struct(&input, "component") {
        Ok(p) => p,
        Err(e) => return e.to_compile_error().into(),
    };
    let ident = &input.ident;
    let name = ident.to_string();
    quote! {
        #plain
        // With mod-api's `host` feature (the game's side), also a Bevy component.
        ::mod_api::__host_component!(#ident);
        // SAFETY: plain data without padding (checked above); `Copy` is a supertrait.
        unsafe impl ::mod_api::Component for #ident {
            const NAME: &'static str = concat!(module_path!(), "::", #name);
            const FIELDS: ::core::option::Option<&'static [::mod_api::__private::Field]> =
                ::core::option::Option::Some(<Self as ::mod_api::Schema>::SHAPE.fields());
        }
    }
    .into()
}

/// One constant `Field` per field, with its `#[component(...)]` options.
fn field_decls(input: &DeriveInput) -> Result<Vec<proc_macro2::TokenStream>, syn::Error> {
    let syn::Data::Struct(data) = &input.data else { unreachable!("checked by check_plain_data") };
    let ident = &input.ident;
    let mut out = Vec::new();
    for (i, f) in data.fields.iter().enumerate() {
        let member = match &f.ident {
            Some(id) => syn::Member::Named(id.clone()),
            None => syn::Member::Unnamed(syn::Index::from(i)),
        };
        let name = match &f.ident {
            Some(id) => id.to_string(),
            None => i.to_string(),
        };
        let ty = &f.ty;
        let mut aliases = Vec::new();
        let mut default = None;
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("component")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("alias") {
                    aliases.push(meta.value()?.parse::<syn::LitStr>()?);
                    Ok(())
                } else if meta.path.is_ident("default") {
                    default = Some(meta.value()?.parse::<syn::Expr>()?);
                    Ok(())
                } else {
                    Err(meta.error("expected `alias = \"old_name\"` or `default = EXPR`"))
                }
            })?;
        }
        // A constant: the bytes are computed at compile time.
        let default = match default {
            Some(expr) => quote!(::core::option::Option::Some(
                &::mod_api::__private::bytes_of::<#ty, { ::core::mem::size_of::<#ty>() }>(#expr)
            )),
            None => quote!(::core::option::Option::None),
        };
        out.push(quote! {
            ::mod_api::__private::Field {
                name: #name,
                offset: ::core::mem::offset_of!(#ident, #member) as u32,
                ty: <#ty as ::mod_api::Schema>::SHAPE,
                aliases: &[#(#aliases),*],
                default: #default,
            }
        });
    }
    Ok(out)
}

/// Makes a `#[repr(C)]`, `Copy` struct of plain data a message shared by
/// name with the game and other mods; with mod-api's `host` feature (the
/// game's side) it is also a Bevy `Message`.
#[proc_macro_derive(Message)]
pub fn derive_message(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    if let Err(e) = check_plain_data(&input, "message") {
        return e.to_compile_error().into();
    }
    let ident = &input.ident;
    let name = ident.to_string();
    let checks = plain_data_checks(&input);
    quote! {
        #checks
        ::mod_api::__host_message!(#ident);
        // SAFETY: a #[repr(C)] / #[repr(transparent)] struct of plain data
        // without padding (checked above); `Copy` is a supertrait.
        unsafe impl ::mod_api::Message for #ident {
            const NAME: &'static str = concat!(module_path!(), "::", #name);
        }
    }
    .into()
}

/// Makes a type a resource of this mod, readable with `Res` and writable
/// with `ResMut`. It lives in the mod's memory; add it with
/// `app.init_resource::<T>()`.
#[proc_macro_derive(Resource)]
pub fn derive_resource(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let ident = &input.ident;
    let (imp, ty, wh) = input.generics.split_for_impl();
    quote! {
        impl #imp ::mod_api::Resource for #ident #ty #wh {
            fn fetch(_: &::mod_api::FrameCtx, _: usize) -> *mut Self {
                ::mod_api::__private::fetch_mod_resource::<Self>()
            }
        }
        impl #imp ::mod_api::__private::ModResource for #ident #ty #wh {}
    }
    .into()
}

/// Makes a `#[repr(C)]`, `Copy` struct of plain data a resource a game
/// shares with its mods (its score, a configuration), by name: mods read it
/// with `Res<T>` and, if the game lets them, change it with `ResMut<T>`.
/// With mod-api's `host` feature (the game's side) it is also a Bevy
/// `Resource`.
#[proc_macro_derive(GameResource)]
pub fn derive_game_resource(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let plain = match plain_struct(&input, "resource") {
        Ok(p) => p,
        Err(e) => return e.to_compile_error().into(),
    };
    let ident = &input.ident;
    let name = ident.to_string();
    quote! {
        #plain
        ::mod_api::__host_resource!(#ident);
        // SAFETY: plain data without padding (checked above); `Copy` is a supertrait.
        unsafe impl ::mod_api::GameResource for #ident {
            const NAME: &'static str = concat!(module_path!(), "::", #name);
        }
        impl ::mod_api::Resource for #ident {
            fn param(write: bool) -> ::mod_api::abi::ParamDecl {
                ::mod_api::__private::game_resource_param::<Self>(write)
            }
            fn fetch(frame: &::mod_api::FrameCtx, slot: usize) -> *mut Self {
                ::mod_api::__private::fetch_game_resource::<Self>(frame, slot)
            }
        }
        impl ::mod_api::__private::ModResource for #ident {}
    }
    .into()
}

/// Marks the mod's entry point, `fn main(app: &mut App)`, and exports what
/// the host calls: `mod_init`, `mod_run`, `mod_alloc`, `mod_save_state`,
/// `mod_restore_state`, plus the ABI version
/// section. One per mod crate.
#[proc_macro_attribute]
pub fn mod_main(attr: TokenStream, item: TokenStream) -> TokenStream {
    let path = match manifest_path(attr) {
        Ok(path) => path,
        Err(e) => return e.to_compile_error().into(),
    };
    let func = parse_macro_input!(item as ItemFn);
    if func.sig.inputs.len() != 1 || !func.sig.generics.params.is_empty() || func.sig.asyncness.is_some() {
        return syn::Error::new_spanned(
            &func.sig,
            "#[mod_main] goes on `fn NAME(app: &mut App)`: one parameter, no generics, not async",
        )
        .to_compile_error()
        .into();
    }
    let manifest = match read_manifest(&path) {
        Ok(m) => m,
        Err(why) => return syn::Error::new_spanned(&func.sig.ident, why).to_compile_error().into(),
    };
    let (id, version, file, len) = (manifest.id, manifest.version, manifest.file, manifest.len);
    let name = &func.sig.ident;
    quote! {
        #func

        // No `#[used]` on these two: rustc always emits a wasm static with a
        // `link_section` as a custom section, and `#[used]` would also keep
        // a copy in the data segment, some 170 bytes (issue 15).
        #[doc(hidden)]
        #[unsafe(link_section = "bevy_mod_abi")]
        static __MOD_ABI_VERSION: [u8; 4] = {
            let major = ::mod_api::abi::ABI_MAJOR.to_le_bytes();
            let minor = ::mod_api::abi::ABI_MINOR.to_le_bytes();
            [major[0], major[1], minor[0], minor[1]]
        };

        // The manifest, as the host reads it before compiling the mod
        // (include_bytes! also makes cargo rebuild when the file changes).
        #[doc(hidden)]
        #[unsafe(link_section = "bevy_mod_manifest")]
        static __MOD_MANIFEST: [u8; #len] = *include_bytes!(#file);

        // The SDK's allocator (mod-api's feature `allocator`), set by the
        // mod itself: a crate that only shares types through mod-api gets none.
        ::mod_api::__global_allocator!();

        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "C" fn mod_init() -> i64 {
            ::mod_api::__private::init(#name, #id, #version)
        }

        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "C" fn mod_run(system: i32, frame: i32) -> i32 {
            ::mod_api::__private::run(system, frame)
        }

        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "C" fn mod_save_state() -> i64 {
            ::mod_api::__private::save_state()
        }

        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "C" fn mod_restore_state(ptr: i32, len: i32) -> i64 {
            ::mod_api::__private::restore_state(ptr, len)
        }

        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "C" fn mod_alloc(size: i32, align: i32) -> i32 {
            ::mod_api::__private::alloc(size, align)
        }
    }
    .into()
}

/// `#[mod_main]` or `#[mod_main(manifest = "path/to/mod.ron")]`: the
/// manifest's path, relative to the crate root.
fn manifest_path(attr: TokenStream) -> Result<String, syn::Error> {
    if attr.is_empty() {
        return Ok("mod.ron".to_string());
    }
    let attr = proc_macro2::TokenStream::from(attr);
    let usage = "#[mod_main] takes no arguments, or `manifest = \"path/to/mod.ron\"`";
    let meta: syn::MetaNameValue = syn::parse2(attr.clone()).map_err(|_| syn::Error::new_spanned(&attr, usage))?;
    match (&meta.value, meta.path.is_ident("manifest")) {
        (syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }), true) => Ok(s.value()),
        _ => Err(syn::Error::new_spanned(&attr, usage)),
    }
}

struct ManifestInfo {
    id: String,
    version: String,
    /// Absolute path, for `include_bytes!`.
    file: String,
    len: usize,
}

/// Reads the manifest at compile time: its id and version become the mod's
/// name and version. The host checks the rest when it loads the mod.
fn read_manifest(path: &str) -> Result<ManifestInfo, String> {
    let dir = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| "CARGO_MANIFEST_DIR is not set".to_string())?;
    let file = std::path::Path::new(&dir).join(path);
    let shown = file.display();
    let text = std::fs::read_to_string(&file).map_err(|e| {
        format!(
            "cannot read the mod's manifest {shown}: {e}. Every mod has one: create it (see mod-api/ABI.md, \
             \"Manifest\"), or name another file with #[mod_main(manifest = \"...\")]"
        )
    })?;
    let value: ron::Value = ron::from_str(&text).map_err(|e| format!("manifest {shown}:{e}"))?;
    let field = |name: &str| -> Result<String, String> {
        let ron::Value::Map(map) = &value else {
            return Err(format!("manifest {shown}: expected a struct `( id: \"...\", version: \"...\", ... )`"));
        };
        match map.get(&ron::Value::String(name.to_string())) {
            Some(ron::Value::String(s)) => Ok(s.clone()),
            _ => Err(format!("manifest {shown}: field `{name}` is missing or not a string; add `{name}: \"...\"`")),
        }
    };
    Ok(ManifestInfo { id: field("id")?, version: field("version")?, file: file.display().to_string(), len: text.len() })
}
