//! Conformance with tshark 4.0.17 on the public corpus (`../shared/corpus`, never copied into
//! the repository): for every MQTT capture (pcap or pcapng), each TCP stream's payloads are
//! extracted with a minimal reader (pcap-parser, etherparse, per-direction ordering by sequence
//! number; sequence wrap-around and port reuse are not handled, none occur in these files), sniffed, fed to a session, and compared with `tshark-facts.json`: client id,
//! CONNACK code and packet counts by type. Skips with a notice when the corpus is missing.

use super::{MqttSession, sniff};
use crate::common::{At, Side};
use crate::proto::Sniffed;
use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{Block, LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};
use std::collections::BTreeMap;
use std::path::Path;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

type Endpoint = (Vec<u8>, u16);

#[derive(Default)]
struct Direction {
    syn_seq: Option<u32>,
    segments: Vec<(u32, u64, Vec<u8>)>,
    close_frame: Option<u64>,
}

#[derive(Default)]
struct Stream {
    orig: Option<Endpoint>,
    dirs: [Direction; 2],
}

enum Input {
    Data(Vec<u8>),
    Gap(u64),
    Close,
}

/// Reads a pcap or pcapng file (Ethernet, raw IP, Linux cooked v1/v2) into TCP streams
/// numbered like tshark's `tcp.stream` (order of first appearance; no port reuse in these files).
fn read_streams(path: &Path) -> Option<Vec<Stream>> {
    let mut magic = [0u8; 4];
    std::io::Read::read_exact(&mut std::fs::File::open(path).ok()?, &mut magic).ok()?;
    let file = std::fs::File::open(path).ok()?;
    let mut reader: Box<dyn PcapReaderIterator> = if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        Box::new(PcapNGReader::new(1 << 16, file).ok()?)
    } else {
        Box::new(LegacyPcapReader::new(1 << 16, file).ok()?)
    };
    let mut link_types: Vec<i32> = Vec::new();
    let mut frame = 0u64;
    let mut index: BTreeMap<(Endpoint, Endpoint), usize> = BTreeMap::new();
    let mut streams: Vec<Stream> = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                let packet = match &block {
                    PcapBlockOwned::LegacyHeader(header) => {
                        link_types = vec![header.network.0];
                        None
                    }
                    PcapBlockOwned::Legacy(packet) => {
                        Some((link_types.first().copied(), packet.data))
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        link_types.clear();
                        None
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        link_types.push(idb.linktype.0);
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let link = link_types.get(epb.if_id as usize).copied();
                        Some((link, epb.packet_data()))
                    }
                    PcapBlockOwned::NG(_) => None,
                };
                if let Some((link, data)) = packet {
                    frame += 1;
                    let sliced = match link {
                        Some(1) => LaxSlicedPacket::from_ethernet(data).ok(),
                        Some(228 | 229 | 101) => LaxSlicedPacket::from_ip(data).ok(),
                        Some(113) => data
                            .get(16..)
                            .and_then(|d| LaxSlicedPacket::from_ip(d).ok()),
                        Some(276) => data
                            .get(20..)
                            .and_then(|d| LaxSlicedPacket::from_ip(d).ok()),
                        _ => None,
                    };
                    if let Some(sliced) = sliced {
                        add_segment(&sliced, frame, &mut index, &mut streams);
                    }
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => reader.refill().ok()?,
            Err(_) => break,
        }
    }
    Some(streams)
}

