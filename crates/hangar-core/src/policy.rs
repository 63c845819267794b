//! The one place that decides what a request may do. A request's power is the intersection of what
//! its token grants (its role) and what its owner may do with the repository right now.

use std::fmt;

/// The role of a classic access token, ordered by power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Read,
    Write,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request wants to do. Each maps to the Hub's permission name that error messages cite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Download files, list trees and commits, read repo info.
    ReadContent,
    /// Push commits, create or delete branches and tags, change settings.
    Write,
    /// Create a repository in a namespace.
    CreateRepo,
    /// Delete or rename a repository.
    DeleteRepo,
}

impl Action {
    pub fn permission(self) -> &'static str {
        match self {
            Action::ReadContent => "repo.content.read",
            Action::Write | Action::CreateRepo => "repo.write",
            Action::DeleteRepo => "repo.delete",
        }
    }
    fn min_role(self) -> Role {
        match self {
            Action::ReadContent => Role::Read,
            Action::Write | Action::CreateRepo => Role::Write,
            Action::DeleteRepo => Role::Admin,
        }
    }
    fn verb(self) -> &'static str {
        match self {
            Action::ReadContent => "read",
            Action::Write => "write to",
            Action::CreateRepo => "create repositories in",
            Action::DeleteRepo => "delete or move",
        }
    }
}

/// Who is asking. `token_role` is `None` for a browser session or an operator, which act with the
/// full power of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_name: String,
    pub token_role: Option<Role>,
}

/// The facts about a repository the policy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFacts<'a> {
    pub namespace: &'a str,
    pub display: &'a str,
    pub private: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// Answer exactly as if the repository did not exist (401 for anonymous callers, 404 otherwise).
    Hidden,
    /// The caller must authenticate first (401).
    AuthRequired(String),
    /// The caller is known and may see the resource, but lacks a permission (403).
    Forbidden { permission: &'static str, message: String },
}

/// May `who` perform `action` on `repo`?
pub fn check_repo(who: Option<&Principal>, repo: &RepoFacts<'_>, action: Action) -> Result<(), Denial> {
    let is_owner = who.is_some_and(|p| p.user_name.eq_ignore_ascii_case(repo.namespace));
    if repo.private && !is_owner {
        return Err(Denial::Hidden);
    }
    if action == Action::ReadContent {
        return match who {
            Some(p) if is_owner => check_role(p, action, repo.display),
            _ => Ok(()),
        };
    }
    let Some(p) = who else {
        return Err(Denial::AuthRequired(format!(
            "You must be authenticated to {} {}. Pass a token with the Authorization header.",
            action.verb(),
            repo.display
        )));
    };
    if !is_owner {
        return Err(Denial::Forbidden {
            permission: action.permission(),
            message: format!(
                "You don't have permission to {} {}: it belongs to {} and you are {}.",
                action.verb(),
                repo.display,
                repo.namespace,
                p.user_name
            ),
        });
    }
    check_role(p, action, repo.display)
}

/// May `who` create a repository in `namespace`?
pub fn check_create(who: Option<&Principal>, namespace: &str) -> Result<(), Denial> {
    let Some(p) = who else {
        return Err(Denial::AuthRequired(
            "You must be authenticated to create a repository. Pass a write token with the Authorization header.".into(),
        ));
    };
    if !p.user_name.eq_ignore_ascii_case(namespace) {
        return Err(Denial::Forbidden {
            permission: Action::CreateRepo.permission(),
            message: format!(
                "You don't have permission to create repositories in the namespace '{namespace}'; you can create them in '{}'.",
                p.user_name
            ),
        });
    }
    check_role(p, Action::CreateRepo, namespace)
}

fn check_role(p: &Principal, action: Action, what: &str) -> Result<(), Denial> {
    match p.token_role {
        Some(role) if role < action.min_role() => Err(Denial::Forbidden {
            permission: action.permission(),
            message: format!(
                "This token has the '{role}' role, which lacks the permission {} needed to {} {what}. Use a token with the '{}' role{}.",
                action.permission(),
                action.verb(),
                action.min_role(),
                if action.min_role() == Role::Write { " or higher" } else { "" },
            ),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(name: &str, role: Option<Role>) -> Principal {
        Principal { user_name: name.into(), token_role: role }
    }

    /// Every cell of token role × relationship × visibility × action.
    #[test]
    fn permission_matrix() {
        let roles = [None, Some(Role::Read), Some(Role::Write), Some(Role::Admin)];
        let actions = [Action::ReadContent, Action::Write, Action::DeleteRepo];
        for private in [false, true] {
            let repo = RepoFacts { namespace: "alice", display: "alice/m", private };
            for action in actions {
                // anonymous
                let r = check_repo(None, &repo, action);
                match (private, action) {
                    (true, _) => assert_eq!(r, Err(Denial::Hidden)),
                    (false, Action::ReadContent) => assert!(r.is_ok()),
                    (false, _) => assert!(matches!(r, Err(Denial::AuthRequired(_)))),
                }
                for role in roles {
                    // another user
                    let r = check_repo(Some(&who("bob", role)), &repo, action);
                    match (private, action) {
                        (true, _) => assert_eq!(r, Err(Denial::Hidden)),
                        (false, Action::ReadContent) => assert!(r.is_ok()),
                        (false, _) => assert!(matches!(r, Err(Denial::Forbidden { .. }))),
                    }
                    // the owner, names compared case-insensitively
                    let r = check_repo(Some(&who("Alice", role)), &repo, action);
                    let allowed = match action {
                        Action::ReadContent => true,
                        Action::Write | Action::CreateRepo => role != Some(Role::Read),
                        Action::DeleteRepo => role.is_none() || role == Some(Role::Admin),
                    };
                    assert_eq!(r.is_ok(), allowed, "owner {role:?} {action:?} private={private}");
                    if let Err(Denial::Forbidden { permission, message }) = r {
                        assert_eq!(permission, action.permission());
                        assert!(message.contains(permission));
                    }
                }
            }
        }
    }

    #[test]
    fn creating_repos() {
        assert!(check_create(Some(&who("alice", Some(Role::Write))), "alice").is_ok());
        assert!(matches!(check_create(Some(&who("alice", Some(Role::Read))), "alice"), Err(Denial::Forbidden { .. })));
        assert!(matches!(check_create(Some(&who("alice", Some(Role::Admin))), "bob"), Err(Denial::Forbidden { .. })));
        assert!(matches!(check_create(None, "alice"), Err(Denial::AuthRequired(_))));
    }
}
