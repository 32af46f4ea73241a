//! The HTTP client of AWS calls: hyper's pooled client over rustls (ring, Mozilla's roots) for
//! HTTPS and plain TCP for local endpoints, SigV4-signed by the AWS SDK's signer.
//!
//! Invariant: a call holds no thread while it waits (it is a future on the caller's tokio
//! runtime), it gives up past the connect and read timeouts, and nothing it reports carries a
//! secret: errors name the endpoint and what failed, never a header.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as Pool;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::config::Credentials;

/// How long a connection may take to open: AWS's SDKs wait a few seconds, then fail.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an answer may take once the request is sent, at most (the Task's own timeout
/// bounds it further): Step Functions' HTTP Task allows 60 seconds.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an idle pooled connection is kept (AWS's endpoints close theirs after about a
/// minute; keeping ours shorter avoids writing into a closing one).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// One request to send: the full URL (with query) and what to sign.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What came back.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The status line's reason phrase as the server sent it (HTTP/1), else the status's
    /// standard one (`OK`, `Not Found`), else empty.
    pub reason: String,
    /// Header names as sent (lower case on HTTP/1 as hyper reads them), in order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no response came back.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Unable to execute HTTP request: {0}")]
    Request(String),
    #[error("Unable to execute HTTP request: {url}: no response within {seconds} seconds")]
    Timeout { url: String, seconds: u64 },
}

/// How a request is signed.
pub struct Signing<'a> {
    pub credentials: &'a Credentials,
    pub region: &'a str,
    /// The SigV4 service name (`dynamodb`, `states`, `s3`).
    pub service: &'a str,
    /// S3's rules: the payload's hash in `x-amz-content-sha256`, the path encoded once.
    pub s3: bool,
}

/// The process's connection pool (made on first use, on the runtime that first calls).
fn pool() -> &'static Pool<Https, Full<Bytes>> {
    static POOL: OnceLock<Pool<Https, Full<Bytes>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Pool::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .build(https)
    })
}

/// Signs and sends `request`, waiting at most `limit` (and `READ_TIMEOUT`) for the whole
/// answer.
pub async fn send(
    request: Request,
    signing: &Signing<'_>,
    limit: Duration,
) -> Result<Response, Error> {
    send_with(request, Some(signing), limit).await
}

/// Sends `request` unsigned: an API Gateway endpoint that takes no AWS authentication, or the
/// HTTP Task (its authentication is the connection's headers).
pub async fn send_unsigned(request: Request, limit: Duration) -> Result<Response, Error> {
    send_with(request, None, limit).await
}

async fn send_with(
    request: Request,
    signing: Option<&Signing<'_>>,
    limit: Duration,
) -> Result<Response, Error> {
    let url = request.url.clone();
    let fail = |e: &dyn std::fmt::Display| Error::Request(format!("{url}: {e}"));
    let http = prepare(&request, signing)?;
    let wait = limit.min(READ_TIMEOUT);
    let exchange = async {
        let response = pool().request(http).await.map_err(|e| fail(&chain(&e)))?;
        let status = response.status().as_u16();
        let reason = match response.extensions().get::<hyper::ext::ReasonPhrase>() {
            Some(r) => String::from_utf8_lossy(r.as_bytes()).into_owned(),
            None => response
                .status()
                .canonical_reason()
                .unwrap_or_default()
                .to_owned(),
        };
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| fail(&chain(&e)))?
            .to_bytes();
        Ok(Response {
            status,
            reason,
            headers,
            body,
        })
    };
    match tokio::time::timeout(wait, exchange).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            url,
            seconds: wait.as_secs(),
        }),
    }
}

/// The signed HTTP request of `request`.
fn prepare(
    request: &Request,
    signing: Option<&Signing<'_>>,
) -> Result<http::Request<Full<Bytes>>, Error> {
    let fail = |e: &dyn std::fmt::Display| Error::Request(format!("{}: {e}", request.url));
    let mut http = http::Request::builder()
        .method(request.method.as_str())
        .uri(request.url.as_str());
    for (k, v) in &request.headers {
        http = http.header(k.as_str(), v.as_str());
    }
    let mut http = http
        .body(Full::new(Bytes::from(request.body.clone())))
        .map_err(|e| fail(&e))?;
    if let Some(signing) = signing {
        sign(request, signing, &mut http).map_err(|e| fail(&e))?;
    }
    Ok(http)
}

/// Like `send`, but a successful answer's body goes to `chunk` piece by piece as it arrives
/// (the `Response` then has an empty body); `chunk` answering `Break` stops reading there,
/// dropping the connection. An error answer's body is collected whole, as `send` does. The
/// whole exchange takes at most `limit`; each wait for more of the body `READ_TIMEOUT`.
pub async fn send_streaming(
    request: Request,
    signing: &Signing<'_>,
    limit: Duration,
    chunk: &mut (dyn FnMut(&[u8]) -> std::ops::ControlFlow<()> + Send),
) -> Result<Response, Error> {
    let url = request.url.clone();
    let fail = |e: &dyn std::fmt::Display| Error::Request(format!("{url}: {e}"));
    let http = prepare(&request, Some(signing))?;
    let exchange = async {
        let response = tokio::time::timeout(READ_TIMEOUT, pool().request(http))
            .await
            .map_err(|_| Error::Timeout {
                url: url.clone(),
                seconds: READ_TIMEOUT.as_secs(),
            })?
            .map_err(|e| fail(&chain(&e)))?;
        let status = response.status().as_u16();
        let reason = response
            .status()
            .canonical_reason()
            .unwrap_or_default()
            .to_owned();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = response.into_body();
        if status >= 300 {
            let body = body
                .collect()
                .await
                .map_err(|e| fail(&chain(&e)))?
                .to_bytes();
            return Ok(Response {
                status,
                reason,
                headers,
                body,
            });
        }
        loop {
            let frame = tokio::time::timeout(READ_TIMEOUT, body.frame())
                .await
                .map_err(|_| Error::Timeout {
                    url: url.clone(),
                    seconds: READ_TIMEOUT.as_secs(),
                })?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| fail(&chain(&e)))?;
            if let Some(data) = frame.data_ref() {
                if chunk(data).is_break() {
                    break;
                }
            }
        }
        Ok(Response {
            status,
            reason,
            headers,
            body: Bytes::new(),
        })
    };
    match tokio::time::timeout(limit, exchange).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            url,
            seconds: limit.as_secs(),
        }),
    }
}

/// An error with its sources (hyper's own text is "client error (Connect)"; the cause says
/// "Connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn sign(
    request: &Request,
    signing: &Signing<'_>,
    http: &mut http::Request<Full<Bytes>>,
) -> Result<(), String> {
    use aws_sigv4::http_request::{
        sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
        SigningSettings, UriPathNormalizationMode,
    };
    let c = signing.credentials;
    let identity = aws_credential_types::Credentials::new(
        c.access_key_id.clone(),
        c.secret_access_key.clone(),
        c.session_token.clone(),
        None,
        "statejet",
    )
    .into();
    let mut settings = SigningSettings::default();
    if signing.s3 {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(signing.region)
        .name(signing.service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| format!("cannot sign the request: {e}"))?
        .into();
    let signable = SignableRequest::new(
        &request.method,
        &request.url,
        request
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(&request.body),
    )
    .map_err(|e| format!("cannot sign the request: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("cannot sign the request: {e}"))?
        .into_parts();
    instructions.apply_to_request_http1x(http);
    Ok(())
}
