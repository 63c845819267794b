//! Where things are, resolved as the official client resolves them: `HF_HOME`, `HF_TOKEN_PATH`,
//! `HF_HUB_CACHE`, the endpoint, and the token with its precedence (`HF_TOKEN`, then
//! `HUGGING_FACE_HUB_TOKEN`, then the token file). A `.env` file in the working directory supplies
//! these variables without overriding the real environment.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The variables the client reads.
pub const VARIABLES: &[&str] = &[
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_ENDPOINT",
    "HF_HOME",
    "HF_TOKEN_PATH",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "XDG_CACHE_HOME",
];

/// Where the token in use came from, for messages that say where tokens are looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Flag,
    Env(&'static str),
    DotEnv(&'static str),
    File(PathBuf),
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Flag => write!(f, "the --token option"),
            TokenSource::Env(v) => write!(f, "the {v} environment variable"),
            TokenSource::DotEnv(v) => write!(f, "{v} in the .env file of the working directory"),
            TokenSource::File(p) => write!(f, "the token file {}", p.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Env {
    pub hf_home: PathBuf,
    pub token_path: PathBuf,
    pub stored_tokens_path: PathBuf,
    pub hub_cache: PathBuf,
    pub endpoint: String,
    pub token: Option<(String, TokenSource)>,
}

/// The default endpoint when neither `--endpoint` nor `HF_ENDPOINT` is given: a local Hangar.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8080";

/// Parses a `.env` file: `KEY=VALUE` lines, optional `export `, quotes, `#` comments.
pub fn parse_dotenv(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else { continue };
        let k = k.trim();
        let v = v.trim();
        // A quoted value ends at its closing quote (a comment may follow); an unquoted one at ` #`.
        let quoted = v.chars().next().filter(|c| *c == '"' || *c == '\'').and_then(|q| v[1..].find(q).map(|end| v[1..1 + end].to_owned()));
        let v = match quoted {
            Some(inner) => inner,
            None => v.split(" #").next().unwrap_or(v).trim().to_owned(),
        };
        out.insert(k.to_owned(), v);
    }
    out
}

/// Removes what the official client removes from a token: newlines and surrounding spaces.
pub fn clean_token(t: &str) -> Option<String> {
    let t = t.replace(['\r', '\n'], "");
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn expand(p: &str, home: &Path) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None if p == "~" => home.to_path_buf(),
        None => PathBuf::from(p),
    }
}

impl Env {
    /// Resolves from the process environment and `.env` in `cwd`; `endpoint` and `token` are flags.
    pub fn resolve(cwd: &Path, endpoint: Option<&str>, token: Option<&str>) -> Env {
        let dotenv = std::fs::read_to_string(cwd.join(".env")).map(|t| parse_dotenv(&t)).unwrap_or_default();
        let real = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let get = |k: &str| real(k).or_else(|| dotenv.get(k).cloned().filter(|v| !v.is_empty()));
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"));
        let hf_home = match get("HF_HOME") {
            Some(h) => expand(&h, &home),
            None => get("XDG_CACHE_HOME").map(|x| expand(&x, &home)).unwrap_or_else(|| home.join(".cache")).join("huggingface"),
        };
        let token_path = get("HF_TOKEN_PATH").map(|p| expand(&p, &home)).unwrap_or_else(|| hf_home.join("token"));
        let stored_tokens_path = token_path.parent().map(|d| d.join("stored_tokens")).unwrap_or_else(|| hf_home.join("stored_tokens"));
        let hub_cache = get("HF_HUB_CACHE")
            .or_else(|| get("HUGGINGFACE_HUB_CACHE"))
            .map(|p| expand(&p, &home))
            .unwrap_or_else(|| hf_home.join("hub"));
        let endpoint = endpoint
            .map(str::to_owned)
            .or_else(|| get("HF_ENDPOINT"))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let from_var = |name: &'static str| -> Option<(String, TokenSource)> {
            if let Some(v) = real(name).and_then(|v| clean_token(&v)) {
                return Some((v, TokenSource::Env(name)));
            }
            dotenv.get(name).and_then(|v| clean_token(v)).map(|v| (v, TokenSource::DotEnv(name)))
        };
        let token = token
            .and_then(clean_token)
            .map(|t| (t, TokenSource::Flag))
            .or_else(|| from_var("HF_TOKEN"))
            .or_else(|| from_var("HUGGING_FACE_HUB_TOKEN"))
            .or_else(|| {
                std::fs::read_to_string(&token_path).ok().and_then(|t| clean_token(&t)).map(|t| (t, TokenSource::File(token_path.clone())))
            });
        Env { hf_home, token_path, stored_tokens_path, hub_cache, endpoint, token }
    }

    /// Where tokens are looked for, in order (for "not logged in" messages).
    pub fn lookup_order(&self) -> String {
        format!(
            "the --token option, then HF_TOKEN, then HUGGING_FACE_HUB_TOKEN (environment, then .env in the working directory), then the token file {}",
            self.token_path.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines() {
        let m = parse_dotenv("# comment\nexport HF_TOKEN=\"hf_abc\"\nHF_ENDPOINT = http://x:1 # trailing\nEMPTY=\nBAD\nQ='v w' # note\n");
        assert_eq!(m["Q"], "v w");
        assert_eq!(m["HF_TOKEN"], "hf_abc");
        assert_eq!(m["HF_ENDPOINT"], "http://x:1");
        assert_eq!(m["EMPTY"], "");
        assert!(!m.contains_key("BAD"));
    }

    #[test]
    fn tokens_are_cleaned_like_the_official_client() {
        assert_eq!(clean_token(" hf_x\r\n").as_deref(), Some("hf_x"));
        assert_eq!(clean_token("\n"), None);
    }
}
