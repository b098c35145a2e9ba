//! The page templates (`web/templates`) and static files (`web/static`),
//! compiled into the binary so the console runs from any directory.

use tera::Tera;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../../web/templates/base.html"),
    ),
    (
        "login.html",
        include_str!("../../../web/templates/login.html"),
    ),
    (
        "agent.html",
        include_str!("../../../web/templates/agent.html"),
    ),
    (
        "supervisor.html",
        include_str!("../../../web/templates/supervisor.html"),
    ),
    (
        "users.html",
        include_str!("../../../web/templates/users.html"),
    ),
    (
        "audit.html",
        include_str!("../../../web/templates/audit.html"),
    ),
    (
        "account.html",
        include_str!("../../../web/templates/account.html"),
    ),
];

/// `(name, content type, body)` of each static file.
pub(crate) const STATIC: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/static/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/static/console.js"),
    ),
];

pub(crate) fn load() -> anyhow::Result<Tera> {
    let mut tera = Tera::default();
    tera.autoescape_on(vec![".html"]);
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| anyhow::anyhow!("console templates: {e:?}"))?;
    Ok(tera)
}
