//! AWS Signature Version 4 verification, for a server started with credentials.
//!
//! Invariant: a request passes only if its `Authorization` header names a configured access key,
//! its date is within 15 minutes of the server's clock, its credential scope is this server's
//! date, region and service, `host` and the date header are signed, and its signature equals the
//! one computed here from the request as received, over the SHA-256 of the body bytes received
//! (an `X-Amz-Content-Sha256` header is never trusted: it must be signed and equal that hash).
//! The checks run in the order AWS's JSON services run them, with their error names and words
//! (as recorded by dynalite against AWS); the signature comparison takes constant time.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::wire::ApiError;

type HmacSha256 = Hmac<Sha256>;

/// The signing name of the Step Functions API (its endpoint prefix).
pub const SERVICE: &str = "states";

/// How far a request's date may be from the server's clock, either way.
const MAX_SKEW_MS: i64 = 15 * 60 * 1000;

/// The only algorithm SigV4 defines for headers.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// An access key and its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::str::FromStr for Credentials {
    type Err = String;

    /// `ACCESS_KEY_ID:SECRET_ACCESS_KEY`.
    fn from_str(s: &str) -> Result<Credentials, String> {
        match s.split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok(Credentials {
                access_key_id: id.to_owned(),
                secret_access_key: secret.to_owned(),
            }),
            _ => Err("credentials are ACCESS_KEY_ID:SECRET_ACCESS_KEY".into()),
        }
    }
}

/// The parts of a request a signature covers.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Header names (any case) and values, as received.
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: &'a [u8],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// What a signature is checked against: the accepted keys, this server's scope and its clock.
pub struct Verifier<'a> {
    pub credentials: &'a [Credentials],
    pub region: &'a str,
    pub service: &'a str,
    /// The server's time, in milliseconds since the Unix epoch.
    pub now_ms: u64,
}

fn missing_token() -> ApiError {
    ApiError::new(
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
    )
}

fn incomplete(message: String) -> ApiError {
    ApiError::new("IncompleteSignatureException", message)
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidSignatureException", message)
}

fn unrecognized(message: &str) -> ApiError {
    ApiError::new("UnrecognizedClientException", message)
}

/// SigV4's compact ISO 8601 form, `20240101T000000Z`.
fn basic(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The `Authorization` header's parameters.
struct Authorization<'a> {
    algorithm: &'a str,
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

/// Splits `ALGORITHM Credential=..., SignedHeaders=..., Signature=...`; what is missing is
/// reported all at once, as AWS does.
fn parse_authorization<'a>(auth: &'a str, req: &Request) -> Result<Authorization<'a>, ApiError> {
    let (algorithm, rest) = auth
        .trim()
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((auth.trim(), ""));
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest
        .split([',', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let Some((key, value)) = part.split_once('=') else {
            return Err(incomplete(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{auth}'."
            )));
        };
        match key {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => {}
        }
    }
    let mut missing = String::new();
    for (name, value) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed_headers),
    ] {
        if value.is_none_or(str::is_empty) {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if req.header("x-amz-date").is_none() && req.header("date").is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    if !missing.is_empty() {
        return Err(incomplete(format!("{missing}Authorization={auth}")));
    }
    Ok(Authorization {
        algorithm,
        credential: credential.unwrap_or_default(),
        signed_headers: signed_headers.unwrap_or_default(),
        signature: signature.unwrap_or_default(),
    })
}

/// The request's date: `X-Amz-Date` in ISO 8601 basic format, or else an RFC 1123 `Date`.
/// Returns the header's name as AWS spells it, its text and the time.
fn request_date<'a>(req: &'a Request) -> Result<(&'static str, &'a str, DateTime<Utc>), ApiError> {
    let (name, text) = match req.header("x-amz-date") {
        Some(t) => ("X-Amz-Date", t),
        None => ("Date", req.header("date").unwrap_or_default()),
    };
    let parsed = if name == "X-Amz-Date" {
        NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
            .ok()
            .map(|t| Utc.from_utc_datetime(&t))
    } else {
        DateTime::parse_from_rfc2822(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    match parsed {
        Some(t) => Ok((name, text, t)),
        None => Err(incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ))),
    }
}

