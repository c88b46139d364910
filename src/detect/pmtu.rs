//! `pmtu_blackhole`: a path MTU black hole (RFC 2923 §2.1). A side's full-size segments are
//! retransmitted and never acknowledged while its small ones got through, because a link on
//! the path has a smaller MTU and the ICMP "fragmentation needed" (RFC 1191) / "packet too
//! big" (RFC 8201) that should tell the sender is dropped on the way or on the sender's host.
//! Also: which retransmissions are path MTU discovery doing its job (resends at the smaller
//! size after such an ICMP), so `tcp_retransmissions` does not count them as loss.

use super::{ConnCtx, Hit, facts};
use crate::common::{At, Side};
use crate::conn::Connection;
use crate::flow::TcpEvent;

/// ICMPv4 type 3 code 4 or ICMPv6 type 2: the path needs smaller packets.
pub(crate) fn is_too_big(event: &TcpEvent) -> bool {
    matches!(
        event,
        TcpEvent::Icmp {
            v6: false,
            icmp_type: 3,
            code: 4
        } | TcpEvent::Icmp {
            v6: true,
            icmp_type: 2,
            ..
        }
    )
}

/// Retransmissions of `side` after it was told the path needs smaller packets: path MTU
/// discovery resending at the new size, not loss.
pub(crate) fn pmtud_resends(conn: &Connection, side: Side) -> u64 {
    let mut told = false;
    let mut resends = 0;
    for (_, e) in facts::tcp_events(conn, side) {
        if is_too_big(e) {
            told = true;
        } else if told && matches!(e, TcpEvent::Retransmission { .. }) {
            resends += 1;
        }
    }
    resends
}

pub(crate) fn pmtu_blackhole(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    if !facts::transport_up(conn) || conn.tcp.missing_bytes > 0 {
        return vec![];
    }
    let min_segment = ctx.threshold("min_segment") as u32;
    let min_retries = ctx.threshold("min_retransmissions") as usize;
    let mut hits = Vec::new();
    for side in [Side::Orig, Side::Resp] {
        let (mine, peer) = (side.of(&conn.tcp.sides), side.other().of(&conn.tcp.sides));
        let big: Vec<(At, u32)> = facts::tcp_events(conn, side)
            .filter_map(|(at, e)| match e {
                TcpEvent::Retransmission { len } if *len >= min_segment => Some((at, *len)),
                _ => None,
            })
            .collect();
        let Some(&(first, size)) = big.first() else {
            continue;
        };
        // Sequence space the peer acknowledged: its SYN-ACK's 1, then our bytes. Small
        // segments passed when some of our bytes were acknowledged; the full-size ones never
        // were when what is outstanding at the end is at least one of them.
        let small_passed = peer.peer_seq_acked >= 2;
        let outstanding = (mine.bytes + 1).saturating_sub(peer.peer_seq_acked);
        if big.len() < min_retries || !small_passed || outstanding < u64::from(size) {
            continue;
        }
        let icmp = facts::tcp_events(conn, side).find(|(_, e)| is_too_big(e));
        let who = conn.role(side);
        let last = big.last().map_or(first, |b| b.0);
        let mut hit = Hit::new()
            .var("side", who)
            .var("size", size)
            .var("count", big.len())
            .var(
                "span",
                format!("{:.1} s", (last.time_ns - first.time_ns) as f64 / 1e9),
            )
            .var("acked", peer.peer_seq_acked.saturating_sub(1))
            .at(first, format!("{size}-byte segment retransmitted"))
            .at(last, "still not acknowledged");
        hit = match icmp {
            Some((at, _)) => hit
                .variant("icmp_ignored")
                .var("icmp_frame", at.frame)
                .at(at, "ICMP: the path needs smaller packets"),
            None => hit.variant("no_icmp"),
        };
        hits.push(hit);
    }
    hits
}

#[cfg(test)]
mod tests;
