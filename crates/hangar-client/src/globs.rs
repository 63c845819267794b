//! `--include` / `--exclude` patterns with the official client's `fnmatch` semantics: `*` matches
//! any run of characters (slashes included), `?` one character, `[abc]`/`[!abc]` a set; a pattern
//! ending in `/` matches everything under that folder.

pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches(&p, &n)
}

fn matches(p: &[char], n: &[char]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut star_n) = (None, 0);
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some(pi);
                    star_n = ni;
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, next)) = class(&p[pi..], n[ni]) {
                        if ok {
                            pi += next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some(s) => {
                pi = s + 1;
                star_n += 1;
                ni = star_n;
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class at the start of `p`; returns (matched, length of the class).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((found != negate, i + 1));
        }
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                found = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                found = true;
            }
            i += 1;
        }
        first = false;
    }
    None
}

/// Does `path` pass the filters? No include patterns means everything is included.
pub fn selected(path: &str, include: &[String], exclude: &[String]) -> bool {
    let m = |pat: &String| {
        let pat = if pat.ends_with('/') { format!("{pat}*") } else { pat.clone() };
        fnmatch(&pat, path)
    };
    (include.is_empty() || include.iter().any(m)) && !exclude.iter().any(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("*.json", "config.json"));
        assert!(fnmatch("*.json", "sub/dir/config.json"), "* crosses slashes, as fnmatch does");
        assert!(!fnmatch("*.json", "config.jsonl"));
        assert!(fnmatch("model-?????-of-*.safetensors", "model-00001-of-00002.safetensors"));
        assert!(fnmatch("[ab]*.txt", "b1.txt"));
        assert!(!fnmatch("[!ab]*.txt", "b1.txt"));
        assert!(fnmatch("logs/*", "logs/a/b.txt"));
        assert!(!selected("logs/a.txt", &[], &["logs/".into()]));
        assert!(selected("x.bin", &["*.bin".into()], &[]));
        assert!(!selected("x.txt", &["*.bin".into()], &[]));
    }
}
