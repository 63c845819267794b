//! The permission matrix: every token kind × relationship to the repo × visibility and gating ×
//! organization token policy × operation, checked against an oracle written as the product rules
//! state them (what the account may do, intersected with what the credential grants).

use super::*;

const ACTIONS: [Action; 7] = [
    Action::ReadContent,
    Action::ReadMetadata,
    Action::Write,
    Action::OpenPr,
    Action::DeleteRepo,
    Action::ReadAccessRequests,
    Action::ManageAccessRequests,
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rel {
    Owner,
    Member(OrgRole, bool),
    Stranger,
    OrgToken,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Vis {
    Public,
    Private,
    Gated(Option<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cred {
    Session,
    Classic(Role),
    FgNone,
    FgRepoRead,
    FgRepoWrite,
    FgRepoAccess,
    FgNsRead,
    FgNsWrite,
    FgGatedFlag,
    FgGlobalDiscussion,
    FgOtherRepoWrite,
}

const REPO_ID: i64 = 7;

fn grant(c: Cred, ns: &str) -> Grant {
    let fg = |scoped: Vec<(ScopeTarget, Vec<&str>)>, flag: bool, global: Vec<&str>| {
        Grant::FineGrained(FineGrained {
            can_read_gated_repos: flag,
            global: global.into_iter().map(String::from).collect(),
            scoped: scoped.into_iter().map(|(t, p)| (t, p.into_iter().map(String::from).collect())).collect(),
        })
    };
    match c {
        Cred::Session => Grant::Account,
        Cred::Classic(r) => Grant::Classic(r),
        Cred::FgNone => fg(vec![], false, vec![]),
        Cred::FgRepoRead => fg(vec![(ScopeTarget::Repo(REPO_ID), vec!["repo.content.read"])], false, vec![]),
        Cred::FgRepoWrite => fg(vec![(ScopeTarget::Repo(REPO_ID), vec!["repo.write"])], false, vec![]),
        Cred::FgRepoAccess => fg(vec![(ScopeTarget::Repo(REPO_ID), vec!["repo.access.read"])], false, vec![]),
        Cred::FgNsRead => fg(vec![(ScopeTarget::Namespace(ns.to_uppercase()), vec!["repo.content.read"])], false, vec![]),
        Cred::FgNsWrite => fg(vec![(ScopeTarget::Namespace(ns.into()), vec!["repo.content.read", "repo.write", "repo.access.write"])], false, vec![]),
        Cred::FgGatedFlag => fg(vec![], true, vec![]),
        Cred::FgGlobalDiscussion => fg(vec![], false, vec!["discussion.write"]),
        Cred::FgOtherRepoWrite => fg(vec![(ScopeTarget::Repo(REPO_ID + 1), vec!["repo.content.read", "repo.write"])], true, vec![]),
    }
}

/// The actions a credential grants on this repo, ignoring what the account may do.
fn credential_grants(c: Cred, a: Action, private: bool, gated: bool) -> bool {
    // Metadata of a gated repo is as public as its page.
    let gated = gated && a != Action::ReadMetadata;
    let read = matches!(a, Action::ReadContent | Action::ReadMetadata);
    let public_read = read && !private && !gated;
    match c {
        Cred::Session => true,
        Cred::Classic(Role::Read) => read,
        Cred::Classic(Role::Write) => a != Action::DeleteRepo,
        Cred::Classic(Role::Admin) => true,
        Cred::FgNone | Cred::FgOtherRepoWrite => public_read,
        Cred::FgGatedFlag => public_read || (read && gated && !private),
        Cred::FgGlobalDiscussion => public_read || a == Action::OpenPr,
        Cred::FgRepoRead | Cred::FgNsRead => read,
        Cred::FgRepoAccess => public_read || a == Action::ReadAccessRequests,
        // repo.write covers reading, writing, pull requests and access requests.
        Cred::FgRepoWrite | Cred::FgNsWrite => true,
    }
}

/// The actions the account (or organization) may perform, before any credential is considered.
fn account_may(rel: Rel, a: Action) -> bool {
    let role = match rel {
        Rel::Owner | Rel::OrgToken => return true,
        Rel::Stranger => return matches!(a, Action::ReadContent | Action::ReadMetadata | Action::OpenPr),
        Rel::Member(role, _) => role,
    };
    let creator = matches!(rel, Rel::Member(_, true));
    match a {
        Action::ReadContent | Action::ReadMetadata | Action::OpenPr => true,
        Action::Write => role >= OrgRole::Write || (role == OrgRole::Contributor && creator),
        Action::DeleteRepo => role == OrgRole::Admin,
        Action::ReadAccessRequests | Action::ManageAccessRequests => role >= OrgRole::Write,
    }
}

fn is_fine_grained(c: Cred) -> bool {
    !matches!(c, Cred::Session | Cred::Classic(_))
}

#[test]
fn permission_matrix() {
    let rels = [
        Rel::Owner,
        Rel::Stranger,
        Rel::OrgToken,
        Rel::Member(OrgRole::Read, false),
        Rel::Member(OrgRole::Contributor, false),
        Rel::Member(OrgRole::Contributor, true),
        Rel::Member(OrgRole::Write, false),
        Rel::Member(OrgRole::Admin, false),
    ];
    let visibilities = [Vis::Public, Vis::Private, Vis::Gated(None), Vis::Gated(Some(0)), Vis::Gated(Some(1)), Vis::Gated(Some(2))];
    let creds = [
        Cred::Session,
        Cred::Classic(Role::Read),
        Cred::Classic(Role::Write),
        Cred::Classic(Role::Admin),
        Cred::FgNone,
        Cred::FgRepoRead,
        Cred::FgRepoWrite,
        Cred::FgRepoAccess,
        Cred::FgNsRead,
        Cred::FgNsWrite,
        Cred::FgGatedFlag,
        Cred::FgGlobalDiscussion,
        Cred::FgOtherRepoWrite,
    ];
    let policies = [
        (TokenPolicy::AllowAll, None),
        (TokenPolicy::FineGrainedOnly, None),
        (TokenPolicy::AdminApproval, Some(Approval::Pending)),
        (TokenPolicy::AdminApproval, Some(Approval::Approved)),
        (TokenPolicy::AdminApproval, Some(Approval::Denied)),
    ];
    let mut cells = 0;
    for rel in rels {
        let in_org = matches!(rel, Rel::Member(..) | Rel::OrgToken | Rel::Stranger);
        let ns = if in_org { "acme" } else { "alice" };
        for vis in visibilities {
            let private = vis == Vis::Private;
            let request = match vis {
                Vis::Gated(Some(0)) => Some(Request::Pending),
                Vis::Gated(Some(1)) => Some(Request::Accepted),
                Vis::Gated(Some(_)) => Some(Request::Rejected(Some("not a fit".into()))),
                _ => None,
            };
            let gated = matches!(vis, Vis::Gated(_));
            for (policy, approval) in policies {
                if !in_org && policy != TokenPolicy::AllowAll {
                    continue;
                }
                for cred in creds {
                    let who = Principal {
                        name: match rel {
                            Rel::Owner => "Alice".into(),
                            Rel::OrgToken => "ACME".into(),
                            _ => "bob".into(),
                        },
                        is_org: rel == Rel::OrgToken,
                        grant: grant(cred, ns),
                    };
                    let facts = RepoFacts {
                        id: REPO_ID,
                        namespace: ns,
                        display: "model ns/m",
                        private,
                        gated: gated.then_some(Gate::Manual),
                        membership: match rel {
                            Rel::Member(r, _) => Some(r),
                            _ => None,
                        },
                        org_policy: in_org.then_some(policy),
                        approval,
                        request: request.clone(),
                        created_by_caller: matches!(rel, Rel::Member(_, true)),
                    };
                    for a in ACTIONS {
                        cells += 1;
                        let got = check_repo(Some(&who), &facts, a);
                        let ctx = format!("{rel:?} {vis:?} {policy:?}/{approval:?} {cred:?} {a:?}: {got:?}");
                        let member = matches!(rel, Rel::Member(..));

                        // Private repos of strangers do not exist for them.
                        if private && rel == Rel::Stranger {
                            assert_eq!(got, Err(Denial::Hidden), "{ctx}");
                            continue;
                        }
                        if !account_may(rel, a) {
                            assert!(matches!(got, Err(Denial::Forbidden { .. })), "{ctx}");
                            continue;
                        }
                        // Gated repos: a stranger needs an accepted request, and a fine-grained
                        // token must reach gated repos (flag or repo read scope).
                        let stranger_gate = gated && rel == Rel::Stranger;
                        if stranger_gate && matches!(a, Action::ReadContent | Action::OpenPr) {
                            let accepted = request == Some(Request::Accepted);
                            // The gated flag (set on FgGatedFlag and FgOtherRepoWrite) or repo.content.read on this repo.
                            let token_reaches = !is_fine_grained(cred)
                                || matches!(cred, Cred::FgGatedFlag | Cred::FgOtherRepoWrite | Cred::FgRepoRead | Cred::FgNsRead | Cred::FgNsWrite);
                            if !accepted || !token_reaches {
                                match &got {
                                    Err(Denial::Gated { message }) => {
                                        if vis == Vis::Gated(Some(2)) {
                                            assert!(message.contains("not a fit"), "the rejection reason is shown: {ctx}");
                                        }
                                        if accepted {
                                            assert!(message.contains("canReadGatedRepos"), "the scope mistake is named: {ctx}");
                                        }
                                    }
                                    other => panic!("expected GatedRepo, got {other:?}: {ctx}"),
                                }
                                continue;
                            }
                        }
                        // The organization's token policy binds tokens that use the membership.
                        let uses_membership = member
                            && (private || (gated && a != Action::ReadMetadata) || !matches!(a, Action::ReadContent | Action::ReadMetadata | Action::OpenPr));
                        if uses_membership && matches!(cred, Cred::Classic(_)) && policy != TokenPolicy::AllowAll {
                            assert!(matches!(&got, Err(Denial::Forbidden { message, .. }) if message.contains("fine-grained")), "{ctx}");
                            continue;
                        }
                        if uses_membership && is_fine_grained(cred) && policy == TokenPolicy::AdminApproval && approval != Some(Approval::Approved) {
                            assert!(matches!(&got, Err(Denial::Forbidden { permission: "org.approval", .. })), "{ctx}");
                            continue;
                        }
                        // What the credential grants on this repo.
                        // A stranger who passed the gate above reads; a member may read a gated repo
                        // through the gated flag; otherwise the credential decides.
                        let passed_gate = stranger_gate && a == Action::ReadContent;
                        let member_flag = gated && !stranger_gate && a == Action::ReadContent && cred == Cred::FgOtherRepoWrite;
                        let allowed = passed_gate || member_flag || credential_grants(cred, a, private, gated && !stranger_gate);
                        assert_eq!(got.is_ok(), allowed, "{ctx}");
                        if let Err(Denial::Forbidden { permission, message }) = &got {
                            assert!(message.contains(permission) || message.contains("role"), "the refusal names what is missing: {ctx}");
                        }
                    }
                }
            }
        }
    }
    assert!(cells > 10_000, "{cells} cells");
}

#[test]
fn anonymous_callers() {
    let facts = |private, gated: Option<Gate>| RepoFacts {
        id: 1,
        namespace: "alice",
        display: "model alice/m",
        private,
        gated,
        membership: None,
        org_policy: None,
        approval: None,
        request: None,
        created_by_caller: false,
    };
    for a in ACTIONS {
        assert_eq!(check_repo(None, &facts(true, None), a), Err(Denial::Hidden));
        let public = check_repo(None, &facts(false, None), a);
        let gated = check_repo(None, &facts(false, Some(Gate::Auto)), a);
        if a == Action::ReadContent {
            assert!(public.is_ok());
            assert!(matches!(gated, Err(Denial::Gated { ref message }) if message.contains("Please log in")));
        } else if a == Action::ReadMetadata {
            assert!(public.is_ok() && gated.is_ok(), "a gated repo's info and file list are public");
        } else {
            assert!(matches!(public, Err(Denial::AuthRequired(_))), "{a:?}");
            assert!(matches!(gated, Err(Denial::AuthRequired(_))), "{a:?}");
        }
    }
}

#[test]
fn creating_repos() {
    let p = |name: &str, grant: Grant| Principal { name: name.into(), is_org: false, grant };
    let own = NamespaceFacts { name: "alice", is_org: false, membership: None, org_policy: None, approval: None };
    assert!(check_create(Some(&p("alice", Grant::Classic(Role::Write))), &own).is_ok());
    assert!(matches!(check_create(Some(&p("alice", Grant::Classic(Role::Read))), &own), Err(Denial::Forbidden { .. })));
    assert!(matches!(check_create(Some(&p("bob", Grant::Classic(Role::Admin))), &own), Err(Denial::Forbidden { .. })));
    assert!(matches!(check_create(None, &own), Err(Denial::AuthRequired(_))));
    let scoped = |ns: &str| {
        Grant::FineGrained(FineGrained { scoped: vec![(ScopeTarget::Namespace(ns.into()), vec!["repo.write".into()])], ..Default::default() })
    };
    assert!(check_create(Some(&p("alice", scoped("alice"))), &own).is_ok());
    assert!(check_create(Some(&p("alice", scoped("acme"))), &own).is_err());
    for (role, ok) in [(OrgRole::Read, false), (OrgRole::Contributor, true), (OrgRole::Write, true), (OrgRole::Admin, true)] {
        let org = NamespaceFacts { name: "acme", is_org: true, membership: Some(role), org_policy: Some(TokenPolicy::AllowAll), approval: None };
        assert_eq!(check_create(Some(&p("bob", Grant::Classic(Role::Write))), &org).is_ok(), ok, "{role:?}");
        let strict = NamespaceFacts { org_policy: Some(TokenPolicy::FineGrainedOnly), ..org.clone() };
        assert!(check_create(Some(&p("bob", Grant::Classic(Role::Write))), &strict).is_err());
        assert_eq!(check_create(Some(&p("bob", scoped("acme"))), &strict).is_ok(), ok, "{role:?}");
    }
    let org_token = Principal { name: "acme".into(), is_org: true, grant: Grant::Classic(Role::Write) };
    let org = NamespaceFacts { name: "acme", is_org: true, membership: None, org_policy: Some(TokenPolicy::FineGrainedOnly), approval: None };
    assert!(check_create(Some(&org_token), &org).is_ok(), "an organization token owns its namespace");
    assert!(check_create(Some(&org_token), &own).is_err());
}

#[test]
fn managing_organizations() {
    let p = |grant: Grant| Principal { name: "bob".into(), is_org: false, grant };
    let org = |role| NamespaceFacts { name: "acme", is_org: true, membership: role, org_policy: Some(TokenPolicy::AllowAll), approval: None };
    assert!(check_org(Some(&p(Grant::Account)), &org(Some(OrgRole::Admin)), OrgAction::Write).is_ok());
    assert!(check_org(Some(&p(Grant::Account)), &org(Some(OrgRole::Write)), OrgAction::Write).is_err());
    assert!(check_org(Some(&p(Grant::Account)), &org(Some(OrgRole::Read)), OrgAction::Read).is_ok());
    assert!(check_org(Some(&p(Grant::Account)), &org(None), OrgAction::Read).is_err());
    assert!(check_org(Some(&p(Grant::Classic(Role::Write))), &org(Some(OrgRole::Admin)), OrgAction::Write).is_err());
    assert!(check_org(Some(&p(Grant::Classic(Role::Admin))), &org(Some(OrgRole::Admin)), OrgAction::Write).is_ok());
    let fg = |perm: &str| {
        Grant::FineGrained(FineGrained { scoped: vec![(ScopeTarget::Namespace("acme".into()), vec![perm.into()])], ..Default::default() })
    };
    assert!(check_org(Some(&p(fg("org.write"))), &org(Some(OrgRole::Admin)), OrgAction::Write).is_ok());
    assert!(check_org(Some(&p(fg("org.read"))), &org(Some(OrgRole::Admin)), OrgAction::Write).is_err());
    assert!(check_org(Some(&p(fg("org.read"))), &org(Some(OrgRole::Admin)), OrgAction::Read).is_ok());
    assert!(check_org(None, &org(None), OrgAction::Read).is_err());
}

#[test]
fn user_permissions() {
    let fg = Grant::FineGrained(FineGrained { global: vec!["inference.serverless.write".into()], ..Default::default() });
    let p = Principal { name: "alice".into(), is_org: false, grant: fg };
    assert!(check_user_permission(&p, "inference.serverless.write").is_ok());
    assert!(matches!(check_user_permission(&p, "user.billing.read"), Err(Denial::Forbidden { permission: "user.billing.read", .. })));
    let classic = Principal { name: "alice".into(), is_org: false, grant: Grant::Classic(Role::Read) };
    assert!(check_user_permission(&classic, "user.billing.read").is_ok());
}
