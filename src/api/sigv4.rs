//! AWS Signature Version 4 verification, for a server started with credentials.
//!
//! Invariant: a request passes only if its `Authorization` header names a configured access key
//! and its signature equals the one computed here from the request as received (method, path,
//! query, the signed headers, the body's SHA-256); the comparison does not stop at the first
//! differing byte.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::wire::ApiError;

type HmacSha256 = Hmac<Sha256>;

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

fn missing_token() -> ApiError {
    ApiError::new(
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    )
    .with_status(403)
}

fn incomplete(why: &str) -> ApiError {
    ApiError::new(
        "IncompleteSignatureException",
        format!("Authorization header requires {why}"),
    )
    .with_status(403)
}

/// Checks a request against the configured credentials.
pub fn verify(req: &Request, allowed: &[Credentials]) -> Result<(), ApiError> {
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let auth = header("authorization").ok_or_else(missing_token)?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(missing_token)?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let credential = credential.ok_or_else(|| incomplete("'Credential' parameter"))?;
    let signed_headers = signed_headers.ok_or_else(|| incomplete("'SignedHeaders' parameter"))?;
    let signature = signature.ok_or_else(|| incomplete("'Signature' parameter"))?;
    let date_time = header("x-amz-date").ok_or_else(|| incomplete("'X-Amz-Date' header"))?;
    // Credential=AKID/20240101/us-east-1/states/aws4_request
    let mut scope = credential.splitn(2, '/');
    let key_id = scope.next().unwrap_or("");
    let scope = scope.next().unwrap_or("");
    let parts: Vec<&str> = scope.split('/').collect();
    if parts.len() != 4 || parts[3] != "aws4_request" {
        return Err(incomplete("a well-formed 'Credential' scope"));
    }
    let Some(creds) = allowed.iter().find(|c| c.access_key_id == key_id) else {
        return Err(ApiError::new(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    };
    let body_hash = match header("x-amz-content-sha256") {
        Some(h) if h != "UNSIGNED-PAYLOAD" => h.to_owned(),
        _ => hex(&Sha256::digest(req.body)),
    };
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let values: Vec<&str> = req
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .collect();
        let value = values
            .iter()
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join(",");
        canonical_headers.push_str(&format!("{}:{}\n", name.to_ascii_lowercase(), value));
    }
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_path(req.path),
        canonical_query(req.query),
        canonical_headers,
        signed_headers,
        body_hash
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{date_time}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", creds.secret_access_key).as_bytes(),
        parts[0].as_bytes(),
    );
    for p in &parts[1..] {
        key = hmac(&key, p.as_bytes());
    }
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    if constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        )
        .with_status(403))
    }
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

    /// AWS's published SigV4 example (the IAM ListUsers GET request of the "Signature Version 4
    /// signing process" guide) checks the derivation end to end.
    #[test]
    fn aws_example_signature() {
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
        assert_eq!(verify(&req, std::slice::from_ref(&creds)), Ok(()));
        let mut bad = req;
        bad.query = "Action=ListUsers&Version=2010-05-09";
        assert_eq!(
            verify(&bad, &[creds]).unwrap_err().code,
            "InvalidSignatureException"
        );
    }
}
