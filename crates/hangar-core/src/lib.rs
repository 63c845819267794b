//! Domain rules of Hangar that need no I/O: repository names and revisions, git object ids,
//! the access-token format, and the permission policy.

pub mod git;
pub mod names;
pub mod plans;
pub mod policy;
pub mod token;

pub use names::{NameError, RepoId, RepoType};
