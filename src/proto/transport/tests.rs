//! The transport session on whole conversations, fed whole and byte by byte.

use super::*;

const CONNECT_MQTT: &[u8] = b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00";
const CONNACK: &[u8] = b"\x20\x02\x00\x00";

fn at(frame: u64) -> At {
    At { frame, time_ns: 0 }
}

/// Feeds `script` (side, bytes) in pieces of `piece` bytes; returns the bytes passed per side.
fn run(script: &[(Side, &[u8])], piece: usize) -> (TransportSession, [Vec<u8>; 2]) {
    let mut s = TransportSession::new(false);
    let mut passed = [Vec::new(), Vec::new()];
    for (n, (side, bytes)) in script.iter().enumerate() {
        for chunk in bytes.chunks(piece) {
            let mut out = Vec::new();
            if s.passes(*side) {
                passed[side.index()].extend_from_slice(chunk);
                continue;
            }
            s.on_data(*side, chunk, at(n as u64 + 1), &mut out);
            for (side, _, b) in out {
                passed[side.index()].extend(b);
            }
        }
    }
    (s, passed)
}

fn each_split(script: &[(Side, &[u8])], check: impl Fn(&TransportSession, &[Vec<u8>; 2])) {
    for piece in [1, 2, 3, 5, 17, 4096] {
        let (s, passed) = run(script, piece);
        check(&s, &passed);
    }
}

