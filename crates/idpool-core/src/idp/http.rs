//! The HTTPS fetcher for key sets, discovery documents and provider API calls: timeouts, no redirects, a size cap (security-and-performance.md §1.2).

use std::time::Duration;

use super::jwks::{Answer, FetchError, Fetched, Fetcher, MAX_DOCUMENT_BYTES, Method, Request};

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
        let client = self.client()?;
        let response = client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let max_age_s = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let body = read_capped(response).await?;
        Ok(Fetched { body, max_age_s })
    }

    async fn send(&self, request: &Request) -> Result<Answer, FetchError> {
        let client = self.client()?;
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = client
            .request(method, &request.url)
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if request.method == Method::Post {
            builder = builder.body(request.body.clone());
        }
        // reqwest's messages may quote the request; without the URL they quote nothing of it.
        let response = builder
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let body = read_capped(response).await?;
        Ok(Answer { status, body })
    }
}

impl HttpFetcher {
    fn client(&self) -> Result<&reqwest::Client, FetchError> {
        self.client
            .as_ref()
            .map_err(|e| FetchError::Transport(e.clone()))
    }
}

/// The body, refused once it passes [`MAX_DOCUMENT_BYTES`] (announced or as it streams in).
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Transport(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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
    async fn send_carries_headers_and_body_and_returns_error_answers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // Reads until the whole body announced by content-length is in.
            loop {
                let n = sock.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(str::to_string)
                        })
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let answer = "{\"__type\":\"UserNotFoundException\"}";
            let reply = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
            let _ = sock.shutdown().await;
            String::from_utf8(seen).unwrap()
        });
        let fetcher = HttpFetcher::new(Duration::from_secs(5));
        let request = Request::post(format!("http://{addr}/"), b"{\"a\":1}".to_vec())
            .header("x-amz-target", "Svc.Op")
            .header("authorization", "secret-value");
        let printed = format!("{request:?}");
        assert!(printed.contains("authorization") && !printed.contains("secret-value"));
        let answer = fetcher.send(&request).await.unwrap();
        assert_eq!(answer.status, 400);
        assert_eq!(answer.body, b"{\"__type\":\"UserNotFoundException\"}");
        assert!(!answer.is_success());
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST / HTTP/1.1\r\n"), "{seen}");
        assert!(seen.contains("x-amz-target: Svc.Op\r\n"), "{seen}");
        assert!(seen.contains("authorization: secret-value\r\n"), "{seen}");
        assert!(seen.ends_with("\r\n\r\n{\"a\":1}"), "{seen}");
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
