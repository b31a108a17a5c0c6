//! The HTTPS fetcher for key sets and discovery documents: timeouts, no redirects, a size cap (security-and-performance.md §1.2).

use std::time::Duration;

use super::jwks::{FetchError, Fetched, Fetcher, MAX_DOCUMENT_BYTES};

/// Fetches with reqwest. Redirects are not followed: a provider's documents live at the
/// configured URL, and following one would let a server send us anywhere.
pub struct HttpFetcher {
    client: Result<reqwest::Client, String>,
}

impl std::fmt::Debug for HttpFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFetcher").finish_non_exhaustive()
    }
}

impl HttpFetcher {
    /// A client whose every request (connect, send, body) ends within `timeout`. A client that
    /// cannot be built (no TLS roots) turns every fetch into an error instead of failing start-up.
    pub fn new(timeout: Duration) -> HttpFetcher {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("idpool/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string());
        if let Err(e) = &client {
            tracing::error!(error = %e, "the HTTP client for identity providers cannot be built");
        }
        HttpFetcher { client }
    }
}

#[async_trait::async_trait]
impl Fetcher for HttpFetcher {
    async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| FetchError::Transport(e.clone()))?;
        let mut response = client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let max_age_s = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, max_age_s })
    }
}

/// `max-age` of a Cache-Control value; `no-store`/`no-cache` count as zero (the cache still
/// keeps the document for its minimum lifetime).
fn max_age(value: &str) -> Option<u64> {
    let mut out = None;
    for directive in value.split(',') {
        let d = directive.trim();
        if d.eq_ignore_ascii_case("no-store") || d.eq_ignore_ascii_case("no-cache") {
            return Some(0);
        }
        if let Some((name, v)) = d.split_once('=')
            && name.trim().eq_ignore_ascii_case("max-age")
        {
            out = v.trim().trim_matches('"').parse().ok();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn cache_control_is_read() {
        assert_eq!(
            max_age("public, max-age=21600, must-revalidate"),
            Some(21_600)
        );
        assert_eq!(max_age("no-store"), Some(0));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }

    /// Serves one canned HTTP response per connection on a loopback port, a bounded number of
    /// times, and counts connections.
    async fn serve(response: Vec<u8>, times: usize) -> (String, tokio::task::JoinHandle<usize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let mut served = 0;
            while served < times {
                let Ok(Ok((mut sock, _))) =
                    tokio::time::timeout(Duration::from_secs(5), listener.accept()).await
                else {
                    break;
                };
                served += 1;
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(&response).await;
                let _ = sock.shutdown().await;
            }
            served
        });
        (format!("http://{addr}"), handle)
    }

    #[tokio::test]
    async fn fetches_bodies_and_honours_caps_and_redirect_refusal() {
        let fetcher = HttpFetcher::new(Duration::from_secs(5));
        let body = "{\"keys\":[]}";
        let ok = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: max-age=900\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let (url, server) = serve(ok.into_bytes(), 1).await;
        let got = fetcher.get(&format!("{url}/jwks.json")).await.unwrap();
        assert_eq!(got.body, body.as_bytes());
        assert_eq!(got.max_age_s, Some(900));
        assert_eq!(server.await.unwrap(), 1);

        let redirect = b"HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec();
        let (url, server) = serve(redirect, 1).await;
        assert_eq!(
            fetcher.get(&url).await.unwrap_err(),
            FetchError::Status(302)
        );
        server.await.unwrap();

        let big = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            MAX_DOCUMENT_BYTES + 1
        );
        let (url, server) = serve(big.into_bytes(), 1).await;
        assert_eq!(fetcher.get(&url).await.unwrap_err(), FetchError::TooLarge);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let accepted = listener.accept().await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop(accepted);
        });
        let fetcher = HttpFetcher::new(Duration::from_millis(300));
        let e = fetcher.get(&format!("http://{addr}/")).await.unwrap_err();
        assert!(matches!(e, FetchError::Transport(_)), "{e:?}");
        hold.abort();
    }
}
