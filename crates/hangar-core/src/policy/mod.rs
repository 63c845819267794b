//! The one place that decides what a request may do. A request's power is the intersection of what
//! its credential grants ([`Grant`]) and what its owner may do with the resource right now (owner,
//! organization role, gated access, the organization's token policy). Handlers gather the facts;
//! these pure functions decide, so every route answers the same way.

mod grants;
#[cfg(test)]
mod tests;

pub use grants::*;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's name, or the organization's for an organization token.
    pub name: String,
    /// An organization token: it acts as the organization `name`.
    pub is_org: bool,
    pub grant: Grant,
}

/// What a request wants to do with a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Download files (what gating protects).
    ReadContent,
    /// Read repo info, trees, refs and commits: visible on a gated repo, like its page.
    ReadMetadata,
    /// Push commits, create or delete branches and tags, change settings.
    Write,
    /// Open a pull request or a discussion.
    OpenPr,
    /// Delete or rename the repository.
    DeleteRepo,
    /// List the access requests of a gated repo.
    ReadAccessRequests,
    /// Accept, reject or grant access requests.
    ManageAccessRequests,
}

impl Action {
    /// The fine-grained permission named in refusals.
    pub fn permission(self) -> &'static str {
        match self {
            Action::ReadContent | Action::ReadMetadata => "repo.content.read",
            Action::Write | Action::DeleteRepo => "repo.write",
            Action::OpenPr => "discussion.write",
            Action::ReadAccessRequests => "repo.access.read",
            Action::ManageAccessRequests => "repo.access.write",
        }
    }
    fn min_role(self) -> Role {
        match self {
            Action::ReadContent | Action::ReadMetadata => Role::Read,
            Action::Write | Action::OpenPr | Action::ReadAccessRequests | Action::ManageAccessRequests => Role::Write,
            Action::DeleteRepo => Role::Admin,
        }
    }
    fn verb(self) -> &'static str {
        match self {
            Action::ReadContent | Action::ReadMetadata => "read",
            Action::Write => "write to",
            Action::OpenPr => "open pull requests on",
            Action::DeleteRepo => "delete or move",
            Action::ReadAccessRequests => "list the access requests of",
            Action::ManageAccessRequests => "handle the access requests of",
        }
    }
    /// Fine-grained permissions that allow the action (the first is the one refusals name).
    fn accepted_permissions(self) -> &'static [&'static str] {
        match self {
            Action::ReadContent | Action::ReadMetadata => &["repo.content.read", "repo.write"],
            Action::Write | Action::DeleteRepo => &["repo.write"],
            Action::OpenPr => &["discussion.write", "repo.write"],
            Action::ReadAccessRequests => &["repo.access.read", "repo.access.write", "repo.write"],
            Action::ManageAccessRequests => &["repo.access.write", "repo.write"],
        }
    }
}

/// Gating mode of a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Auto,
    Manual,
}

/// The caller's access request to a gated repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Pending,
    Accepted,
    Rejected(Option<String>),
}

/// A token's approval by an organization with the approval policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    Pending,
    Approved,
    Denied,
}

/// The facts about a repository, and the caller's relation to it, that the policy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFacts<'a> {
    pub id: i64,
    pub namespace: &'a str,
    /// `model alice/bert` style, for messages.
    pub display: &'a str,
    pub private: bool,
    pub gated: Option<Gate>,
    /// The caller's role when the namespace is an organization they belong to.
    pub membership: Option<OrgRole>,
    /// The organization's token policy, when the namespace is an organization.
    pub org_policy: Option<TokenPolicy>,
    /// The caller's token approval by that organization (only looked up under the approval policy).
    pub approval: Option<Approval>,
    /// The caller's access request, when the repo is gated.
    pub request: Option<Request>,
    /// The caller created this repository.
    pub created_by_caller: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// Answer exactly as if the repository did not exist (401 for anonymous callers, 404 otherwise).
    Hidden,
    /// The caller must authenticate first (401).
    AuthRequired(String),
    /// The caller is known and may see the resource, but lacks a permission (403).
    Forbidden { permission: &'static str, message: String },
    /// A gated repository the caller has no access to (401 anonymous, 403 otherwise; `GatedRepo`).
    Gated { message: String },
}

