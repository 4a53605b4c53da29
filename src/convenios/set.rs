//! The set of agreements in force on the node, loaded from a folder as a whole.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Convenio;
use super::file::{self, ClientSeen};
use super::issues::{ConvenioErrors, ConvenioIssue};
use crate::domain::ConvenioId;
use crate::tls::ClientIdentity;

/// Every agreement of a folder, valid as a whole. Cheap to clone (agreements are shared); a
/// reload builds a new set and swaps it in whole.
#[derive(Debug, Clone, Default)]
pub struct ConvenioSet {
    by_id: BTreeMap<ConvenioId, Arc<Convenio>>,
    /// What loaded but deserves a reviewer's look, in file and line order.
    warnings: Vec<ConvenioIssue>,
}

impl ConvenioSet {
    /// The same set with `url` added to every push grant's `callbacks` (`serve --demo` only,
    /// so that a push can be shown arriving at `siis receptor` on the demo's machine; the files
    /// keep their production URLs).
    pub fn con_callback(mut self, url: &url::Url) -> ConvenioSet {
        for convenio in self.by_id.values_mut() {
            let mut changed = (**convenio).clone();
            for grant in changed.grants.values_mut() {
                if let Some(callbacks) = &mut grant.callbacks
                    && !callbacks.contains(url)
                {
                    callbacks.push(url.clone());
                }
            }
            *convenio = Arc::new(changed);
        }
        self
    }

    /// Loads every `*.toml` file of `dir` (other files are ignored). Fails, listing every
    /// problem of every file, when any file is wrong, when two agreements claim the same client
    /// certificate, or when the folder is missing or holds no agreement.
    pub fn load_dir(dir: &Path) -> Result<ConvenioSet, ConvenioErrors> {
        let paths = convenio_files(dir).map_err(|issue| ConvenioErrors(vec![issue]))?;
        if paths.is_empty() {
            return Err(ConvenioErrors(vec![ConvenioIssue::new(
                dir,
                None,
                "no agreement files (*.toml) in this folder",
            )]));
        }
        let mut issues = Vec::new();
        let mut set = ConvenioSet::default();
        let mut claims = Claims::default();
        for path in paths {
            let text = match fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    issues.push(ConvenioIssue::new(&path, None, format!("cannot read: {e}")));
                    continue;
                }
            };
            let checked = file::check(&path, &text);
            issues.extend(checked.issues);
            set.warnings.extend(checked.warnings);
            for client in &checked.clients {
                claims.claim(&path, client, &mut issues);
            }
            if let Some(convenio) = checked.convenio {
                if convenio.personas
                    && let Some(first) = set.personas()
                {
                    issues.push(ConvenioIssue::new(
                        &path,
                        None,
                        format!(
                            "a second agreement for persons (personas = true): {} is one already",
                            first.file.display()
                        ),
                    ));
                }
                set.by_id.insert(convenio.id.clone(), Arc::new(convenio));
            }
        }
        if issues.is_empty() {
            return Ok(set);
        }
        issues.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Err(ConvenioErrors(issues))
    }

    /// The one agreement whose clients match this certificate. `None` when none does, and also
    /// when more than one does (possible only when one agreement names a client by subject and
    /// another by pin alone): an ambiguous certificate is refused rather than guessed.
    ///
    /// Whether the agreement is in force is the caller's question ([`Convenio::is_in_force`]).
    pub fn find(&self, identity: &ClientIdentity) -> Option<&Arc<Convenio>> {
        let mut matching = self.iter().filter(|a| a.matches(identity));
        let first = matching.next()?;
        matching.next().is_none().then_some(first)
    }

    /// What loaded but deserves a reviewer's look (`FILE:LINE: warning: …`): a client named by
    /// its subject CN alone.
    pub fn warnings(&self) -> &[ConvenioIssue] {
        &self.warnings
    }

    /// The agreements client certificates act under: all but the one for persons.
    pub fn agencias(&self) -> impl Iterator<Item = &Arc<Convenio>> {
        self.iter().filter(|c| !c.personas)
    }

    /// The agreement for persons about themselves (`personas = true`), if the set has one.
    pub fn personas(&self) -> Option<&Arc<Convenio>> {
        self.iter().find(|c| c.personas)
    }

    pub fn get(&self, id: &ConvenioId) -> Option<&Arc<Convenio>> {
        self.by_id.get(id)
    }

    /// The agreements in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Convenio>> {
        self.by_id.values()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// The `*.toml` files of `dir`, sorted by name.
fn convenio_files(dir: &Path) -> Result<Vec<PathBuf>, ConvenioIssue> {
    let unreadable = |e: std::io::Error| {
        ConvenioIssue::new(dir, None, format!("cannot read the agreements folder: {e}"))
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Which file (and line) first claimed each subject CN and each SPKI pin.
#[derive(Default)]
struct Claims {
    subjects: BTreeMap<String, (PathBuf, usize)>,
    pins: BTreeMap<[u8; 32], (PathBuf, usize)>,
}

impl Claims {
    fn claim(&mut self, path: &Path, client: &ClientSeen, issues: &mut Vec<ConvenioIssue>) {
        if let Some((cn, line)) = &client.subject_cn
            && let Some(other) = claim(&mut self.subjects, cn.clone(), path, *line)
        {
            issues.push(ConvenioIssue::new(
                path,
                Some(*line),
                format!(
                    "subject_cn {cn:?} is also a client in {other}; a certificate must identify exactly one agreement"
                ),
            ));
        }
        if let Some((pin, line)) = &client.spki_sha256
            && let Some(other) = claim(&mut self.pins, *pin, path, *line)
        {
            issues.push(ConvenioIssue::new(
                path,
                Some(*line),
                format!(
                    "spki_sha256 {} is also pinned in {other}; a certificate must identify exactly one agreement",
                    hex::encode(pin)
                ),
            ));
        }
    }
}

/// Records `key` for `path`; returns `FILE:LINE` of another file that already holds it.
fn claim<K: Ord>(
    claims: &mut BTreeMap<K, (PathBuf, usize)>,
    key: K,
    path: &Path,
    line: usize,
) -> Option<String> {
    match claims.entry(key) {
        Entry::Vacant(slot) => {
            slot.insert((path.to_owned(), line));
            None
        }
        Entry::Occupied(held) => {
            let (other, other_line) = held.get();
            (other != path).then(|| format!("{}:{other_line}", other.display()))
        }
    }
}
