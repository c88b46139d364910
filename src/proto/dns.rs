//! DNS messages (RFC 1035 §4.1; mDNS, RFC 6762, uses the same format): what a lookup needs:
//! query or response, id, response code, the names asked for, and the addresses answered
//! (A and AAAA records, following CNAMEs by collecting every address record). Records are
//! decoded with `simple-dns`; the 12-byte header is read here, so a response whose records
//! that crate refuses still gives its id and response code.

use crate::common::At;
use serde::Serialize;
use simple_dns::rdata::RData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How a lookup ended (the last word of the capture on that name for that client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LookupOutcome {
    /// At least one answer gave an address.
    Resolved,
    /// Answered with an error response code (`rcode`).
    Failed,
    /// Answered without error but without an address (RFC 2308 §2.2 NODATA).
    NoAddress,
    /// No answer at all.
    NoAnswer,
}

/// The lookups of one name by one client in a capture (every query type together: a device
/// asks A and AAAA for one connection).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DnsLookup {
    pub client: IpAddr,
    pub name: String,
    /// The resolver asked first.
    pub resolver: IpAddr,
    pub queries: u32,
    pub answers: u32,
    pub outcome: LookupOutcome,
    /// The last error response code, when the outcome is `failed`.
    pub rcode: Option<u8>,
    #[serde(skip)]
    pub first_query: At,
    #[serde(skip)]
    pub last_query: At,
    /// The first answer with an address, else the last answer.
    #[serde(skip)]
    pub answer: Option<At>,
    pub first_query_frame: u64,
    pub answer_frame: Option<u64>,
    /// Addresses answered (at most [`MAX_ADDRESSES`]).
    pub addresses: Vec<IpAddr>,
    /// Connections opened to one of those addresses after the answer.
    pub connections: u32,
}

/// Addresses kept per lookup.
pub(crate) const MAX_ADDRESSES: usize = 16;

/// Which lookup resolved a connection's server address (the connection's `dns`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ResolvedBy {
    pub name: String,
    pub query_frame: u64,
    pub answer_frame: u64,
    pub resolver: IpAddr,
}

/// One DNS message, reduced to what lookups and connections need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DnsMessage {
    pub id: u16,
    pub response: bool,
    /// RFC 1035 §4.1.1 RCODE (0 no error, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED).
    pub rcode: u8,
    /// Names in the question section, lower case, without the final dot.
    pub questions: Vec<String>,
    /// (owner name, address) of every A and AAAA record in the answer section.
    pub addresses: Vec<(String, IpAddr)>,
    /// False when only the header could be read.
    pub records_read: bool,
}

/// The message in `bytes` (one UDP payload, or one length-prefixed TCP message without its
/// prefix); `None` when it is shorter than a header.
pub(crate) fn parse(bytes: &[u8]) -> Option<DnsMessage> {
    // RFC 1035 §4.1.1: ID, flags (QR in the top bit, RCODE in the low nibble), four counts.
    let &[id_hi, id_lo, flags_hi, flags_lo, ..] = bytes.first_chunk::<12>()?;
    let id = u16::from_be_bytes([id_hi, id_lo]);
    let response = flags_hi & 0x80 != 0;
    let rcode = flags_lo & 0x0f;
    let mut message = DnsMessage {
        id,
        response,
        rcode,
        questions: Vec::new(),
        addresses: Vec::new(),
        records_read: false,
    };
    if let Ok(packet) = simple_dns::Packet::parse(bytes) {
        message.records_read = true;
        message.questions = packet
            .questions
            .iter()
            .map(|q| normalise(&q.qname.to_string()))
            .collect();
        for rr in &packet.answers {
            let address = match &rr.rdata {
                RData::A(a) => IpAddr::V4(Ipv4Addr::from(a.address)),
                RData::AAAA(a) => IpAddr::V6(Ipv6Addr::from(a.address)),
                _ => continue,
            };
            message
                .addresses
                .push((normalise(&rr.name.to_string()), address));
        }
    }
    Some(message)
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// RFC 1035 §4.1.1 and RFC 6895 §2.3 names of the response codes a lookup can end with.
pub(crate) fn rcode_name(rcode: u8) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "other",
    }
}

/// Fuzz entry: arbitrary bytes as a DNS message. Must never panic.
pub fn fuzz_parse(data: &[u8]) {
    if let Some(m) = parse(data) {
        let _ = (m.questions.len(), m.addresses.len(), rcode_name(m.rcode));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response for broker.lab.test A 10.78.0.1, as dnsmasq sends it (name compression).
    const RESPONSE: &[u8] = b"\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\
\x06broker\x03lab\x04test\x00\x00\x01\x00\x01\
\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x4e\x00\x01";

    #[test]
    fn response_gives_name_and_address() {
        let m = parse(RESPONSE).expect("header");
        assert!(m.response && m.records_read);
        assert_eq!((m.id, m.rcode), (0x1234, 0));
        assert_eq!(m.questions, vec!["broker.lab.test".to_string()]);
        assert_eq!(
            m.addresses,
            vec![("broker.lab.test".to_string(), "10.78.0.1".parse().unwrap())]
        );
    }

    #[test]
    fn nxdomain_header_is_read_even_when_records_are_cut() {
        let mut nx = RESPONSE[..30].to_vec();
        nx[3] = 0x83;
        let m = parse(&nx).expect("header");
        assert_eq!(m.rcode, 3);
        assert_eq!(rcode_name(m.rcode), "NXDOMAIN");
    }

    #[test]
    fn every_prefix_is_a_message_or_none_never_a_panic() {
        for n in 0..RESPONSE.len() {
            let got = parse(&RESPONSE[..n]);
            assert_eq!(got.is_some(), n >= 12, "{n}");
        }
        for b in 0..=255u8 {
            let mut hostile = RESPONSE.to_vec();
            hostile[13] = b;
            hostile[12] = b;
            let _ = parse(&hostile);
        }
    }
}
