//! Repository pages (card, files, commits, refs, settings, gated access), the home page, profiles
//! and "New repo". Access is the API's: a private repo is "not found" to those who may not see it.

use super::form::Input;
use super::{human_size, markdown, not_found, notice, see_other, trusted, when, Ctx, Errors, WebError, WebForm, WebResult};
use crate::access::{self, BaseUrl};
use crate::auth::{Authed, Caller};
use crate::error::ApiError;
use crate::handlers::gated::{self, AskPath, FieldKind, GrantBody, HandleBody};
use crate::handlers::repos::{self, CreateRepoBody, DeleteRepoBody, SettingsBody};
use crate::handlers::RepoPath;
use crate::objects::{self, list_tree, lookup, read_blob, read_commit, resolve_revision, Found, Listed};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use hangar_core::policy::{Action, Grant, Principal};
use hangar_core::{RepoId, RepoType};
use hangar_store::{Repo, RepoQuery, User};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub struct P {
    namespace: String,
    name: String,
}

#[derive(Deserialize)]
pub struct PRev {
    namespace: String,
    name: String,
    rev: String,
}

#[derive(Deserialize)]
pub struct PRevPath {
    namespace: String,
    name: String,
    rev: String,
    path: String,
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    notice: Option<String>,
    q: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

macro_rules! typed_routes {
    ($router:expr, $prefix:literal, $t:expr) => {
        $router
            .route(concat!($prefix, "/{namespace}/{name}"), get(|ctx: Ctx, Path(p): Path<P>, Query(q): Query<PageQuery>| async move { card(ctx, $t, p, q).await }))
            .route(concat!($prefix, "/{namespace}/{name}/tree/{rev}"), get(|ctx: Ctx, Path(p): Path<PRev>| async move { tree(ctx, $t, p.namespace, p.name, p.rev, String::new()).await }))
            .route(
                concat!($prefix, "/{namespace}/{name}/tree/{rev}/{*path}"),
                get(|ctx: Ctx, Path(p): Path<PRevPath>| async move { tree(ctx, $t, p.namespace, p.name, p.rev, p.path).await }),
            )
            .route(concat!($prefix, "/{namespace}/{name}/commits/{rev}"), get(|ctx: Ctx, Path(p): Path<PRev>| async move { commits(ctx, $t, p).await }))
            .route(concat!($prefix, "/{namespace}/{name}/refs"), get(|ctx: Ctx, Path(p): Path<P>| async move { refs(ctx, $t, p).await }))
            .route(
                concat!($prefix, "/{namespace}/{name}/settings"),
                get(|ctx: Ctx, Path(p): Path<P>, Query(q): Query<PageQuery>| async move { settings_page(ctx, $t, p, q).await })
                    .post(|ctx: Ctx, Path(p): Path<P>, form: WebForm| async move { settings_post(ctx, $t, p, form).await }),
            )
            .route(
                concat!($prefix, "/{namespace}/{name}/access-request"),
                post(|ctx: Ctx, base: BaseUrl, Path(p): Path<P>, form: WebForm| async move { ask(ctx, base, $t, p, form).await }),
            )
            .route(
                concat!($prefix, "/{namespace}/{name}/settings/access-requests"),
                get(|ctx: Ctx, Path(p): Path<P>, Query(q): Query<PageQuery>| async move { requests_page(ctx, $t, p, q).await })
                    .post(|ctx: Ctx, Path(p): Path<P>, form: WebForm| async move { requests_post(ctx, $t, p, form).await }),
            )
    };
}

pub fn routes() -> Router<AppState> {
    let r = Router::new();
    let r = typed_routes!(r, "", RepoType::Model);
    let r = typed_routes!(r, "/datasets", RepoType::Dataset);
    typed_routes!(r, "/spaces", RepoType::Space)
}

/// The API caller of a signed-in page visitor: the account itself, as a browser session is.
pub fn session_caller(user: Option<&User>) -> Caller {
    Caller(user.map(|u| Authed {
        user: u.clone(),
        token: None,
        org: None,
        principal: Principal { name: u.name.clone(), is_org: false, grant: Grant::Account },
    }))
}

fn repo_url(t: RepoType, namespace: &str, name: &str) -> String {
    format!("/{}{namespace}/{name}", t.url_prefix())
}

fn parse_id(p: &P) -> WebResult<RepoId> {
    RepoId::new(&p.namespace, &p.name).map_err(|_| not_found())
}

async fn load(ctx: &Ctx, t: RepoType, id: &RepoId, action: Action) -> WebResult<Repo> {
    let caller = session_caller(ctx.user.as_ref());
    match access::load_repo(&ctx.state, &caller, t, id, action).await {
        Ok(r) => Ok(r),
        Err(ApiError::RepoNotFound { .. }) => Err(not_found()),
        // Signed-out visitors of a repo they may not change are asked to log in.
        Err(ApiError::AuthRequired(_)) if ctx.user.is_none() => Err(ctx.require_user().err().unwrap_or_else(not_found)),
        Err(e) => Err(e.into()),
    }
}

async fn may(ctx: &Ctx, repo: &Repo, action: Action) -> bool {
    access::check(&ctx.state, &session_caller(ctx.user.as_ref()), repo, action).await.is_ok()
}

#[derive(PartialEq, Clone, Copy)]
enum Tab {
    Card,
    Files,
    Commits,
    Refs,
    Settings,
    Requests,
}

async fn header(ctx: &Ctx, t: RepoType, repo: &Repo, tab: Tab) -> Markup {
    let base = repo_url(t, &repo.namespace, &repo.name);
    let can_write = may(ctx, repo, Action::Write).await;
    let can_review = repo.gated.is_some() && may(ctx, repo, Action::ReadAccessRequests).await;
    let cur = |x: Tab| if x == tab { Some("page") } else { None };
    html! {
        div.repo-head {
            h1 { span.muted { (t.as_str()) " " } a href={ "/" (repo.namespace) } { (repo.namespace) } " / " (repo.name) }
            @if repo.private { span.badge { "private" } } @else { span.badge { "public" } }
            @match repo.gated.as_deref() { Some(g) => { span.badge.warn { "gated (" (g) ")" } }, None => {} }
        }
        nav.tabs aria-label="Repository" {
            a href=(base) aria-current=[cur(Tab::Card)] { @if t == RepoType::Dataset { "Dataset card" } @else { "Model card" } }
            a href={ (base) "/tree/main" } aria-current=[cur(Tab::Files)] { "Files" }
            a href={ (base) "/commits/main" } aria-current=[cur(Tab::Commits)] { "Commits" }
            a href={ (base) "/refs" } aria-current=[cur(Tab::Refs)] { "Branches and tags" }
            @if can_review { a href={ (base) "/settings/access-requests" } aria-current=[cur(Tab::Requests)] { "Access requests" } }
            @if can_write { a href={ (base) "/settings" } aria-current=[cur(Tab::Settings)] { "Settings" } }
        }
    }
}

fn snippet(ctx: &Ctx, t: RepoType, repo: &Repo) -> Markup {
    let id = format!("{}/{}", repo.namespace, repo.name);
    let rt = match t {
        RepoType::Model => String::new(),
        other => format!(", repo_type=\"{}\"", other.as_str()),
    };
    let cli_type = match t {
        RepoType::Model => String::new(),
        other => format!(" --repo-type {}", other.as_str()),
    };
    html! {
        h2 { "Use this " (t.as_str()) }
        p.muted { "Point the official client at this Hangar, then use it as usual:" }
        pre { code {
            "export HF_ENDPOINT=" (ctx.base) "\n"
            "hf download " (id) (cli_type) "\n\n"
            "# Python\n"
            "from huggingface_hub import snapshot_download\n"
            "path = snapshot_download(\"" (id) "\"" (rt) ")\n"
            @if t == RepoType::Model {
                "\n# transformers (with HF_ENDPOINT set)\n"
                "from transformers import AutoModel\n"
                "model = AutoModel.from_pretrained(\"" (id) "\")\n"
            }
            @if t == RepoType::Dataset {
                "\n# datasets (with HF_ENDPOINT set)\n"
                "from datasets import load_dataset\n"
                "ds = load_dataset(\"" (id) "\")\n"
            }
        } }
    }
}

/// The gated-access box of a repo page: the visitor's state, or the request form.
async fn gate_box(ctx: &Ctx, t: RepoType, repo: &Repo, meta: Option<&serde_yaml::Value>) -> WebResult<Markup> {
    let meta_str = |k: &str| meta.and_then(|m| m.get(k)).and_then(|v| v.as_str()).map(str::to_owned);
    let heading = meta_str("extra_gated_heading");
    let prompt = meta_str("extra_gated_prompt");
    let description = meta_str("extra_gated_description");
    let button = meta_str("extra_gated_button_content").unwrap_or_else(|| "Request access".into());
    let Some(mode) = repo.gated.as_deref() else { return Ok(html! {}) };
    let action = format!("{}/access-request", repo_url(t, &repo.namespace, &repo.name));
    let Some(user) = &ctx.user else {
        return Ok(html! {
            div.notice.warn #gate {
                p { strong { "This repository is gated." } " Its files are shared with those whose request is accepted." }
                p { a.button href={ "/login?next=" (repo_url(t, &repo.namespace, &repo.name)) } { "Log in to request access" } }
            }
        });
    };
    let request = ctx.state.store.access_request(repo.id, user.id).await?;
    if let Some(r) = &request {
        return Ok(match r.status.as_str() {
            "accepted" => html! { div.notice.ok #gate role="status" { p { strong { "Access granted." } " Your request was accepted: you can download the files." } } },
            "rejected" => html! {
                div.notice.error #gate role="status" {
                    p { strong { "Your request was rejected." } }
                    @if let Some(reason) = &r.reason { p { "Reason: " (reason) } }
                    p { "You cannot ask again for this repository." }
                }
            },
            _ => html! { div.notice.warn #gate role="status" { p { strong { "Your request is pending." } " The authors review requests; you will get a mail when they decide." } } },
        });
    }
    if may(ctx, repo, Action::ReadContent).await {
        return Ok(html! { div.notice.ok #gate { p { "This repository is gated (" (mode) "). You have access as one of its authors." } } });
    }
    let fields = gated::request_form(&ctx.state, repo).await?;
    Ok(html! {
        div.notice.warn #gate {
            @match &heading { Some(h) => { h2 { (h) } } None => { p { strong { "You need to agree to share your contact information to access this " (t.as_str()) "." } } } }
            @if let Some(p) = &prompt { div.gate-prompt { (trusted(markdown::render(p))) } }
            @if mode == "auto" { p.muted { "Requests are accepted automatically." } } @else { p.muted { "The authors review each request." } }
            form method="post" action=(action) {
                (ctx.csrf_field())
                @for (i, (name, kind)) in fields.iter().enumerate() {
                    @let id = format!("gate-field-{i}");
                    div.field {
                        @match kind {
                            FieldKind::Checkbox => {
                                label for=(id) { input id=(id) type="checkbox" name=(name) value="true" required; " " (name) }
                            }
                            FieldKind::Date => { label for=(id) { (name) } input id=(id) type="date" name=(name) required; }
                            FieldKind::Select(options) => {
                                label for=(id) { (name) }
                                select id=(id) name=(name) required { option value="" { "Choose…" } @for o in options { option value=(o) { (o) } } }
                            }
                            FieldKind::Country | FieldKind::Text => { label for=(id) { (name) } input id=(id) type="text" name=(name) required; }
                        }
                    }
                }
                @if let Some(d) = &description { p.muted { (d) } }
                button type="submit" { (button) }
            }
        }
    })
}

/// `GET /{namespace}/{name}`: the card.
async fn card(ctx: Ctx, t: RepoType, p: P, q: PageQuery) -> WebResult {
    let id = parse_id(&p)?;
    let repo = load(&ctx, t, &id, Action::ReadMetadata).await?;
    let readme = match ctx.state.store.get_ref(repo.id, "refs/heads/main").await? {
        Some(_) => objects::read_main_file(&ctx.state, &repo, "README.md", 2 * 1024 * 1024).await?,
        None => None,
    };
    let (meta, body_html) = match &readme {
        Some(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            let (meta, body) = markdown::split_front_matter(&text);
            (meta, Some(markdown::render(body)))
        }
        None => (None, None),
    };
    let tags = meta.as_ref().map(markdown::tags).unwrap_or_default();
    let head = header(&ctx, t, &repo, Tab::Card).await;
    let gate = gate_box(&ctx, t, &repo, meta.as_ref()).await?;
    let title = format!("{}/{}", repo.namespace, repo.name);
    ctx.ok(
        &title,
        html! {
            (head)
            (notice(flash(q.notice.as_deref())))
            @if !tags.is_empty() {
                p.tags aria-label="Metadata" { @for (k, v) in &tags { span.badge title=(k) { @if k != "tags" { (k) ": " } (v) } } }
            }
            (gate)
            @match body_html {
                Some(h) => { article.card #model-card { (trusted(h)) } }
                None => { p.muted { "No model card yet: add a README.md to describe this repository." } }
            }
            (snippet(&ctx, t, &repo))
            p.muted { "Created " (when(repo.created_at)) " · updated " (when(repo.updated_at)) }
        },
    )
}

fn flash(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "saved" => Some("Settings saved."),
        "requested" => Some("Your request was sent."),
        "created" => Some("Repository created. Upload files with the hf CLI or huggingface_hub."),
        "decided" => Some("Done."),
        _ => None,
    }
}

/// `GET /{repo}/tree/{rev}/{path}`: the file browser.
async fn tree(ctx: Ctx, t: RepoType, namespace: String, name: String, rev: String, path: String) -> WebResult {
    let id = parse_id(&P { namespace, name })?;
    let repo = load(&ctx, t, &id, Action::ReadMetadata).await?;
    let (commit_oid, _) = resolve_revision(&ctx.state, &repo, &rev).await?;
    let commit = read_commit(&ctx.state, commit_oid).await?;
    let path = path.trim_matches('/').to_owned();
    let base = repo_url(t, &repo.namespace, &repo.name);
    let found = lookup(&ctx.state, commit.tree, &path).await?.ok_or_else(not_found)?;
    let entries = match found {
        Found::Dir { oid } => list_tree(&ctx.state, oid, &path, false).await?,
        Found::File { oid, .. } => {
            let blob = read_blob(&ctx.state, oid).await?;
            vec![Listed::File { path: path.clone(), oid, blob }]
        }
    };
    let head = header(&ctx, t, &repo, Tab::Files).await;
    let refs = ctx.state.store.list_refs(repo.id).await?;
    let parent = path.rsplit_once('/').map(|(p, _)| p.to_owned()).unwrap_or_default();
    ctx.ok(
        &format!("Files of {}/{}", repo.namespace, repo.name),
        html! {
            (head)
            form.inline method="get" action={ (base) "/tree" } {
                label for="rev" { "Revision " }
                select #rev name="rev" disabled { @for r in refs.iter().filter(|r| r.name.starts_with("refs/heads/") || r.name.starts_with("refs/tags/")) {
                    @let short = r.name.trim_start_matches("refs/heads/").trim_start_matches("refs/tags/");
                    option selected[short == rev] { (short) }
                } }
            }
            p { "Revision " code { (rev) } " · commit " a href={ (base) "/commits/" (commit_oid.hex()) } { code { (&commit_oid.hex()[..12]) } } " · " (commit.title()) }
            h2 { "/" (path) }
            table #files {
                thead { tr { th { "Name" } th { "Size" } th { "Storage" } th { "Download" } } }
                tbody {
                    @if !path.is_empty() {
                        tr { td { a href={ (base) "/tree/" (rev) "/" (parent) } { ".." } } td {} td {} td {} }
                    }
                    @for e in &entries {
                        @match e {
                            Listed::Dir { path: p, .. } => {
                                tr { td { a href={ (base) "/tree/" (rev) "/" (p) } { (p.rsplit('/').next().unwrap_or(p)) "/" } } td {} td {} td {} }
                            }
                            Listed::File { path: p, blob, .. } => {
                                tr data-file=(p) {
                                    td { (p.rsplit('/').next().unwrap_or(p)) }
                                    td { (human_size(blob.size as u64)) }
                                    td { @if blob.lfs { span.badge { "LFS" } } }
                                    td { a href={ (base) "/resolve/" (rev) "/" (p) } download { "Download" } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /{repo}/commits/{rev}`: history along first parents.
async fn commits(ctx: Ctx, t: RepoType, p: PRev) -> WebResult {
    let id = parse_id(&P { namespace: p.namespace, name: p.name })?;
    let repo = load(&ctx, t, &id, Action::ReadMetadata).await?;
    let (head_oid, _) = resolve_revision(&ctx.state, &repo, &p.rev).await?;
    let mut items = Vec::new();
    let mut next = Some(head_oid);
    while let Some(oid) = next {
        if items.len() == 100 {
            break;
        }
        let c = read_commit(&ctx.state, oid).await?;
        next = c.parents.first().copied();
        items.push((oid, c));
    }
    let base = repo_url(t, &repo.namespace, &repo.name);
    let head = header(&ctx, t, &repo, Tab::Commits).await;
    ctx.ok(
        &format!("Commits of {}/{}", repo.namespace, repo.name),
        html! {
            (head)
            h2 { "History of " code { (p.rev) } }
            table #commits {
                thead { tr { th { "Commit" } th { "Title" } th { "Author" } th { "Date" } } }
                tbody {
                    @for (oid, c) in &items {
                        tr {
                            td { a href={ (base) "/tree/" (oid.hex()) } { code { (&oid.hex()[..12]) } } }
                            td { (c.title()) }
                            td { (c.author.name) }
                            td { (when(c.committer.time * 1000)) }
                        }
                    }
                }
            }
            @if next.is_some() { p.muted { "Showing the latest 100 commits." } }
        },
    )
}

/// `GET /{repo}/refs`: branches, tags and pull requests.
async fn refs(ctx: Ctx, t: RepoType, p: P) -> WebResult {
    let id = parse_id(&p)?;
    let repo = load(&ctx, t, &id, Action::ReadMetadata).await?;
    let refs = ctx.state.store.list_refs(repo.id).await?;
    let base = repo_url(t, &repo.namespace, &repo.name);
    let head = header(&ctx, t, &repo, Tab::Refs).await;
    let group = |prefix: &str| -> Vec<(String, String)> {
        refs.iter().filter_map(|r| r.name.strip_prefix(prefix).map(|n| (n.to_owned(), r.target.clone()))).collect()
    };
    let sections = [("Branches", group("refs/heads/")), ("Tags", group("refs/tags/")), ("Pull requests", group("refs/pr/"))];
    ctx.ok(
        &format!("Branches and tags of {}/{}", repo.namespace, repo.name),
        html! {
            (head)
            @for (title, list) in &sections {
                h2 { (title) }
                @if list.is_empty() { p.muted { "None." } } @else {
                    table { tbody { @for (n, target) in list {
                        tr { td { a href={ (base) "/tree/" (target) } { (n) } } td { code { (&target[..target.len().min(12)]) } } td { a href={ (base) "/commits/" (target) } { "History" } } }
                    } } }
                }
            }
        },
    )
}

fn settings_body(ctx: &Ctx, t: RepoType, repo: &Repo, errors: &Errors, can_delete: bool) -> Markup {
    let base = repo_url(t, &repo.namespace, &repo.name);
    let id = format!("{}/{}", repo.namespace, repo.name);
    let gated = repo.gated.as_deref().unwrap_or("false");
    html! {
        (errors.summary())
        h2 { "Visibility and access" }
        form method="post" action={ (base) "/settings" } {
            (ctx.csrf_field())
            input type="hidden" name="action" value="settings";
            div.field { label for="private" { input #private type="checkbox" name="private" value="true" checked[repo.private]; " Private: only you and your organization can see it" } }
            div.field {
                label for="gated" { "Gated access" }
                select #gated name="gated" aria-describedby="gated-hint" {
                    option value="false" selected[gated == "false"] { "Not gated" }
                    option value="auto" selected[gated == "auto"] { "Gated, requests accepted automatically" }
                    option value="manual" selected[gated == "manual"] { "Gated, requests reviewed by the authors" }
                }
                p.hint #gated-hint { "Gated repos show their card to everyone; files need an accepted request. The request form comes from " code { "extra_gated_fields" } " in the README's metadata." }
            }
            button type="submit" { "Save settings" }
        }
        @if can_delete {
            h2 { "Delete this repository" }
            div.danger-zone {
                p { "This deletes " strong { (id) } " with all its files and history. It cannot be undone." }
                form method="post" action={ (base) "/settings" } {
                    (ctx.csrf_field())
                    input type="hidden" name="action" value="delete";
                    (Input::new("confirm", "Type the repository id to confirm").hint(&id).render(errors))
                    button.danger type="submit" { "Delete this repository" }
                }
            }
        }
    }
}

async fn settings_page(ctx: Ctx, t: RepoType, p: P, q: PageQuery) -> WebResult {
    ctx.require_user()?;
    let id = parse_id(&p)?;
    let repo = load(&ctx, t, &id, Action::Write).await?;
    let head = header(&ctx, t, &repo, Tab::Settings).await;
    let can_delete = may(&ctx, &repo, Action::DeleteRepo).await;
    ctx.ok("Repository settings", html! { (head) (notice(flash(q.notice.as_deref()))) (settings_body(&ctx, t, &repo, &Errors::default(), can_delete)) })
}

async fn settings_post(ctx: Ctx, t: RepoType, p: P, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    ctx.require_user()?;
    let id = parse_id(&p)?;
    let repo = load(&ctx, t, &id, Action::Write).await?;
    let caller = session_caller(ctx.user.as_ref());
    let base = repo_url(t, &repo.namespace, &repo.name);
    let rp = RepoPath { kind: t.plural().to_owned(), namespace: repo.namespace.clone(), name: repo.name.clone() };
    match form.get("action") {
        "settings" => {
            let gated = match form.get("gated") {
                g @ ("auto" | "manual") => Value::String(g.to_owned()),
                "false" | "" => Value::Bool(false),
                _ => return Err(WebError::Status(StatusCode::UNPROCESSABLE_ENTITY, "Gated access must be one of: not gated, auto, manual.".into())),
            };
            let body = SettingsBody { private: Some(form.checked("private")), visibility: None, gated: Some(gated) };
            let _ = repos::update_settings(State(ctx.state.clone()), caller, Path(rp), Ok(Json(body))).await?;
            Ok(see_other(format!("{base}/settings?notice=saved")))
        }
        "delete" => {
            let want = format!("{}/{}", repo.namespace, repo.name);
            if form.get("confirm").trim() != want {
                let mut errors = Errors::default();
                errors.add("confirm", format!("Type {want} exactly to delete this repository."));
                let head = header(&ctx, t, &repo, Tab::Settings).await;
                let can_delete = may(&ctx, &repo, Action::DeleteRepo).await;
                return ctx.invalid("Repository settings", html! { (head) (settings_body(&ctx, t, &repo, &errors, can_delete)) });
            }
            let body = DeleteRepoBody { name: repo.name.clone(), organization: Some(repo.namespace.clone()), repo_type: Some(t.as_str().to_owned()) };
            let _ = repos::delete_repo(State(ctx.state.clone()), caller, Ok(Json(body))).await?;
            Ok(see_other(format!("/{}", repo.namespace)))
        }
        _ => Err(WebError::Status(StatusCode::BAD_REQUEST, "Unknown action.".into())),
    }
}

/// `POST /{repo}/access-request`: the gated form, recorded as `ask-access` records it.
async fn ask(ctx: Ctx, base: BaseUrl, t: RepoType, p: P, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    ctx.require_user()?;
    let id = parse_id(&p)?;
    let repo = load(&ctx, t, &id, Action::ReadMetadata).await?;
    let body: String = {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in form.0.iter().filter(|(k, _)| k != "csrf") {
            ser.append_pair(k, v);
        }
        ser.finish()
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
    let path = AskPath { namespace: repo.namespace.clone(), name: repo.name.clone() };
    let page = repo_url(t, &repo.namespace, &repo.name);
    match gated::ask_access(State(ctx.state.clone()), session_caller(ctx.user.as_ref()), base, headers, t, path, body.into()).await {
        Ok(_) => Ok(see_other(page)),
        Err(e @ (ApiError::BadRequest(_) | ApiError::BadRequestCode { .. })) => Err(WebError::Status(StatusCode::UNPROCESSABLE_ENTITY, e.public_message())),
        Err(e) => Err(e.into()),
    }
}

async fn requests_page(ctx: Ctx, t: RepoType, p: P, q: PageQuery) -> WebResult {
    ctx.require_user()?;
    let id = parse_id(&p)?;
    let repo = load(&ctx, t, &id, Action::ReadAccessRequests).await?;
    if repo.gated.is_none() {
        return Err(WebError::Status(StatusCode::BAD_REQUEST, "This repository is not gated: turn gating on in its settings first.".into()));
    }
    let can_manage = may(&ctx, &repo, Action::ManageAccessRequests).await;
    let mut lists = Vec::new();
    for status in ["pending", "accepted", "rejected"] {
        lists.push((status, ctx.state.store.list_access_requests(repo.id, status).await?));
    }
    let base = repo_url(t, &repo.namespace, &repo.name);
    let action = format!("{base}/settings/access-requests");
    let head = header(&ctx, t, &repo, Tab::Requests).await;
    ctx.ok(
        "Access requests",
        html! {
            (head)
            (notice(flash(q.notice.as_deref())))
            h2 { "Access requests" }
            ul.stats { @for (s, l) in &lists { li data-status=(s) { strong { (l.len()) } " " (s) } } }
            @for (status, list) in &lists {
                h3 { (status) }
                @if list.is_empty() { p.muted { "None." } } @else {
                    table data-requests=(status) {
                        thead { tr { th { "User" } th { "Email" } th { "Form" } th { "Asked" } @if *status == "rejected" { th { "Reason" } } @if can_manage { th { "Decide" } } } }
                        tbody { @for (r, u) in list {
                            tr data-user=(u.name) {
                                td { (u.name) }
                                td { (u.email) }
                                td { @if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&r.fields) { @for (k, v) in &m { div { strong { (k) ": " } (v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())) } } } }
                                td { (when(r.created_at)) }
                                @if *status == "rejected" { td { (r.reason.clone().unwrap_or_default()) } }
                                @if can_manage {
                                    td {
                                        @if *status != "accepted" {
                                            form.inline method="post" action=(action) {
                                                (ctx.csrf_field()) input type="hidden" name="user" value=(u.name); input type="hidden" name="status" value="accepted";
                                                button type="submit" { "Accept" }
                                            }
                                        }
                                        @if *status != "rejected" {
                                            form.inline method="post" action=(action) {
                                                (ctx.csrf_field()) input type="hidden" name="user" value=(u.name); input type="hidden" name="status" value="rejected";
                                                label.visually-hidden for={ "reason-" (r.id) } { "Reason for rejecting " (u.name) }
                                                input.small id={ "reason-" (r.id) } name="reason" placeholder="Reason (optional)" maxlength="200";
                                                button.danger type="submit" { "Reject" }
                                            }
                                        }
                                    }
                                }
                            }
                        } }
                    }
                }
            }
            @if can_manage {
                h2 { "Grant access" }
                form method="post" action=(action) {
                    (ctx.csrf_field())
                    input type="hidden" name="status" value="grant";
                    (Input::new("user", "Username").hint("Gives this user access without a request.").render(&Errors::default()))
                    button type="submit" { "Grant" }
                }
            }
        },
    )
}

async fn requests_post(ctx: Ctx, t: RepoType, p: P, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    ctx.require_user()?;
    let id = parse_id(&p)?;
    let repo = load(&ctx, t, &id, Action::ManageAccessRequests).await?;
    let caller = session_caller(ctx.user.as_ref());
    let rp = RepoPath { kind: t.plural().to_owned(), namespace: repo.namespace.clone(), name: repo.name.clone() };
    let user = form.get("user").trim().to_owned();
    let result = match form.get("status") {
        "grant" => gated::grant_access(State(ctx.state.clone()), caller, Path(rp), Ok(Json(GrantBody { user }))).await.map(|_| ()),
        s @ ("accepted" | "rejected") => {
            let reason = Some(form.get("reason").trim().to_owned()).filter(|r| !r.is_empty() && s == "rejected");
            let body = HandleBody { user: Some(user), request_id: None, status: s.to_owned(), rejection_reason: reason };
            gated::handle_request(State(ctx.state.clone()), caller, Path(rp), Ok(Json(body))).await.map(|_| ())
        }
        _ => return Err(WebError::Status(StatusCode::BAD_REQUEST, "Unknown decision.".into())),
    };
    match result {
        Ok(()) => Ok(see_other(format!("{}/settings/access-requests?notice=decided", repo_url(t, &repo.namespace, &repo.name)))),
        Err(e @ (ApiError::BadRequest(_) | ApiError::NotFound(_))) => Err(WebError::Status(StatusCode::UNPROCESSABLE_ENTITY, e.public_message())),
        Err(e) => Err(e.into()),
    }
}

fn repo_list(repos: &[(RepoType, Repo)]) -> Markup {
    html! {
        @if repos.is_empty() { p.muted { "No repositories yet." } } @else {
            ul.cards { @for (t, r) in repos {
                li {
                    a href=(repo_url(*t, &r.namespace, &r.name)) { strong { (r.namespace) "/" (r.name) } }
                    div.muted { (t.as_str()) " · updated " (when(r.updated_at)) @if r.private { " · private" } @if r.gated.is_some() { " · gated" } }
                }
            } }
        }
    }
}

/// `GET /`: repositories of one kind, newest first, with a search box.
pub async fn home(ctx: Ctx, Query(q): Query<PageQuery>) -> WebResult {
    let t = match q.kind.as_deref() {
        Some("datasets") => RepoType::Dataset,
        Some("spaces") => RepoType::Space,
        _ => RepoType::Model,
    };
    let search = q.q.clone().unwrap_or_default();
    let query = RepoQuery {
        repo_type: t.as_str().into(),
        search: Some(search.trim().to_owned()).filter(|s| !s.is_empty()),
        viewer: ctx.user.as_ref().map(|u| u.name.clone()),
        limit: 60,
        ..Default::default()
    };
    let mut repos = ctx.state.store.list_repos(&query).await?;
    repos.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
    let list: Vec<(RepoType, Repo)> = repos.into_iter().map(|r| (t, r)).collect();
    ctx.ok(
        "Home",
        html! {
            @if ctx.user.is_none() {
                section.notice {
                    h1 { "Hangar" }
                    p { "A self-hosted hub for your models and datasets. The official " code { "huggingface_hub" } ", " code { "hf" } " CLI and " code { "transformers" } " work with it once " code { "HF_ENDPOINT" } " points here." }
                    p { a.button href="/join" { "Create an account" } " " a.button.secondary href="/login" { "Log in" } }
                }
            }
            h1 { (t.plural().chars().next().map(|c| c.to_ascii_uppercase()).unwrap_or('M')) (&t.plural()[1..]) }
            form method="get" action="/" role="search" {
                input type="hidden" name="type" value=(t.plural());
                div.field { label for="q" { "Search " (t.plural()) } input #q type="search" name="q" value=(search); }
            }
            (repo_list(&list))
        },
    )
}

/// `GET /{name}`: a user's or organization's page.
pub async fn namespace_page(ctx: Ctx, Path(ns): Path<String>) -> WebResult {
    let (name, kind, fullname) = if let Some(u) = ctx.state.store.user_by_name(&ns).await? {
        (u.name, "user", u.fullname)
    } else if let Some(o) = ctx.state.store.org_by_name(&ns).await? {
        (o.name, "organization", o.fullname)
    } else {
        return Err(not_found());
    };
    let mut all = Vec::new();
    for t in [RepoType::Model, RepoType::Dataset, RepoType::Space] {
        let query = RepoQuery { repo_type: t.as_str().into(), author: Some(name.clone()), viewer: ctx.user.as_ref().map(|u| u.name.clone()), limit: 100, ..Default::default() };
        all.extend(ctx.state.store.list_repos(&query).await?.into_iter().map(|r| (t, r)));
    }
    let is_admin_of_org = kind == "organization"
        && match &ctx.user {
            Some(u) => match ctx.state.store.org_by_name(&name).await? {
                Some(o) => ctx.state.store.member_role(o.id, u.id).await?.as_deref() == Some("admin"),
                None => false,
            },
            None => false,
        };
    ctx.ok(
        &name,
        html! {
            h1 { (name) " " span.badge { (kind) } }
            @if !fullname.is_empty() { p { (fullname) } }
            @if is_admin_of_org {
                p { a href={ "/organizations/" (name) "/settings/members" } { "Members" } " · " a href={ "/organizations/" (name) "/settings/tokens" } { "Tokens and token policy" } }
            }
            h2 { "Repositories" }
            (repo_list(&all))
        },
    )
}

fn new_repo_form(ctx: &Ctx, owners: &[String], f: Option<&WebForm>, errors: &Errors) -> Markup {
    let v = |k: &str| f.map(|f| f.get(k).to_owned()).unwrap_or_default();
    let (kind, owner, name) = (v("type"), v("owner"), v("name"));
    html! {
        h1 { "New repository" }
        (errors.summary())
        form method="post" action="/new" novalidate {
            (ctx.csrf_field())
            div.field.invalid[errors.of("type").is_some()] {
                label for="type" { "Type" }
                select #type name="type" { @for t in ["model", "dataset", "space"] { option value=(t) selected[kind == t] { (t) } } }
                @if let Some(e) = errors.of("type") { p.field-error #type-error { (e) } }
            }
            div.field {
                label for="owner" { "Owner" }
                select #owner name="owner" { @for o in owners { option value=(o) selected[&owner == o] { (o) } } }
            }
            (Input::new("name", "Name").value(&name).hint("Letters, digits, '-', '_' and '.'.").render(errors))
            div.field { label for="private" { input #private type="checkbox" name="private" value="true" checked[v("private") == "true"]; " Private" } }
            button type="submit" { "Create repository" }
        }
    }
}

async fn owners(ctx: &Ctx, user: &User) -> WebResult<Vec<String>> {
    let mut out = vec![user.name.clone()];
    out.extend(ctx.state.store.user_orgs(user.id).await?.into_iter().map(|(o, _)| o.name));
    Ok(out)
}

pub async fn new_page(ctx: Ctx) -> WebResult {
    let user = ctx.require_user()?.clone();
    let owners = owners(&ctx, &user).await?;
    ctx.ok("New repository", new_repo_form(&ctx, &owners, None, &Errors::default()))
}

pub async fn create(ctx: Ctx, base: BaseUrl, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let owners = owners(&ctx, &user).await?;
    let Ok(t) = RepoType::parse(form.get("type")) else {
        let mut errors = Errors::default();
        errors.add("type", "Choose model, dataset or space.");
        return ctx.invalid("New repository", new_repo_form(&ctx, &owners, Some(&form), &errors));
    };
    let owner = form.get("owner");
    let body = CreateRepoBody {
        name: form.get("name").trim().to_owned(),
        organization: (owner != user.name && !owner.is_empty()).then(|| owner.to_owned()),
        repo_type: Some(t.as_str().to_owned()),
        private: Some(form.checked("private")),
        visibility: None,
    };
    let mut errors = Errors::default();
    if body.name.is_empty() {
        errors.add("name", "Give the repository a name.");
    } else {
        match repos::create_repo(State(ctx.state.clone()), session_caller(Some(&user)), base, Ok(Json(body))).await {
            Ok(Json(v)) => {
                let name = v.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_owned();
                return Ok(see_other(format!("/{}{name}?notice=created", t.url_prefix())));
            }
            Err(e @ ApiError::Conflict { .. }) => errors.add("name", e.public_message()),
            Err(e @ (ApiError::BadRequest(_) | ApiError::Forbidden(_) | ApiError::ForbiddenCode { .. })) => {
                let msg = e.public_message();
                errors.add("name", msg.split_once(": ").map(|(_, r)| r.to_owned()).unwrap_or(msg));
            }
            Err(e) => return Err(e.into()),
        }
    }
    ctx.invalid("New repository", new_repo_form(&ctx, &owners, Some(&form), &errors))
}
