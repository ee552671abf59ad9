//! Link previews against a site the test runs on loopback: title, description and picture are
//! read and reach readers by `message_update`; the picture comes through the server; redirects
//! into the server's own networks, pages that are slow, huge or not HTML, and (with
//! `links.allow_loopback` off) loopback itself get no preview — and no request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Gateway, TestApp};

/// A tiny site: `/page`, `/plain-title`, `/to-metadata`, `/to-loopback-page`, `/slow`, `/huge`,
/// `/json`, `/cover.png`; counts the requests it gets.
struct Site {
    base: String,
    hits: Arc<AtomicUsize>,
}

fn png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbaImage::from_pixel(4, 4, image::Rgba([0, 200, 0, 255])).write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn site() -> Site {
    site_on("127.0.0.1", None).await
}

/// The site on `ip`, with `/elsewhere` redirecting to `elsewhere` when given.
async fn site_on(ip: &str, elsewhere: Option<String>) -> Site {
    let hits = Arc::new(AtomicUsize::new(0));
    let elsewhere = elsewhere.unwrap_or_default();
    let html = |body: &'static str| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let app = Router::new()
        .route(
            "/page",
            get(move || async move {
                html(
                    r#"<html><head><title>Fallback</title>
                    <meta property="og:title" content="Launch &amp; Landing">
                    <meta property="og:description" content="The mission report.">
                    <meta property="og:image" content="/cover.png"></head><body>...</body></html>"#,
                )
            }),
        )
        .route("/plain-title", get(move || async move { html("<title>Only a title</title>") }))
        .route("/to-metadata", get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/") }))
        .route("/elsewhere", get(move || async move { Redirect::temporary(&elsewhere) }))
        .route("/cover.png", get(|| async { ([(header::CONTENT_TYPE, "image/png")], png()).into_response() }))
        .route("/json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], r#"{"title": "no"}"#).into_response() }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(8)).await;
                ([(header::CONTENT_TYPE, "text/html")], "<title>Too late</title>").into_response()
            }),
        )
        .route(
            "/huge",
            get(|| async {
                // The title comes after 600 KiB: past what the server reads.
                let mut body = "<html><head>".to_owned();
                body.push_str(&"<!-- padding -->".repeat(600 * 1024 / 16));
                body.push_str("<title>Hidden deep</title></head></html>");
                ([(header::CONTENT_TYPE, "text/html")], body).into_response()
            }),
        )
        .layer(axum::middleware::from_fn({
            let hits = Arc::clone(&hits);
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let hits = Arc::clone(&hits);
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let response: Response = next.run(request).await;
                    response
                }
            }
        }));
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Site { base, hits }
}

/// The next `message_update` for message `id`, or `None` within `wait`.
async fn preview_of(gateway: &mut Gateway, id: &Value, wait: Duration) -> Option<Value> {
    tokio::time::timeout(wait, async {
        loop {
            let frame = gateway.next().await;
            if frame["t"] == "message_update" && frame["d"]["id"] == *id {
                return frame["d"]["embeds"].clone();
            }
        }
    })
    .await
    .ok()
}

#[tokio::test]
async fn a_page_gets_a_preview_whose_picture_comes_through_the_server() {
    let site = site().await;
    let app = TestApp::spawn_with(|c| c.links.allow_loopback = true).await;
    let amy = app.register("amy").await;
    let general = app.general(&amy).await;
    let mut gateway = app.gateway(&amy).await;

    let message = app.post(&amy, &general, &format!("look: {}/page.", site.base)).await;
    let embeds = preview_of(&mut gateway, &message["id"], Duration::from_secs(10)).await.expect("a preview");
    let embed = &embeds[0];
    assert_eq!(embed["url"], format!("{}/page", site.base));
    assert_eq!((embed["title"].as_str(), embed["description"].as_str()), (Some("Launch & Landing"), Some("The mission report.")));
    let image_url = embed["image_url"].as_str().unwrap();
    assert!(image_url.starts_with("/api/v1/embeds/image?url="), "{image_url}");
    // History carries it too.
    let (_, history) = app.call(Method::GET, &format!("/channels/{general}/messages"), Some(&amy.token), None).await;
    assert_eq!(history[0]["embeds"], embeds);

    let picture = app.http.get(format!("http://{}{image_url}", app.addr)).bearer_auth(&amy.token).send().await.unwrap();
    assert_eq!(picture.status(), StatusCode::OK);
    assert_eq!(picture.headers()["content-type"], "image/png");
    assert_eq!(picture.bytes().await.unwrap().to_vec(), png());
    // Only pictures the server signed; only for members.
    let forged = image_url.replace("cover.png", "page");
    let refused = app.http.get(format!("http://{}{forged}", app.addr)).bearer_auth(&amy.token).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let stranger = app.http.get(format!("http://{}{image_url}", app.addr)).send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);

    // A title alone is enough.
    let message = app.post(&amy, &general, &format!("{}/plain-title", site.base)).await;
    let embeds = preview_of(&mut gateway, &message["id"], Duration::from_secs(10)).await.expect("a preview");
    assert_eq!(embeds[0]["title"], "Only a title");
    assert!(embeds[0].get("image_url").is_none());
}

