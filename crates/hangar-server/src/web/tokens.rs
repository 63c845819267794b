//! Settings → Access Tokens: the list, the "New token" form with its fine-grained picker and the
//! scenario presets, the page that shows a secret once, rename, refresh and revoke. The same form
//! serves organization tokens (`Owner::Org`).

use super::form::Input;
use super::{forbidden, notice, not_found, see_other, when, Ctx, Errors, WebError, WebForm, WebResult};
use crate::audit::{self, Event};
use crate::auth::ClientIp;
use crate::error::ApiError;
use crate::fine_grained::{EntitySpec, Owner, ScopedSpec, Spec};
use crate::handlers::tokens::{self as api, CreateBody};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use hangar_core::token::{mask, Secret};
use hangar_store::{Org, RepoQuery, TokenRecord, User};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

/// Permissions offered on a user or organization namespace and on one repo.
const REPO_PERMS: &[(&str, &str)] = &[
    ("repo.content.read", "Read contents"),
    ("repo.write", "Write (push, settings)"),
    ("repo.access.read", "See access requests"),
    ("repo.access.write", "Manage access requests"),
    ("discussion.write", "Discussions and pull requests"),
];
const ORG_PERMS: &[(&str, &str)] = &[("org.read", "Read the organization"), ("org.write", "Manage the organization")];
const GLOBAL_PERMS: &[(&str, &str)] = &[
    ("inference.serverless.write", "Make calls to the Inference API"),
    ("inference.endpoints.infer.write", "Call inference endpoints"),
    ("discussion.write", "Open discussions and pull requests on any repo you can read"),
    ("collection.read", "Read collections"),
    ("collection.write", "Write collections"),
    ("user.webhooks.read", "Read webhooks"),
    ("user.webhooks.write", "Manage webhooks"),
    ("user.billing.read", "Read billing and usage"),
];

/// The scenarios of the guides' "which token should I use" table.
const PRESETS: &[(&str, &str, &str)] = &[
    ("download", "Download models and datasets", "Read token: download, inference, nothing else."),
    ("publish", "Push from a training job", "Write token: create repos and upload to them."),
    ("inference-one-model", "Production inference, one model", "Fine-grained: read-only on one model, plus the Inference API."),
    ("collaborator", "Give a collaborator write access to one repo", "Fine-grained: write on one repo only."),
    ("org-admin", "Manage an organization", "Admin token: also delete repos and manage organizations."),
];

/// Where the form posts and whose namespaces it offers.
pub struct Target<'a> {
    pub owner: Owner<'a>,
    pub action: String,
    pub list: String,
}

impl Target<'_> {
    fn owner_name(&self) -> &str {
        match &self.owner {
            Owner::User(u) => &u.name,
            Owner::Org(o) => &o.name,
        }
    }
}

/// What the form shows: its values after a submit, a preset or nothing.
#[derive(Default)]
pub struct FormValues {
    name: String,
    role: String,
    expires: String,
    perms: Vec<String>,
    globals: Vec<String>,
    can_read_gated: bool,
    /// Repo entities (`model:ns/name`) shown with their own rows.
    repos: Vec<String>,
    search: String,
    found: Option<Vec<String>>,
}

impl FormValues {
    fn from_form(f: &WebForm) -> Self {
        let perms: Vec<String> = f.all("perm").into_iter().map(str::to_owned).collect();
        let mut repos: Vec<String> = f.all("repo").into_iter().map(str::to_owned).collect();
        for p in &perms {
            if let Some((entity, _)) = p.split_once('|') {
                if is_repo_entity(entity) && !repos.iter().any(|r| r == entity) {
                    repos.push(entity.to_owned());
                }
            }
        }
        FormValues {
            name: f.get("name").to_owned(),
            role: f.get("role").to_owned(),
            expires: f.get("expires").to_owned(),
            perms,
            globals: f.all("global").into_iter().map(str::to_owned).collect(),
            can_read_gated: f.checked("can_read_gated"),
            repos,
            search: f.get("repo_search").to_owned(),
            found: None,
        }
    }

