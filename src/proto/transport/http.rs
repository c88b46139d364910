//! HTTP/1.x message heads (RFC 9112 §2-3), parsed with `httparse`: the request line or status
//! line and the few headers a CONNECT tunnel or a WebSocket upgrade needs. Returns the head's
//! length (the bytes after it belong to the tunnel or the body), need more, or invalid.

use super::parse::Parse;

/// Headers read per head; a head with more is not what a device or a proxy sends.
const MAX_HEADERS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RequestHead {
    pub method: String,
    /// The request target: `host:port` for CONNECT (RFC 9110 §9.3.6), a path for GET.
    pub target: String,
    pub upgrade: Option<String>,
    /// `Sec-WebSocket-Protocol` (RFC 6455 §11.3.4): the subprotocols offered.
    pub websocket_protocol: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ResponseHead {
    pub status: u16,
    pub reason: String,
    pub upgrade: Option<String>,
    /// `Sec-WebSocket-Protocol`: the subprotocol the server chose.
    pub websocket_protocol: Option<String>,
}

fn header(headers: &[httparse::Header<'_>], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
}

pub(crate) fn request_head(bytes: &[u8]) -> Parse<RequestHead> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => Parse::Complete {
            len,
            message: RequestHead {
                method: req.method.unwrap_or_default().to_string(),
                target: req.path.unwrap_or_default().to_string(),
                upgrade: header(req.headers, "upgrade"),
                websocket_protocol: header(req.headers, "sec-websocket-protocol"),
            },
        },
        Ok(httparse::Status::Partial) => Parse::NeedMore,
        Err(_) => Parse::Invalid("not an HTTP/1.x request head"),
    }
}

pub(crate) fn response_head(bytes: &[u8]) -> Parse<ResponseHead> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => Parse::Complete {
            len,
            message: ResponseHead {
                status: resp.code.unwrap_or_default(),
                reason: resp.reason.unwrap_or_default().to_string(),
                upgrade: header(resp.headers, "upgrade"),
                websocket_protocol: header(resp.headers, "sec-websocket-protocol"),
            },
        },
        Ok(httparse::Status::Partial) => Parse::NeedMore,
        Err(_) => Parse::Invalid("not an HTTP/1.x response head"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPGRADE: &[u8] = b"GET /mqtt HTTP/1.1\r\nHost: ws.test:8080\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Version: 13\r\n\r\n\x82";

    #[test]
    fn websocket_upgrade_request_and_answer() {
        let Parse::Complete { len, message } = request_head(UPGRADE) else {
            panic!("incomplete")
        };
        assert_eq!(len, UPGRADE.len() - 1);
        assert_eq!(message.method, "GET");
        assert_eq!(message.target, "/mqtt");
        assert_eq!(message.upgrade.as_deref(), Some("websocket"));
        assert_eq!(message.websocket_protocol.as_deref(), Some("mqtt"));
        let answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
        assert!(matches!(
            response_head(answer),
            Parse::Complete {
                message: ResponseHead { status: 101, .. },
                ..
            }
        ));
    }

    #[test]
    fn connect_request_and_refusal() {
        let req = b"CONNECT broker.test:8883 HTTP/1.1\r\nHost: broker.test:8883\r\n\r\n";
        assert!(matches!(
            request_head(req),
            Parse::Complete { message: RequestHead { ref target, .. }, .. } if target == "broker.test:8883"
        ));
        let refused = b"HTTP/1.0 403 Access violation\r\nServer: tinyproxy/1.11.1\r\n\r\n<html>";
        let Parse::Complete { len, message } = response_head(refused) else {
            panic!("incomplete")
        };
        assert_eq!(
            (message.status, message.reason.as_str()),
            (403, "Access violation")
        );
        assert_eq!(&refused[len..], b"<html>");
    }

    #[test]
    fn every_prefix_needs_more_and_binary_is_invalid() {
        for n in 0..UPGRADE.len() - 1 {
            assert_eq!(request_head(&UPGRADE[..n]), Parse::NeedMore, "{n}");
        }
        assert!(matches!(
            request_head(b"\x16\x03\x01\x02\x00"),
            Parse::Invalid(_)
        ));
        assert!(matches!(
            response_head(b"\x20\x02\x00\x00"),
            Parse::Invalid(_)
        ));
    }
}
