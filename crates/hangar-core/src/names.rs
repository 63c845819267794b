//! Validating types for what appears in URLs: repository types and ids, user names, revisions and paths.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoType {
    Model,
    Dataset,
    Space,
}

impl RepoType {
    pub const ALL: [RepoType; 3] = [RepoType::Model, RepoType::Dataset, RepoType::Space];

    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }

    /// Parses the `type` field of create/delete/move bodies.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        match s {
            "model" => Ok(RepoType::Model),
            "dataset" => Ok(RepoType::Dataset),
            "space" => Ok(RepoType::Space),
            other => Err(NameError(format!(
                "unknown repo type '{other}': expected model, dataset or space"
            ))),
        }
    }

    /// Parses the plural used in `/api/{type}s/...`.
    pub fn from_plural(s: &str) -> Option<Self> {
        match s {
            "models" => Some(RepoType::Model),
            "datasets" => Some(RepoType::Dataset),
            "spaces" => Some(RepoType::Space),
            _ => None,
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    /// Prefix of web and resolve URLs: models have none.
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }
}

impl fmt::Display for RepoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One part of a repo id, or a user or organization name: 1–96 characters of `[A-Za-z0-9-_.]`,
/// not starting or ending with `-` or `.`, without `--` or `..`, not ending in `.git`.
pub fn validate_name_part(s: &str, what: &str) -> Result<(), NameError> {
    let bad = |why: &str| Err(NameError(format!("invalid {what} '{}': {why}", printable(s))));
    if s.is_empty() || s.len() > 96 {
        return bad("must be 1 to 96 characters long");
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
        return bad("only letters, digits, '-', '_' and '.' are allowed");
    }
    if s.starts_with(['-', '.']) || s.ends_with(['-', '.']) {
        return bad("must not start or end with '-' or '.'");
    }
    if s.contains("--") || s.contains("..") {
        return bad("must not contain '--' or '..'");
    }
    if s.ends_with(".git") {
        return bad("must not end with '.git'");
    }
    Ok(())
}

fn printable(s: &str) -> String {
    s.chars().take(100).filter(|c| !c.is_control()).collect()
}

/// A repository id, `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoId {
    pub namespace: String,
    pub name: String,
}

impl RepoId {
    pub fn new(namespace: &str, name: &str) -> Result<Self, NameError> {
        validate_name_part(namespace, "namespace")?;
        validate_name_part(name, "repo name")?;
        Ok(RepoId { namespace: namespace.to_owned(), name: name.to_owned() })
    }

    pub fn parse(id: &str) -> Result<Self, NameError> {
        match id.split_once('/') {
            Some((ns, name)) if !name.contains('/') => RepoId::new(ns, name),
            _ => Err(NameError(format!(
                "invalid repo id '{}': expected 'namespace/name'",
                printable(id)
            ))),
        }
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Checks a branch or tag name (`refs/heads/<name>`), following git's check-ref-format rules
/// closely enough that every accepted name is a valid git ref.
pub fn validate_ref_name(s: &str) -> Result<(), NameError> {
    let bad = |why: &str| Err(NameError(format!("invalid branch or tag name '{}': {why}", printable(s))));
    if s.is_empty() || s.len() > 200 {
        return bad("must be 1 to 200 characters long");
    }
    if s.starts_with("refs/") {
        return bad("must not start with 'refs/'");
    }
    if is_commit_id(s) {
        return bad("must not look like a commit id");
    }
    for part in s.split('/') {
        if part.is_empty() || part.starts_with('.') || part.ends_with(".lock") {
            return bad("each '/'-separated part must be non-empty, not start with '.' nor end with '.lock'");
        }
    }
    if s.ends_with('.') || s.contains("..") || s.contains("@{") || s == "@" {
        return bad("must not contain '..' or '@{', nor end with '.'");
    }
    if s.chars().any(|c| c.is_control() || " ~^:?*[\\".contains(c)) {
        return bad("must not contain spaces, control characters or any of ~^:?*[\\");
    }
    Ok(())
}

pub fn is_commit_id(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A normalised path inside a repository: `/`-separated, no empty, `.` or `..` parts, no leading slash.
pub fn normalize_repo_path(p: &str) -> Result<String, NameError> {
    let bad = |why: &str| Err(NameError(format!("invalid path '{}': {why}", printable(p))));
    let trimmed = p.trim_matches('/');
    if trimmed.is_empty() {
        return bad("path is empty");
    }
    if trimmed.len() > 4096 {
        return bad("path is longer than 4096 bytes");
    }
    for part in trimmed.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return bad("path parts must not be empty, '.' or '..'");
        }
        if part == ".git" {
            return bad("'.git' is reserved");
        }
        if part.chars().any(|c| c == '\0' || c == '\n' || c == '\r') {
            return bad("path must not contain NUL or newline characters");
        }
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_follow_the_hub_rules() {
        assert!(RepoId::parse("alice/my-model.v2").is_ok());
        for bad in ["alice", "alice/", "/m", "a/b/c", "alice/-m", "alice/m.", "alice/a--b", "alice/a..b", "alice/m.git", "al ice/m"] {
            assert!(RepoId::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(RepoId::parse(&format!("a/{}", "x".repeat(97))).is_err());
    }

    #[test]
    fn ref_names() {
        assert!(validate_ref_name("main").is_ok());
        assert!(validate_ref_name("feature/x").is_ok());
        assert!(validate_ref_name("v1.0").is_ok());
        for bad in ["", "a..b", "a b", "refs/heads/x", "x.lock", "a//b", ".hidden", &"a".repeat(40)] {
            assert!(validate_ref_name(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalize_repo_path("/a/b c.txt").unwrap(), "a/b c.txt");
        assert!(normalize_repo_path("a/../b").is_err());
        assert!(normalize_repo_path("a//b").is_err());
        assert!(normalize_repo_path(".git/config").is_err());
        assert!(normalize_repo_path("").is_err());
    }
}
