//! The capture's DNS lookups, built by the reader in frame order from DNS and mDNS datagrams:
//! per (client, name) the queries, answers and outcome, and per (client, address) the latest
//! lookup that answered it, so a connection opened to that address is told the name it was
//! resolved from. Bounded: at most `MAX_LOOKUPS` lookups and `MAX_PENDING` unanswered query
//! ids; past them new names are not followed and the capture gets a `limit_reached` warning.

use crate::common::At;
use crate::proto::dns::{self, DnsLookup, LookupOutcome, MAX_ADDRESSES, ResolvedBy};
use crate::wire::DnsDatagram;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

pub(crate) const MAX_LOOKUPS: usize = 10_000;
const MAX_PENDING: usize = 10_000;
/// mDNS answers go to the group address (RFC 6762 §6), not to the querier.
const MDNS_PORT: u16 = 5353;

#[derive(Debug, Default)]
pub(super) struct DnsLog {
    lookups: Vec<DnsLookup>,
    index: HashMap<(IpAddr, String), usize>,
    /// (querier, resolver, id) of queries not yet answered.
    pending: HashMap<(SocketAddr, SocketAddr, u16), usize>,
    /// (client, address) to the lookup that last answered it, and when.
    by_address: HashMap<(IpAddr, IpAddr), (usize, At)>,
    pub limit_hit: bool,
}

impl DnsLog {
    /// A DNS or mDNS datagram. False when it holds no DNS message (shorter than a header).
    pub(crate) fn datagram(&mut self, at: At, d: &DnsDatagram<'_>) -> bool {
        let Some(message) = dns::parse(d.payload) else {
            return false;
        };
        if message.response {
            self.response(at, d, &message);
        } else {
            for name in &message.questions {
                let Some(i) = self.lookup(d.src.ip(), name, d.dst.ip(), at) else {
                    continue;
                };
                let Some(l) = self.lookups.get_mut(i) else {
                    continue;
                };
                l.queries += 1;
                l.last_query = at;
                if self.pending.len() < MAX_PENDING {
                    self.pending.insert((d.src, d.dst, message.id), i);
                } else {
                    self.limit_hit = true;
                }
            }
        }
        true
    }

    /// A TCP segment to or from port 53 (RFC 1035 §4.2.2: each message behind a two-byte
    /// length). Read when the segment holds whole messages, as resolvers send them; a message
    /// split across segments is not read (the connection itself is still analysed as TCP).
    pub(crate) fn tcp_segment(&mut self, at: At, seg: &crate::wire::TcpSegment<'_>) {
        let mut rest = seg.payload;
        while let Some(&[hi, lo]) = rest.get(..2) {
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            let Some(message) = rest.get(2..2 + len) else {
                return;
            };
            let datagram = DnsDatagram {
                src: SocketAddr::new(seg.src, seg.src_port),
                dst: SocketAddr::new(seg.dst, seg.dst_port),
                payload: message,
            };
            if len < 12 || !self.datagram(at, &datagram) {
                return;
            }
            rest = rest.get(2 + len..).unwrap_or_default();
        }
    }

    fn lookup(&mut self, client: IpAddr, name: &str, resolver: IpAddr, at: At) -> Option<usize> {
        if let Some(&i) = self.index.get(&(client, name.to_string())) {
            return Some(i);
        }
        if self.lookups.len() >= MAX_LOOKUPS {
            self.limit_hit = true;
            return None;
        }
        let i = self.lookups.len();
        self.lookups.push(DnsLookup {
            client,
            name: name.to_string(),
            resolver,
            queries: 0,
            answers: 0,
            outcome: LookupOutcome::NoAnswer,
            rcode: None,
            first_query: at,
            last_query: at,
            answer: None,
            first_query_frame: at.frame,
            answer_frame: None,
            addresses: Vec::new(),
            connections: 0,
        });
        self.index.insert((client, name.to_string()), i);
        Some(i)
    }

