//! What every chart's SVG says to a screen reader: a `<title>` and a `<desc>` as the first
//! children of the `<svg>` element plotters writes.

/// `svg` with `title` and `desc` (escaped) put first inside its root element.
pub fn titled(svg: String, title: &str, desc: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
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
