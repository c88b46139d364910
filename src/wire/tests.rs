//! Wire decoding tests over hand-made and etherparse-built frames: every link type, VLAN tags,
//! IPv6 extension headers, fragment reassembly, Ethernet padding, snaplen cuts, tunnels, and
//! every prefix of a fixture frame. (Real tunnel captures: `tests/tunnels.rs`.)

use super::*;
use etherparse::PacketBuilder;
use std::net::{Ipv4Addr, Ipv6Addr};

const CLIENT: [u8; 4] = [10, 78, 0, 2];
const SERVER: [u8; 4] = [10, 78, 0, 1];

fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let builder = PacketBuilder::ipv4(CLIENT, SERVER, 64)
        .tcp(54810, 8883, 1000, 65535)
        .ack(77)
        .psh();
    let _ = builder.write(&mut out, payload);
    out
}

fn ethernet_tcp(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let builder = PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(CLIENT, SERVER, 64)
        .tcp(54810, 8883, 1000, 65535)
        .ack(77)
        .psh();
    let _ = builder.write(&mut out, payload);
    out
}

fn decode_one(link_type: u32, data: &[u8]) -> Decoded<'_> {
    // A fresh decoder per call; the segment borrows only `data` for non-fragments, so the
    // decoder is leaked into a box that lives as long as the test (tiny).
    let decoder: &'static mut WireDecoder = Box::leak(Box::new(WireDecoder::new()));
    decoder.decode(1, link_type, data, data.len() as u32)
}

fn expect_tcp<'a>(decoded: Decoded<'a>) -> TcpSegment<'a> {
    match decoded {
        Decoded::Tcp(segment) => segment,
        other => panic!("expected TCP, got {other:?}"),
    }
}

#[test]
fn ethernet_ipv4_tcp_fields() {
    let frame = ethernet_tcp(b"hello");
    let segment = expect_tcp(decode_one(1, &frame));
    assert_eq!(segment.src, IpAddr::V4(Ipv4Addr::from(CLIENT)));
    assert_eq!(segment.dst, IpAddr::V4(Ipv4Addr::from(SERVER)));
    assert_eq!((segment.src_port, segment.dst_port), (54810, 8883));
    assert_eq!((segment.seq, segment.ack), (1000, 77));
    assert!(segment.flags.ack() && segment.flags.psh() && !segment.flags.syn());
    assert_eq!(segment.window, 65535);
    assert_eq!(segment.payload, b"hello");
    assert_eq!(segment.missing_payload, 0);
}

#[test]
fn vlan_and_qinq() {
    let mut single = Vec::new();
    let _ = PacketBuilder::ethernet2([1; 6], [2; 6])
        .single_vlan(5.try_into().unwrap_or_default())
        .ipv4(CLIENT, SERVER, 64)
        .tcp(1, 2, 3, 4)
        .write(&mut single, b"x");
    assert_eq!(expect_tcp(decode_one(1, &single)).payload, b"x");
    let mut double = Vec::new();
    let _ = PacketBuilder::ethernet2([1; 6], [2; 6])
        .double_vlan(
            5.try_into().unwrap_or_default(),
            6.try_into().unwrap_or_default(),
        )
        .ipv4(CLIENT, SERVER, 64)
        .tcp(1, 2, 3, 4)
        .write(&mut double, b"yz");
    assert_eq!(expect_tcp(decode_one(1, &double)).payload, b"yz");
}

#[test]
fn every_link_type_reaches_tcp() {
    let ip = ipv4_tcp(b"data");
    let mut cases: Vec<(u32, Vec<u8>)> = Vec::new();
    for raw in [12, 14, 101, 228] {
        cases.push((raw, ip.clone()));
    }
    let mut null_le = 2u32.to_le_bytes().to_vec();
    null_le.extend_from_slice(&ip);
    cases.push((0, null_le));
    let mut null_be = 2u32.to_be_bytes().to_vec();
    null_be.extend_from_slice(&ip);
    cases.push((0, null_be.clone()));
    cases.push((108, null_be));
    let mut sll = vec![0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(&ip);
    cases.push((113, sll));
    let mut sll2 = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0,
    ];
    sll2.extend_from_slice(&ip);
    cases.push((276, sll2));
    cases.push((1, ethernet_tcp(b"data")));
    for (link_type, frame) in &cases {
        let segment = expect_tcp(decode_one(*link_type, frame));
        assert_eq!(segment.payload, b"data", "link type {link_type}");
        assert_eq!(segment.dst_port, 8883);
    }
}

