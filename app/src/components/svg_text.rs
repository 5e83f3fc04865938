//! What charts add to the SVG plotters writes: a `<title>` and a `<desc>` as the first children
//! of its root element for screen readers, and elements plotters cannot draw (links, tooltips)
//! at its end.

/// Text made safe to stand in SVG content or an attribute.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `svg` with `title` and `desc` (escaped) put first inside its root element.
pub fn titled(svg: String, title: &str, desc: &str) -> String {
    match svg.find('>') {
        Some(end) => format!(
            "{}<title>{}</title><desc>{}</desc>{}",
            &svg[..=end],
            escape(title),
            escape(desc),
            &svg[end + 1..]
        ),
        None => svg,
    }
}

/// `svg` with `markup` drawn last (on top), just before its root element closes.
pub fn with_overlay(svg: String, markup: &str) -> String {
    match svg.rfind("</svg>") {
        Some(end) => format!("{}{markup}{}", &svg[..end], &svg[end..]),
        None => svg,
    }
}
