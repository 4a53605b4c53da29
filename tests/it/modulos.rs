//! The top-level modules of `src/` import one another without a cycle, so each layer can be read
//! (and changed) knowing only the layers below it (docs/ARCHITECTURE.md). This reads the
//! sources: a `crate::x` path (or `super::` reaching the crate root) in one top-level module
//! that names another is an edge; test code and comments do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::repo_path;

/// The source without comments and without `#[cfg(test)] mod … { … }` blocks.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let line = match line.find("//") {
            // A `//` inside a string literal (a URL) is rare in paths that matter; keep it.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    while let Some(at) = code.find("#[cfg(test)]") {
        let rest = &code[at..];
        let end = match (rest.find(';'), rest.find('{')) {
            // `#[cfg(test)] mod tests;`: the file is skipped on its own.
            (Some(semi), Some(open)) if semi < open => at + semi + 1,
            (Some(semi), None) => at + semi + 1,
            (_, Some(open)) => {
                let mut depth = 0;
                let mut close = code.len();
                for (i, c) in code[at + open..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                close = at + open + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                close
            }
            (None, None) => code.len(),
        };
        code.replace_range(at..end, "");
    }
    code
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The top-level modules a piece of code names through `crate::` (or `root` for a `super::`
/// chain that reaches the crate root).
fn named(code: &str, root: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find(root) {
        rest = &rest[at + root.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::{c, d}}`: the names at the group's first level.
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => {
                        out.insert(ident(&group[i..]).to_owned());
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest).to_owned());
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "tests") {
                sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

/// Edges between top-level modules: importer -> imported, with a file that imports.
fn imports() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = repo_path("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| {
            let rel = f.strip_prefix(&src).unwrap();
            let first = rel.components().next()?.as_os_str().to_str()?;
            Some(first.trim_end_matches(".rs").to_owned())
        })
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let parts: Vec<&str> = rel.iter().map(|p| p.to_str().unwrap()).collect();
        let top = parts[0].trim_end_matches(".rs").to_owned();
        if !modules.contains(&top) {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        // `super::` from a file `depth` modules deep, repeated `depth` times, is the root.
        let depth = parts.len();
        let mut roots = vec!["crate::".to_owned()];
        roots.push("super::".repeat(depth));
        for root in &roots {
            for name in named(&code, root) {
                if name != top && modules.contains(&name) {
                    edges
                        .entry(top.clone())
                        .or_default()
                        .entry(name)
                        .or_insert_with(|| rel.display().to_string());
                }
            }
        }
    }
    edges
}

/// A cycle through `from`, if there is one: the modules along it.
fn cycle_through(
    edges: &BTreeMap<String, BTreeMap<String, String>>,
    from: &str,
) -> Option<Vec<String>> {
    fn walk(
        edges: &BTreeMap<String, BTreeMap<String, String>>,
        goal: &str,
        at: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in edges.get(at).into_iter().flat_map(|e| e.keys()) {
            if next == goal {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(edges, goal, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![from.to_owned()];
    walk(edges, from, from, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let edges = imports();
    // The check sees the imports it must (a known edge of each kind).
    assert!(edges["ops"].contains_key("broker"), "{edges:?}");
    assert!(edges["rest"].contains_key("broker"), "{edges:?}");
    let cycles: Vec<String> = edges
        .keys()
        .filter_map(|m| cycle_through(&edges, m))
        .map(|path| {
            let mut steps = Vec::new();
            for (i, from) in path.iter().enumerate() {
                let to = &path[(i + 1) % path.len()];
                steps.push(format!("{from} -> {to} ({})", edges[from][to]));
            }
            steps.join(", ")
        })
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_reader_finds_what_a_cycle_is_made_of() {
    let code = code_of(
        "use crate::{convenios::Convenio, db::{self, Pool}};\n\
         // crate::soap is only a comment\n\
         fn f() { super::super::broker::local_today(); crate::error::ApiError::unavailable(); }\n\
         #[cfg(test)]\nmod tests { use crate::rest; }\n",
    );
    let mut found = named(&code, "crate::");
    found.extend(named(&code, "super::super::"));
    let found: Vec<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(found, ["broker", "convenios", "db", "error"]);

    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    edges
        .entry("a".into())
        .or_default()
        .insert("b".into(), "a.rs".into());
    edges
        .entry("b".into())
        .or_default()
        .insert("c".into(), "b.rs".into());
    assert_eq!(cycle_through(&edges, "a"), None);
    edges
        .entry("c".into())
        .or_default()
        .insert("a".into(), "c.rs".into());
    assert_eq!(
        cycle_through(&edges, "a"),
        Some(vec!["a".into(), "b".into(), "c".into()])
    );
}
