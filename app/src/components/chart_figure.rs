//! A chart as every page shows it: the SVG plotters drew, titled and described for screen
//! readers, its caption (the key), and the same figures as a table behind "As a table" — or,
//! when it could not be drawn, why.

use leptos::prelude::*;

use super::svg_text::titled;

/// A table of text cells for [`ChartFigure`]'s `table`.
pub fn figures_table(
    class: &'static str,
    head: &[&'static str],
    rows: Vec<Vec<String>>,
) -> AnyView {
    let head = head.to_vec();
    view! {
        <table class=class>
            <thead><tr>{head.into_iter().map(|h| view! { <th>{h}</th> }).collect_view()}</tr></thead>
            <tbody>
                {rows.into_iter().map(|row| view! {
                    <tr>{row.into_iter().map(|cell| view! { <td>{cell}</td> }).collect_view()}</tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn ChartFigure(
    /// Classes beside `chart` on the `<figure>`.
    #[prop(into)]
    class: String,
    /// The drawn SVG, or why it could not be drawn.
    svg: Result<String, String>,
    /// What the chart shows, in a few words (its SVG `<title>`).
    #[prop(into)]
    title: String,
    /// Its figures in words (its SVG `<desc>`).
    #[prop(into)]
    desc: String,
    caption: AnyView,
    #[prop(optional)] table: Option<AnyView>,
) -> impl IntoView {
    match svg {
        Ok(svg) => view! {
            <figure class=format!("chart {class}")>
                <div class="svg" inner_html=titled(svg, &title, &desc)></div>
                <figcaption>{caption}</figcaption>
                {table.map(|t| view! { <details><summary>"As a table"</summary>{t}</details> })}
            </figure>
        }
        .into_any(),
        Err(e) => {
            view! { <p class="muted">{format!("{title}: the chart could not be drawn ({e}).")}</p> }
                .into_any()
        }
    }
}
