//! HTTP framing errors in AWS's error shape. hyper answers a request it cannot parse (a bad
//! request line, header or length; headers or URI too long) by itself, with a bodiless status;
//! this connection wrapper replaces that answer, as it is written, with the same status and a
//! `{"__type", "message"}` body.
//!
//! Invariant: only hyper's own answers are rewritten. They are the only responses written here
//! without a `content-type` header (every response of the service has one), and hyper writes
//! such a head whole, at the start of a write, right before it closes the connection.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose framing-error answers carry AWS's error body.
pub struct Framed<S> {
    inner: S,
    /// A replacement being written, how much of it is out, and the length of what it replaces.
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl<S> Framed<S> {
    pub fn new(inner: S) -> Framed<S> {
        Framed {
            inner,
            pending: None,
        }
    }
}

/// hyper's automatic answer to a parse error, if `buf` is one, rewritten with an error body.
fn replacement(buf: &[u8]) -> Option<Vec<u8>> {
    // Every answer with a body fails the first test, before its text is checked as UTF-8.
    if !buf.ends_with(b"\r\n\r\n") || !buf.starts_with(b"HTTP/1.1 ") {
        return None;
    }
    let head = std::str::from_utf8(buf).ok()?;
    let status_line = head.strip_prefix("HTTP/1.1 ")?;
    if !head.ends_with("\r\n\r\n") {
        return None;
    }
    let lower = head.to_ascii_lowercase();
    if lower.contains("\r\ncontent-type:") || !lower.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let status: u16 = status_line.get(..3)?.parse().ok()?;
    let (code, message) = match status {
        400 => (
            "SerializationException",
            "The request is not well-formed HTTP/1.1: its request line, a header or its framing (Content-Length, Transfer-Encoding) could not be parsed",
        ),
        414 => ("ValidationException", "The request URI is too long"),
        431 => ("ValidationException", "The request's headers are too large"),
        505 => ("ValidationException", "The HTTP version is not supported: use HTTP/1.1"),
        _ => return None,
    };
    let body = serde_json::json!({"__type": code, "message": message}).to_string();
    let mut out = String::new();
    for line in head.trim_end_matches("\r\n").split("\r\n") {
        if line.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(&format!("content-length: {}\r\n", body.len()));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("content-type: application/x-amz-json-1.0\r\nconnection: close\r\n\r\n");
    out.push_str(&body);
    Some(out.into_bytes())
}

impl<S: AsyncRead + Unpin> AsyncRead for Framed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Framed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() {
            match replacement(buf) {
                Some(r) => this.pending = Some((r, 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        // Write the whole replacement, then report the original as written.
        while let Some((r, done, _)) = &mut this.pending {
            if *done == r.len() {
                break;
            }
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &r[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
        let (_, _, replaced) = this.pending.take().expect("a replacement is pending");
        Poll::Ready(Ok(replaced))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // One buffer at a time, so a head is always seen whole by poll_write.
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
        self.poll_write(cx, first)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::replacement;

    #[test]
    fn only_bodiless_heads_are_rewritten() {
        let auto = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 10:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(replacement(auto).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["__type"], "SerializationException");
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(ours).is_none());
        assert!(replacement(b"{\"a\": 1}").is_none());
    }
}