fn add_segment(
    sliced: &LaxSlicedPacket<'_>,
    frame: u64,
    index: &mut BTreeMap<(Endpoint, Endpoint), usize>,
    streams: &mut Vec<Stream>,
) {
    let (src, dst) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(ip)) => (
            ip.header().source().to_vec(),
            ip.header().destination().to_vec(),
        ),
        Some(LaxNetSlice::Ipv6(ip)) => (
            ip.header().source().to_vec(),
            ip.header().destination().to_vec(),
        ),
        _ => return,
    };
    let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
        return;
    };
    let from = (src, tcp.source_port());
    let to = (dst, tcp.destination_port());
    let key = if from <= to {
        (from.clone(), to)
    } else {
        (to, from.clone())
    };
    let next = streams.len();
    let i = *index.entry(key).or_insert(next);
    if i == next {
        streams.push(Stream::default());
    }
    let stream = &mut streams[i];
    let orig = stream.orig.get_or_insert_with(|| from.clone());
    let side = if *orig == from { 0 } else { 1 };
    let dir = &mut stream.dirs[side];
    if tcp.syn() {
        dir.syn_seq = Some(tcp.sequence_number().wrapping_add(1));
    }
    if !tcp.payload().is_empty() {
        dir.segments
            .push((tcp.sequence_number(), frame, tcp.payload().to_vec()));
    }
    if (tcp.fin() || tcp.rst()) && dir.close_frame.is_none() {
        dir.close_frame = Some(frame);
    }
}

/// Orders one direction by sequence number: data, gaps for holes, retransmissions dropped.
fn direction_inputs(dir: &Direction, side: Side, out: &mut Vec<(u64, Side, Input)>) {
    let Some(first) = dir.segments.first() else {
        return;
    };
    let base = dir.syn_seq.unwrap_or(first.0);
    let mut segments: Vec<(u64, u64, &[u8])> = dir
        .segments
        .iter()
        .map(|(seq, frame, data)| (u64::from(seq.wrapping_sub(base)), *frame, data.as_slice()))
        .collect();
    segments.sort_by_key(|s| (s.0, s.1));
    let mut next = 0u64;
    for (offset, frame, data) in segments {
        if offset > next {
            out.push((frame, side, Input::Gap(offset - next)));
            next = offset;
        }
        let end = offset + data.len() as u64;
        if end <= next {
            continue;
        }
        let fresh = &data[(next - offset) as usize..];
        out.push((frame, side, Input::Data(fresh.to_vec())));
        next = end;
    }
    if let Some(frame) = dir.close_frame {
        out.push((frame, side, Input::Close));
    }
}

