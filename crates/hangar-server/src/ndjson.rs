//! A JSON reader for commit bodies that never holds a large string in memory. The Hub's commit
//! format inlines file contents as base64 strings inside NDJSON lines; a line may be gigabytes
//! long. Strings longer than [`SPILL_AT`] bytes are written to a temporary file as they are read
//! and appear in the parsed value as a marker naming that file.

use serde_json::{Map, Number, Value};
use std::io::{BufRead, Write};
use std::path::Path;

pub const SPILL_AT: usize = 64 * 1024;
const MAX_DEPTH: usize = 32;
const SPILL_MARK: &str = "\u{0}spill:";

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("invalid JSON at byte {pos}: {why}")]
    Syntax { pos: u64, why: &'static str },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub struct Parser<R> {
    input: R,
    pos: u64,
    spill_dir: std::path::PathBuf,
    pub spills: Vec<tempfile::NamedTempFile>,
}

impl<R: BufRead> Parser<R> {
    pub fn new(input: R, spill_dir: &Path) -> Self {
        Parser { input, pos: 0, spill_dir: spill_dir.to_owned(), spills: Vec::new() }
    }

    fn err<T>(&self, why: &'static str) -> Result<T, ParseError> {
        Err(ParseError::Syntax { pos: self.pos, why })
    }

    fn peek(&mut self) -> Result<Option<u8>, ParseError> {
        Ok(self.input.fill_buf()?.first().copied())
    }

    fn bump(&mut self) -> Result<Option<u8>, ParseError> {
        let b = self.peek()?;
        if b.is_some() {
            self.input.consume(1);
            self.pos += 1;
        }
        Ok(b)
    }

    fn skip_ws(&mut self) -> Result<(), ParseError> {
        while let Some(b) = self.peek()? {
            if b == b' ' || b == b'\t' || b == b'\r' {
                self.bump()?;
            } else {
                break;
            }
        }
        Ok(())
    }

    /// Skips blank lines; returns false at the end of input.
    pub fn next_line(&mut self) -> Result<bool, ParseError> {
        loop {
            self.skip_ws()?;
            match self.peek()? {
                None => return Ok(false),
                Some(b'\n') => {
                    self.bump()?;
                }
                Some(_) => return Ok(true),
            }
        }
    }