    fn response(&mut self, at: At, d: &DnsDatagram<'_>, m: &dns::DnsMessage) {
        // The lookups this answers: the query it echoes, else (mDNS announcements, answers to
        // the group address) every client's lookup of a name it answers.
        let mut targets: Vec<usize> = Vec::new();
        if let Some(i) = self.pending.remove(&(d.dst, d.src, m.id)) {
            targets.push(i);
        }
        let multicast = d.dst.ip().is_multicast() || d.src.port() == MDNS_PORT;
        let names = m.questions.iter().chain(m.addresses.iter().map(|(n, _)| n));
        for name in names {
            if multicast {
                targets.extend(
                    self.lookups
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| &l.name == name)
                        .map(|(i, _)| i),
                );
            } else if let Some(&i) = self.index.get(&(d.dst.ip(), name.clone())) {
                targets.push(i);
            }
        }
        targets.sort_unstable();
        targets.dedup();
        for i in targets {
            let Some(l) = self.lookups.get_mut(i) else {
                continue;
            };
            l.answers += 1;
            // A unicast answer's records all serve its question (CNAME chains included); a
            // multicast one may answer several names at once.
            let addresses: Vec<IpAddr> = m
                .addresses
                .iter()
                .filter(|(n, _)| !multicast || *n == l.name)
                .map(|(_, a)| *a)
                .collect();
            if !addresses.is_empty() {
                if l.outcome != LookupOutcome::Resolved {
                    l.answer = Some(at);
                    l.answer_frame = Some(at.frame);
                }
                l.outcome = LookupOutcome::Resolved;
                l.rcode = None;
                for a in addresses {
                    if !l.addresses.contains(&a) && l.addresses.len() < MAX_ADDRESSES {
                        l.addresses.push(a);
                    }
                    self.by_address.insert((l.client, a), (i, at));
                }
            } else if l.outcome != LookupOutcome::Resolved {
                l.answer = Some(at);
                l.answer_frame = Some(at.frame);
                if m.rcode != 0 {
                    l.outcome = LookupOutcome::Failed;
                    l.rcode = Some(m.rcode);
                } else if l.outcome == LookupOutcome::NoAnswer {
                    l.outcome = LookupOutcome::NoAddress;
                }
            }
        }
    }

    /// The lookup that resolved `server` for `client` before `at`, counted as used.
    pub(crate) fn resolved_by(&mut self, client: IpAddr, server: IpAddr) -> Option<ResolvedBy> {
        let &(i, answered) = self.by_address.get(&(client, server))?;
        let l = self.lookups.get_mut(i)?;
        l.connections += 1;
        Some(ResolvedBy {
            name: l.name.clone(),
            query_frame: l.first_query_frame,
            answer_frame: answered.frame,
            resolver: l.resolver,
        })
    }

    /// Every lookup, in order of first query; the log is emptied for the next capture.
    pub(crate) fn finish(&mut self) -> Vec<DnsLookup> {
        let lookups = std::mem::take(&mut self.lookups);
        *self = DnsLog::default();
        lookups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u16, response: bool, rcode: u8, answer: Option<[u8; 4]>) -> Vec<u8> {
        let mut m = id.to_be_bytes().to_vec();
        m.extend_from_slice(&[if response { 0x81 } else { 0x01 }, 0x80 | rcode]);
        m.extend_from_slice(&[0, 1, 0, u8::from(answer.is_some()), 0, 0, 0, 0]);
        m.extend_from_slice(b"\x06broker\x03lab\x04test\x00\x00\x01\x00\x01");
        if let Some(a) = answer {
            m.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04");
            m.extend_from_slice(&a);
        }
        m
    }

    fn at(frame: u64) -> At {
        At {
            frame,
            time_ns: frame as i64 * 1_000_000,
        }
    }

    fn feed(log: &mut DnsLog, frame: u64, src: &str, dst: &str, bytes: &[u8]) {
        let d = DnsDatagram {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            payload: bytes,
        };
        assert!(log.datagram(at(frame), &d));
    }

    #[test]
    fn an_answer_names_the_connection_and_a_failure_stays_failed() {
        let mut log = DnsLog::default();
        feed(
            &mut log,
            1,
            "10.0.0.2:40000",
            "10.0.0.53:53",
            &message(7, false, 0, None),
        );
        feed(
            &mut log,
            2,
            "10.0.0.53:53",
            "10.0.0.2:40000",
            &message(7, true, 0, Some([10, 0, 0, 1])),
        );
        let named = log.resolved_by("10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap());
        assert_eq!(
            named.map(|n| (n.name, n.query_frame, n.answer_frame)),
            Some(("broker.lab.test".into(), 1, 2))
        );
        assert!(
            log.resolved_by("10.0.0.9".parse().unwrap(), "10.0.0.1".parse().unwrap())
                .is_none()
        );
        // Another client: NXDOMAIN twice.
        feed(
            &mut log,
            3,
            "10.0.0.3:40001",
            "10.0.0.53:53",
            &message(8, false, 0, None),
        );
        feed(
            &mut log,
            4,
            "10.0.0.53:53",
            "10.0.0.3:40001",
            &message(8, true, 3, None),
        );
        let lookups = log.finish();
        assert_eq!(lookups.len(), 2);
        assert_eq!(
            (lookups[0].outcome, lookups[0].connections),
            (LookupOutcome::Resolved, 1)
        );
        assert_eq!(
            (lookups[1].outcome, lookups[1].rcode),
            (LookupOutcome::Failed, Some(3))
        );
    }

    #[test]
    fn an_mdns_answer_to_the_group_resolves_the_querier() {
        let mut log = DnsLog::default();
        feed(
            &mut log,
            1,
            "10.0.0.2:5353",
            "224.0.0.251:5353",
            &message(0, false, 0, None),
        );
        feed(
            &mut log,
            2,
            "10.0.0.7:5353",
            "224.0.0.251:5353",
            &message(0, true, 0, Some([10, 0, 0, 7])),
        );
        assert!(
            log.resolved_by("10.0.0.2".parse().unwrap(), "10.0.0.7".parse().unwrap())
                .is_some()
        );
        assert_eq!(log.finish()[0].outcome, LookupOutcome::Resolved);
    }

    #[test]
    fn lookups_are_capped_and_the_cap_is_said() {
        let mut log = DnsLog::default();
        for n in 0..(MAX_LOOKUPS as u32 + 5) {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + n);
            feed(
                &mut log,
                1,
                &format!("{ip}:40000"),
                "10.0.0.53:53",
                &message(1, false, 0, None),
            );
        }
        assert!(log.limit_hit);
        assert_eq!(log.finish().len(), MAX_LOOKUPS);
    }
}
