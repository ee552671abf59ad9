//! `http.redirect_listen`: with HTTPS on, a plain-HTTP listener (port 80) that sends every
//! request to the same path over HTTPS, so `http://chat.example.org` typed in a browser works.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The redirecting router; `https_port` is the HTTPS listener's port (left out of the URL when 443).
pub fn router(https_port: u16) -> Router {
    Router::new().fallback(move |headers: HeaderMap, uri: Uri| async move { redirect(&headers, &uri, https_port) })
}

fn redirect(headers: &HeaderMap, uri: &Uri, https_port: u16) -> Response {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()).and_then(host_without_port) else {
        return (StatusCode::BAD_REQUEST, "A Host header is needed to redirect to HTTPS.").into_response();
    };
    let port = if https_port == 443 { String::new() } else { format!(":{https_port}") };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    // 308 keeps the method and body, so a POST sent to http:// is not turned into a GET.
    (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, format!("https://{host}{port}{path}"))]).into_response()
}

/// The host of a `Host` header without its port, if it is a plausible host name or address.
fn host_without_port(host: &str) -> Option<&str> {
    let host = match host.strip_prefix('[') {
        Some(v6) => &host[..v6.find(']')? + 2],
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    (!host.is_empty() && host.len() <= 255 && host.chars().all(plain)).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_place_over_https() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "chat.example.org:80".parse().unwrap());
        let uri: Uri = "/channels/1?x=2".parse().unwrap();
        let response = redirect(&headers, &uri, 443);
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(response.headers()[header::LOCATION], "https://chat.example.org/channels/1?x=2");
        headers.insert(header::HOST, "[::1]:8080".parse().unwrap());
        assert_eq!(redirect(&headers, &uri, 8443).headers()[header::LOCATION], "https://[::1]:8443/channels/1?x=2");
        headers.insert(header::HOST, "evil.example/\\path".parse().unwrap());
        assert_eq!(redirect(&headers, &uri, 443).status(), StatusCode::BAD_REQUEST);
    }
}
