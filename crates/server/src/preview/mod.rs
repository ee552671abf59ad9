//! Link previews: fetching the pages (and pictures) people link to, safely. The server must not
//! become a way into its own network, so every address a name resolves to — and every address a
//! redirect leads to — must pass the relay's peer policy (no loopback, private, link-local or
//! metadata addresses), and the connection goes to an address that was checked: the resolver
//! below hands the HTTP client checked addresses only, and IP literals are checked before they
//! are used. Each fetch takes at most 5 s and reads at most a fixed number of bytes; no cookies
//! are kept and no proxy from the environment is used.

pub mod page;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use cromulent_turn::peer_policy::PeerPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::CONTENT_TYPE;

pub use page::PagePreview;

/// Everything one fetch may take, redirects included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 3;

/// Bytes of a page read at most: the head, where titles live, comes first.
pub const MAX_PAGE_BYTES: usize = 512 * 1024;

/// Bytes of a picture passed on at most.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// How the server introduces itself to the sites it previews.
const USER_AGENT: &str = concat!("Cromulent/", env!("CARGO_PKG_VERSION"), " (link preview; +https://github.com/cromulent)");

/// Why a link got no preview.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The address (or one a redirect led to) is one the server must not reach.
    #[error("the address is not one the server may reach")]
    Refused,
    /// Not an http(s) URL with a host.
    #[error("not an http(s) link")]
    NotHttp,
    /// The answer was not a page (or picture) of an accepted type.
    #[error("the answer is not of an accepted type")]
    WrongType,
    /// More than the byte limit.
    #[error("the answer is larger than the limit")]
    TooLarge,
    /// More redirects than allowed.
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    /// No full answer within the time limit.
    #[error("no answer within {} s", FETCH_TIMEOUT.as_secs())]
    TimedOut,
    /// The request failed: no answer in time, a refused connection, too many redirects.
    #[error("fetching failed: {0}")]
    Http(#[from] reqwest::Error),
}

/// Resolves names for the HTTP client, handing it only addresses the policy allows.
struct CheckedResolver {
    policy: Arc<PeerPolicy>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|addr| policy.check(addr.ip()).is_ok()).collect();
            if allowed.is_empty() {
                return Err(Box::new(FetchError::Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Whether `url` may be requested as far as can be told before resolving: http(s), and an IP
/// literal only if the policy allows it (names are checked as they resolve).
fn precheck(url: &url::Url, policy: &PeerPolicy) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::NotHttp);
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => policy.check(IpAddr::V4(ip)).map_err(|_| FetchError::Refused),
        Some(url::Host::Ipv6(ip)) => policy.check(IpAddr::V6(ip)).map_err(|_| FetchError::Refused),
        Some(url::Host::Domain(_)) => Ok(()),
        None => Err(FetchError::NotHttp),
    }
}

/// Fetches pages and pictures for previews.
pub struct LinkFetcher {
    client: reqwest::Client,
    policy: Arc<PeerPolicy>,
}

impl LinkFetcher {
    /// A fetcher that reaches only addresses `policy` allows.
    pub fn new(policy: PeerPolicy) -> LinkFetcher {
        let policy = Arc::new(policy);
        let for_redirects = Arc::clone(&policy);
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(FetchError::TooManyRedirects);
            }
            match precheck(attempt.url(), &for_redirects) {
                Ok(()) => attempt.follow(),
                Err(refused) => attempt.error(refused),
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver { policy: Arc::clone(&policy) }))
            .redirect(redirects)
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .user_agent(USER_AGENT)
            .no_proxy()
            .build()
            .expect("a client without custom TLS roots builds");
        LinkFetcher { client, policy }
    }

    /// Reads `url` as an HTML page (at most [`MAX_PAGE_BYTES`], within 5 s) and what it says
    /// about itself. A page larger than the limit is read up to the limit.
    pub async fn page(&self, url: &url::Url) -> Result<Option<PagePreview>, FetchError> {
        let (final_url, body) = self.get(url, &["text/html", "application/xhtml+xml"], MAX_PAGE_BYTES, false).await?;
        Ok(page::read(&String::from_utf8_lossy(&body), &final_url))
    }

    /// Fetches the picture at `url` (PNG, JPEG, GIF or WebP by its bytes, at most
    /// [`MAX_IMAGE_BYTES`]); returns its media type and bytes.
    pub async fn image(&self, url: &url::Url) -> Result<(&'static str, Vec<u8>), FetchError> {
        let (_, body) = self.get(url, &["image/"], MAX_IMAGE_BYTES, true).await?;
        let kind = match image::guess_format(&body) {
            Ok(image::ImageFormat::Png) => "image/png",
            Ok(image::ImageFormat::Jpeg) => "image/jpeg",
            Ok(image::ImageFormat::Gif) => "image/gif",
            Ok(image::ImageFormat::WebP) => "image/webp",
            // SVG and the rest: a picture that can carry script is not passed on.
            _ => return Err(FetchError::WrongType),
        };
        Ok((kind, body))
    }

    /// GETs `url`, accepting only media types that start with one of `types`, reading at most
    /// `limit` bytes: past it, the answer is cut (pages) or refused (`refuse_larger`).
    async fn get(
        &self,
        url: &url::Url,
        types: &[&str],
        limit: usize,
        refuse_larger: bool,
    ) -> Result<(url::Url, Vec<u8>), FetchError> {
        precheck(url, &self.policy)?;
        let fetch = async {
            let mut response = self.client.get(url.clone()).send().await?.error_for_status()?;
            let media = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
                .unwrap_or_default();
            if !types.iter().any(|t| media.starts_with(t)) {
                return Err(FetchError::WrongType);
            }
            if refuse_larger && response.content_length().is_some_and(|len| len > limit as u64) {
                return Err(FetchError::TooLarge);
            }
            let final_url = response.url().clone();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                let room = limit - body.len();
                if chunk.len() > room {
                    if refuse_larger {
                        return Err(FetchError::TooLarge);
                    }
                    body.extend_from_slice(&chunk[..room]);
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok((final_url, body))
        };
        // The client's own timeout covers the request; this one covers reading the body too.
        tokio::time::timeout(FETCH_TIMEOUT, fetch).await.unwrap_or(Err(FetchError::TimedOut))
    }
}
