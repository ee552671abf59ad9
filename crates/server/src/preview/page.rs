//! What a page says about itself: Open Graph title, description and image, else its `<title>`
//! and description meta tag. Only the document's text is read; nothing is run or fetched.

use cromulent_proto::rest::Embed;

/// Longest title kept, in characters.
const MAX_TITLE: usize = 256;

/// Longest description kept, in characters.
const MAX_DESCRIPTION: usize = 1024;

/// A page's preview, before its picture is put behind the server's image proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePreview {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Absolute http(s) URL of its picture.
    pub image: Option<url::Url>,
}

impl PagePreview {
    /// The wire form for `link`, with `image_url` as the client should load it.
    pub fn into_embed(self, link: &url::Url, image_url: Option<String>) -> Embed {
        Embed { url: link.to_string(), title: self.title, description: self.description, image_url }
    }
}

/// Reads `html` (fetched from `base`); `None` when it offers neither a title nor a description.
pub fn read(html: &str, base: &url::Url) -> Option<PagePreview> {
    let dom = tl::parse(html, tl::ParserOptions::default()).ok()?;
    let parser = dom.parser();
    let mut og_title = None;
    let mut og_description = None;
    let mut og_image = None;
    let mut description = None;
    for node in dom.query_selector("meta").into_iter().flatten() {
        let Some(tag) = node.get(parser).and_then(tl::Node::as_tag) else { continue };
        let attribute = |name: &str| tag.attributes().get(name).flatten().map(|v| v.as_utf8_str().into_owned());
        let key = attribute("property").or_else(|| attribute("name")).map(|k| k.to_ascii_lowercase());
        let Some(content) = attribute("content") else { continue };
        match key.as_deref() {
            Some("og:title") => og_title = og_title.or(Some(content)),
            Some("og:description") => og_description = og_description.or(Some(content)),
            Some("og:image" | "og:image:url") => og_image = og_image.or(Some(content)),
            Some("description") => description = description.or(Some(content)),
            _ => {}
        }
    }
    let title_tag = dom
        .query_selector("title")
        .and_then(|mut titles| titles.next())
        .and_then(|node| node.get(parser))
        .map(|node| node.inner_text(parser).into_owned());
    let title = og_title.or(title_tag).map(|t| clean(&t, MAX_TITLE)).filter(|t| !t.is_empty());
    let description = og_description.or(description).map(|d| clean(&d, MAX_DESCRIPTION)).filter(|d| !d.is_empty());
    let image = og_image
        .and_then(|src| base.join(decode_entities(src.trim()).as_str()).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"));
    (title.is_some() || description.is_some()).then_some(PagePreview { title, description, image })
}

/// Entities decoded, whitespace collapsed, control characters dropped, at most `max` characters.
fn clean(text: &str, max: usize) -> String {
    let decoded = decode_entities(text);
    let words: Vec<&str> = decoded.split_whitespace().collect();
    words.join(" ").chars().filter(|c| !c.is_control()).take(max).collect()
}

/// The character references pages use in titles: named basics and numeric ones.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &after[..end];
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#39" => Some('\''),
                "nbsp" => Some(' '),
                _ if name.starts_with("#x") || name.starts_with("#X") => {
                    u32::from_str_radix(&name[2..], 16).ok().and_then(char::from_u32)
                }
                _ if name.starts_with('#') => name[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            ch.map(|ch| (ch, end))
        });
        match decoded {
            Some((ch, end)) => {
                out.push(ch);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> url::Url {
        url::Url::parse("https://news.example/articles/1").unwrap()
    }

    #[test]
    fn open_graph_wins_and_relative_pictures_are_resolved() {
        let html = r#"<html><head><title>Plain</title>
            <meta property="og:title" content="Big &amp; Bold">
            <meta name="description" content="fallback">
            <meta property="og:description" content="  What
               happened  ">
            <meta property="og:image" content="/img/cover.png">
            </head><body>hi</body></html>"#;
        let preview = read(html, &base()).unwrap();
        assert_eq!(preview.title.as_deref(), Some("Big & Bold"));
        assert_eq!(preview.description.as_deref(), Some("What happened"));
        assert_eq!(preview.image.unwrap().as_str(), "https://news.example/img/cover.png");
    }

    #[test]
    fn the_title_tag_when_there_is_no_open_graph_and_nothing_without_either() {
        let preview = read("<title>Just &#8220;a&#x201D; title</title>", &base()).unwrap();
        assert_eq!(preview.title.as_deref(), Some("Just \u{201c}a\u{201d} title"));
        assert_eq!(preview.image, None);
        assert!(read("<p>no head at all</p>", &base()).is_none());
        let script = read(r#"<meta property="og:image" content="javascript:alert(1)"><title>t</title>"#, &base()).unwrap();
        assert_eq!(script.image, None, "only http(s) pictures");
    }
}