#[tokio::test]
async fn redirects_inward_and_slow_huge_or_non_html_pages_get_no_preview() {
    let site = site().await;
    let app = TestApp::spawn_with(|c| c.links.allow_loopback = true).await;
    let amy = app.register("amy").await;
    let general = app.general(&amy).await;
    let mut gateway = app.gateway(&amy).await;

    let mut posted = Vec::new();
    for path in ["/to-metadata", "/slow", "/huge", "/json"] {
        posted.push(app.post(&amy, &general, &format!("{}{path}", site.base)).await["id"].clone());
    }
    // A control that does get one, to know the fetches ran.
    let control = app.post(&amy, &general, &format!("{}/plain-title", site.base)).await["id"].clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(7);
    let mut previewed = Vec::new();
    while let Ok(frame) = tokio::time::timeout_at(deadline, gateway.next()).await {
        if frame["t"] == "message_update" {
            previewed.push(frame["d"]["id"].clone());
        }
    }
    assert_eq!(previewed, [control], "only the plain page was previewed");
}

#[tokio::test]
async fn loopback_is_out_of_reach_unless_tests_allow_it_and_previews_can_be_off() {
    let site = site().await;
    for (allow_loopback, previews) in [(false, true), (true, false)] {
        let app = TestApp::spawn_with(move |c| {
            c.links.allow_loopback = allow_loopback;
            c.links.previews = previews;
        })
        .await;
        let amy = app.register("amy").await;
        let general = app.general(&amy).await;
        let mut gateway = app.gateway(&amy).await;
        let port = site.base.rsplit(':').next().unwrap();
        for link in [
            format!("{}/page", site.base),
            format!("http://localhost:{port}/page"),
            format!("http://[::ffff:127.0.0.1]:{port}/page"),
        ] {
            let message = app.post(&amy, &general, &link).await;
            assert_eq!(preview_of(&mut gateway, &message["id"], Duration::from_millis(700)).await, None, "{link}");
        }
    }
    assert_eq!(site.hits.load(Ordering::SeqCst), 0, "no request reached the site");
}

#[tokio::test]
async fn a_redirect_to_loopback_is_refused_when_only_the_site_is_allowed() {
    // The site lives on 127.0.0.2, which the relay's allow list lets through; loopback itself
    // (127.0.0.1, where a second site counts requests) stays out of reach.
    let inside = site().await;
    let outside = site_on("127.0.0.2", Some(format!("{}/page", inside.base))).await;
    let app = TestApp::spawn_with(|c| c.turn.allowed_peer_ips = vec!["127.0.0.2/32".parse().unwrap()]).await;
    let amy = app.register("amy").await;
    let general = app.general(&amy).await;
    let mut gateway = app.gateway(&amy).await;

    let allowed = app.post(&amy, &general, &format!("{}/page", outside.base)).await;
    assert!(preview_of(&mut gateway, &allowed["id"], Duration::from_secs(10)).await.is_some(), "the allowed site is previewed");
    let redirected = app.post(&amy, &general, &format!("{}/elsewhere", outside.base)).await;
    assert_eq!(preview_of(&mut gateway, &redirected["id"], Duration::from_secs(2)).await, None);
    assert_eq!(inside.hits.load(Ordering::SeqCst), 0, "the redirect was not followed");
    assert!(outside.hits.load(Ordering::SeqCst) >= 2);
}
