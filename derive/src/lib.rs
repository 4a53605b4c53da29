//! `#[derive(Campos)]`: an answer type declares each field's name once, in its serde attributes
//! (`rename_all = "camelCase"`, `rename`, `skip`), and this derive reads them to give the node's
//! `projection::Campos`: the field paths the catalogue lists and agreements grant, the cut to a
//! grant, the paths an answer carries (for the audit log), and the walk the SOAP encoder writes.
//!
//! Every field that is not `#[serde(skip)]` must be an `Option`, so that projection can clear it:
//!
//! - `Option<T>`: a leaf, one path (`#[campos(run)]`: a RUN, written `t:Run` in XML);
//! - `Option<Vec<T>>` with `#[campos(elemento = "campo")]`: a leaf list, one path, one XML element
//!   per item;
//! - `Option<T>` with `#[campos(anidado)]`: a nested answer type, its paths below `name.`;
//! - `Option<Vec<T>>` with `#[campos(anidado, elemento = "integrante")]`: a list of nested ones,
//!   one XML element per item (inside a `name` element with `envoltorio`).
//!
//! `#[campos(siempre)]` marks a field that is not an `Option`: no grant can withhold it, so only
//! answers no agreement narrows (a public verification) use it.
//!
//! `#[campos(etiqueta = "…")]` tags a leaf for a narrower view of the same type (the catalogue
//! uses it to leave a municipality's fields out of the requester's).
//!
//! The generated code names `crate::projection`: it is meant for the `siis` crate only.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::{
    Data, DeriveInput, Fields, GenericArgument, Ident, LitStr, PathArguments, Type,
    parse_macro_input,
};

#[proc_macro_derive(Campos, attributes(campos))]
pub fn derive_campos(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

enum Forma {
    /// A value always present (`#[campos(siempre)]`): never cleared, always carried.
    Siempre,
    Hoja,
    ListaDeHojas,
    Anidado(Type),
    ListaDeAnidados(Type),
}

struct Campo {
    ident: Ident,
    nombre: String,
    forma: Forma,
    elemento: Option<String>,
    envoltorio: bool,
    run: bool,
    etiqueta: Option<String>,
}

/// `fecha_aplicacion` → `fechaAplicacion`, as serde's `rename_all = "camelCase"`.
fn camel_case(ident: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in ident.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `T` of `Wrapper<T>` when `ty` is `Wrapper<…>` (by its last path segment).
fn inner<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last()?;
    if segment.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// Reads `rename_all` on the struct (only `camelCase` is supported).
fn rename_all(input: &DeriveInput) -> syn::Result<bool> {
    let mut camel = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                let value: LitStr = meta.value()?.parse()?;
                if value.value() != "camelCase" {
                    return Err(meta.error("Campos reads only rename_all = \"camelCase\""));
                }
                camel = true;
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        })?;
    }
    Ok(camel)
}

