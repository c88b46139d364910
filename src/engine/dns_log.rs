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

pub const MAX_LOOKUPS: usize = 10_000;
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
    pub fn datagram(&mut self, at: At, d: &DnsDatagram<'_>) -> bool {
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
                let l = &mut self.lookups[i];
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
    pub fn tcp_segment(&mut self, at: At, seg: &crate::wire::TcpSegment<'_>) {
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
            rest = &rest[2 + len..];
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
            let l = &mut self.lookups[i];
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
    pub fn resolved_by(&mut self, client: IpAddr, server: IpAddr) -> Option<ResolvedBy> {
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
    pub fn finish(&mut self) -> Vec<DnsLookup> {
        let lookups = std::mem::take(&mut self.lookups);
        *self = DnsLog::default();
        lookups
    }
}
