//! The layers in front of MQTT: proxy refusals and WebSocket upgrades (issue 12: tests that
//! can fail).

use crate::common::Side;
use crate::conn::Connection;
use crate::detect::Finding;
use crate::detect::test_support::*;
use crate::flow::TcpEvent;
use crate::proto::transport::Transport;

fn with_layer(layer: Transport) -> Connection {
    let mut c = conn();
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    tcp(&mut c, 9, 50, Side::Resp, TcpEvent::Fin);
    c.transport.push(layer);
    c
}

fn websocket(status: u16, protocol: Option<&str>) -> Connection {
    with_layer(Transport::Websocket {
        target: "/mqtt".into(),
        offered_protocols: Some("mqtt".into()),
        inside_tls: false,
        upgrade_frame: 4,
        status: Some(status),
        reason: Some(
            if status == 101 {
                "Switching Protocols"
            } else {
                "Not Found"
            }
            .into(),
        ),
        protocol: protocol.map(String::from),
        reply_frame: Some(6),
        client_frames: 0,
        server_frames: 0,
        close_code: None,
    })
}

fn find<'a>(f: &'a [Finding], rule: &str) -> Option<&'a Finding> {
    f.iter().find(|x| x.rule == rule)
}

#[test]
fn a_refused_http_connect_is_a_proxy_refusal_a_websocket_is_not() {
    // proxy_refused: HTTP CONNECT answered 407 (RFC 9110 §9.3.6: only 2xx opens the tunnel).
    let c = with_layer(Transport::HttpConnect {
        target: "broker.test:8883".into(),
        request_frame: 4,
        status: Some(407),
        reason: Some("Proxy Authentication Required".into()),
        reply_frame: Some(6),
    });
    assert!(
        rules_fired(&c).contains(&"proxy_refused"),
        "{:?}",
        rules_fired(&c)
    );
    // A refused WebSocket upgrade is websocket_upgrade_failed's, not a proxy's refusal.
    let fired = rules_fired(&websocket(404, None));
    assert!(
        !fired.contains(&"proxy_refused") && fired.contains(&"websocket_upgrade_failed"),
        "{fired:?}"
    );
}

#[test]
fn an_upgrade_accepted_without_the_mqtt_subprotocol_says_so() {
    // MQTT 5.0 §6.0: the server must select the "mqtt" subprotocol; 101 without it fails.
    let f = findings(&websocket(101, None));
    assert!(
        find(&f, "websocket_upgrade_failed")
            .is_some_and(|h| h.title.contains("without the mqtt subprotocol")),
        "{f:#?}"
    );
    let f = findings(&websocket(404, None));
    assert!(
        find(&f, "websocket_upgrade_failed")
            .is_some_and(|h| h.title.contains("was answered 404 Not Found")),
        "{f:#?}"
    );
}

/// A PROXY protocol v2 header from the client at frame 4, then the server's RST at `close_ms`.
fn proxied(close_ms: i64) -> Connection {
    let mut c = conn();
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    c.transport.push(Transport::ProxyProtocol {
        version: 2,
        source: None,
        destination: None,
        frame: 4,
    });
    c.events.push(crate::conn::Event {
        at: at(4, 5),
        side: Side::Orig,
        kind: crate::conn::EventKind::Transport(Box::new(
            crate::proto::transport::TransportEvent::ProxyHeader {
                version: 2,
                source: None,
                destination: None,
            },
        )),
    });
    tcp(&mut c, 5, close_ms, Side::Resp, TcpEvent::Rst);
    c
}

#[test]
fn a_quick_close_after_a_proxy_header_is_a_broker_without_proxy_protocol() {
    // protocol_mismatch proxy_header_unexpected: closed within max_plain_close_s = 1.0
    // without a byte of answer (mosquitto 2.0 reads the header as a malformed packet).
    let f = findings(&proxied(10));
    assert!(
        find(&f, "protocol_mismatch").is_some_and(|h| h.title.contains("PROXY protocol header")),
        "{f:#?}"
    );
    let f = findings(&proxied(3_000));
    assert!(
        !f.iter().any(|h| h.title.contains("PROXY protocol header")),
        "{f:#?}"
    );
}

#[test]
fn a_failed_upgrade_points_at_its_request_and_answer() {
    // websocket_upgrade_failed evidence: the GET with Upgrade (frame 4), the answer (frame 6).
    use crate::proto::transport::TransportEvent;
    let mut c = websocket(404, None);
    for (frame, side, event) in [
        (
            4,
            Side::Orig,
            TransportEvent::WebsocketUpgrade {
                target: "/mqtt".into(),
                protocols: Some("mqtt".into()),
            },
        ),
        (
            6,
            Side::Resp,
            TransportEvent::WebsocketUpgradeReply {
                status: 404,
                reason: "Not Found".into(),
                protocol: None,
            },
        ),
    ] {
        c.events.push(crate::conn::Event {
            at: at(frame, frame as i64),
            side,
            kind: crate::conn::EventKind::Transport(Box::new(event)),
        });
    }
    c.events.sort_by_key(|e| e.at.frame);
    let f = findings(&c);
    let frames: Vec<u64> = find(&f, "websocket_upgrade_failed")
        .map(|h| h.evidence.iter().map(|e| e.at.frame).collect())
        .unwrap_or_default();
    assert_eq!(frames, [4, 6], "{f:#?}");
}

/// An HTTP CONNECT to the broker answered `status`.
fn http_connect(status: u16, reason: &str) -> Transport {
    Transport::HttpConnect {
        target: "broker.test:8883".into(),
        request_frame: 4,
        status: Some(status),
        reason: Some(reason.into()),
        reply_frame: Some(6),
    }
}

#[test]
fn a_connect_answered_200_opened_the_tunnel_and_is_no_refusal() {
    // proxy_refused: RFC 9110 §9.3.6, any 2xx answer to CONNECT means the tunnel is open.
    let fired = rules_fired(&with_layer(http_connect(200, "Connection established")));
    assert!(!fired.contains(&"proxy_refused"), "{fired:?}");
}

#[test]
fn a_refusal_behind_a_proxy_protocol_header_is_still_a_refusal() {
    // proxy_refused: a load balancer passes the client's address in a PROXY protocol v2
    // header (PROXY protocol spec §2: the first bytes of the connection, before the client's),
    // then the client's CONNECT is refused with 403. The PROXY header opens no tunnel and
    // refuses nothing: the HTTP layer behind it is the refusal.
    let mut c = with_layer(Transport::ProxyProtocol {
        version: 2,
        source: None,
        destination: None,
        frame: 3,
    });
    c.transport.push(http_connect(403, "Forbidden"));
    let f = findings(&c);
    assert!(
        find(&f, "proxy_refused")
            .is_some_and(|h| h.title
                == "The HTTP proxy refused the tunnel to broker.test:8883: 403 Forbidden"),
        "{f:#?}"
    );
}
