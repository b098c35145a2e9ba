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
    (
        "plans.html",
        include_str!("../../../web/templates/plans.html"),
    ),
    (
        "plan.html",
        include_str!("../../../web/templates/plan.html"),
    ),
    (
        "pager.html",
        include_str!("../../../web/templates/pager.html"),
    ),
    (
        "plan_skipped.html",
        include_str!("../../../web/templates/plan_skipped.html"),
    ),
    (
        "plan_call.html",
        include_str!("../../../web/templates/plan_call.html"),
    ),
    (
        "dashboard.html",
        include_str!("../../../web/templates/dashboard.html"),
    ),
    ("qa.html", include_str!("../../../web/templates/qa.html")),
    (
        "qa_call.html",
        include_str!("../../../web/templates/qa_call.html"),
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
    (
        "softphone.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/static/softphone.js"),
    ),
    (
        "listen.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/static/listen.js"),
    ),
    (
        "qa.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/static/qa.js"),
    ),
];

pub(crate) fn load() -> anyhow::Result<Tera> {
    let mut tera = Tera::default();
    tera.autoescape_on(vec![".html"]);
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| anyhow::anyhow!("console templates: {e:?}"))?;
    Ok(tera)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_floor_page_renders_with_agents_and_queue_figures() {
        let tera = super::load().unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("me_name", "sup1");
        ctx.insert("me_role", "supervisor");
        ctx.insert("csrf", "t");
        ctx.insert("nav", &vec![("/supervisor", "Floor")]);
        ctx.insert(
            "floor",
            &serde_json::json!({
                "agents": [{"name": "ann", "role": "agent", "skills": "mandarin",
                            "state": "break: lunch", "since_ms": 1, "call": null},
                           {"name": "bob", "role": "agent", "skills": "cantonese",
                            "state": "on call", "since_ms": 5,
                            "call": {"call": "c9", "account": "ACC-9", "dialect": "cantonese",
                                     "reason": "complaint", "since_ms": 5, "ended": false}}],
                "queue": {"waiting": 2, "longest_wait_ms": 4500, "answered": 1,
                          "answered_within_target": 1, "abandoned": 0, "given_up": 0},
                "longest_wait_s": 4,
                "waiting": [{"call": "c7", "account": "ACC-7", "dialect": "mandarin",
                             "reason": "request_human", "since_ms": 3, "ended": false}],
                "calls_in_progress": 6,
                "flags": [{"call": "c9", "account": "ACC-9", "agent": "bob",
                           "type": "forbidden_wording", "channel": "agent", "at_ms": 61000,
                           "rule": "threat", "evidence": "「后果自负」: 后果自负",
                           "raised_at_ms": 7}],
            }),
        );
        for may_listen in [true, false] {
            ctx.insert("may_listen", &may_listen);
            let html = tera
                .render("supervisor.html", &ctx)
                .map_err(|e| format!("{e:?}"))
                .unwrap();
            assert!(html.contains("break: lunch") && html.contains(">4s<"));
            assert!(html.contains("ACC-7") && html.contains("ACC-9 · cantonese"));
            assert_eq!(
                html.contains(r#"class="listen" data-call="c9""#),
                may_listen
            );
            // The live quality flag, with the words that raised it.
            assert!(html.contains(r#"<tr class="qa-flag" data-call="c9">"#));
            assert!(html.contains("forbidden_wording") && html.contains("「后果自负」: 后果自负"));
        }
    }
}