#[test]
fn ipv6_over_null_and_raw() {
    let mut ip6 = Vec::new();
    let _ = PacketBuilder::ipv6([1; 16], [2; 16], 64)
        .tcp(40000, 1883, 5, 100)
        .write(&mut ip6, b"v6");
    for family in [24u32, 28, 30] {
        let mut frame = family.to_le_bytes().to_vec();
        frame.extend_from_slice(&ip6);
        assert_eq!(expect_tcp(decode_one(0, &frame)).payload, b"v6");
    }
    let segment = expect_tcp(decode_one(229, &ip6));
    assert_eq!(segment.src, IpAddr::V6(Ipv6Addr::from([1; 16])));
    assert_eq!(segment.dst_port, 1883);
}

/// IPv6 header (RFC 8200 §3) with a hop-by-hop options header (§4.3) before TCP.
fn ipv6_hop_by_hop_tcp(tcp: &[u8]) -> Vec<u8> {
    let payload_len = (8 + tcp.len()) as u16;
    let mut out = vec![0x60, 0, 0, 0];
    out.extend_from_slice(&payload_len.to_be_bytes());
    out.push(0); // next header: hop-by-hop
    out.push(64);
    out.extend_from_slice(&[0xfe; 16]);
    out.extend_from_slice(&[0xfd; 16]);
    out.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]); // next TCP, len 0, PadN
    out.extend_from_slice(tcp);
    out
}

fn tcp_header(payload: &[u8]) -> Vec<u8> {
    let mut tcp = Vec::new();
    tcp.extend_from_slice(&1234u16.to_be_bytes());
    tcp.extend_from_slice(&443u16.to_be_bytes());
    tcp.extend_from_slice(&7u32.to_be_bytes());
    tcp.extend_from_slice(&8u32.to_be_bytes());
    tcp.extend_from_slice(&[0x50, 0x18, 0x01, 0x00, 0, 0, 0, 0]);
    tcp.extend_from_slice(payload);
    tcp
}

#[test]
fn ipv6_extension_header_is_skipped() {
    let packet = ipv6_hop_by_hop_tcp(&tcp_header(b"ext"));
    let segment = expect_tcp(decode_one(101, &packet));
    assert_eq!(segment.payload, b"ext");
    assert_eq!(segment.src_port, 1234);
}

/// An IPv4 fragment (RFC 791 §3.1) of protocol TCP.
fn ipv4_fragment(id: u16, offset_bytes: u16, more: bool, data: &[u8]) -> Vec<u8> {
    let total = (20 + data.len()) as u16;
    let flags_offset = (offset_bytes / 8) | if more { 0x2000 } else { 0 };
    let mut out = vec![0x45, 0];
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags_offset.to_be_bytes());
    out.extend_from_slice(&[64, 6, 0, 0]);
    out.extend_from_slice(&CLIENT);
    out.extend_from_slice(&SERVER);
    out.extend_from_slice(data);
    out
}

