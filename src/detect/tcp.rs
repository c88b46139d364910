//! TCP rules: refused and unanswered connections, retransmissions, and what the capture lacks:
//! bytes (`capture_gap`) or a whole direction (`capture_one_sided`). Those are capture
//! artifacts: they lower confidence or hold rules back, they are never protocol findings.

use super::facts::{self, count_tcp, duration_text, first_tcp, is_rst, is_syn, is_syn_ack};
use super::{ConnCtx, Hit};
use crate::common::{At, Side};
use crate::flow::TcpEvent;

/// Packets from one side only, while that side acknowledged sequence space of the other
/// (RFC 9293 §3.4: an acknowledgment number says what was received): the other side's packets
/// existed and the capture missed them. A side that only sends SYNs acknowledges nothing, so an
/// unanswered SYN is never mistaken for this.
pub(crate) fn capture_one_sided(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let sides = &conn.tcp.sides;
    let (present, missing) = match (sides[0].packets, sides[1].packets) {
        (p, 0) if p > 0 => (Side::Orig, Side::Resp),
        (0, p) if p > 0 => (Side::Resp, Side::Orig),
        _ => return vec![],
    };
    let stats = present.of(sides);
    if stats.peer_seq_acked == 0 {
        return vec![];
    }
    let role = |side| {
        if side == facts::client(conn) {
            "client"
        } else {
            "server"
        }
    };
    let addr = |side: Side| side.of(&conn.endpoints).to_string();
    vec![
        Hit::new()
            .var("present", role(present))
            .var("present_addr", addr(present))
            .var("missing", role(missing))
            .var("missing_addr", addr(missing))
            .var("packets", stats.packets)
            .var("acked", stats.peer_seq_acked)
            .at(
                conn.tcp.first,
                format!("first packet, from the {}", role(present)),
            )
            .at(
                conn.tcp.last,
                format!("last packet, from the {}", role(present)),
            ),
    ]
}