    fn preset(id: &str, repo: Option<&str>) -> Self {
        let mut v = FormValues { role: "read".into(), ..Default::default() };
        match id {
            "download" => v.name = "downloads".into(),
            "publish" => {
                v.name = "training job".into();
                v.role = "write".into();
            }
            "org-admin" => {
                v.name = "organization admin".into();
                v.role = "admin".into();
            }
            "inference-one-model" | "collaborator" => {
                v.role = "fineGrained".into();
                let write = id == "collaborator";
                v.name = if write { "collaborator".into() } else { "production inference".into() };
                if !write {
                    v.globals.push("inference.serverless.write".into());
                }
                match repo.filter(|r| is_repo_entity(r)) {
                    Some(r) => {
                        v.repos.push(r.to_owned());
                        v.perms.push(format!("{r}|{}", if write { "repo.write" } else { "repo.content.read" }));
                        if write {
                            v.perms.push(format!("{r}|repo.content.read"));
                        }
                    }
                    None => v.found = Some(vec![]),
                }
            }
            _ => {}
        }
        v
    }

    fn has(&self, entity: &str, perm: &str) -> bool {
        self.perms.iter().any(|p| p.split_once('|') == Some((entity, perm)))
    }

    /// The API body of this form.
    fn to_body(&self, password: &str) -> CreateBody {
        let fine_grained = (self.role == "fineGrained").then(|| {
            let mut by_entity: Vec<(String, Vec<String>)> = Vec::new();
            for p in &self.perms {
                let Some((entity, perm)) = p.split_once('|') else { continue };
                match by_entity.iter_mut().find(|(e, _)| e == entity) {
                    Some((_, ps)) => ps.push(perm.to_owned()),
                    None => by_entity.push((entity.to_owned(), vec![perm.to_owned()])),
                }
            }
            Spec {
                can_read_gated_repos: self.can_read_gated,
                global: self.globals.clone(),
                scoped: by_entity
                    .into_iter()
                    .map(|(entity, permissions)| {
                        let (kind, name) = entity.split_once(':').unwrap_or(("", entity.as_str()));
                        ScopedSpec { entity: EntitySpec { kind: kind.to_owned(), name: name.to_owned() }, permissions }
                    })
                    .collect(),
            }
        });
        CreateBody {
            name: self.name.clone(),
            role: self.role.clone(),
            expires_at: Some(self.expires.trim().to_owned()).filter(|e| !e.is_empty()),
            fine_grained,
            password: Some(password.to_owned()).filter(|p| !p.is_empty()),
        }
    }
}

fn is_repo_entity(e: &str) -> bool {
    e.starts_with("model:") || e.starts_with("dataset:") || e.starts_with("space:")
}

fn role_label(role: &str) -> &str {
    match role {
        "read" => "Read",
        "write" => "Write",
        "admin" => "Admin",
        "fineGrained" => "Fine-grained",
        other => other,
    }
}

fn perm_row(entity: &str, label: Markup, perms: &[(&str, &str)], v: &FormValues) -> Markup {
    html! {
        tr {
            th scope="row" { (label) }
            td {
                @for (p, text) in perms {
                    @let id = format!("perm-{}-{}", entity.replace([':', '/', '.'], "-"), p.replace('.', "-"));
                    label for=(id) {
                        input id=(id) type="checkbox" name="perm" value={ (entity) "|" (p) } checked[v.has(entity, p)];
                        " " (text)
                    }
                    " "
                }
            }
        }
    }
}