#[test]
fn corpus_agrees_with_tshark_facts() {
    let facts_path = Path::new(CORPUS).join("tshark-facts.json");
    let Ok(facts_text) = std::fs::read_to_string(&facts_path) else {
        // Written to stderr directly: the test harness hides a passing test's eprintln!.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: corpus_agrees_with_tshark_facts: corpus not found at {CORPUS}"
        );
        return;
    };
    let facts: serde_json::Value = serde_json::from_str(&facts_text).expect("facts json");
    let jsonl =
        std::fs::read_to_string(Path::new(CORPUS).join("tshark-4.0.17.jsonl")).unwrap_or_default();
    let file_facts: BTreeMap<String, serde_json::Value> = jsonl
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| Some((v.get("file")?.as_str()?.to_string(), v)))
        .collect();
    let mut compared = 0;
    let mut present = 0;
    let mut disagreements = Vec::new();
    for (file, fact) in facts.as_object().expect("facts object") {
        let has_mqtt = fact["streams"]
            .as_object()
            .is_some_and(|streams| streams.values().any(|s| s.get("mqtt").is_some()));
        if !file.contains("mqtt") && !has_mqtt {
            continue;
        }
        let Some(streams) = read_streams(&Path::new(CORPUS).join(file)) else {
            eprintln!("{file}: not readable here, skipped");
            continue;
        };
        let mut versions: BTreeMap<String, u64> = BTreeMap::new();
        let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
        for (number, stream) in streams.iter().enumerate() {
            let expected = &fact["streams"][number.to_string()];
            let got = run_stream(stream);
            if let Some(level) = got.get("level").and_then(|v| v.as_u64()) {
                let name = match level {
                    3 => "3.1",
                    4 => "3.1.1",
                    _ => "5.0",
                };
                *versions.entry(name.to_string()).or_insert(0) += 1;
            }
            // Only the captures made malformed on purpose show violations (no false alarms).
            let malformed_on_purpose = ["invalid-qos", "unassigned-msgtype", "excessiveproplen"]
                .iter()
                .any(|name| file.contains(name));
            let violations = got.get("violations").and_then(|v| v.as_u64()).unwrap_or(0);
            if got.contains_key("mqtt") && (violations > 0) != malformed_on_purpose {
                disagreements.push(format!("{file} #{number}: {violations} violations"));
            }
            if let Some(reason) = got.get("disconnect_reason").and_then(|v| v.as_u64()) {
                *reasons.entry(reason.to_string()).or_insert(0) += 1;
            }
            for key in ["client_id", "connack", "mqtt"] {
                compared += 1;
                let want = expected
                    .get(key)
                    .cloned()
                    .unwrap_or(serde_json::Value::Null);
                present += usize::from(!want.is_null());
                let have = got.get(key).cloned().unwrap_or(serde_json::Value::Null);
                if want != have {
                    disagreements
                        .push(format!("{file} #{number} {key}: tshark {want} ours {have}"));
                }
            }
        }
        // Per-file facts from tshark-4.0.17.jsonl: CONNECT versions and v5 DISCONNECT reasons.
        if let Some(file_facts) = file_facts.get(file.as_str()) {
            for (key, ours) in [
                ("mqtt_versions", &versions),
                ("mqtt_disconnect_reasons", &reasons),
            ] {
                compared += 1;
                let want = file_facts.get(key).cloned().unwrap_or_default();
                let have = serde_json::to_value(ours).unwrap_or_default();
                present += usize::from(want.as_object().is_some_and(|o| !o.is_empty()));
                if want != have {
                    disagreements.push(format!("{file} {key}: tshark {want} ours {have}"));
                }
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    assert!(present >= 50, "only {present} non-empty facts compared");
    eprintln!("{compared} facts compared with tshark ({present} non-empty), all agree");
}

/// Sniffs, decodes and summarises one stream in the facts' vocabulary.
fn run_stream(stream: &Stream) -> serde_json::Map<String, serde_json::Value> {
    let mut inputs = Vec::new();
    direction_inputs(&stream.dirs[0], Side::Orig, &mut inputs);
    direction_inputs(&stream.dirs[1], Side::Resp, &mut inputs);
    inputs.sort_by_key(|(frame, _, input)| (*frame, matches!(input, Input::Close)));
    let mut result = serde_json::Map::new();
    let is_mqtt = [Side::Orig, Side::Resp].iter().any(|&side| {
        let first: Vec<u8> = inputs
            .iter()
            .filter(|(_, s, _)| *s == side)
            .map_while(|(_, _, input)| match input {
                Input::Data(d) => Some(d.clone()),
                _ => None,
            })
            .flatten()
            .take(256)
            .collect();
        sniff(&first) == Sniffed::Mqtt
    });
    if !is_mqtt {
        return result;
    }
    let handshake = stream.dirs.iter().any(|d| d.syn_seq.is_some());
    let mut session = if handshake {
        MqttSession::new()
    } else {
        MqttSession::new_midstream()
    };
    let mut events = Vec::new();
    for (frame, side, input) in &inputs {
        let at = At {
            frame: *frame,
            time_ns: 0,
        };
        match input {
            Input::Data(data) => session.on_data(*side, data, at, &mut events),
            Input::Gap(len) => session.on_gap(*side, *len, at, &mut events),
            Input::Close => session.on_close(*side, at, &mut events),
        }
    }
    let summary = session.summary();
    if let Some(client_id) = summary.connect.as_ref().and_then(|c| c.client_id.as_ref())
        && !client_id.is_empty()
    {
        let id = String::from_utf8_lossy(client_id).into_owned();
        result.insert("client_id".into(), id.into());
    }
    result.insert("violations".into(), summary.violations.into());
    if let Some(connect) = &summary.connect {
        result.insert("level".into(), connect.level.into());
    }
    if let Some(reason) = summary.disconnect.and_then(|d| d.reason_code) {
        result.insert("disconnect_reason".into(), reason.into());
    }
    if let Some(connack) = summary.connack {
        result.insert("connack".into(), connack.code.into());
    }
    if !summary.packets.is_empty() {
        let counts = summary
            .packets
            .iter()
            .map(|(name, count)| (name.to_string(), (*count).into()))
            .collect();
        result.insert("mqtt".into(), serde_json::Value::Object(counts));
    }
    result
}