/// A side advertised a zero receive window (RFC 9293 §3.8.6.1: its application stopped reading
/// and its buffer filled) for at least `min_stall_s`: from its first zero window to the next
/// segment that opens it again, or to the end of what the capture watched. Each stall of each
/// side is one hit; the longest per side is what the text names.
pub(crate) fn zero_window(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let min_stall = ctx.threshold("min_stall_s");
    let mut hits = Vec::new();
    for side in [Side::Orig, Side::Resp] {
        let mut longest: Option<(At, Option<At>, f64)> = None;
        let mut start = None;
        for (at, event) in facts::tcp_events(conn, side) {
            match event {
                TcpEvent::ZeroWindow if start.is_none() => start = Some(at),
                TcpEvent::WindowOpened => {
                    if let Some(begin) = start.take() {
                        let secs = facts::secs_between(begin, at);
                        if longest.is_none_or(|(_, _, s)| secs > s) {
                            longest = Some((begin, Some(at), secs));
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(begin) = start {
            let end = ctx.watched_until();
            let secs = facts::secs_between(begin, end);
            if longest.is_none_or(|(_, _, s)| secs > s) {
                longest = Some((begin, None, secs));
            }
        }
        let Some((begin, end, secs)) = longest.filter(|(_, _, s)| *s >= min_stall) else {
            continue;
        };
        let who = conn.role(side);
        let mut hit = Hit::new()
            .variant(if end.is_some() {
                "reopened"
            } else {
                "until_end"
            })
            .var("side", who)
            .var("duration", duration_text(secs))
            .var("frame", begin.frame)
            .at(begin, format!("the {who} advertises a zero window"));
        if let Some(end) = end {
            hit = hit.at(end, format!("the {who} opens its window again"));
        }
        hits.push(hit);
    }
    hits
}

/// After the handshake, one side kept retransmitting into silence: the other side sent no
/// packet at all after the first of those retransmissions, for at least `min_silence_s` and
/// `min_retransmissions` tries, until the sender gave up (its RST) or the capture ended. A dead
/// path, a NAT or firewall that forgot the connection, or a peer that vanished (half-open).
/// Unanswered SYNs are `syn_unanswered`'s.
pub(crate) fn peer_unresponsive(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    if !facts::transport_up(conn) || conn.tcp.missing_bytes > 0 {
        return vec![];
    }
    let end = ctx.watched_until();
    let mut hits = Vec::new();
    for side in [Side::Orig, Side::Resp] {
        let peer_last = side.other().of(&conn.tcp.sides).last;
        let retries: Vec<At> = facts::tcp_events(conn, side)
            .filter(|(at, e)| {
                matches!(e, TcpEvent::Retransmission { .. })
                    && peer_last.is_none_or(|p| at.frame > p.frame)
            })
            .map(|(at, _)| at)
            .collect();
        let (Some(&first), Some(&last)) = (retries.first(), retries.last()) else {
            continue;
        };
        // The silence lasts until the sender gave up (its RST), else until the record's end;
        // a record closed by a RST is watched for a linger after it, which is no silence.
        let gave_up =
            facts::first_tcp(conn, side, facts::is_rst).filter(|at| at.frame > last.frame);
        let silence = facts::secs_between(first, gave_up.unwrap_or(end));
        if (retries.len() as f64) < ctx.threshold("min_retransmissions")
            || silence < ctx.threshold("min_silence_s")
        {
            continue;
        }
        let who = conn.role(side);
        let peer = conn.role(side.other());
        let mut hit = Hit::new()
            .variant(if gave_up.is_some() {
                "gave_up"
            } else {
                "until_end"
            })
            .var("side", who)
            .var("peer", peer)
            .var("count", retries.len())
            .var("span", duration_text(silence))
            .at(
                first,
                format!("the {who} retransmits; the {peer} stays silent"),
            )
            .at(last, format!("retransmission {}", retries.len()));
        if let Some(p) = peer_last {
            hit = hit.at(p, format!("the {peer}'s last packet"));
        }
        if let Some(rst) = gave_up {
            hit = hit.at(rst, format!("the {who} gives up (RST)"));
        }
        hits.push(hit);
    }
    hits
}

/// An ICMP destination-unreachable answered this connection's packets (RFC 792 type 3, except
/// code 4 which is path MTU; RFC 4443 §3.1 type 1): the network says why they do not arrive.
/// RFC 1122 §4.2.3.9 / RFC 9293 §3.9.2: "host" and "net" unreachable are soft errors that TCP
/// may retry; "port" and "prohibited" end the attempt.
pub(crate) fn icmp_unreachable(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let found = conn.events.iter().find_map(|e| match e.kind {
        crate::conn::EventKind::Tcp(TcpEvent::Icmp {
            v6,
            icmp_type,
            code,
        }) if (!v6 && icmp_type == 3 && code != 4) || (v6 && icmp_type == 1) => {
            Some((e.at, e.side, v6, code))
        }
        _ => None,
    });
    let Some((at, side, v6, code)) = found else {
        return vec![];
    };
    let kind = match (v6, code) {
        (false, 0 | 6 | 11) | (true, 0) => "net",
        (false, 1 | 7 | 12) | (true, 3) => "host",
        (false, 3) | (true, 4) => "port",
        (false, 9 | 10 | 13) | (true, 1 | 5 | 6) => "prohibited",
        (false, 2) => "protocol",
        _ => "other",
    };
    let who = conn.role(side);
    let count = conn
        .events
        .iter()
        .filter(|e| matches!(e.kind, crate::conn::EventKind::Tcp(TcpEvent::Icmp { .. })))
        .count();
    let mut hit = Hit::new()
        .variant(kind)
        .var("side", who)
        .var("code", code)
        .var("icmp", if v6 { "ICMPv6" } else { "ICMP" })
        .var("count", count)
        .var("frame", at.frame)
        .var("port", conn.server_addr().port());
    if let Some(first) = facts::tcp_events(conn, side).next().map(|(a, _)| a)
        && first.frame < at.frame
    {
        hit = hit.at(first, format!("the {who}'s first packet"));
    }
    vec![hit.at(
        at,
        format!(
            "{} destination unreachable (code {code})",
            if v6 { "ICMPv6" } else { "ICMP" }
        ),
    )]
}

/// RFC 9293 §3.10.7.2: a SYN to a closed port is answered by RST (with ACK).
pub(crate) fn connection_refused(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let (client, server) = (facts::client(conn), facts::server(conn));
    let Some(syn) = first_tcp(conn, client, is_syn) else {
        return vec![];
    };
    if first_tcp(conn, server, is_syn_ack).is_some() {
        return vec![];
    }
    let Some(rst) = first_tcp(conn, server, is_rst) else {
        return vec![];
    };
    let syns = count_tcp(conn, client, is_syn);
    vec![
        Hit::new()
            .var("port", conn.server_addr().port())
            .var("syn_frame", syn.frame)
            .var("rst_frame", rst.frame)
            .var("attempts", syns)
            .var("delay", duration_text(facts::secs_between(syn, rst)))
            .at(syn, "SYN from client")
            .at(rst, "RST from server instead of SYN-ACK"),
    ]
}

/// SYNs with neither SYN-ACK nor RST. When the capture stopped right after the SYN, the answer
/// may simply not have been recorded: no finding below `min_wait_s`.
pub(crate) fn syn_unanswered(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let (client, server) = (facts::client(conn), facts::server(conn));
    let Some(first) = first_tcp(conn, client, is_syn) else {
        return vec![];
    };
    if server.of(&conn.tcp.sides).packets > 0 {
        return vec![];
    }
    let retries = facts::tcp_events(conn, client)
        .filter(|(_, t)| matches!(t, TcpEvent::Retransmission { .. }))
        .count();
    let last = conn.tcp.last;
    let end = ctx.watched_until();
    let waited = facts::secs_between(first, end);
    if waited < ctx.threshold("min_wait_s") {
        return vec![];
    }
    vec![
        Hit::new()
            .var("port", conn.server_addr().port())
            .var("syns", 1 + retries)
            .var("span", duration_text(facts::secs_between(first, last)))
            .var("waited", duration_text(waited))
            .at(first, "first SYN")
            .at(last, "last packet of the attempt"),
    ]
}

/// Bytes the capture lacks (`missing_bytes`), with the first gap.
pub(crate) fn capture_gap(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    if conn.tcp.missing_bytes == 0 {
        return vec![];
    }
    let first_gap = conn.events.iter().find_map(|e| match e.kind {
        crate::conn::EventKind::Tcp(TcpEvent::Gap { len }) => Some((e.at, e.side, len)),
        _ => None,
    });
    let mut hit = Hit::new().var("missing", conn.tcp.missing_bytes);
    if let Some((at, side, len)) = first_gap {
        hit = hit.var("first_gap_frame", at.frame).at(
            at,
            format!("{len} bytes of the {} stream missing", conn.role(side)),
        );
    } else {
        hit = hit.var("first_gap_frame", "?");
    }
    vec![hit]
}

/// Retransmitted segments as a share of all packets: info from `info_rate`, warning from
/// `warning_rate` (and at least `warning_min_count` of them).
pub(crate) fn tcp_retransmissions(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    // Resends at a smaller size after an ICMP "fragmentation needed" are path MTU discovery
    // working (RFC 1191 §6.5), not loss.
    let pmtud =
        super::pmtu::pmtud_resends(conn, Side::Orig) + super::pmtu::pmtud_resends(conn, Side::Resp);
    let retrans = conn.tcp.retransmissions.saturating_sub(pmtud);
    let packets: u64 = conn.tcp.sides.iter().map(|s| s.packets).sum();
    if retrans == 0 || packets == 0 {
        return vec![];
    }
    let rate = retrans as f64 / packets as f64;
    if rate < ctx.threshold("info_rate") {
        return vec![];
    }
    let warning = rate >= ctx.threshold("warning_rate")
        && retrans as f64 >= ctx.threshold("warning_min_count");
    let mut hit = Hit::new()
        .var("count", retrans)
        .var("packets", packets)
        .var("percent", format!("{:.1}", rate * 100.0));
    if warning {
        hit = hit.variant("high");
    }
    let examples = conn
        .events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                crate::conn::EventKind::Tcp(TcpEvent::Retransmission { .. })
            )
        })
        .take(3);
    for e in examples {
        hit = hit.at(e.at, format!("retransmission from {}", conn.role(e.side)));
    }
    vec![hit]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::common::Side;
    use crate::flow::TcpEvent;

    #[test]
    fn syn_answered_by_rst_is_refused() {
        let mut c = conn();
        c.tcp.syn_seen = true;
        tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
        tcp(&mut c, 2, 1, Side::Resp, TcpEvent::Rst);
        assert_eq!(rules_fired(&c), ["connection_refused"]);
    }

    #[test]
    fn syn_without_answer_is_unanswered_unless_the_capture_just_ended() {
        let mut c = conn();
        c.tcp.syn_seen = true;
        c.tcp.sides[1].packets = 0;
        tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
        tcp(
            &mut c,
            2,
            1_000,
            Side::Orig,
            TcpEvent::Retransmission { len: 0 },
        );
        tcp(
            &mut c,
            3,
            3_000,
            Side::Orig,
            TcpEvent::Retransmission { len: 0 },
        );
        assert_eq!(rules_fired_until(&c, 3_000), ["syn_unanswered"]);
        assert!(rules_fired_until(&c, 200).is_empty());
    }

    #[test]
    fn a_few_retransmissions_are_info_many_are_a_warning() {
        let mut c = established_plain();
        c.tcp.retransmissions = 1;
        c.tcp.sides[0].packets = 60;
        c.tcp.sides[1].packets = 40;
        let f = findings(&c);
        assert_eq!(severity_of(&f, "tcp_retransmissions"), Some("info"));
        c.tcp.retransmissions = 10;
        let f = findings(&c);
        assert_eq!(severity_of(&f, "tcp_retransmissions"), Some("warning"));
    }

    #[test]
    fn missing_bytes_are_a_capture_gap_never_malformed_mqtt() {
        let mut c = established_plain();
        c.tcp.missing_bytes = 1200;
        tcp(&mut c, 7, 10, Side::Orig, TcpEvent::Gap { len: 1200 });
        mqtt_violation(&mut c, 8, 11, Side::Orig);
        let fired = rules_fired(&c);
        assert!(fired.contains(&"capture_gap"));
        assert!(!fired.contains(&"malformed_mqtt"));
    }

    /// The client's side only: a SYN, then ACKs that move forward over the server's bytes.
    fn client_side_only(acked: u64) -> crate::conn::Connection {
        let mut c = conn();
        tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
        tcp(&mut c, 5, 3_000, Side::Orig, TcpEvent::Fin);
        c.tcp.sides[0].packets = 4;
        c.tcp.sides[0].peer_seq_acked = acked;
        c.tcp.sides[1].packets = 0;
        c
    }

    #[test]
    fn one_direction_acknowledging_the_other_is_one_sided_and_holds_rules_back() {
        let c = client_side_only(81);
        let f = findings(&c);
        assert_eq!(f.first().map(|f| f.rule), Some("capture_one_sided"));
        assert_eq!(severity_of(&f, "capture_one_sided"), Some("warning"));
        // The server's silence is the capture's: no "no answer" error.
        assert!(!f.iter().any(|f| f.rule == "syn_unanswered"), "{f:?}");
        let detail = &f[0].detail;
        assert!(detail.contains("acknowledged 81 bytes"), "{detail}");
        assert!(
            detail.contains("syn_unanswered would have fired"),
            "{detail}"
        );
    }

    #[test]
    fn unanswered_syns_acknowledge_nothing_and_stay_unanswered() {
        let c = client_side_only(0);
        let fired = rules_fired(&c);
        assert!(fired.contains(&"syn_unanswered"), "{fired:?}");
        assert!(!fired.contains(&"capture_one_sided"), "{fired:?}");
    }

    #[test]
    fn both_directions_present_is_never_one_sided() {
        let mut c = client_side_only(81);
        c.tcp.sides[1].packets = 3;
        assert!(!rules_fired(&c).contains(&"capture_one_sided"));
    }

    #[test]
    fn a_long_zero_window_is_a_stalled_reader_a_short_one_is_flow_control() {
        let mut c = established_plain();
        tcp(&mut c, 10, 100, Side::Orig, TcpEvent::ZeroWindow);
        tcp(&mut c, 11, 1_100, Side::Orig, TcpEvent::ZeroWindow);
        tcp(&mut c, 12, 6_100, Side::Orig, TcpEvent::WindowOpened);
        normal_end(&mut c, 20, 7_000);
        let f = findings(&c);
        let stall = f.iter().find(|f| f.rule == "zero_window");
        assert!(
            stall.is_some_and(|s| s.title.contains("client") && s.title.contains("6.000 s")),
            "{f:#?}"
        );
        let mut short = established_plain();
        tcp(&mut short, 10, 100, Side::Orig, TcpEvent::ZeroWindow);
        tcp(&mut short, 12, 400, Side::Orig, TcpEvent::WindowOpened);
        normal_end(&mut short, 20, 7_000);
        assert!(!rules_fired(&short).contains(&"zero_window"));
    }

    #[test]
    fn a_window_still_closed_at_the_end_counts_to_the_end() {
        let mut c = established_plain();
        tcp(&mut c, 10, 100, Side::Orig, TcpEvent::ZeroWindow);
        tcp(&mut c, 11, 9_100, Side::Resp, TcpEvent::KeepAlive);
        let f = findings(&c);
        assert!(
            f.iter()
                .any(|f| f.rule == "zero_window" && f.detail.contains("had not opened it again")),
            "{f:#?}"
        );
    }

    #[test]
    fn retransmissions_into_silence_are_an_unresponsive_peer() {
        let mut c = established_plain();
        // The server's PUBLISH goes unanswered; it retries with backoff for 12 s.
        for (frame, ms) in [
            (20, 1_200),
            (21, 1_600),
            (22, 2_400),
            (23, 4_000),
            (24, 7_200),
        ] {
            tcp(
                &mut c,
                frame,
                ms,
                Side::Resp,
                TcpEvent::Retransmission { len: 20 },
            );
        }
        c.tcp.sides[0].last = Some(at(9, 900));
        c.tcp.last = at(24, 13_000);
        let f = findings(&c);
        let p = f.iter().find(|f| f.rule == "peer_unresponsive");
        assert!(
            p.is_some_and(|p| p.title.contains("server") && p.detail.contains("5 ")),
            "{f:#?}"
        );
        // An answer after the retransmissions: the path works, no finding.
        c.tcp.sides[0].last = Some(at(25, 13_000));
        assert!(!rules_fired(&c).contains(&"peer_unresponsive"));
    }

    #[test]
    fn an_icmp_rejection_explains_the_unanswered_syn() {
        // RFC 792 type 3 code 13: communication administratively prohibited.
        let mut c = syn_then_icmp(false, 3, 13);
        let resent = TcpEvent::Retransmission { len: 0 };
        tcp(&mut c, 3, 3_000, Side::Orig, resent);
        let f = findings(&c);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].rule, "icmp_unreachable");
        assert!(
            f[0].title.contains("administratively prohibited"),
            "{}",
            f[0].title
        );
        assert!(f[0].merged.contains(&"syn_unanswered"), "{:?}", f[0].merged);
        // Fragmentation needed is a path MTU matter, not an unreachable destination.
        let mut mtu = conn();
        tcp(&mut mtu, 1, 0, Side::Orig, TcpEvent::Syn);
        let frag = TcpEvent::Icmp {
            v6: false,
            icmp_type: 3,
            code: 4,
        };
        tcp(&mut mtu, 2, 1, Side::Orig, frag);
        assert!(!rules_fired(&mtu).contains(&"icmp_unreachable"));
    }
}

#[cfg(test)]
mod boundary_tests;