/// Checks a request's signature; the first failed check is the answer, in AWS's order.
pub fn verify(req: &Request, v: &Verifier) -> Result<(), ApiError> {
    let auth = req
        .header("authorization")
        .filter(|a| a.trim_start().starts_with("AWS4-"))
        .ok_or_else(missing_token)?;
    let a = parse_authorization(auth, req)?;

    let (date_header, date_text, date) = request_date(req)?;
    let now = Utc
        .timestamp_millis_opt(v.now_ms as i64)
        .single()
        .unwrap_or_default();
    let skew = chrono::Duration::milliseconds(MAX_SKEW_MS);
    if date < now - skew {
        return Err(invalid(format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            basic(date),
            basic(now - skew),
            basic(now)
        )));
    }
    if date > now + skew {
        return Err(invalid(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            basic(date),
            basic(now + skew),
            basic(now)
        )));
    }

    let signed: Vec<String> = a
        .signed_headers
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    let is_signed = |name: &str| signed.iter().any(|s| s == name);
    if !is_signed("host") {
        return Err(invalid(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    if !is_signed(&date_header.to_ascii_lowercase()) {
        return Err(invalid(format!(
            "'{date_header}' must be a 'SignedHeader' in the AWS Authorization."
        )));
    }

    if a.algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{}' (only {ALGORITHM} for now). ",
            a.algorithm
        )));
    }

    let credential = a.credential.trim_end_matches('/');
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 {
        return Err(incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    }
    let (key_id, day, region, service, terminator) =
        (scope[0], scope[1], scope[2], scope[3], scope[4]);
    let mut wrong = Vec::new();
    if region != v.region {
        wrong.push(format!(
            "Credential should be scoped to a valid region, not '{region}'."
        ));
    }
    if service != v.service {
        wrong.push(format!(
            "Credential should be scoped to correct service: '{}'.",
            v.service
        ));
    }
    if terminator != "aws4_request" {
        wrong.push(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        ));
    }
    let date_day = date.format("%Y%m%d").to_string();
    if day != date_day {
        wrong.push(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{day}' != '{date_day}', from '{}'.",
            basic(date)
        ));
    }
    if !wrong.is_empty() {
        return Err(invalid(wrong.join(" ")));
    }

    let Some(creds) = v
        .credentials
        .iter()
        .find(|c| constant_time_eq(c.access_key_id.as_bytes(), key_id.as_bytes()))
    else {
        return Err(unrecognized(
            "The security token included in the request is invalid.",
        ));
    };

    // The payload hash is always of the bytes received. A client may state it in
    // X-Amz-Content-Sha256 (S3's clients do); then the header is part of what is signed and must
    // agree, so a body cannot be swapped under a stated hash.
    let body_hash = hex(&Sha256::digest(req.body));
    if let Some(stated) = req.header("x-amz-content-sha256") {
        if !is_signed("x-amz-content-sha256") {
            return Err(invalid(
                "'X-Amz-Content-Sha256' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        if !stated.trim().eq_ignore_ascii_case(&body_hash) {
            return Err(invalid(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ));
        }
    }

    let mut canonical_headers = String::new();
    for name in &signed {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_path(req.path),
        canonical_query(req.query),
        canonical_headers,
        signed.join(";"),
        body_hash
    );
    let scope_text = format!("{day}/{region}/{service}/{terminator}");
    let string_to_sign = format!(
        "{ALGORITHM}\n{date_text}\n{scope_text}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", creds.secret_access_key).as_bytes(),
        day.as_bytes(),
    );
    for part in [region, service, terminator] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    if !constant_time_eq(expected.as_bytes(), a.signature.as_bytes()) {
        return Err(invalid(format!(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
        )));
    }
    // statejet's keys are long-term ones: no session token can belong to them.
    if req.header("x-amz-security-token").is_some() {
        return Err(unrecognized(
            "The security token included in the request is invalid",
        ));
    }
    Ok(())
}