fn masked(payload: &[u8]) -> Vec<u8> {
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut f = vec![0x82, 0x80 | payload.len() as u8];
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

#[test]
fn plain_mqtt_and_tls_pass_untouched_and_the_session_is_inert() {
    for first in [CONNECT_MQTT, b"\x16\x03\x01\x00\x05hello".as_slice()] {
        each_split(
            &[(Side::Orig, first), (Side::Resp, CONNACK)],
            |s, passed| {
                assert!(s.inert());
                assert_eq!(passed[0], first);
                assert_eq!(passed[1], CONNACK);
            },
        );
    }
}

#[test]
fn http_connect_accepted_hands_on_the_tunnel() {
    let req = b"CONNECT broker.test:8883 HTTP/1.1\r\nHost: broker.test:8883\r\n\r\n";
    let ok = b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n";
    let script: [(Side, &[u8]); 4] = [
        (Side::Orig, req),
        (Side::Resp, ok),
        (Side::Orig, CONNECT_MQTT),
        (Side::Resp, CONNACK),
    ];
    each_split(&script, |s, passed| {
        assert_eq!(passed[0], CONNECT_MQTT);
        assert_eq!(passed[1], CONNACK);
        let layers = s.layers();
        assert!(matches!(
            layers.as_slice(),
            [Transport::HttpConnect { target, status: Some(200), .. }] if target == "broker.test:8883"
        ));
        assert_eq!(layers[0].refused(), Some(false));
    });
}

#[test]
fn http_connect_refused_stops_both_sides() {
    let req = b"CONNECT broker.test:8883 HTTP/1.1\r\n\r\n";
    let refused =
        b"HTTP/1.0 403 Access violation\r\nContent-Type: text/html\r\n\r\n<html>no</html>";
    let script: [(Side, &[u8]); 3] = [
        (Side::Orig, req),
        (Side::Resp, refused),
        (Side::Orig, b"\x16\x03\x01\x00\x01x"),
    ];
    each_split(&script, |s, passed| {
        assert!(passed[1].is_empty());
        assert!(passed[0].is_empty());
        assert_eq!(s.layers()[0].refused(), Some(true));
    });
}

#[test]
fn socks5_with_password_then_refusal_and_success() {
    let greet = [5u8, 2, 0, 2];
    let choose = [5u8, 2];
    let auth = b"\x01\x03bob\x06secret";
    let auth_ok = [1u8, 0];
    let req = b"\x05\x01\x00\x03\x0bbroker.test\x07\x5b";
    for (code, granted) in [(0u8, true), (2, false)] {
        let reply = [5u8, code, 0, 1, 10, 0, 0, 1, 0x07, 0x5b];
        let script: [(Side, &[u8]); 8] = [
            (Side::Orig, &greet),
            (Side::Resp, &choose),
            (Side::Orig, auth),
            (Side::Resp, &auth_ok),
            (Side::Orig, req),
            (Side::Resp, &reply),
            (Side::Orig, CONNECT_MQTT),
            (Side::Resp, CONNACK),
        ];
        each_split(&script, |s, passed| {
            let layers = s.layers();
            assert!(matches!(
                layers.as_slice(),
                [Transport::Socks { version: 5, target: Some(t), method: Some(2), reply: Some(r), .. }]
                    if t == "broker.test:1883" && *r == code
            ));
            assert_eq!(layers[0].refused(), Some(!granted));
            assert_eq!(passed[0].is_empty(), !granted);
            if granted {
                assert_eq!(passed[0], CONNECT_MQTT);
                assert_eq!(passed[1], CONNACK);
            }
        });
    }
}

#[test]
fn socks4_request_granted() {
    let req = b"\x04\x01\x07\x5b\x0a\x00\x00\x01\x00";
    let reply = [0u8, 90, 0, 0, 0, 0, 0, 0];
    let script: [(Side, &[u8]); 3] = [
        (Side::Orig, req),
        (Side::Resp, &reply),
        (Side::Orig, CONNECT_MQTT),
    ];
    each_split(&script, |s, passed| {
        assert_eq!(passed[0], CONNECT_MQTT);
        assert_eq!(s.layers()[0].refused(), Some(false));
    });
}

#[test]
fn websocket_upgrade_then_masked_frames_give_mqtt() {
    let upgrade = b"GET /mqtt HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
    let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
    let mut server = ok.to_vec();
    server.extend_from_slice(&[0x82, CONNACK.len() as u8]);
    server.extend_from_slice(CONNACK);
    let client = [upgrade.as_slice(), &masked(CONNECT_MQTT)].concat();
    let script: [(Side, &[u8]); 2] = [(Side::Orig, &client), (Side::Resp, &server)];
    each_split(&script, |s, passed| {
        assert_eq!(passed[0], CONNECT_MQTT);
        assert_eq!(passed[1], CONNACK);
        assert!(matches!(
            s.layers().as_slice(),
            [Transport::Websocket {
                status: Some(101),
                client_frames: 1,
                server_frames: 1,
                ..
            }]
        ));
        assert_eq!(s.layers()[0].refused(), Some(false));
    });
}

#[test]
fn websocket_upgrade_answered_404_or_without_mqtt_is_refused() {
    let upgrade =
        b"GET /mqtt HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
    for answer in [
        b"HTTP/1.0 404 File not found\r\n\r\n".as_slice(),
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    ] {
        let (s, _) = run(&[(Side::Orig, upgrade), (Side::Resp, answer)], 4096);
        assert_eq!(s.layers()[0].refused(), Some(true));
    }
}

#[test]
fn plain_http_get_is_not_a_transport() {
    let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let (s, passed) = run(&[(Side::Orig, get)], 4096);
    assert!(s.inert());
    assert_eq!(passed[0], get);
}

#[test]
fn proxy_header_v1_then_mqtt() {
    let client = [
        b"PROXY TCP4 10.0.0.9 10.0.0.1 41000 1883\r\n".as_slice(),
        CONNECT_MQTT,
    ]
    .concat();
    each_split(
        &[(Side::Orig, &client), (Side::Resp, CONNACK)],
        |s, passed| {
            assert_eq!(passed[0], CONNECT_MQTT);
            assert_eq!(passed[1], CONNACK);
            assert!(matches!(
                s.layers().as_slice(),
                [Transport::ProxyProtocol { version: 1, source: Some(src), .. }] if src == "10.0.0.9:41000"
            ));
        },
    );
}

#[test]
fn hostile_bytes_never_panic_and_buffering_is_capped() {
    let mut s = TransportSession::new(false);
    let mut out = Vec::new();
    s.on_data(Side::Orig, b"CONNECT ", at(1), &mut out);
    for n in 0..200u64 {
        s.on_data(Side::Orig, &[b'a'; 100], at(n + 2), &mut out);
    }
    assert!(s.held.iter().all(|h| h.len() <= HEAD_LIMIT + 100));
    for first in [4u8, 5, b'P', b'\r', b'G', b'C'] {
        let mut s = TransportSession::new(false);
        let mut out = Vec::new();
        for n in 0..=255u8 {
            s.on_data(Side::Orig, &[first, n, n, 0, 0xff], at(1), &mut out);
            s.on_data(Side::Resp, &[n, first, 0, 0xff], at(2), &mut out);
        }
    }
}

#[test]
fn fuzz_entry_survives_preambles_cut_and_corrupted() {
    let upgrade = b"GET /mqtt HTTP/1.1\r\nUpgrade: websocket\r\n\r\nHTTP/1.1 101 OK\r\n\r\n\x82\x84abcd\x71\x6e\x63\x64";
    let seeds: [&[u8]; 4] = [
        upgrade,
        b"CONNECT b:1 HTTP/1.1\r\n\r\nHTTP/1.1 200 OK\r\n\r\n\x10\x00",
        b"\x05\x01\x00\x05\x00\x05\x01\x00\x01\x0a\x00\x00\x01\x07\x5b",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n\x10\x0c",
    ];
    for seed in seeds {
        for control in [0u8, 1, 7, 0x41, 0x85, 0xff] {
            for cut in 0..seed.len() {
                let mut data = vec![control];
                data.extend_from_slice(&seed[..cut]);
                fuzz_session(&data);
                if let Some(b) = data.get_mut(cut / 2 + 1) {
                    *b ^= 0x5a;
                }
                fuzz_session(&data);
            }
        }
    }
}