fn campo(field: &syn::Field, camel: bool) -> syn::Result<Option<Campo>> {
    let ident = field.ident.clone().expect("named field");
    let mut nombre = None;
    let mut skip = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: LitStr = meta.value()?.parse()?;
                nombre = Some(value.value());
            } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                skip = true;
            } else if meta.path.is_ident("flatten") {
                return Err(meta.error(
                    "Campos cannot follow serde(flatten): the paths would not be the JSON's",
                ));
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        })?;
    }
    if skip {
        return Ok(None);
    }
    let nombre = nombre.unwrap_or_else(|| {
        let raw = ident.to_string();
        if camel { camel_case(&raw) } else { raw }
    });
    let (mut anidado, mut envoltorio, mut run, mut siempre) = (false, false, false, false);
    let (mut elemento, mut etiqueta) = (None, None);
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("campos")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("anidado") {
                anidado = true;
            } else if meta.path.is_ident("envoltorio") {
                envoltorio = true;
            } else if meta.path.is_ident("run") {
                run = true;
            } else if meta.path.is_ident("siempre") {
                siempre = true;
            } else if meta.path.is_ident("elemento") {
                elemento = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("etiqueta") {
                etiqueta = Some(meta.value()?.parse::<LitStr>()?.value());
            } else {
                return Err(
                    meta.error("expected anidado, envoltorio, run, siempre, elemento or etiqueta")
                );
            }
            Ok(())
        })?;
    }
    if siempre {
        if anidado || envoltorio || elemento.is_some() || inner(&field.ty, "Option").is_some() {
            return Err(syn::Error::new_spanned(
                &field.ty,
                "siempre marks a leaf that is not an Option",
            ));
        }
        return Ok(Some(Campo {
            ident,
            nombre,
            forma: Forma::Siempre,
            elemento,
            envoltorio,
            run,
            etiqueta,
        }));
    }
    let Some(valor) = inner(&field.ty, "Option") else {
        return Err(syn::Error::new_spanned(
            &field.ty,
            "a field of an answer must be an Option, so that projection can clear it (or #[serde(skip)], or #[campos(siempre)] for one no grant can withhold)",
        ));
    };
    let lista = inner(valor, "Vec");
    // Bytes (a PDF) are one leaf; any other list names its items' XML element.
    let bytes = lista.is_some_and(|t| matches!(t, Type::Path(p) if p.path.is_ident("u8")));
    let forma = match (anidado, lista, &elemento) {
        (false, None, None) => Forma::Hoja,
        (false, Some(_), None) if bytes => Forma::Hoja,
        (false, Some(_), Some(_)) => Forma::ListaDeHojas,
        (true, None, None) => Forma::Anidado(valor.clone()),
        (true, Some(item), Some(_)) => Forma::ListaDeAnidados(item.clone()),
        _ => {
            return Err(syn::Error::new_spanned(
                &field.ty,
                "elemento names the items of an Option<Vec<…>>, and every such list needs one",
            ));
        }
    };
    if envoltorio && !matches!(forma, Forma::ListaDeAnidados(_)) {
        return Err(syn::Error::new_spanned(
            &ident,
            "envoltorio wraps a list of anidados",
        ));
    }
    if etiqueta.is_some() && anidado {
        return Err(syn::Error::new_spanned(&ident, "etiqueta tags leaves only"));
    }
    Ok(Some(Campo {
        ident,
        nombre,
        forma,
        elemento,
        envoltorio,
        run,
        etiqueta,
    }))
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(input, "Campos derives for structs"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(input, "Campos needs named fields"));
    };
    let camel = rename_all(input)?;
    let mut campos = Vec::new();
    for field in &fields.named {
        if let Some(c) = campo(field, camel)? {
            campos.push(c);
        }
    }
    let p = quote!(crate::projection);
    let (mut lista, mut recortar, mut revelados, mut escribir, mut etiquetas) =
        (vec![], vec![], vec![], vec![], vec![]);
    for c in &campos {
        let (f, nombre) = (&c.ident, LitStr::new(&c.nombre, Span::call_site()));
        if let Some(e) = &c.etiqueta {
            let e = LitStr::new(e, Span::call_site());
            etiquetas.push(quote!((#nombre, #e)));
        }
        match &c.forma {
            Forma::Siempre => {
                lista.push(quote!(v.push(#nombre);));
                recortar.push(quote!(i += 1;));
                revelados.push(quote! {
                    out(i);
                    i += 1;
                });
                escribir.push(if c.run {
                    quote!(w.run(#nombre, &self.#f);)
                } else {
                    quote!(w.hoja(#nombre, &#p::Hoja::texto(&self.#f));)
                });
            }
            Forma::Hoja | Forma::ListaDeHojas => {
                lista.push(quote!(v.push(#nombre);));
                recortar.push(quote! {
                    if !concedido(i) { self.#f = None; }
                    i += 1;
                });
                revelados.push(match c.forma {
                    Forma::Hoja => quote! {
                        if self.#f.is_some() { out(i); }
                        i += 1;
                    },
                    _ => quote! {
                        if self.#f.as_ref().is_some_and(|v| !v.is_empty()) { out(i); }
                        i += 1;
                    },
                });
                escribir.push(match (&c.forma, &c.elemento, c.run) {
                    (Forma::Hoja, _, true) => quote! {
                        if let Some(v) = &self.#f { w.run(#nombre, v); }
                    },
                    (Forma::Hoja, _, false) => quote! {
                        if let Some(v) = &self.#f { w.hoja(#nombre, &#p::Hoja::texto(v)); }
                    },
                    (_, Some(e), _) => {
                        let e = LitStr::new(e, Span::call_site());
                        quote! {
                            for v in self.#f.iter().flatten() { w.hoja(#e, &#p::Hoja::texto(v)); }
                        }
                    }
                    _ => unreachable!("a leaf list has its elemento"),
                });
            }
            Forma::Anidado(t) | Forma::ListaDeAnidados(t) => {
                lista.push(quote! {
                    for c in <#t as #p::Campos>::campos() { v.push(#p::ruta(#nombre, c)); }
                });
                let (cada, cada_ref) = match c.forma {
                    Forma::Anidado(_) => (quote!(self.#f.iter_mut()), quote!(self.#f.iter())),
                    _ => (
                        quote!(self.#f.iter_mut().flatten()),
                        quote!(self.#f.iter().flatten()),
                    ),
                };
                recortar.push(quote! {
                    let n = <#t as #p::Campos>::campos().len();
                    if (i..i + n).any(concedido) {
                        for v in #cada { #p::Campos::recortar(v, i, concedido); }
                    } else {
                        self.#f = None;
                    }
                    i += n;
                });
                revelados.push(quote! {
                    let n = <#t as #p::Campos>::campos().len();
                    for v in #cada_ref { #p::Campos::revelados(v, i, out); }
                    i += n;
                });
                escribir.push(match (&c.forma, &c.elemento) {
                    (Forma::Anidado(_), _) => quote! {
                        if let Some(v) = &self.#f {
                            w.abrir(#nombre);
                            #p::Campos::escribir(v, w);
                            w.cerrar(#nombre);
                        }
                    },
                    (_, Some(e)) => {
                        let e = LitStr::new(e, Span::call_site());
                        let (abrir, cerrar) = if c.envoltorio {
                            (quote!(w.abrir(#nombre);), quote!(w.cerrar(#nombre);))
                        } else {
                            (quote!(), quote!())
                        };
                        quote! {
                            if let Some(items) = &self.#f {
                                #abrir
                                for v in items {
                                    w.abrir(#e);
                                    #p::Campos::escribir(v, w);
                                    w.cerrar(#e);
                                }
                                #cerrar
                            }
                        }
                    }
                    _ => unreachable!("a list has its elemento"),
                });
            }
        }
    }
    let name = &input.ident;
    Ok(quote! {
        impl #p::Campos for #name {
            fn campos() -> &'static [&'static str] {
                static CAMPOS: ::std::sync::LazyLock<Vec<&'static str>> =
                    ::std::sync::LazyLock::new(|| {
                        let mut v: Vec<&'static str> = Vec::new();
                        #(#lista)*
                        v
                    });
                &CAMPOS
            }

            fn etiquetas() -> &'static [(&'static str, &'static str)] {
                &[#(#etiquetas),*]
            }

            #[allow(unused_assignments)]
            fn recortar(&mut self, base: usize, concedido: &dyn Fn(usize) -> bool) {
                let mut i = base;
                #(#recortar)*
            }

            #[allow(unused_assignments)]
            fn revelados(&self, base: usize, out: &mut dyn FnMut(usize)) {
                let mut i = base;
                #(#revelados)*
            }

            fn escribir(&self, w: &mut dyn #p::Escritor) {
                #(#escribir)*
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::camel_case;

    #[test]
    fn camel_case_is_serdes() {
        assert_eq!(camel_case("fecha_aplicacion"), "fechaAplicacion");
        assert_eq!(camel_case("run"), "run");
        assert_eq!(camel_case("url_verificacion"), "urlVerificacion");
    }
}
