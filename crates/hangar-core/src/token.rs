//! The access-token format: `hf_` followed by 34 ASCII letters, the shape Hugging Face token scanners
//! recognise. 29 letters are random (29 × log2(52) ≈ 165 bits); the last 5 are a checksum of the
//! rest, so a mistyped or invented token is rejected without touching the database. Only the SHA-256
//! of a token is ever stored.

use rand::Rng;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "hf_";
const ALPHABET: &[u8; 52] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 29;
const CHECK_LEN: usize = 5;
pub const TOKEN_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECK_LEN;

/// A freshly generated secret. It is shown to its owner once and never stored.
pub struct Secret(String);

impl Secret {
    pub fn generate() -> Secret {
        let mut rng = rand::rngs::OsRng;
        let mut s = String::with_capacity(TOKEN_LEN);
        s.push_str(PREFIX);
        for _ in 0..RANDOM_LEN {
            s.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
        }
        let check = checksum(&s[PREFIX.len()..]);
        s.push_str(&check);
        Secret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

fn checksum(random_part: &str) -> String {
    let digest = Sha256::digest(random_part.as_bytes());
    let mut n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    let mut out = [0u8; CHECK_LEN];
    for slot in out.iter_mut() {
        *slot = ALPHABET[(n % 52) as usize];
        n /= 52;
    }
    String::from_utf8(out.to_vec()).expect("ascii")
}

/// True when `s` has the token shape and its checksum matches.
pub fn is_well_formed(s: &str) -> bool {
    if s.len() != TOKEN_LEN || !s.starts_with(PREFIX) {
        return false;
    }
    let body = &s[PREFIX.len()..];
    if !body.bytes().all(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    let (random, check) = body.split_at(RANDOM_LEN);
    checksum(random) == check
}

/// The stored form of a token.
pub fn hash_token(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// What a token list may show: the prefix and the last four letters.
pub fn mask(last4: &str) -> String {
    format!("{PREFIX}…{last4}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_distinct() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_ne!(a.expose(), b.expose());
        for t in [&a, &b] {
            let s = t.expose();
            assert_eq!(s.len(), 37);
            assert!(s.starts_with("hf_") && s[3..].bytes().all(|c| c.is_ascii_alphabetic()));
            assert!(is_well_formed(s));
            assert_eq!(t.hash().len(), 64);
        }
    }

    #[test]
    fn any_single_typo_is_detected() {
        let t = Secret::generate();
        let s = t.expose().to_owned();
        for i in 3..s.len() {
            let mut bytes = s.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(!is_well_formed(&typo), "typo at {i} accepted");
        }
        assert!(!is_well_formed(&s[..36]));
        assert!(!is_well_formed(&format!("{s} ")));
        assert!(!is_well_formed("hf_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let t = Secret::generate();
        assert!(!format!("{t:?}").contains(&t.expose()[3..]));
    }
}