    /// Reads one JSON value and the end of its line.
    pub fn read_line_value(&mut self) -> Result<Value, ParseError> {
        let v = self.value(0)?;
        self.skip_ws()?;
        match self.bump()? {
            None | Some(b'\n') => Ok(v),
            Some(_) => self.err("expected a newline after the JSON value"),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        self.skip_ws()?;
        match self.peek()? {
            Some(b'{') => {
                self.bump()?;
                let mut map = Map::new();
                self.skip_ws()?;
                if self.peek()? == Some(b'}') {
                    self.bump()?;
                    return Ok(Value::Object(map));
                }
                loop {
                    self.skip_ws()?;
                    if self.peek()? != Some(b'"') {
                        return self.err("expected a string key");
                    }
                    let key = match self.string()? {
                        Value::String(s) if !s.starts_with(SPILL_MARK) => s,
                        _ => return self.err("object key too long"),
                    };
                    self.skip_ws()?;
                    if self.bump()? != Some(b':') {
                        return self.err("expected ':'");
                    }
                    let v = self.value(depth + 1)?;
                    map.insert(key, v);
                    self.skip_ws()?;
                    match self.bump()? {
                        Some(b',') => continue,
                        Some(b'}') => return Ok(Value::Object(map)),
                        _ => return self.err("expected ',' or '}'"),
                    }
                }
            }
            Some(b'[') => {
                self.bump()?;
                let mut items = Vec::new();
                self.skip_ws()?;
                if self.peek()? == Some(b']') {
                    self.bump()?;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws()?;
                    match self.bump()? {
                        Some(b',') => continue,
                        Some(b']') => return Ok(Value::Array(items)),
                        _ => return self.err("expected ',' or ']'"),
                    }
                }
            }
            Some(b'"') => self.string(),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.err("unexpected character"),
            None => self.err("unexpected end of input"),
        }
    }

    fn literal(&mut self, word: &'static [u8], v: Value) -> Result<Value, ParseError> {
        for &expected in word {
            if self.bump()? != Some(expected) {
                return self.err("invalid literal");
            }
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let mut s = String::new();
        while let Some(b) = self.peek()? {
            if b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E') {
                if s.len() > 64 {
                    return self.err("number too long");
                }
                s.push(b as char);
                self.bump()?;
            } else {
                break;
            }
        }
        if let Ok(i) = s.parse::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        match s.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Ok(Value::Number(n)),
            None => self.err("invalid number"),
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut n = 0u32;
        for _ in 0..4 {
            let Some(b) = self.bump()? else { return self.err("truncated escape") };
            let d = (b as char).to_digit(16);
            let Some(d) = d else { return self.err("invalid \\u escape") };
            n = n * 16 + d;
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<Value, ParseError> {
        self.bump()?; // opening quote
        let mut buf: Vec<u8> = Vec::new();
        let mut spill: Option<std::io::BufWriter<std::fs::File>> = None;
        loop {
            // Copy a run of plain bytes at once.
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                return self.err("unterminated string");
            }
            let run = chunk.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(chunk.len());
            if run > 0 {
                buf.extend_from_slice(&chunk[..run]);
                self.input.consume(run);
                self.pos += run as u64;
            } else {
                match self.bump()? {
                    Some(b'"') => break,
                    Some(b'\\') => {
                        let c = match self.bump()? {
                            Some(b'"') => '"',
                            Some(b'\\') => '\\',
                            Some(b'/') => '/',
                            Some(b'b') => '\u{8}',
                            Some(b'f') => '\u{c}',
                            Some(b'n') => '\n',
                            Some(b'r') => '\r',
                            Some(b't') => '\t',
                            Some(b'u') => {
                                let hi = self.hex4()?;
                                let code = if (0xD800..0xDC00).contains(&hi) {
                                    if self.bump()? != Some(b'\\') || self.bump()? != Some(b'u') {
                                        return self.err("unpaired surrogate");
                                    }
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return self.err("invalid surrogate pair");
                                    }
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    hi
                                };
                                match char::from_u32(code) {
                                    Some(c) => c,
                                    None => return self.err("invalid \\u escape"),
                                }
                            }
                            _ => return self.err("invalid escape"),
                        };
                        let mut tmp = [0u8; 4];
                        buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                    }
                    _ => return self.err("control character in string"),
                }
            }
            if buf.len() >= SPILL_AT {
                let w = match &mut spill {
                    Some(w) => w,
                    None => {
                        let f = tempfile::Builder::new().prefix("spill-").tempfile_in(&self.spill_dir)?;
                        let file = f.reopen()?;
                        self.spills.push(f);
                        spill.insert(std::io::BufWriter::with_capacity(256 * 1024, file))
                    }
                };
                w.write_all(&buf)?;
                buf.clear();
            }
        }
        match spill {
            None => match String::from_utf8(buf) {
                Ok(s) => Ok(Value::String(s)),
                Err(_) => self.err("string is not valid UTF-8"),
            },
            Some(mut w) => {
                w.write_all(&buf)?;
                w.flush()?;
                Ok(Value::String(format!("{SPILL_MARK}{}", self.spills.len() - 1)))
            }
        }
    }
}

/// When `v` is a spilled string, the index of its file in [`Parser::spills`].
pub fn spilled(v: &Value) -> Option<usize> {
    v.as_str()?.strip_prefix(SPILL_MARK)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read};

    fn parse_all(input: &str) -> (Vec<Value>, Vec<tempfile::NamedTempFile>) {
        let dir = std::env::temp_dir();
        let mut p = Parser::new(Cursor::new(input.as_bytes().to_vec()), &dir);
        let mut out = vec![];
        while p.next_line().unwrap() {
            out.push(p.read_line_value().unwrap());
        }
        (out, p.spills)
    }

    #[test]
    fn parses_lines_like_serde_json() {
        let text = "{\"key\": \"header\", \"value\": {\"summary\": \"h\\u00e9 \\\"x\\\" \\ud83d\\ude00\", \"n\": [1, -2.5, true, null]}}\n\n{\"a\":{}}\n";
        let (vals, _) = parse_all(text);
        let expected: Vec<Value> = text.lines().filter(|l| !l.is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(vals, expected);
    }

    #[test]
    fn long_strings_are_spilled_to_disk() {
        let big = "QUJD".repeat(100_000);
        let line = format!("{{\"key\": \"file\", \"value\": {{\"content\": \"{big}\", \"path\": \"a.bin\"}}}}\n");
        let (vals, spills) = parse_all(&line);
        let content = &vals[0]["value"]["content"];
        let idx = spilled(content).expect("spilled");
        let mut s = String::new();
        std::fs::File::open(spills[idx].path()).unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, big);
        assert_eq!(vals[0]["value"]["path"], "a.bin");
    }

    #[test]
    fn rejects_garbage() {
        let dir = std::env::temp_dir();
        for bad in ["{\"a\": }", "{\"a\": \"x", "[1 2]", "{\"a\": 1} x", "nul"] {
            let mut p = Parser::new(Cursor::new(bad.as_bytes().to_vec()), &dir);
            assert!(p.next_line().unwrap());
            assert!(p.read_line_value().is_err(), "{bad}");
        }
    }
}