async fn token_form(ctx: &Ctx, target: &Target<'_>, v: &FormValues, errors: &Errors) -> WebResult<Markup> {
    let orgs = match &target.owner {
        Owner::User(u) => ctx.state.store.user_orgs(u.id).await?,
        Owner::Org(_) => vec![],
    };
    let role = if v.role.is_empty() { "read" } else { v.role.as_str() };
    let expires_hint = "Leave empty for a token that does not expire. The token stops working at the end of that day (UTC).";
    Ok(html! {
        (errors.summary())
        h2 { "Start from a common use" }
        ul.presets {
            @for (id, title, text) in PRESETS {
                li { a href={ (target.action) "?preset=" (id) } { strong { (title) } (text) } }
            }
        }
        form method="post" action=(target.action) novalidate {
            (ctx.csrf_field())
            (Input::new("name", "Token name").value(&v.name).hint("For you to recognise it later, e.g. 'laptop' or 'ci'.").render(errors))
            fieldset.choices.field.invalid[errors.of("role").is_some()] {
                legend { "Token type" }
                @for (value, label, text) in [
                    ("read", "Read", "Download files and run inference on every repo you can read."),
                    ("write", "Write", "Also create repos, push and change settings."),
                    ("admin", "Admin", "Also delete repos and manage organizations. Needs your password."),
                    ("fineGrained", "Fine-grained", "Only the permissions you tick below, on the namespaces and repos you pick."),
                ] {
                    label for={ "role-" (value) } {
                        input id={ "role-" (value) } type="radio" name="role" value=(value) checked[role == value];
                        " " strong { (label) } " · " span.muted { (text) }
                    }
                }
                @if let Some(e) = errors.of("role") { p.field-error id="role-error" { (e) } }
            }
            (Input::new("expires", "Expires on").kind("date").value(&v.expires).optional().hint(expires_hint).render(errors))
            @if matches!(target.owner, Owner::User(_)) {
                div #admin-password {
                    (Input::new("password", "Your password").kind("password").optional().autocomplete("current-password")
                        .hint("Only for admin tokens: confirm it is you.").render(errors))
                }
            }
            fieldset #fine-grained {
                legend { "Fine-grained permissions" }
                p.muted { "Used only when the type is Fine-grained. Tick what the token may do; everything else is refused." }
                table.perm-grid {
                    @match &target.owner {
                        Owner::User(u) => {
                            @let e = format!("user:{}", u.name);
                            (perm_row(&e, html! { "Your repos (" (u.name) ")" }, REPO_PERMS, v))
                        }
                        Owner::Org(o) => {
                            @let e = format!("org:{}", o.name);
                            (perm_row(&e, html! { "Organization " (o.name) }, &[REPO_PERMS, ORG_PERMS].concat(), v))
                        }
                    }
                    @for (o, _) in &orgs {
                        @let e = format!("org:{}", o.name);
                        (perm_row(&e, html! { "Organization " (o.name) }, &[REPO_PERMS, ORG_PERMS].concat(), v))
                    }
                    @for r in &v.repos {
                        input type="hidden" name="repo" value=(r);
                        (perm_row(r, html! { "Repo " code { (r) } }, REPO_PERMS, v))
                    }
                    @if let Some(found) = &v.found {
                        @for r in found.iter().filter(|r| !v.repos.contains(r)) {
                            (perm_row(r, html! { "Repo " code { (r) } }, REPO_PERMS, v))
                        }
                    }
                }
                div.field {
                    label for="repo_search" { "Add specific repos" }
                    input #repo_search type="search" name="repo_search" value=(v.search) aria-describedby="repo_search-hint";
                    p.hint #repo_search-hint { "Search the repos you can read by name; matching repos get their own row above." }
                    button.secondary type="submit" name="action" value="search" { "Find repos" }
                    @if let Some(found) = &v.found { @if found.is_empty() { p.muted role="status" { "No repo you can read matches." } } @else { p.muted role="status" { (found.len()) @if found.len() == 1 { " repo found" } @else { " repos found" } ": tick their permissions above." } } }
                }
                h3 { "Global permissions" }
                div.choices {
                    @for (p, text) in GLOBAL_PERMS {
                        @let id = format!("global-{}", p.replace('.', "-"));
                        label for=(id) { input id=(id) type="checkbox" name="global" value=(p) checked[v.globals.iter().any(|g| g == p)]; " " (text) }
                    }
                    label for="can_read_gated" {
                        input #can_read_gated type="checkbox" name="can_read_gated" value="1" checked[v.can_read_gated];
                        " Read all gated repos you can access"
                    }
                }
            }
            button type="submit" name="action" value="create" { "Create token" }
            " " a href=(target.list) { "Cancel" }
        }
    })
}

