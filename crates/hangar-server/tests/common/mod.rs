//! The server on a real socket (port 0) with its own data directory, for the HTTP tests.

#![allow(dead_code)]

use hangar_server::{AppState, Config};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

pub struct Hub {
    pub url: String,
    pub state: AppState,
    pub http: Client,
    _dir: tempfile::TempDir,
}

impl Hub {
    pub async fn start() -> Hub {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::open(Config::new(dir.path().to_owned())).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(hangar_server::serve(listener, state.clone(), std::future::pending()));
        Hub { url, state, http: Client::new(), _dir: dir }
    }

    pub async fn user(&self, name: &str) {
        hangar_server::admin::create_user(&self.state.store, name, &format!("{name}@example.com"), "password123", true, false).await.unwrap();
    }

    pub async fn token(&self, user: &str, role: &str) -> String {
        let name = format!("{role}-{}", rand::random::<u32>());
        let (_, secret) = hangar_server::admin::create_token(&self.state.store, user, &name, role, None).await.unwrap();
        secret.expose().to_owned()
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let r = self.http.get(format!("{}{path}", self.url));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn create_repo(&self, token: &str, name: &str, private: bool) {
        let r = self.http.post(format!("{}/api/repos/create", self.url)).bearer_auth(token).json(&json!({"name": name, "private": private})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }

    pub async fn commit(&self, token: &str, repo: &str, rev: &str, lines: &[Value]) -> reqwest::Response {
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        self.http
            .post(format!("{}/api/models/{repo}/commit/{rev}", self.url))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn head(&self, repo: &str) -> String {
        let v: Value = self.get(&format!("/api/models/{repo}"), None).send().await.unwrap().json().await.unwrap();
        v["sha"].as_str().unwrap().to_owned()
    }
}
