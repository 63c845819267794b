//! Git object encoding. Repositories are stored as real git objects so that ids, ETags and tree
//! `oid`s equal what the Hub (and `git`) compute for the same content.

use sha1::{Digest, Sha1};
use std::fmt;

/// A 20-byte git object id, shown as 40 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(pub [u8; 20]);

impl Oid {
    pub fn parse(hex_str: &str) -> Option<Oid> {
        if hex_str.len() != 40 {
            return None;
        }
        let mut out = [0u8; 20];
        hex::decode_to_slice(hex_str, &mut out).ok()?;
        Some(Oid(out))
    }
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.hex())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Blob,
    Tree,
    Commit,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Blob => "blob",
            ObjectKind::Tree => "tree",
            ObjectKind::Commit => "commit",
        }
    }
}

/// Incremental git object hasher, for content that is streamed rather than held in memory.
pub struct ObjectHasher(Sha1);

impl ObjectHasher {
    pub fn new(kind: ObjectKind, len: u64) -> Self {
        let mut h = Sha1::new();
        h.update(format!("{} {}\0", kind.as_str(), len).as_bytes());
        ObjectHasher(h)
    }
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    pub fn finish(self) -> Oid {
        Oid(self.0.finalize().into())
    }
}

pub fn object_id(kind: ObjectKind, content: &[u8]) -> Oid {
    let mut h = ObjectHasher::new(kind, content.len() as u64);
    h.update(content);
    h.finish()
}

