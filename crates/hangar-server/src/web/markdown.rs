//! Model cards: the README's YAML header and its Markdown body rendered to sanitised HTML.

/// The YAML metadata (when the README starts with a `---` block) and the Markdown after it.
pub fn split_front_matter(text: &str) -> (Option<serde_yaml::Value>, &str) {
    let Some(rest) = text.strip_prefix("---") else { return (None, text) };
    let Some(end) = rest.find("\n---") else { return (None, text) };
    let body = rest[end + 4..].trim_start_matches(|c| c != '\n').trim_start_matches('\n');
    (serde_yaml::from_str(&rest[..end]).ok(), body)
}

/// Markdown to HTML; raw HTML in the card passes through ammonia, which keeps formatting and
/// drops scripts, event handlers, styles and `javascript:` links.
pub fn render(markdown: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TASKLISTS);
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(markdown, opts));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        // Pages load nothing from other hosts: an image elsewhere keeps its alt text only.
        .attribute_filter(|element, attribute, value| {
            let remote = value.starts_with("//") || value.split_once(':').is_some_and(|(scheme, _)| !scheme.contains('/'));
            if element == "img" && (attribute == "src" || attribute == "srcset") && remote && !value.starts_with("data:") {
                None
            } else {
                Some(value.into())
            }
        })
        .clean(&out)
        .to_string()
}

/// The metadata values shown as tags: `(label, value)`.
pub fn tags(meta: &serde_yaml::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for key in ["license", "pipeline_tag", "library_name", "language", "datasets", "base_model", "tags"] {
        let Some(v) = meta.get(key) else { continue };
        let values: Vec<String> = match v {
            serde_yaml::Value::Sequence(seq) => seq.iter().filter_map(scalar).collect(),
            other => scalar(other).into_iter().collect(),
        };
        for value in values.into_iter().take(20) {
            out.push((key.to_owned(), value));
        }
    }
    out
}

fn scalar(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_are_removed() {
        let html = render("# Title\n\n**bold** [x](javascript:alert(3))\n\n<img src=x onerror=alert(2)>\n\n<script>alert(1)</script>\n");
        assert!(html.contains("<h1>Title</h1>"));
        assert!(html.contains("<strong>bold</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("onerror"));
        assert!(!html.contains("javascript:"));
    }

    #[test]
    fn images_from_other_hosts_are_not_loaded() {
        let html = render("![logo](https://cdn.example.com/logo.png)\n\n<img src=\"//tracker.example.net/p.gif\">\n\n![local](images/a.png)\n");
        assert!(!html.contains("cdn.example.com"), "{html}");
        assert!(!html.contains("tracker.example.net"), "{html}");
        assert!(html.contains("alt=\"logo\""), "{html}");
        assert!(html.contains("src=\"images/a.png\""), "{html}");
    }

    #[test]
    fn front_matter_becomes_tags() {
        let (meta, body) = split_front_matter("---\nlicense: mit\ntags:\n- text\n- bert\n---\n# Card\n");
        assert_eq!(body, "# Card\n");
        let tags = tags(&meta.unwrap());
        assert_eq!(tags, vec![("license".into(), "mit".into()), ("tags".into(), "text".into()), ("tags".into(), "bert".into())]);
    }

    #[test]
    fn a_readme_without_front_matter_is_all_body() {
        let (meta, body) = split_front_matter("Just text\n---\nmore");
        assert!(meta.is_none());
        assert_eq!(body, "Just text\n---\nmore");
    }
}
