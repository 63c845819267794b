//! Fine-grained permission sets: validated from the Hub's JSON shape (API) or `ENTITY=PERM` pairs
//! (operator CLI), stored as canonical JSON (repos by id, so grants follow renames), turned into the
//! policy's [`FineGrained`] and shown back with current names.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use hangar_core::policy::{self, is_known_permission, Action, FineGrained, Grant, Principal, ScopeTarget};
use hangar_core::{RepoId, RepoType};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Permissions that only make sense on an entity, never globally.
const SCOPED_ONLY: &[&str] = &["repo.content.read", "repo.write", "repo.access.read", "repo.access.write", "org.read", "org.write"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    #[serde(default)]
    pub can_read_gated_repos: bool,
    #[serde(default)]
    pub global: Vec<String>,
    #[serde(default)]
    pub scoped: Vec<ScopedSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopedSpec {
    pub entity: EntitySpec,
    pub permissions: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct EntitySpec {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
}

/// The stored form.
#[derive(Debug, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Stored {
    can_read_gated_repos: bool,
    global: Vec<String>,
    scoped: Vec<StoredScope>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredScope {
    #[serde(rename = "type")]
    kind: String,
    /// User or organization name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Repository id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    permissions: Vec<String>,
}

/// Whose token it is: a user's, or an organization's.
pub enum Owner<'a> {
    User(&'a hangar_store::User),
    Org(&'a hangar_store::Org),
}

/// Parses `ENTITY=PERM` pairs of `hangar admin token create --permission` into a spec.
pub fn spec_from_pairs(pairs: &[String], can_read_gated_repos: bool) -> ApiResult<Spec> {
    let (global, scoped) = hangar_core::policy::parse_permission_pairs(pairs).map_err(ApiError::BadRequest)?;
    Ok(Spec {
        can_read_gated_repos,
        global,
        scoped: scoped.into_iter().map(|(kind, name, permissions)| ScopedSpec { entity: EntitySpec { kind, name }, permissions }).collect(),
    })
}

fn check_permissions(perms: &[String], what: &str) -> ApiResult<()> {
    if perms.is_empty() {
        return Err(ApiError::bad_request(format!("fineGrained.scoped: {what} has no permissions")));
    }
    for p in perms {
        if !is_known_permission(p) {
            return Err(ApiError::bad_request(format!(
                "Unknown permission '{p}' for {what}. Known permissions: {}",
                hangar_core::policy::PERMISSIONS.join(", ")
            )));
        }
    }
    Ok(())
}

/// Validates a spec for `owner` and returns the JSON to store. Entities must exist and be within
/// the owner's reach: their own namespace, organizations they belong to, repos they can read.
pub async fn validate(state: &AppState, owner: Owner<'_>, spec: Spec) -> ApiResult<String> {
    let mut stored = Stored { can_read_gated_repos: spec.can_read_gated_repos, global: vec![], scoped: vec![] };
    for p in &spec.global {
        check_permissions(std::slice::from_ref(p), "global")?;
        if SCOPED_ONLY.contains(&p.as_str()) {
            return Err(ApiError::bad_request(format!(
                "fineGrained.global: '{p}' must be granted on an entity (your namespace, an organization or a repo), not globally"
            )));
        }
        if !stored.global.contains(p) {
            stored.global.push(p.clone());
        }
    }
    let (owner_name, owner_principal) = match &owner {
        Owner::User(u) => (u.name.clone(), Principal { name: u.name.clone(), is_org: false, grant: Grant::Account }),
        Owner::Org(o) => (o.name.clone(), Principal { name: o.name.clone(), is_org: true, grant: Grant::Account }),
    };
    for s in spec.scoped {
        let what = format!("{}:{}", s.entity.kind, s.entity.name);
        check_permissions(&s.permissions, &what)?;
        let mut perms: Vec<String> = Vec::new();
        for p in &s.permissions {
            if !perms.contains(p) {
                perms.push(p.clone());
            }
        }
        match s.entity.kind.as_str() {
            "user" => {
                if !matches!(owner, Owner::User(_)) || !s.entity.name.eq_ignore_ascii_case(&owner_name) {
                    return Err(ApiError::bad_request(format!("Entity '{what}': a token can only be scoped to its own user namespace ({owner_name})")));
                }
                if perms.iter().any(|p| p.starts_with("org.")) {
                    return Err(ApiError::bad_request(format!("Entity '{what}': org.* permissions apply to organizations")));
                }
                stored.scoped.push(StoredScope { kind: "user".into(), name: Some(owner_name.clone()), id: None, permissions: perms });
            }
            "org" => {
                let org = state
                    .store
                    .org_by_name(&s.entity.name)
                    .await?
                    .ok_or_else(|| ApiError::bad_request(format!("Entity '{what}': no organization named '{}'", s.entity.name)))?;
                let allowed = match &owner {
                    Owner::User(u) => state.store.member_role(org.id, u.id).await?.is_some(),
                    Owner::Org(o) => o.id == org.id,
                };
                if !allowed {
                    return Err(ApiError::bad_request(format!("Entity '{what}': you are not a member of the organization {}", org.name)));
                }
                stored.scoped.push(StoredScope { kind: "org".into(), name: Some(org.name), id: None, permissions: perms });
            }
            kind @ ("model" | "dataset" | "space") => {
                if perms.iter().any(|p| p.starts_with("org.") || p.starts_with("user.")) {
                    return Err(ApiError::bad_request(format!("Entity '{what}': org.* and user.* permissions do not apply to a repository")));
                }
                let t = RepoType::parse(kind)?;
                let id = RepoId::parse(&s.entity.name).map_err(|e| ApiError::bad_request(format!("Entity '{what}': {}", e.0)))?;
                let not_found = || ApiError::bad_request(format!("Entity '{what}': no such {kind} repository that you can read"));
                let repo = state.store.repo_by_name(t.as_str(), &id.namespace, &id.name).await?.ok_or_else(not_found)?;
                let facts = crate::access::gather(state, Some(&owner_principal), match &owner {
                    Owner::User(u) => Some(u.id),
                    Owner::Org(_) => None,
                }, None, &repo)
                .await?;
                let display = format!("{kind} {}/{}", repo.namespace, repo.name);
                if policy::check_repo(Some(&owner_principal), &facts.as_facts(&display), Action::ReadContent).is_err() {
                    return Err(not_found());
                }
                stored.scoped.push(StoredScope { kind: kind.into(), name: None, id: Some(repo.id), permissions: perms });
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Entity type '{other}' is not one of user, org, model, dataset, space"
                )))
            }
        }
    }
    Ok(serde_json::to_string(&stored).map_err(anyhow::Error::from)?)
}