/// How the caller relates to a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// The user's own namespace, or an organization token's organization.
    Owner,
    Member(OrgRole),
    Stranger,
}

fn relation(who: &Principal, namespace: &str, membership: Option<OrgRole>) -> Relation {
    if who.name.eq_ignore_ascii_case(namespace) {
        return Relation::Owner;
    }
    match membership {
        Some(role) if !who.is_org => Relation::Member(role),
        _ => Relation::Stranger,
    }
}

/// May `who` perform `action` on `repo`?
pub fn check_repo(who: Option<&Principal>, repo: &RepoFacts<'_>, action: Action) -> Result<(), Denial> {
    let Some(who) = who else {
        return check_anonymous(repo, action);
    };
    let rel = relation(who, repo.namespace, repo.membership);
    if repo.private && rel == Relation::Stranger {
        return Err(Denial::Hidden);
    }

    // What the account may do right now.
    let account_may = match action {
        Action::ReadContent | Action::ReadMetadata | Action::OpenPr => true,
        Action::Write => match rel {
            Relation::Owner => true,
            Relation::Member(r) => r >= OrgRole::Write || (r == OrgRole::Contributor && repo.created_by_caller),
            Relation::Stranger => false,
        },
        Action::DeleteRepo => matches!(rel, Relation::Owner | Relation::Member(OrgRole::Admin)),
        Action::ReadAccessRequests | Action::ManageAccessRequests => {
            matches!(rel, Relation::Owner) || matches!(rel, Relation::Member(r) if r >= OrgRole::Write)
        }
    };
    if !account_may {
        let whose = match rel {
            Relation::Member(r) => format!("your role in {} is '{}'", repo.namespace, r.as_str()),
            _ => format!("it belongs to {} and you are {}", repo.namespace, who.name),
        };
        return Err(Denial::Forbidden {
            permission: action.permission(),
            message: format!("You don't have permission to {} {}: {whose}.", action.verb(), repo.display),
        });
    }

    // Gated content: strangers need an accepted request, and their token must reach gated repos.
    let gated_for_caller = repo.gated.is_some() && rel == Relation::Stranger;
    if gated_for_caller && matches!(action, Action::ReadContent | Action::OpenPr) {
        check_gate(who, repo)?;
    }

    // What the credential grants, and the organization's token policy when membership is used.
    let uses_membership = matches!(rel, Relation::Member(_))
        && (repo.private
            || (repo.gated.is_some() && action != Action::ReadMetadata)
            || !matches!(action, Action::ReadContent | Action::ReadMetadata | Action::OpenPr));
    match &who.grant {
        Grant::Account => Ok(()),
        Grant::Classic(role) => {
            if uses_membership {
                check_classic_policy(repo.namespace, repo.org_policy)?;
            }
            if *role < action.min_role() {
                return Err(Denial::Forbidden {
                    permission: action.permission(),
                    message: format!(
                        "This token has the '{role}' role, which cannot {} {} ({}): use a token with the '{}' role{}.",
                        action.verb(),
                        repo.display,
                        action.permission(),
                        action.min_role(),
                        if action.min_role() == Role::Write { " or higher" } else { "" },
                    ),
                });
            }
            Ok(())
        }
        Grant::FineGrained(fg) => {
            if uses_membership {
                check_approval(repo.namespace, repo.org_policy, repo.approval)?;
            }
            let needs_grant = match action {
                // Public, ungated content is readable by anyone; gated content was checked above.
                Action::ReadContent => repo.private || (repo.gated.is_some() && !gated_for_caller),
                Action::ReadMetadata => repo.private,
                // Pull requests on repos the caller may read: a global grant covers external repos.
                Action::OpenPr => !fg.grants_global("discussion.write"),
                _ => true,
            };
            if !needs_grant {
                return Ok(());
            }
            let granted = action.accepted_permissions().iter().any(|p| fg.grants_on_repo(p, repo.namespace, repo.id))
                || (action == Action::ReadContent && repo.gated.is_some() && !repo.private && fg.can_read_gated_repos);
            if granted {
                Ok(())
            } else {
                Err(Denial::Forbidden {
                    permission: action.permission(),
                    message: format!(
                        "This fine-grained token lacks the permission {} on {}, needed to {} it. Edit the token's permissions or use another token.",
                        action.permission(),
                        repo.display,
                        action.verb()
                    ),
                })
            }
        }
    }
}

