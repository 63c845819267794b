//! Hangar's client library, used by the `hangar` command's client side: the Hugging Face
//! conventions (environment, token files, cache layout), the Hub API with errors that teach, and
//! uploads and downloads that stream, run in parallel and resume.

pub mod api;
pub mod credentials;
pub mod download;
pub mod env;
pub mod error;
pub mod globs;
pub mod hashing;
pub mod progress;
pub mod upload;

pub use api::{Client, RepoRef};
pub use env::Env;
pub use error::{ClientError, ClientResult};
