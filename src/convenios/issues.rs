//! Problems found while loading agreements, each tied to a file and, when it has one, a line.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one agreement file (or in the folder itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvenioIssue {
    pub file: PathBuf,
    /// 1-based line of the offending key or value; `None` for whole-file problems.
    pub line: Option<usize>,
    pub message: String,
}

/// Every problem found, each naming file, line and problem; `Display` prints one per line as
/// `FILE:LINE: problem` (or `FILE: problem` when there is no line).
#[derive(Debug)]
pub struct ConvenioErrors(pub Vec<ConvenioIssue>);

impl ConvenioIssue {
    pub(crate) fn new(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        ConvenioIssue {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConvenioIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl fmt::Display for ConvenioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConvenioErrors {}

/// The 1-based line holding byte `offset` of `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_one_issue_per_line() {
        let errors = ConvenioErrors(vec![
            ConvenioIssue::new(
                Path::new("convenios/ips.toml"),
                Some(12),
                "limits.burst must be at least 1",
            ),
            ConvenioIssue::new(
                Path::new("convenios"),
                None,
                "no agreement files (*.toml) in this folder",
            ),
        ]);
        assert_eq!(
            errors.to_string(),
            "convenios/ips.toml:12: limits.burst must be at least 1\n\
             convenios: no agreement files (*.toml) in this folder"
        );
    }

    #[test]
    fn counts_lines_from_one() {
        let text = "a = 1\nb = 2\n\nc = 3";
        assert_eq!(line_at(text, 0), 1);
        assert_eq!(line_at(text, 5), 1);
        assert_eq!(line_at(text, 6), 2);
        assert_eq!(line_at(text, text.find('c').unwrap()), 4);
        assert_eq!(line_at(text, 999), 4);
    }
}