/// The text git-lfs (and the Hub) commit in place of a large file.
pub fn lfs_pointer(sha256_hex: &str, size: u64) -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha256_hex}\nsize {size}\n")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    File,
    Executable,
    Symlink,
    Tree,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::File => "100644",
            Mode::Executable => "100755",
            Mode::Symlink => "120000",
            Mode::Tree => "40000",
        }
    }
    fn parse(s: &[u8]) -> Option<Mode> {
        Some(match s {
            b"100644" => Mode::File,
            b"100755" => Mode::Executable,
            b"120000" => Mode::Symlink,
            b"40000" => Mode::Tree,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    pub mode: Mode,
    pub name: String,
    pub oid: Oid,
}

/// git sorts tree entries by name bytes, comparing a directory as if its name ended in `/`.
fn sort_key(e: &TreeEntry) -> Vec<u8> {
    let mut k = e.name.as_bytes().to_vec();
    if e.mode == Mode::Tree {
        k.push(b'/');
    }
    k
}

pub fn encode_tree(entries: &mut [TreeEntry]) -> Vec<u8> {
    entries.sort_by_key(sort_key);
    let mut out = Vec::with_capacity(entries.len() * 40);
    for e in entries.iter() {
        out.extend_from_slice(e.mode.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(e.name.as_bytes());
        out.push(0);
        out.extend_from_slice(&e.oid.0);
    }
    out
}

#[derive(Debug, thiserror::Error)]
#[error("corrupt git object: {0}")]
pub struct CorruptObject(&'static str);

pub fn decode_tree(mut data: &[u8]) -> Result<Vec<TreeEntry>, CorruptObject> {
    let mut entries = Vec::new();
    while !data.is_empty() {
        let sp = data.iter().position(|&b| b == b' ').ok_or(CorruptObject("tree mode"))?;
        let mode = Mode::parse(&data[..sp]).ok_or(CorruptObject("tree mode value"))?;
        data = &data[sp + 1..];
        let nul = data.iter().position(|&b| b == 0).ok_or(CorruptObject("tree name"))?;
        let name = std::str::from_utf8(&data[..nul]).map_err(|_| CorruptObject("tree name utf-8"))?.to_owned();
        data = &data[nul + 1..];
        if data.len() < 20 {
            return Err(CorruptObject("tree oid"));
        }
        let mut oid = [0u8; 20];
        oid.copy_from_slice(&data[..20]);
        data = &data[20..];
        entries.push(TreeEntry { mode, name, oid: Oid(oid) });
    }
    Ok(entries)
}

/// A person line of a commit; Hangar records the user name and a no-reply address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub email: String,
    pub time: i64,
}

impl Signature {
    fn encode(&self) -> String {
        let clean = |s: &str| s.replace(['<', '>', '\n'], "");
        format!("{} <{}> {} +0000", clean(&self.name), clean(&self.email), self.time)
    }
    fn decode(s: &str) -> Option<Signature> {
        let lt = s.find('<')?;
        let gt = s.rfind('>')?;
        let name = s[..lt].trim_end().to_owned();
        let email = s[lt + 1..gt].to_owned();
        let mut rest = s[gt + 1..].split_whitespace();
        let time = rest.next()?.parse().ok()?;
        Some(Signature { name, email, time })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub tree: Oid,
    pub parents: Vec<Oid>,
    pub author: Signature,
    pub committer: Signature,
    pub message: String,
}

impl Commit {
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!("tree {}\n", self.tree);
        for p in &self.parents {
            s.push_str(&format!("parent {p}\n"));
        }
        s.push_str(&format!("author {}\n", self.author.encode()));
        s.push_str(&format!("committer {}\n\n", self.committer.encode()));
        s.push_str(&self.message);
        s.into_bytes()
    }

    pub fn decode(data: &[u8]) -> Result<Commit, CorruptObject> {
        let text = std::str::from_utf8(data).map_err(|_| CorruptObject("commit utf-8"))?;
        let (head, message) = text.split_once("\n\n").unwrap_or((text, ""));
        let (mut tree, mut parents, mut author, mut committer) = (None, Vec::new(), None, None);
        for line in head.lines() {
            let (k, v) = line.split_once(' ').ok_or(CorruptObject("commit header"))?;
            match k {
                "tree" => tree = Oid::parse(v),
                "parent" => parents.push(Oid::parse(v).ok_or(CorruptObject("commit parent"))?),
                "author" => author = Signature::decode(v),
                "committer" => committer = Signature::decode(v),
                _ => {}
            }
        }
        Ok(Commit {
            tree: tree.ok_or(CorruptObject("commit tree"))?,
            parents,
            author: author.ok_or(CorruptObject("commit author"))?,
            committer: committer.ok_or(CorruptObject("commit committer"))?,
            message: message.to_owned(),
        })
    }

    /// The first line of the message, as the Hub shows it.
    pub fn title(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }

    /// Everything after the title and the blank line that follows it.
    pub fn body(&self) -> &str {
        match self.message.split_once('\n') {
            Some((_, rest)) => rest.trim_start_matches('\n').trim_end_matches('\n'),
            None => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(object_id(ObjectKind::Blob, b"hello\n").hex(), "ce013625030ba8dba906f756967f9e9ca394464a");
        // the empty blob and the empty tree every git knows
        assert_eq!(object_id(ObjectKind::Blob, b"").hex(), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        assert_eq!(object_id(ObjectKind::Tree, &encode_tree(&mut [])).hex(), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
    }

    #[test]
    fn trees_sort_directories_as_git_does() {
        let blob = object_id(ObjectKind::Blob, b"x");
        let mut entries = vec![
            TreeEntry { mode: Mode::File, name: "a.txt".into(), oid: blob },
            TreeEntry { mode: Mode::Tree, name: "a".into(), oid: blob },
            TreeEntry { mode: Mode::File, name: "a-b".into(), oid: blob },
        ];
        let bytes = encode_tree(&mut entries);
        let names: Vec<_> = decode_tree(&bytes).unwrap().into_iter().map(|e| e.name).collect();
        // '-' (0x2d) < '.' (0x2e) < '/' (0x2f): "a-b", "a.txt", then the directory "a/"
        assert_eq!(names, ["a-b", "a.txt", "a"]);
    }

    #[test]
    fn commits_round_trip() {
        let sig = Signature { name: "alice".into(), email: "alice@users.noreply.hangar".into(), time: 1_700_000_000 };
        let c = Commit {
            tree: object_id(ObjectKind::Tree, b""),
            parents: vec![object_id(ObjectKind::Blob, b"p")],
            author: sig.clone(),
            committer: sig,
            message: "Title\n\nBody text\n".into(),
        };
        let back = Commit::decode(&c.encode()).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.title(), "Title");
        assert_eq!(back.body(), "Body text");
    }

    #[test]
    fn lfs_pointer_is_the_hub_format() {
        let p = lfs_pointer(&"a".repeat(64), 12);
        assert_eq!(p, format!("version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize 12\n", "a".repeat(64)));
    }
}
