//! Paged tables: the page number a query asks for, the query string of
//! a filter on another page, and the pager's part of a page
//! (`web/templates/pager.html`).

use crate::error::ConsoleError;

/// Rows per page of a paged table.
pub(super) const PAGE: u64 = 50;

/// A page number from a query (blank: the first).
pub(super) fn page_number(given: &str) -> Result<u64, ConsoleError> {
    let given = given.trim();
    if given.is_empty() {
        return Ok(1);
    }
    given
        .parse::<u64>()
        .ok()
        .filter(|p| (1..=1_000_000).contains(p))
        .ok_or_else(|| ConsoleError::BadInput {
            field: "page",
            reason: "a page number from 1".into(),
        })
}

/// The query string of a filter's non-blank fields on page `page`.
pub(super) fn on_page(fields: &[(&str, &String)], page: u64) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        if !v.trim().is_empty() {
            q.append_pair(k, v.trim());
        }
    }
    q.append_pair("page", &page.to_string());
    q.finish()
}

/// The pager's part of a page: page `page` of `total` rows, [`PAGE`] to
/// a page; `link(n)` is the query string of page `n` under `base`.
pub(super) fn pager(
    ctx: &mut tera::Context,
    page: u64,
    total: u64,
    base: String,
    link: impl Fn(u64) -> String,
) {
    let pages = total.div_ceil(PAGE).max(1);
    ctx.insert("total", &total);
    ctx.insert("page", &page);
    ctx.insert("pages", &pages);
    ctx.insert("pager_base", &base);
    ctx.insert("prev", &(page > 1).then(|| link(page - 1)));
    ctx.insert("next", &(page < pages).then(|| link(page + 1)));
}
