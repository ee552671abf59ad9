//! The embedded web client: content types, caching, compression, ETags and client-side routes.

use reqwest::{StatusCode, header};

use crate::helpers::TestApp;

#[tokio::test]
async fn pages_are_revalidated_and_assets_cached_for_a_year() {
    let app = TestApp::spawn().await;
    let base = format!("http://{}", app.addr);
    let index = app.http.get(&base).send().await.unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert_eq!(index.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(index.headers()[header::CACHE_CONTROL], "no-cache");
    assert!(index.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
    let etag = index.headers()[header::ETAG].clone();
    let html = index.text().await.unwrap();
    let script = html.split("src=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("index.html loads a script");
    assert!(script.starts_with("/assets/"), "{script}");

    let asset = app.http.get(format!("{base}{script}")).header(header::ACCEPT_ENCODING, "gzip").send().await.unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    assert_eq!(asset.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert_eq!(asset.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(asset.headers()[header::CONTENT_ENCODING], "gzip");

    let again = app.http.get(&base).header(header::IF_NONE_MATCH, etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn client_routes_get_the_app_and_unknown_api_routes_stay_json() {
    let app = TestApp::spawn().await;
    let base = format!("http://{}", app.addr);
    for path in ["/channels/123", "/login", "/some/deep/route"] {
        let page = app.http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert!(page.text().await.unwrap().contains("<div id=\"app\">"), "{path}");
    }
    let missing = app.http.get(format!("{base}/api/v2/anything")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.json::<serde_json::Value>().await.unwrap()["error"]["code"], "not_found");
    let missing_asset = app.http.get(format!("{base}/assets/nope.js")).send().await.unwrap();
    assert_eq!(missing_asset.status(), StatusCode::NOT_FOUND, "a missing asset is not answered with the page");
    let post = app.http.post(format!("{base}/channels/1")).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}