/// The policy's view of a stored set. A set that cannot be read grants nothing.
pub fn to_policy(json: &str) -> FineGrained {
    let stored: Stored = serde_json::from_str(json).unwrap_or_default();
    FineGrained {
        can_read_gated_repos: stored.can_read_gated_repos,
        global: stored.global,
        scoped: stored
            .scoped
            .into_iter()
            .filter_map(|s| {
                let target = match (s.name, s.id) {
                    (_, Some(id)) => ScopeTarget::Repo(id),
                    (Some(name), None) => ScopeTarget::Namespace(name),
                    (None, None) => return None,
                };
                Some((target, s.permissions))
            })
            .collect(),
    }
}

/// The organizations a stored set reaches (their names), directly or through one of their repos.
pub async fn reached_namespaces(state: &AppState, json: &str) -> ApiResult<Vec<String>> {
    let stored: Stored = serde_json::from_str(json).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for s in stored.scoped {
        let ns = match (s.name, s.id) {
            (_, Some(id)) => state.store.repo_by_id(id).await?.map(|r| r.namespace),
            (Some(n), None) => Some(n),
            _ => None,
        };
        if let Some(ns) = ns {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&ns)) {
                out.push(ns);
            }
        }
    }
    Ok(out)
}

/// The Hub's `fineGrained` object, with current names (a deleted repo is left out).
pub async fn to_api(state: &AppState, json: &str) -> ApiResult<Value> {
    let stored: Stored = serde_json::from_str(json).unwrap_or_default();
    let mut scoped = Vec::new();
    for s in stored.scoped {
        let entity = match (s.name, s.id) {
            (_, Some(id)) => match state.store.repo_by_id(id).await? {
                Some(r) => json!({"_id": format!("{:024x}", r.id), "type": r.repo_type, "name": format!("{}/{}", r.namespace, r.name)}),
                None => continue,
            },
            (Some(name), None) => {
                let id = match s.kind.as_str() {
                    "org" => state.store.org_by_name(&name).await?.map(|o| o.id),
                    _ => state.store.user_by_name(&name).await?.map(|u| u.id),
                };
                json!({"_id": format!("{:024x}", id.unwrap_or(0)), "type": s.kind, "name": name})
            }
            _ => continue,
        };
        scoped.push(json!({"entity": entity, "permissions": s.permissions}));
    }
    Ok(json!({"canReadGatedRepos": stored.can_read_gated_repos, "global": stored.global, "scoped": scoped}))
}