/// The repos of a namespace, as form entities.
async fn own_repos(ctx: &Ctx, owner: &str) -> WebResult<Vec<String>> {
    let mut out = Vec::new();
    for t in ["model", "dataset", "space"] {
        let query = RepoQuery { repo_type: t.into(), author: Some(owner.to_owned()), viewer: ctx.user.as_ref().map(|u| u.name.clone()), limit: 20, ..Default::default() };
        for r in ctx.state.store.list_repos(&query).await? {
            out.push(format!("{t}:{}/{}", r.namespace, r.name));
        }
    }
    Ok(out)
}

/// Repos the user can read whose id matches `q`, as form entities.
async fn search_repos(ctx: &Ctx, viewer: &str, q: &str) -> WebResult<Vec<String>> {
    let mut out = Vec::new();
    let q = q.trim();
    for t in ["model", "dataset", "space"] {
        let query = RepoQuery { repo_type: t.into(), search: Some(q.to_owned()).filter(|s| !s.is_empty()), viewer: Some(viewer.to_owned()), limit: 20, ..Default::default() };
        for r in ctx.state.store.list_repos(&query).await? {
            out.push(format!("{t}:{}/{}", r.namespace, r.name));
        }
    }
    out.truncate(30);
    Ok(out)
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    preset: Option<String>,
    repo: Option<String>,
    notice: Option<String>,
}

fn unverified_box(ctx: &Ctx, user: &User) -> Markup {
    html! {
        div.notice.warn role="status" {
            p { button type="button" disabled aria-describedby="new-token-reason" { "New token" } }
            p #new-token-reason { "Verify your email address (" strong { (user.email) } ") before creating tokens: open the link in the mail we sent you." }
            form.inline method="post" action="/settings/account/resend-verification" {
                (ctx.csrf_field())
                input type="hidden" name="back" value="/settings/tokens";
                button.secondary type="submit" { "Resend verification email" }
            }
        }
    }
}

/// `GET /settings/tokens/new`.
pub async fn new_page(ctx: Ctx, Query(q): Query<NewQuery>) -> WebResult {
    let user = ctx.require_user()?.clone();
    if !user.email_verified {
        return ctx.ok("New access token", html! { h1 { "New access token" } (unverified_box(&ctx, &user)) });
    }
    let target = Target { owner: Owner::User(&user), action: "/settings/tokens/new".into(), list: "/settings/tokens".into() };
    render_new(&ctx, &target, q).await
}

pub async fn render_new(ctx: &Ctx, target: &Target<'_>, q: NewQuery) -> WebResult {
    let mut v = q.preset.as_deref().map(|p| FormValues::preset(p, q.repo.as_deref())).unwrap_or_default();
    if v.found.is_some() {
        // A one-repo preset without a repo: offer the owner's repos to pick from.
        v.found = Some(own_repos(ctx, target.owner_name()).await?);
    }
    let heading = match &target.owner {
        Owner::User(_) => "New access token".to_owned(),
        Owner::Org(o) => format!("New token for {}", o.name),
    };
    let form = token_form(ctx, target, &v, &Errors::default()).await?;
    ctx.ok(&heading, html! { h1 { (heading) } (form) })
}

/// `POST /settings/tokens/new`.
pub async fn create(ctx: Ctx, ClientIp(ip): ClientIp, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let target = Target { owner: Owner::User(&user), action: "/settings/tokens/new".into(), list: "/settings/tokens".into() };
    submit(&ctx, &target, ip, &form).await
}