fn check_anonymous(repo: &RepoFacts<'_>, action: Action) -> Result<(), Denial> {
    if repo.private {
        return Err(Denial::Hidden);
    }
    match action {
        Action::ReadMetadata => Ok(()),
        Action::ReadContent if repo.gated.is_some() => Err(Denial::Gated {
            message: format!(
                "Access to {} is restricted. You must have access to it and be authenticated to access it. Please log in.",
                repo.display
            ),
        }),
        Action::ReadContent => Ok(()),
        _ => Err(Denial::AuthRequired(format!(
            "You must be authenticated to {} {}. Pass a token with the Authorization header.",
            action.verb(),
            repo.display
        ))),
    }
}

fn check_gate(who: &Principal, repo: &RepoFacts<'_>) -> Result<(), Denial> {
    let d = repo.display;
    let message = match &repo.request {
        Some(Request::Accepted) => match &who.grant {
            Grant::FineGrained(fg) if !fg.can_read_gated_repos && !fg.grants_on_repo("repo.content.read", repo.namespace, repo.id) => format!(
                "Access to {d} is granted to your account, but this fine-grained token is not scoped to read it: \
                 it has neither 'Read access to contents of all public gated repos you can access' (canReadGatedRepos) \
                 nor repo.content.read on {d}. Edit the token or use one with that permission."
            ),
            _ => return Ok(()),
        },
        _ if who.is_org => format!("Access to {d} is restricted to users its authors accepted; organization tokens cannot ask for access."),
        None => format!(
            "Access to {d} is restricted and you are not in the authorized list. Ask for access on the repo's page \
             (or POST to its /ask-access URL with your token), then wait for the authors to accept."
        ),
        Some(Request::Pending) => format!("Your request to access {d} is awaiting a review from the repo authors."),
        Some(Request::Rejected(reason)) => match reason {
            Some(r) if !r.is_empty() => format!("Your request to access {d} has been rejected by the repo's authors: {r}"),
            _ => format!("Your request to access {d} has been rejected by the repo's authors."),
        },
    };
    Err(Denial::Gated { message })
}

fn check_classic_policy(namespace: &str, policy: Option<TokenPolicy>) -> Result<(), Denial> {
    match policy {
        Some(TokenPolicy::FineGrainedOnly | TokenPolicy::AdminApproval) => Err(Denial::Forbidden {
            permission: "fineGrained",
            message: format!(
                "The organization {namespace} only accepts fine-grained tokens{}. Create a fine-grained token scoped to {namespace}.",
                if policy == Some(TokenPolicy::AdminApproval) { " approved by its administrators" } else { "" }
            ),
        }),
        _ => Ok(()),
    }
}

fn check_approval(namespace: &str, policy: Option<TokenPolicy>, approval: Option<Approval>) -> Result<(), Denial> {
    if policy != Some(TokenPolicy::AdminApproval) {
        return Ok(());
    }
    match approval {
        Some(Approval::Approved) => Ok(()),
        Some(Approval::Denied) => Err(Denial::Forbidden {
            permission: "org.approval",
            message: format!("An administrator of {namespace} denied this token access to the organization's resources."),
        }),
        _ => Err(Denial::Forbidden {
            permission: "org.approval",
            message: format!(
                "This token is pending approval by an administrator of {namespace}: it can use the organization's resources once approved."
            ),
        }),
    }
}

/// The facts about a namespace for creating repos and managing an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceFacts<'a> {
    pub name: &'a str,
    pub is_org: bool,
    pub membership: Option<OrgRole>,
    pub org_policy: Option<TokenPolicy>,
    pub approval: Option<Approval>,
}