#[test]
fn ipv4_fragments_reassemble_in_and_out_of_order() {
    let payload: Vec<u8> = (0..60u8).collect();
    let tcp = tcp_header(&payload); // 80 bytes
    let pieces = [(0u16, true), (24, true), (48, false)];
    for order in [[0usize, 1, 2], [2, 1, 0], [1, 0, 2]] {
        let mut decoder = WireDecoder::new();
        for (step, &i) in order.iter().enumerate() {
            let (offset, more) = pieces[i];
            let end = if more {
                offset as usize + 24
            } else {
                tcp.len()
            };
            let fragment = ipv4_fragment(9, offset, more, &tcp[offset as usize..end]);
            let decoded = decoder.decode(step as u64 + 1, 101, &fragment, fragment.len() as u32);
            if step < 2 {
                assert_eq!(decoded, Decoded::FragmentHeld);
            } else {
                let segment = expect_tcp(decoded);
                assert_eq!(segment.payload, payload.as_slice());
                assert_eq!(segment.dst_port, 443);
            }
        }
    }
}

#[test]
fn ipv6_fragments_reassemble() {
    let tcp = tcp_header(b"0123456789abcdef0123456789");
    let mut decoder = WireDecoder::new();
    let pieces: [(u16, bool, &[u8]); 2] = [(0, true, &tcp[..24]), (24, false, &tcp[24..])];
    let mut last = None;
    for (n, (offset, more, data)) in pieces.iter().enumerate() {
        let mut packet = vec![0x60, 0, 0, 0];
        packet.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
        packet.push(44); // fragment header
        packet.push(64);
        packet.extend_from_slice(&[0xfe; 32]);
        let offset_flags = (offset / 8) << 3 | u16::from(*more);
        packet.extend_from_slice(&[6, 0]);
        packet.extend_from_slice(&offset_flags.to_be_bytes());
        packet.extend_from_slice(&77u32.to_be_bytes());
        packet.extend_from_slice(data);
        let decoded = decoder.decode(n as u64 + 1, 229, &packet, packet.len() as u32);
        last = Some(match decoded {
            Decoded::Tcp(s) => Some(s.payload.to_vec()),
            Decoded::FragmentHeld => None,
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(last, Some(Some(b"0123456789abcdef0123456789".to_vec())));
}

#[test]
fn ethernet_padding_is_not_payload() {
    let mut frame = ethernet_tcp(b"");
    assert!(frame.len() < 60);
    frame.resize(60, 0);
    let segment = expect_tcp(decode_one(1, &frame));
    assert_eq!(segment.payload, b"");
    assert_eq!(segment.missing_payload, 0);
}

#[test]
fn snaplen_cut_payload_is_counted_missing() {
    let frame = ethernet_tcp(&[0xaa; 100]);
    let cut = frame.get(..frame.len() - 60).unwrap_or_default();
    let segment = expect_tcp(decode_one(1, cut));
    assert_eq!(segment.payload.len(), 40);
    assert_eq!(segment.missing_payload, 60);
}

#[test]
fn cut_tcp_options_still_yield_the_segment() {
    // Data offset 8 (32 bytes: 12 bytes of options), payload 10 bytes; capture keeps 26 bytes
    // of TCP, so the options are cut.
    let mut tcp = tcp_header(&[]);
    tcp[12] = 0x80;
    tcp.extend_from_slice(&[1; 12]);
    tcp.extend_from_slice(&[0xbb; 10]);
    let mut ip = ipv4_fragment(1, 0, false, &tcp);
    ip[6] = 0; // not a fragment: clear flags and offset
    ip[7] = 0;
    let cut = ip.get(..20 + 26).unwrap_or_default();
    let segment = expect_tcp(decode_one(101, cut));
    assert_eq!(segment.src_port, 1234);
    assert_eq!(segment.payload, b"");
    assert_eq!(segment.missing_payload, 10);
}

#[test]
fn non_tcp_and_unsupported_and_malformed() {
    let mut udp = Vec::new();
    let _ = PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(CLIENT, SERVER, 64)
        .udp(53, 53)
        .write(&mut udp, b"dns");
    assert!(matches!(
        decode_one(1, &udp),
        Decoded::Dns(DnsDatagram {
            payload: b"dns",
            ..
        })
    ));
    let mut arp = vec![0u8; 12];
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0; 28]);
    assert_eq!(decode_one(1, &arp), Decoded::NotTcp(OtherTraffic::Arp));
    assert_eq!(decode_one(147, &udp), Decoded::UnsupportedLinkType(147));
    let ip = ipv4_tcp(b"");
    assert_eq!(
        decode_one(101, &ip[..12]),
        Decoded::Malformed("IPv4 header cut at 12 bytes".into())
    );
    let mut short_total = ip.clone();
    short_total[2] = 0;
    short_total[3] = 10;
    assert!(matches!(
        decode_one(101, &short_total),
        Decoded::Malformed(_)
    ));
    assert_eq!(
        decode_one(101, &ip[..30]),
        Decoded::Malformed("TCP header cut at 10 bytes".into())
    );
}

/// `inner` wrapped in outer Ethernet/IPv4/UDP to `port` behind `header`.
fn over_udp(port: u16, header: &[u8], inner: &[u8]) -> Vec<u8> {
    let mut payload = header.to_vec();
    payload.extend_from_slice(inner);
    let mut out = Vec::new();
    let _ = PacketBuilder::ethernet2([3; 6], [4; 6])
        .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
        .udp(40000, port)
        .write(&mut out, &payload);
    out
}

fn vxlan(inner_frame: &[u8]) -> Vec<u8> {
    over_udp(4789, &[0x08, 0, 0, 0, 0, 0, 42, 0], inner_frame)
}

#[test]
fn tunnels_lead_to_the_inner_segment() {
    let frame = vxlan(&ethernet_tcp(b"hi"));
    let segment = expect_tcp(decode_one(1, &frame));
    assert_eq!(segment.src, IpAddr::V4(Ipv4Addr::from(CLIENT)));
    assert_eq!((segment.src_port, segment.dst_port), (54810, 8883));
    assert_eq!(segment.payload, b"hi");

    let gtp = over_udp(2152, &[0x30, 0xff, 0, 0, 0, 0, 0, 7], &ipv4_tcp(b"gtp"));
    assert_eq!(expect_tcp(decode_one(1, &gtp)).payload, b"gtp");

    let mut gre = Vec::new();
    let mut gre_payload = vec![0, 0, 0x08, 0x00];
    gre_payload.extend_from_slice(&ipv4_tcp(b"gre"));
    let _ = PacketBuilder::ethernet2([3; 6], [4; 6])
        .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
        .write(&mut gre, etherparse::IpNumber(47), &gre_payload);
    assert_eq!(expect_tcp(decode_one(1, &gre)).payload, b"gre");
}

#[test]
fn tunnels_nest_only_so_deep() {
    let mut frame = ethernet_tcp(b"deep");
    for _ in 0..MAX_TUNNEL_DEPTH {
        frame = vxlan(&frame);
    }
    assert_eq!(expect_tcp(decode_one(1, &frame)).payload, b"deep");
    let deeper = vxlan(&frame);
    assert_eq!(
        decode_one(1, &deeper),
        Decoded::NotTcp(OtherTraffic::TunnelTooDeep)
    );
}

#[test]
fn every_prefix_of_fixture_frames_never_panics() {
    let mut fixtures = vec![(1u32, ethernet_tcp(b"payload bytes"))];
    fixtures.push((1, vxlan(&ethernet_tcp(b"inner"))));
    fixtures.push((
        1,
        over_udp(2152, &[0x30, 0xff, 0, 0, 0, 0, 0, 7], &ipv4_tcp(b"x")),
    ));
    fixtures.push((101, ipv6_hop_by_hop_tcp(&tcp_header(b"x"))));
    fixtures.push((101, ipv4_fragment(3, 8, true, &[0; 16])));
    for (link_type, frame) in fixtures {
        let mut decoder = WireDecoder::new();
        for cut in 0..=frame.len() {
            let prefix = frame.get(..cut).unwrap_or_default();
            for lt in [link_type, 0, 108, 113, 276, 229] {
                let _ = decoder.decode(cut as u64, lt, prefix, frame.len() as u32);
            }
        }
        fuzz_decode(&frame);
    }
}