/// Handles the form: a repo search re-renders it; otherwise the token is created and shown once.
pub async fn submit(ctx: &Ctx, target: &Target<'_>, ip: std::net::IpAddr, form: &WebForm) -> WebResult {
    let user = ctx.require_user()?.clone();
    let mut v = FormValues::from_form(form);
    let heading = match &target.owner {
        Owner::User(_) => "New access token".to_owned(),
        Owner::Org(o) => format!("New token for {}", o.name),
    };
    if form.get("action") == "search" {
        v.found = Some(search_repos(ctx, &user.name, &v.search).await?);
        let body = token_form(ctx, target, &v, &Errors::default()).await?;
        return ctx.ok(&heading, html! { h1 { (heading) } (body) });
    }
    let mut errors = Errors::default();
    if !["read", "write", "admin", "fineGrained"].contains(&v.role.as_str()) {
        errors.add("role", "Choose the token type.");
    }
    if v.perms.iter().any(|p| p.split_once('|').is_none_or(|(e, perm)| e.split_once(':').is_none() || perm.is_empty())) {
        errors.add("", "A permission of the form was not understood. Reload the page and tick the permissions again.");
    } else if v.role == "fineGrained" && v.perms.is_empty() && v.globals.is_empty() && !v.can_read_gated {
        errors.add("", "A fine-grained token needs at least one permission: tick what it may do.");
    }
    if v.role == "admin" && matches!(target.owner, Owner::User(_)) && form.get("password").is_empty() {
        errors.add("password", "Creating an admin token needs your password again.");
    }
    if errors.is_empty() {
        if v.role == "admin" && matches!(target.owner, Owner::User(_)) {
            if let Err(e) = crate::accounts::verify_password_login(&ctx.state, ip, &user.name, form.get("password")).await {
                match e {
                    ApiError::InvalidCredentials(_) => errors.add("password", "This is not your password."),
                    other => errors = Errors::from_api(other, &[])?,
                }
            }
        }
    }
    if errors.is_empty() {
        let owner = match &target.owner {
            Owner::User(u) => Owner::User(u),
            Owner::Org(o) => Owner::Org(o),
        };
        match api::create_token(&ctx.state, owner, &user, v.to_body("")).await {
            Ok((record, secret)) => {
                let org = match &target.owner {
                    Owner::Org(o) => Some(o.id),
                    Owner::User(_) => None,
                };
                audit::record(
                    &ctx.state,
                    Event { actor: user.name.clone(), user_id: Some(user.id), org_id: org, ip: Some(ip) },
                    "token.create",
                    json!({"tokenId": record.id, "name": record.name, "role": record.role}),
                )
                .await;
                return Ok(secret_page(ctx, &record, &secret, false, &target.list));
            }
            Err(e) => {
                let mut e2 = Errors::from_api(e, &["name", "expiresAt", "role"])?;
                for (f, _) in e2.0.iter_mut() {
                    if f == "expiresAt" {
                        *f = "expires".into();
                    }
                }
                errors = e2;
            }
        }
    }
    let body = token_form(ctx, target, &v, &errors).await?;
    ctx.invalid(&heading, html! { h1 { (heading) } (body) })
}

/// The one page that shows a secret.
fn secret_page(ctx: &Ctx, t: &TokenRecord, secret: &Secret, refreshed: bool, list: &str) -> axum::response::Response {
    let title = if refreshed { "Token refreshed" } else { "Token created" };
    ctx.page(
        StatusCode::OK,
        title,
        html! {
            h1 { (title) }
            p { "Your new " strong { (role_label(&t.role)) } " token " strong { (t.name) } ":" }
            div.secret {
                label.visually-hidden for="new-token" { "Token value" }
                input #new-token readonly value=(secret.expose()) aria-describedby="new-token-warning";
                button type="button" data-copy="new-token" { "Copy" }
            }
            p.notice.warn #new-token-warning role="alert" {
                strong { "Copy it now: it will not be shown again." }
                " Hangar keeps only a hash of it. If you lose it, refresh the token to get a new value."
            }
            @if refreshed { p { "The previous value stopped working." } }
            h2 { "Use it" }
            pre { code { "hf auth login --token <your token>\n# or\nexport HF_TOKEN=<your token>\nexport HF_ENDPOINT=" (ctx.base) } }
            p { a.button href=(list) { "Done, back to the list" } }
        },
    )
}