/// May `who` create a repository in the namespace?
pub fn check_create(who: Option<&Principal>, ns: &NamespaceFacts<'_>) -> Result<(), Denial> {
    let Some(who) = who else {
        return Err(Denial::AuthRequired(
            "You must be authenticated to create a repository. Pass a write token with the Authorization header.".into(),
        ));
    };
    let rel = relation(who, ns.name, ns.membership);
    let account_may = match rel {
        Relation::Owner => true,
        Relation::Member(r) => r >= OrgRole::Contributor,
        Relation::Stranger => false,
    };
    if !account_may {
        return Err(Denial::Forbidden {
            permission: "repo.write",
            message: format!(
                "You don't have permission to create repositories in the namespace '{}'; you can create them in '{}'{}.",
                ns.name,
                who.name,
                if matches!(rel, Relation::Member(_)) { " (your organization role is 'read')" } else { "" }
            ),
        });
    }
    let member = matches!(rel, Relation::Member(_));
    match &who.grant {
        Grant::Account => Ok(()),
        Grant::Classic(role) => {
            if member {
                check_classic_policy(ns.name, ns.org_policy)?;
            }
            if *role < Role::Write {
                return Err(Denial::Forbidden {
                    permission: "repo.write",
                    message: format!("This token has the '{role}' role, which lacks the permission repo.write needed to create repositories. Use a token with the 'write' role or higher."),
                });
            }
            Ok(())
        }
        Grant::FineGrained(fg) => {
            if member {
                check_approval(ns.name, ns.org_policy, ns.approval)?;
            }
            if fg.grants_on_namespace("repo.write", ns.name) {
                Ok(())
            } else {
                Err(Denial::Forbidden {
                    permission: "repo.write",
                    message: format!(
                        "This fine-grained token lacks the permission repo.write on {}, needed to create repositories there.",
                        ns.name
                    ),
                })
            }
        }
    }
}

/// Reading or changing an organization's settings and members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgAction {
    Read,
    Write,
}

/// May `who` read or manage the organization?
pub fn check_org(who: Option<&Principal>, org: &NamespaceFacts<'_>, action: OrgAction) -> Result<(), Denial> {
    let Some(who) = who else {
        return Err(Denial::AuthRequired(format!("You must be authenticated to manage the organization {}.", org.name)));
    };
    let (perm, verb) = match action {
        OrgAction::Read => ("org.read", "read the settings of"),
        OrgAction::Write => ("org.write", "manage"),
    };
    let rel = relation(who, org.name, org.membership);
    let account_may = match (rel, action) {
        // An organization token manages its organization only through the account of an admin.
        (Relation::Owner, _) => !who.is_org || action == OrgAction::Read,
        (Relation::Member(_), OrgAction::Read) => true,
        (Relation::Member(r), OrgAction::Write) => r == OrgRole::Admin,
        (Relation::Stranger, _) => false,
    };
    if !account_may {
        return Err(Denial::Forbidden {
            permission: perm,
            message: format!("You don't have permission to {verb} the organization {}: it takes an admin of the organization.", org.name),
        });
    }
    match &who.grant {
        Grant::Account => Ok(()),
        Grant::Classic(role) => {
            check_classic_policy(org.name, org.org_policy)?;
            let needed = if action == OrgAction::Write { Role::Admin } else { Role::Read };
            if *role < needed {
                return Err(Denial::Forbidden {
                    permission: perm,
                    message: format!("This token has the '{role}' role; managing an organization takes an 'admin' token or a fine-grained token with {perm}."),
                });
            }
            Ok(())
        }
        Grant::FineGrained(fg) => {
            check_approval(org.name, org.org_policy, org.approval)?;
            let ok = fg.grants_on_namespace(perm, org.name) || (action == OrgAction::Read && fg.grants_on_namespace("org.write", org.name));
            if ok {
                Ok(())
            } else {
                Err(Denial::Forbidden {
                    permission: perm,
                    message: format!("This fine-grained token lacks the permission {perm} on the organization {}.", org.name),
                })
            }
        }
    }
}

/// May `who` use a permission on their own account (inference, billing)? Classic tokens of any
/// role may; fine-grained tokens need the permission globally or on their own namespace.
pub fn check_user_permission(who: &Principal, perm: &'static str) -> Result<(), Denial> {
    match &who.grant {
        Grant::Account | Grant::Classic(_) => Ok(()),
        Grant::FineGrained(fg) if fg.grants_global(perm) || fg.grants_on_namespace(perm, &who.name) => Ok(()),
        Grant::FineGrained(_) => Err(Denial::Forbidden {
            permission: perm,
            message: format!("This fine-grained token lacks the permission {perm}. Edit the token's permissions or use another token."),
        }),
    }
}
