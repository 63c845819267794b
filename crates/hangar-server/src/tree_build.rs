//! Builds the new root tree of a commit from its parent's tree and a list of changes. Directories
//! are loaded only when a change reaches into them, and only changed directories are re-encoded.

use crate::error::{ApiError, ApiResult};
use crate::objects::read_tree;
use crate::state::AppState;
use hangar_core::git::{self, Mode, ObjectKind, Oid, TreeEntry};
use std::collections::BTreeMap;

enum Node {
    File { oid: Oid, mode: Mode },
    Dir(Dir),
}

#[derive(Default)]
struct Dir {
    oid: Option<Oid>,
    children: Option<BTreeMap<String, Node>>,
    dirty: bool,
}

impl Dir {
    fn unloaded(oid: Oid) -> Dir {
        Dir { oid: Some(oid), children: None, dirty: false }
    }
}

pub struct TreeBuilder {
    root: Dir,
}

/// An encoded object to store: (oid, kind, bytes).
pub type NewObject = (String, String, Vec<u8>);

async fn load(state: &AppState, dir: &mut Dir) -> ApiResult<()> {
    if dir.children.is_none() {
        let mut map = BTreeMap::new();
        if let Some(oid) = dir.oid {
            for e in read_tree(state, oid).await?.iter() {
                let node = if e.mode == Mode::Tree { Node::Dir(Dir::unloaded(e.oid)) } else { Node::File { oid: e.oid, mode: e.mode } };
                map.insert(e.name.clone(), node);
            }
        }
        dir.children = Some(map);
    }
    Ok(())
}

fn split(path: &str) -> (Vec<&str>, &str) {
    let mut parts: Vec<&str> = path.split('/').collect();
    let last = parts.pop().unwrap_or("");
    (parts, last)
}

impl TreeBuilder {
    pub fn new(base: Option<Oid>) -> Self {
        TreeBuilder { root: Dir { oid: base, children: None, dirty: false } }
    }

    /// The directory holding `parents`, marked as changed; created when `create` is set.
    async fn parent_dir<'a>(&'a mut self, state: &AppState, parents: &[&str], create: bool, full: &str) -> ApiResult<Option<&'a mut Dir>> {
        let mut cur = &mut self.root;
        for (i, part) in parents.iter().enumerate() {
            load(state, cur).await?;
            cur.dirty = true;
            let children = cur.children.as_mut().expect("loaded");
            if create && !children.contains_key(*part) {
                children.insert((*part).to_owned(), Node::Dir(Dir { oid: None, children: Some(BTreeMap::new()), dirty: true }));
            }
            cur = match children.get_mut(*part) {
                Some(Node::Dir(d)) => d,
                Some(Node::File { .. }) if create => {
                    return Err(ApiError::bad_request(format!(
                        "Cannot add '{full}': '{}' is a file in this revision, not a folder",
                        parents[..=i].join("/")
                    )))
                }
                _ => return Ok(None),
            };
        }
        load(state, cur).await?;
        cur.dirty = true;
        Ok(Some(cur))
    }

    pub async fn put_file(&mut self, state: &AppState, path: &str, oid: Oid) -> ApiResult<()> {
        let (parents, name) = split(path);
        let dir = self.parent_dir(state, &parents, true, path).await?.expect("created");
        let children = dir.children.as_mut().expect("loaded");
        if let Some(Node::Dir(_)) = children.get(name) {
            return Err(ApiError::bad_request(format!("Cannot add the file '{path}': a folder with that path exists")));
        }
        children.insert(name.to_owned(), Node::File { oid, mode: Mode::File });
        Ok(())
    }

    /// Removes a file; false when there is no file at `path`.
    pub async fn delete_file(&mut self, state: &AppState, path: &str) -> ApiResult<bool> {
        let (parents, name) = split(path);
        let Some(dir) = self.parent_dir(state, &parents, false, path).await? else { return Ok(false) };
        let children = dir.children.as_mut().expect("loaded");
        if matches!(children.get(name), Some(Node::File { .. })) {
            children.remove(name);
            return Ok(true);
        }
        Ok(false)
    }

    /// Removes a folder and everything under it; false when there is no folder at `path`.
    pub async fn delete_folder(&mut self, state: &AppState, path: &str) -> ApiResult<bool> {
        let (parents, name) = split(path);
        let Some(dir) = self.parent_dir(state, &parents, false, path).await? else { return Ok(false) };
        let children = dir.children.as_mut().expect("loaded");
        if matches!(children.get(name), Some(Node::Dir(_))) {
            children.remove(name);
            return Ok(true);
        }
        Ok(false)
    }

    /// Encodes every changed directory; returns the root tree id and the new objects. Directories
    /// left empty disappear, as in git.
    pub fn finish(mut self) -> (Oid, Vec<NewObject>) {
        let mut out = Vec::new();
        let root = encode(&mut self.root, &mut out).unwrap_or_else(|| {
            let bytes = git::encode_tree(&mut []);
            let oid = git::object_id(ObjectKind::Tree, &bytes);
            out.push((oid.hex(), "tree".into(), bytes));
            oid
        });
        (root, out)
    }
}

fn encode(dir: &mut Dir, out: &mut Vec<NewObject>) -> Option<Oid> {
    if !dir.dirty {
        return dir.oid;
    }
    let children = dir.children.as_mut().expect("dirty directories are loaded");
    let mut entries = Vec::with_capacity(children.len());
    for (name, node) in children.iter_mut() {
        match node {
            Node::File { oid, mode } => entries.push(TreeEntry { mode: *mode, name: name.clone(), oid: *oid }),
            Node::Dir(d) => {
                if let Some(oid) = encode(d, out) {
                    entries.push(TreeEntry { mode: Mode::Tree, name: name.clone(), oid });
                }
            }
        }
    }
    if entries.is_empty() {
        return None;
    }
    let bytes = git::encode_tree(&mut entries);
    let oid = git::object_id(ObjectKind::Tree, &bytes);
    out.push((oid.hex(), "tree".into(), bytes));
    Some(oid)
}
