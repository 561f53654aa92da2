//! The semver guard: the crate's public API, listed from its source, must match the checked-in
//! `api.txt`. From 1.0 on, a line that disappears or changes is a breaking change (it needs a
//! major version); a line that appears is an addition (a minor version). Either way the list is
//! updated on purpose, never by accident.
//!
//! Why not cargo-semver-checks: it needs rustdoc JSON (a nightly rustdoc) and the previous
//! release from a registry, neither of which the build machine has offline. This test is the
//! equivalent that runs everywhere: syn parses `src/*.rs`, and every `pub` item is written as a
//! line (structs with their pub fields, derives and `#[non_exhaustive]`, enum variants,
//! functions and methods with their signatures, trait impls, consts, re-exports). The items the
//! crate's two macros generate (`id_type!`, `sub_codes!`) are listed from their invocations and
//! from the `pub fn` signatures in the macro bodies. Paths are left out (the modules are private;
//! what is reachable is in the `use` lines of lib.rs); items public inside a private module but
//! not re-exported are listed too, a conservative over-approximation.
//!
//! To accept a change: `UPDATE_API=1 cargo test -p hongbao-client --test public_api`, then review
//! the diff of `api.txt` like code.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;
use std::collections::BTreeSet;
use std::path::Path;
use syn::{Attribute, Fields, ImplItem, Item, TraitItem, Visibility};

/// Token text without doc attributes (`#[doc = "…"]`, which `///` becomes), so that docs can
/// change freely.
fn tokens_without_docs(tokens: TokenStream) -> String {
    fn strip(tokens: TokenStream) -> Vec<TokenTree> {
        let mut out: Vec<TokenTree> = Vec::new();
        let mut iter = tokens.into_iter().peekable();
        while let Some(tree) = iter.next() {
            if let TokenTree::Punct(punct) = &tree {
                if punct.as_char() == '#' {
                    if let Some(TokenTree::Group(group)) = iter.peek() {
                        let is_doc = group.delimiter() == Delimiter::Bracket
                            && matches!(group.stream().into_iter().next(),
                                Some(TokenTree::Ident(ident)) if ident == "doc");
                        if is_doc {
                            iter.next();
                            continue;
                        }
                    }
                }
            }
            match tree {
                TokenTree::Group(group) => {
                    let inner: TokenStream = strip(group.stream()).into_iter().collect();
                    let mut rebuilt = proc_macro2::Group::new(group.delimiter(), inner);
                    rebuilt.set_span(group.span());
                    out.push(TokenTree::Group(rebuilt));
                }
                other => out.push(other),
            }
        }
        out
    }
    strip(tokens).into_iter().collect::<TokenStream>().to_string()
}

/// Token text of an API element, with what does not belong to the promise normalized away:
/// docs, `mut` on arguments, the trailing comma rustfmt adds to long argument lists.
fn text(item: &impl ToTokens) -> String {
    tokens_without_docs(item.to_token_stream())
        .replace("(mut ", "(")
        .replace(", mut ", ", ")
        .replace(" ,)", ")")
}

fn is_pub(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

/// `#[derive(…)]` and `#[non_exhaustive]`: both part of the promise.
fn shape_attributes(attrs: &[Attribute]) -> String {
    let kept: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("derive") || attr.path().is_ident("non_exhaustive"))
        .map(text)
        .collect();
    kept.join(" ")
}

fn signature_without_body(sig: &syn::Signature) -> String {
    text(sig)
}