/// Checks HTTP Basic credentials (`Authorization: Basic base64(KEY:SECRET)`), the way a browser
/// and Prometheus reach the live page and `/metrics`.
pub fn verify_basic(authorization: Option<&str>, allowed: &[Credentials]) -> bool {
    use base64::Engine as _;
    let Some(encoded) = authorization.and_then(|a| {
        let (scheme, rest) = a.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
    }) else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return false;
    };
    let (id, secret) = (&decoded[..colon], &decoded[colon + 1..]);
    // Every key is compared, so the time taken does not tell which one nearly matched.
    allowed.iter().fold(false, |ok, c| {
        let same = constant_time_eq(c.access_key_id.as_bytes(), id)
            & constant_time_eq(c.secret_access_key.as_bytes(), secret);
        ok | same
    })
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The path as SigV4 signs it: each segment URI-encoded (clients send it encoded once already,
/// and for this API it is always `/`).
fn canonical_path(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// Query parameters sorted by name, then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> (Credentials, Request<'static>) {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        };
        let req = Request {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: vec![
                ("Host", "iam.amazonaws.com"),
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                ("X-Amz-Date", "20150830T123600Z"),
                ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"),
            ],
            body: b"",
        };
        (creds, req)
    }

    /// 2015-08-30T12:36:00Z, the example's date.
    const EXAMPLE_NOW: u64 = 1_440_938_160_000;

    /// AWS's published SigV4 example (the IAM ListUsers GET request of the "Signature Version 4
    /// signing process" guide) checks the derivation end to end.
    #[test]
    fn aws_example_signature() {
        let (creds, req) = example();
        let v = Verifier {
            credentials: std::slice::from_ref(&creds),
            region: "us-east-1",
            service: "iam",
            now_ms: EXAMPLE_NOW,
        };
        assert_eq!(verify(&req, &v), Ok(()));
        let mut bad = example().1;
        bad.query = "Action=ListUsers&Version=2010-05-09";
        assert_eq!(
            verify(&bad, &v).unwrap_err().code,
            "InvalidSignatureException"
        );
    }

    #[test]
    fn clock_and_scope() {
        let (creds, req) = example();
        let at = |now_ms, region, service| {
            verify(
                &req,
                &Verifier {
                    credentials: std::slice::from_ref(&creds),
                    region,
                    service,
                    now_ms,
                },
            )
        };
        let minute = 60_000;
        assert_eq!(at(EXAMPLE_NOW + 14 * minute, "us-east-1", "iam"), Ok(()));
        assert_eq!(
            at(EXAMPLE_NOW + 20 * minute, "us-east-1", "iam").unwrap_err().message,
            "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z (20150830T125600Z - 15 min.)"
        );
        assert_eq!(
            at(EXAMPLE_NOW - 20 * minute, "us-east-1", "iam").unwrap_err().message,
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123100Z (20150830T121600Z + 15 min.)"
        );
        assert_eq!(
            at(EXAMPLE_NOW, "eu-west-1", "states").unwrap_err().message,
            "Credential should be scoped to a valid region, not 'us-east-1'. Credential should be scoped to correct service: 'states'."
        );
    }

    #[test]
    fn basic_credentials() {
        let creds = [Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "s3:cret".into(),
        }];
        // base64("AKID:s3:cret")
        assert!(verify_basic(Some("Basic QUtJRDpzMzpjcmV0"), &creds));
        assert!(!verify_basic(Some("Basic QUtJRDpzMw=="), &creds));
        assert!(!verify_basic(Some("Bearer x"), &creds));
        assert!(!verify_basic(None, &creds));
    }
}
