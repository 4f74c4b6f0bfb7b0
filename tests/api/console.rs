//! The console at /console: served from the binary under a Content-Security-Policy without
//! inline script or style, and driven in a real browser against the demo's people.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::helpers::{TestApp, webauthn_on_localhost};
use crate::node;

#[tokio::test]
async fn console_pages_answer_one_app_under_a_strict_policy() {
    let app = TestApp::spawn().await;
    for path in [
        "/console",
        "/console/",
        "/console/members",
        "/console/sso?sso_code=x",
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        for wanted in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(directives.contains(&wanted), "{wanted} in {csp}");
        }
        assert!(!csp.contains("unsafe"), "nothing unsafe: {csp}");
        let page = response.text().await.unwrap();
        assert!(
            !page.contains("https://") && !page.contains("http://"),
            "the page names no other host:\n{page}"
        );
        assert!(!page.contains("style="), "no inline style:\n{page}");
        let scripts: Vec<&str> = page.split("<script").skip(1).collect();
        assert_eq!(scripts.len(), 1, "one script:\n{page}");
        assert!(
            scripts[0].starts_with(" type=\"module\" src=\"/console/assets/"),
            "{page}"
        );
    }
    // An asset under another digest is not the asset.
    let response = app
        .client
        .get(format!(
            "{}/console/assets/000000000000/console.js",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn console_runs_its_flows_in_a_browser_for_every_preset_role() {
    if let Err(missing) = node::tool_available("oathtool", "install OATH Toolkit") {
        node::skip_or_fail(&missing);
        return;
    }
    // The browser opens the console at localhost, where security keys can be registered.
    let mut server = String::new();
    let app = TestApp::spawn_with(|settings| {
        server = webauthn_on_localhost(settings);
        // The webhook receiver below is on loopback; checkpoints are signed whenever asked.
        settings.webhooks.allow_http = true;
        settings.outbound.allow = vec!["127.0.0.1/32".parse().unwrap()];
        settings.webhooks.checkpoint_every = std::time::Duration::ZERO;
        settings.webhooks.poll = std::time::Duration::from_millis(200);
        // A short step-up window, for the console to be seen asking for a second factor.
        settings.mfa_step_up = chrono::Duration::seconds(8);
    })
    .await;
    let receiver = webhook_receiver().await;
    // The delivery worker `charter serve` runs, for the webhooks page's test message.
    tokio::spawn(charter::services::webhooks::worker::run(
        app.state.clone(),
        std::future::pending(),
    ));
    let logins = charter::services::bootstrap::seed_demo(&app.state)
        .await
        .unwrap_or_else(|err| panic!("the demo seeds: {}", err.message));
    let acme = entity::organization::Entity::find()
        .filter(entity::organization::Column::Name.eq("Acme Security"))
        .one(app.state.database())
        .await
        .unwrap()
        .expect("the demo's Acme");
    app.license_custom_roles(&acme).await;
    // The demo's changes are the chain's head: sign it, for the audit page to verify.
    let signed = charter::services::webhooks::checkpoints::sign_due(&app.state)
        .await
        .unwrap_or_else(|err| panic!("checkpoints: {}", err.message));
    assert!(signed >= 1, "the demo's organizations have checkpoints");
    let logins: Vec<_> = logins
        .iter()
        .map(|login| {
            json!({
                "email": login.email,
                "password": login.password,
                "summary": login.summary,
                "totp": login.totp.as_ref().map(|(secret, uri)| [secret, uri]),
            })
        })
        .collect();
    let Some(run) = in_browser(json!({
        "server": server,
        "logins": logins,
        "screenshots": std::env::var("CHARTER_CONSOLE_SCREENSHOTS").ok(),
        "receiver": receiver,
        "checkpoint": true,
    }))
    .await
    else {
        return;
    };
    println!("{}", run.output);
    assert!(run.success, "the console in Chromium:\n{}", run.output);
    assert!(
        run.output.contains("console flows passed"),
        "{}",
        run.output
    );
    // Every preset role of the policy was signed in as and compared with the catalog.
    let roles = run
        .output
        .lines()
        .filter(|line| line.starts_with("role "))
        .count();
    assert_eq!(
        roles,
        app.state.policy.roles().len(),
        "one line per preset role:\n{}",
        run.output
    );
}

#[tokio::test]
async fn console_signs_in_through_the_organizations_identity_provider() {
    // Charter's own origin is not among the return origins: its console needs no listing.
    let Some(sso) = crate::sso::Sso::start_with(
        &[("grace", "grace@acme.test", true)],
        None,
        &[],
        without_own_origin,
    )
    .await
    else {
        return;
    };
    let configured = sso.configure(true, false).await;
    assert!(
        configured["data"]["configureSso"]["startUrl"].is_string(),
        "{configured}"
    );
    let Some(run) = in_browser(json!({
        "server": sso.app.address,
        "logins": [],
        "sso": { "email": "grace@acme.test", "login": "grace" },
    }))
    .await
    else {
        return;
    };
    println!("{}", run.output);
    assert!(
        run.success,
        "single sign-on in the console:\n{}",
        run.output
    );
    assert!(
        run.output
            .contains("signed in through single sign-on as grace@acme.test at /console/"),
        "{}",
        run.output
    );
}

#[tokio::test]
async fn single_sign_on_returns_to_the_console_unlisted_and_nowhere_else_on_its_origin() {
    let Some(sso) = crate::sso::Sso::start_with(&[], None, &[], without_own_origin).await else {
        return;
    };
    sso.configure(false, false).await;
    let own = &sso.app.address;
    let status = |return_to: String| {
        let url = sso.start_url(&return_to);
        async move {
            crate::sso::Acme::browser()
                .get(url)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(format!("{own}/console/sso")).await, 303);
    for refused in [
        format!("{own}/consolex/sso"),
        format!("{own}/console"),
        format!("{own}/graphiql"),
        format!("{own}/console/../graphiql"),
        format!("{own}0/console/sso"),
        format!("{own}/console/sso?sso_code=planted"),
    ] {
        assert_eq!(status(refused.clone()).await, 400, "{refused}");
    }
}

/// Takes Charter's own origin out of the return origins the single sign-on tests list.
fn without_own_origin(settings: &mut charter::config::Settings) {
    let own = settings.sso.public_url.clone().unwrap();
    settings.sso.return_origins.retain(|origin| *origin != own);
}

/// Runs `console-in-browser.mjs` with `setup` (the server, the people, what to run); `None`
/// when the browser cannot run here (outside CI only).
async fn in_browser(setup: serde_json::Value) -> Option<node::ScriptRun> {
    if let Err(missing) = node::chromium() {
        node::skip_or_fail(&missing);
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("setup.json");
    std::fs::write(&file, setup.to_string()).unwrap();
    node::run_script("console-in-browser.mjs", &[file.to_str().unwrap()]).await
}

/// A webhook receiver on loopback that takes every delivery: its URL.
async fn webhook_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}/hook")
}