/// The names of the public types (structs, enums, traits, aliases and the macros' types): only
/// their impls are API.
fn public_types(items: &[Item], names: &mut BTreeSet<String>) {
    for item in items {
        match item {
            Item::Struct(item) if is_pub(&item.vis) => {
                names.insert(item.ident.to_string());
            }
            Item::Enum(item) if is_pub(&item.vis) => {
                names.insert(item.ident.to_string());
            }
            Item::Trait(item) if is_pub(&item.vis) => {
                names.insert(item.ident.to_string());
            }
            Item::Type(item) if is_pub(&item.vis) => {
                names.insert(item.ident.to_string());
            }
            Item::Macro(item) => {
                let mut lines = BTreeSet::new();
                list_macro(item, &mut lines);
                for line in lines {
                    if let Some(name) = line.split_once("! ").map(|(_, rest)| rest) {
                        if !name.contains(' ') && !name.contains("::") {
                            names.insert(name.to_owned());
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The base name of a type (`Arc < T >` → `Arc`).
fn base_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => {
            path.path.segments.last().map(|segment| segment.ident.to_string()).unwrap_or_default()
        }
        other => text(other),
    }
}

fn list_items(items: &[Item], types: &BTreeSet<String>, lines: &mut BTreeSet<String>) {
    for item in items {
        match item {
            Item::Struct(item) if is_pub(&item.vis) => {
                let name = item.ident.to_string();
                lines.insert(format!(
                    "struct {name}{} {}",
                    text(&item.generics),
                    shape_attributes(&item.attrs)
                ));
                match &item.fields {
                    Fields::Named(fields) => {
                        for field in fields.named.iter().filter(|f| is_pub(&f.vis)) {
                            let field_name = field.ident.as_ref().map(ToString::to_string);
                            lines.insert(format!(
                                "field {name}.{}: {}",
                                field_name.unwrap_or_default(),
                                text(&field.ty)
                            ));
                        }
                    }
                    Fields::Unnamed(fields) => {
                        for (index, field) in fields.unnamed.iter().enumerate() {
                            if is_pub(&field.vis) {
                                lines.insert(format!("field {name}.{index}: {}", text(&field.ty)));
                            }
                        }
                    }
                    Fields::Unit => {}
                }
            }
            Item::Enum(item) if is_pub(&item.vis) => {
                let name = item.ident.to_string();
                lines.insert(format!(
                    "enum {name}{} {}",
                    text(&item.generics),
                    shape_attributes(&item.attrs)
                ));
                for variant in &item.variants {
                    lines.insert(format!(
                        "variant {name}::{}{}",
                        variant.ident,
                        text(&variant.fields)
                    ));
                }
            }
            Item::Fn(item) if is_pub(&item.vis) => {
                lines.insert(signature_without_body(&item.sig).to_string());
            }
            Item::Const(item) if is_pub(&item.vis) => {
                lines.insert(format!("const {}: {}", item.ident, text(&item.ty)));
            }
            Item::Type(item) if is_pub(&item.vis) => {
                lines.insert(format!(
                    "type {}{} = {}",
                    item.ident,
                    text(&item.generics),
                    text(&item.ty)
                ));
            }
            Item::Trait(item) if is_pub(&item.vis) => {
                let name = item.ident.to_string();
                lines.insert(format!(
                    "trait {name}{}: {}",
                    text(&item.generics),
                    text(&item.supertraits)
                ));
                for trait_item in &item.items {
                    if let TraitItem::Fn(method) = trait_item {
                        lines.insert(format!(
                            "trait {name}::{}",
                            signature_without_body(&method.sig)
                        ));
                    }
                }
            }
            Item::Impl(item) if types.contains(&base_name(&item.self_ty)) => {
                let self_ty = text(&item.self_ty);
                match &item.trait_ {
                    Some((_, path, _)) => {
                        lines.insert(format!(
                            "impl{} {} for {self_ty}",
                            text(&item.generics),
                            text(path)
                        ));
                    }
                    None => {
                        for impl_item in &item.items {
                            match impl_item {
                                ImplItem::Fn(method) if is_pub(&method.vis) => {
                                    lines.insert(format!(
                                        "{self_ty}::{}",
                                        signature_without_body(&method.sig)
                                    ));
                                }
                                ImplItem::Const(constant) if is_pub(&constant.vis) => {
                                    lines.insert(format!(
                                        "const {self_ty}::{}: {}",
                                        constant.ident,
                                        text(&constant.ty)
                                    ));
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
            Item::Use(item) if is_pub(&item.vis) => {
                lines.insert(format!("use {}", text(&item.tree)));
            }
            Item::Mod(item) => {
                if let Some((_, inner)) = &item.content {
                    let cfg_test = item.attrs.iter().any(|attr| text(attr).contains("cfg (test)"));
                    if !cfg_test {
                        list_items(inner, types, lines);
                    }
                }
            }
            Item::Macro(item) => list_macro(item, lines),
            _ => {}
        }
    }
}

/// The items a macro invocation or definition contributes.
fn list_macro(item: &syn::ItemMacro, lines: &mut BTreeSet<String>) {
    let name = item.mac.path.to_token_stream().to_string();
    let tokens: Vec<TokenTree> = item.mac.tokens.clone().into_iter().collect();
    if name == "macro_rules" {
        // A definition: the `pub fn` signatures and trait impls its bodies generate.
        let defined = item.ident.as_ref().map(ToString::to_string).unwrap_or_default();
        let body = tokens_without_docs(item.mac.tokens.clone());
        for piece in body.split("pub fn ").skip(1) {
            let signature = piece.split(" {").next().unwrap_or(piece).trim();
            lines.insert(format!("macro {defined}! generates pub fn {signature}"));
        }
        for piece in body.split(" impl ").skip(1) {
            let head = piece.split(" {").next().unwrap_or(piece).trim();
            // `impl Trait` in argument position is part of a signature, listed above.
            if !head.contains(')') {
                lines.insert(format!("macro {defined}! generates impl {head}"));
            }
        }
        return;
    }
    // An invocation: the type it names (the first identifier after `enum`, or the last bare
    // identifier before the example literal), and for `sub_codes!` every `Variant = "CODE",
    // retry: bool`.
    let idents: Vec<(usize, String)> = tokens
        .iter()
        .enumerate()
        .filter_map(|(at, tree)| match tree {
            TokenTree::Ident(ident) => Some((at, ident.to_string())),
            _ => None,
        })
        .collect();
    match name.as_str() {
        "id_type" => {
            let type_name = idents.last().map(|(_, ident)| ident.clone()).unwrap_or_default();
            lines.insert(format!("id_type! {type_name}"));
        }
        "sub_codes" => {
            let type_name = idents
                .windows(2)
                .find(|pair| pair[0].1 == "enum")
                .map(|pair| pair[1].1.clone())
                .unwrap_or_default();
            lines.insert(format!("sub_codes! {type_name}"));
            let Some(TokenTree::Group(body)) = tokens
                .iter()
                .rev()
                .find(|t| matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace))
            else {
                panic!("sub_codes! {type_name} has no body");
            };
            let body = tokens_without_docs(body.stream());
            for variant in body.split(';').map(str::trim).filter(|v| !v.is_empty()) {
                lines.insert(format!("sub_codes! {type_name}::{variant}"));
            }
        }
        other => panic!("an item macro {other}! that this test cannot list: teach list_macro"),
    }
}

fn current_api() -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .expect("src")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    let parsed: Vec<syn::File> = files
        .iter()
        .map(|path| {
            let source = std::fs::read_to_string(path).expect("source");
            syn::parse_file(&source).unwrap_or_else(|err| panic!("{path:?}: {err}"))
        })
        .collect();
    let mut types = BTreeSet::new();
    for file in &parsed {
        public_types(&file.items, &mut types);
    }
    let mut lines = BTreeSet::new();
    for file in &parsed {
        list_items(&file.items, &types, &mut lines);
    }
    let mut out = String::from(
        "# The public API of hongbao-client, from tests/public_api.rs (UPDATE_API=1 to rewrite).\n",
    );
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn the_public_api_matches_api_txt() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("api.txt");
    let current = current_api();
    if std::env::var_os("UPDATE_API").is_some() {
        std::fs::write(&path, &current).expect("write api.txt");
        return;
    }
    let recorded = std::fs::read_to_string(&path).unwrap_or_default();
    if recorded == current {
        return;
    }
    let recorded_lines: BTreeSet<&str> = recorded.lines().collect();
    let current_lines: BTreeSet<&str> = current.lines().collect();
    let removed: Vec<&&str> = recorded_lines.difference(&current_lines).collect();
    let added: Vec<&&str> = current_lines.difference(&recorded_lines).collect();
    panic!(
        "the public API changed.\n\nRemoved or changed (BREAKING: needs a major version):\n{}\n\n\
         Added (needs a minor version):\n{}\n\nIf this is intended: UPDATE_API=1 cargo test -p \
         hongbao-client --test public_api, and review api.txt.",
        removed.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n"),
        added.iter().map(|l| format!("  + {l}")).collect::<Vec<_>>().join("\n"),
    );
}

#[test]
fn a_removed_method_shows_as_breaking() {
    // The guard itself: listing a small source, then the same without one method.
    let before: syn::File = syn::parse_quote! {
        pub struct A { pub x: u8, y: u8 }
        impl A { pub fn keep(&self) {} pub fn gone(&self) -> u8 { 1 } fn private(&self) {} }
    };
    let after: syn::File = syn::parse_quote! {
        pub struct A { pub x: u8, y: u8 }
        impl A { pub fn keep(&self) {} fn private(&self) {} }
    };
    let (mut old, mut new, mut types) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    public_types(&before.items, &mut types);
    list_items(&before.items, &types, &mut old);
    list_items(&after.items, &types, &mut new);
    let removed: Vec<&String> = old.difference(&new).collect();
    assert_eq!(removed, vec!["A::fn gone (& self) -> u8"]);
    assert!(old.contains("field A.x: u8") && !old.iter().any(|l| l.contains(".y")));
}
