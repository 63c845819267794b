//! The token files shared with the official client: the active token in `token` and named tokens
//! in `stored_tokens` (INI, one section per display name with `hf_token = …`), both mode 0600 in a
//! 0700 directory, written atomically.

use crate::env::{clean_token, Env};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

/// Section name → its fields (`hf_token`, and for OAuth logins `refresh_token`, `expires_at`).
pub type Stored = BTreeMap<String, BTreeMap<String, String>>;

/// Parses the INI the official client writes with `configparser`.
pub fn parse_ini(text: &str) -> Stored {
    let mut out = Stored::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            current = Some(name.to_owned());
            out.entry(name.to_owned()).or_default();
            continue;
        }
        let (Some(section), Some((k, v))) = (current.as_ref(), t.split_once(['=', ':'])) else { continue };
        out.entry(section.clone()).or_default().insert(k.trim().to_lowercase(), v.trim().to_owned());
    }
    out
}

pub fn write_ini(stored: &Stored) -> String {
    let mut s = String::new();
    for (name, fields) in stored {
        s.push_str(&format!("[{name}]\n"));
        for (k, v) in fields {
            s.push_str(&format!("{k} = {v}\n"));
        }
        s.push('\n');
    }
    s
}

/// Writes a secret file: 0600 in a 0700 directory, replaced atomically.
pub fn write_secret(path: &Path, content: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(content.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

pub fn read_stored(env: &Env) -> Stored {
    std::fs::read_to_string(&env.stored_tokens_path).map(|t| parse_ini(&t)).unwrap_or_default()
}

/// Saves `token` under `name` and makes it the active token.
pub fn save_login(env: &Env, name: &str, token: &str) -> std::io::Result<()> {
    save_login_with(env, name, token, &[])
}

/// Saves a token with extra fields, as the official client stores a browser login
/// (`refresh_token`, `expires_at`), so either client can refresh it.
pub fn save_login_with(env: &Env, name: &str, token: &str, extra: &[(&str, String)]) -> std::io::Result<()> {
    let mut stored = read_stored(env);
    let mut fields = BTreeMap::from([("hf_token".to_owned(), token.to_owned())]);
    for (k, v) in extra {
        fields.insert((*k).to_owned(), v.clone());
    }
    stored.insert(name.to_owned(), fields);
    write_secret(&env.stored_tokens_path, &write_ini(&stored))?;
    write_secret(&env.token_path, token)
}

/// The active token file's token, if any.
pub fn active_token(env: &Env) -> Option<String> {
    std::fs::read_to_string(&env.token_path).ok().and_then(|t| clean_token(&t))
}

/// Logs out: without a name, removes both files; with one, only that stored token (and the active
/// token when it is that one). Returns false when the name is unknown.
pub fn logout(env: &Env, name: Option<&str>) -> std::io::Result<bool> {
    let remove = |p: &Path| match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    };
    let Some(name) = name else {
        remove(&env.token_path)?;
        remove(&env.stored_tokens_path)?;
        return Ok(true);
    };
    let mut stored = read_stored(env);
    let Some(fields) = stored.remove(name) else { return Ok(false) };
    write_secret(&env.stored_tokens_path, &write_ini(&stored))?;
    if fields.get("hf_token").is_some_and(|t| Some(t.as_str()) == active_token(env).as_deref()) {
        remove(&env.token_path)?;
    }
    Ok(true)
}

/// Makes the stored token `name` the active one; false when unknown.
pub fn switch(env: &Env, name: &str) -> std::io::Result<bool> {
    let stored = read_stored(env);
    let Some(token) = stored.get(name).and_then(|f| f.get("hf_token")).and_then(|t| clean_token(t)) else { return Ok(false) };
    write_secret(&env.token_path, &token)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_round_trip_matches_configparser_output() {
        let text = "[alice-write]\nhf_token = hf_abc\n\n[oauth-bob]\nhf_token = hf_def\nrefresh_token = r\nexpires_at = 12\n\n";
        let parsed = parse_ini(text);
        assert_eq!(parsed["alice-write"]["hf_token"], "hf_abc");
        assert_eq!(parsed["oauth-bob"]["expires_at"], "12");
        assert_eq!(parse_ini(&write_ini(&parsed)), parsed);
    }
}