fn state_badge(state: &str) -> Markup {
    let class = match state {
        "active" => "badge ok",
        "expired" => "badge warn",
        _ => "badge bad",
    };
    html! { span class=(class) { (state) } }
}

pub fn token_table(ctx: &Ctx, tokens: &[TokenRecord], base: &str, approvals: &HashMap<i64, String>) -> Markup {
    let now = ctx.state.now_ms();
    html! {
        @if tokens.is_empty() { p.muted { "No tokens yet." } } @else {
            table #tokens {
                thead { tr { th { "Name" } th { "Type" } th { "Value" } th { "Created" } th { "Last used" } th { "Expires" } th { "State" } th { "Actions" } } }
                tbody {
                    @for t in tokens {
                        @let state = t.state(now);
                        tr data-token-name=(t.name) data-token-id=(t.id) {
                            td { (t.name) }
                            td { (role_label(&t.role)) }
                            td.mono { (mask(&t.last4)) }
                            td { (when(t.created_at)) }
                            td { @if let Some(u) = t.last_used_at { (when(u)) } @else { span.muted { "never" } } }
                            td { @if let Some(e) = t.expires_at { (when(e)) } @else { span.muted { "never" } } }
                            td { (state_badge(state)) @if let Some(a) = approvals.get(&t.id) { " " span.badge.warn { (a) } } }
                            td {
                                @if state == "active" {
                                    form.inline method="post" action={ (base) "/" (t.id) "/rename" } {
                                        (ctx.csrf_field())
                                        label for={ "rename-" (t.id) } class="visually-hidden" { "New name for " (t.name) }
                                        input.small id={ "rename-" (t.id) } name="name" value=(t.name) size="12" required;
                                        button.secondary type="submit" { "Rename" }
                                    }
                                    " "
                                    form.inline method="post" action={ (base) "/" (t.id) "/refresh" } data-confirm="Refresh this token? Its current value stops working." {
                                        (ctx.csrf_field())
                                        button.secondary type="submit" { "Refresh" }
                                    }
                                    " "
                                    a.button.danger href={ (base) "/" (t.id) "/revoke" } { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn flash(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "revoked" => Some("The token is revoked: the next request with it fails."),
        "renamed" => Some("Token renamed."),
        "resent" => Some("A new verification mail is on its way."),
        _ => None,
    }
}

/// `GET /settings/tokens`.
pub async fn list_page(ctx: Ctx, Query(q): Query<NewQuery>) -> WebResult {
    let user = ctx.require_user()?.clone();
    let tokens = ctx.state.store.list_tokens(user.id).await?;
    ctx.ok(
        "Access Tokens",
        html! {
            h1 { "Access Tokens" }
            (notice(flash(q.notice.as_deref())))
            p { "Tokens let the " code { "hf" } " CLI, " code { "huggingface_hub" } ", " code { "hangar" } " and your scripts act as you. Give each use its own token with the least it needs." }
            @if user.email_verified { p { a.button href="/settings/tokens/new" { "New token" } } } @else { (unverified_box(&ctx, &user)) }
            (token_table(&ctx, &tokens, "/settings/tokens", &HashMap::new()))
        },
    )
}

async fn own_token(ctx: &Ctx, user: &User, id: &str) -> WebResult<TokenRecord> {
    let id: i64 = id.parse().map_err(|_| not_found())?;
    match ctx.state.store.token_by_id(id).await? {
        Some(t) if t.user_id == user.id && t.org_id.is_none() => Ok(t),
        _ => Err(not_found()),
    }
}

/// `POST /settings/tokens/{id}/rename`.
pub async fn rename(ctx: Ctx, Path(id): Path<String>, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let t = own_token(&ctx, &user, &id).await?;
    rename_token(&ctx, &user, None, &t, form.get("name"), "/settings/tokens").await
}

pub async fn rename_token(ctx: &Ctx, user: &User, org: Option<&Org>, t: &TokenRecord, name: &str, list: &str) -> WebResult {
    let siblings = match org {
        Some(o) => ctx.state.store.list_org_tokens(o.id).await?,
        None => ctx.state.store.list_tokens(user.id).await?,
    };
    let name = name.trim();
    let now = ctx.state.now_ms();
    let problem = if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        Some("A token name has 1 to 100 printable characters.".to_owned())
    } else if siblings.iter().any(|o| o.id != t.id && o.name == name && o.state(now) == "active") {
        Some(format!("A live token named '{name}' exists already."))
    } else {
        None
    };
    if let Some(p) = problem {
        return Err(WebError::Status(StatusCode::UNPROCESSABLE_ENTITY, p));
    }
    ctx.state.store.rename_token(t.id, name).await?;
    audit::record(&ctx.state, Event { actor: user.name.clone(), user_id: Some(user.id), org_id: org.map(|o| o.id), ip: None }, "token.rename", json!({"tokenId": t.id, "from": t.name, "to": name})).await;
    Ok(see_other(format!("{list}?notice=renamed")))
}

/// `POST /settings/tokens/{id}/refresh`: shows the new secret once.
pub async fn refresh(ctx: Ctx, Path(id): Path<String>, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let t = own_token(&ctx, &user, &id).await?;
    refresh_token(&ctx, &user, None, &t, "/settings/tokens").await
}

pub async fn refresh_token(ctx: &Ctx, user: &User, org: Option<&Org>, t: &TokenRecord, list: &str) -> WebResult {
    let secret = Secret::generate();
    let last4 = secret.expose()[secret.expose().len() - 4..].to_owned();
    if !ctx.state.store.refresh_token(t.id, &secret.hash(), &last4, ctx.state.now_ms()).await? {
        return Err(WebError::Status(StatusCode::CONFLICT, format!("The token '{}' is not active: only active tokens can be refreshed.", t.name)));
    }
    audit::record(&ctx.state, Event { actor: user.name.clone(), user_id: Some(user.id), org_id: org.map(|o| o.id), ip: None }, "token.refresh", json!({"tokenId": t.id, "name": t.name})).await;
    let t = ctx.state.store.token_by_id(t.id).await?.ok_or_else(not_found)?;
    Ok(secret_page(ctx, &t, &secret, true, list))
}

pub fn revoke_confirm(ctx: &Ctx, t: &TokenRecord, action: &str, list: &str) -> WebResult {
    ctx.ok(
        "Revoke token",
        html! {
            h1 { "Revoke the token " (t.name) "?" }
            p.notice.warn { "Every program that uses it (" code { (mask(&t.last4)) } ") stops working at its next request. This cannot be undone." }
            form method="post" action=(action) {
                (ctx.csrf_field())
                button.danger type="submit" { "Revoke this token" }
                " " a href=(list) { "Cancel" }
            }
        },
    )
}

/// `GET /settings/tokens/{id}/revoke`: the confirmation.
pub async fn revoke_page(ctx: Ctx, Path(id): Path<String>) -> WebResult {
    let user = ctx.require_user()?.clone();
    let t = own_token(&ctx, &user, &id).await?;
    if t.state(ctx.state.now_ms()) == "revoked" {
        return Ok(see_other("/settings/tokens"));
    }
    revoke_confirm(&ctx, &t, &format!("/settings/tokens/{}/revoke", t.id), "/settings/tokens")
}

/// `POST /settings/tokens/{id}/revoke`.
pub async fn revoke(ctx: Ctx, ClientIp(ip): ClientIp, Path(id): Path<String>, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let t = own_token(&ctx, &user, &id).await?;
    if ctx.state.store.revoke_token_by_id(t.id, ctx.state.now_ms(), "revoked by its owner").await? {
        audit::record(&ctx.state, Event::user(&user.name, user.id, Some(ip)), "token.revoke", json!({"tokenId": t.id, "name": t.name})).await;
    }
    Ok(see_other("/settings/tokens?notice=revoked"))
}

pub fn require_org_admin_err(org: &str) -> WebError {
    forbidden(format!("Only admins of the organization {org} can manage its tokens."))
}
