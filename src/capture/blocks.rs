//! Turning one pcap-parser block into an owned [`Step`] (so the parser's borrow ends before
//! the reader acts on it), and pcap-parser errors into owned [`Fetch`] outcomes.
//!
//! Guarantees: packet data is described by its offset in the parser's buffer, never copied;
//! nothing here indexes or panics.

use super::pcapng::{Interface, OPB_TYPE, parse_obsolete_packet};
use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError};

/// pcapng secrets type for a TLS key log ("TLSK", pcapng §4.7).
const SECRETS_TYPE_TLS_KEY_LOG: u32 = 0x544c_534b;
/// pcapng Systemd Journal Export Block: Wireshark shows it as a frame of its own (pcap-parser
/// may hand it over as an unknown block).
const SJE_TYPE: u32 = 9;

/// What a parsed block means, copied out so the parser's borrow can end.
pub(super) enum Step {
    Skip,
    Section {
        big_endian: bool,
        major: u16,
        minor: u16,
    },
    Interface(Interface),
    Secrets(Option<Vec<u8>>),
    /// A record Wireshark counts as a frame but that carries no packet (journal export).
    NonPacketFrame,
    Packet(Packet),
    /// A block pcap-parser accepted whose content is inconsistent.
    Corrupt(String),
}

pub(super) struct Packet {
    pub(super) interface: Option<usize>,
    pub(super) time: PacketTime,
    pub(super) caplen: u32,
    pub(super) orig_len: u32,
    pub(super) start: usize,
    pub(super) len: usize,
}

pub(super) enum PacketTime {
    Legacy {
        seconds: u32,
        fraction: u32,
    },
    Units {
        high: u32,
        low: u32,
    },
    /// Simple Packet Blocks carry no timestamp.
    None,
}

/// What went wrong while fetching the next block, owned.
pub(super) enum Fetch {
    End,
    Truncated,
    NeedMore,
    BufferTooSmall,
    ReadError,
    Invalid(String),
}

/// Copies what a block means out of the parser's borrow.
pub(super) fn classify(block: &PcapBlockOwned<'_>, base: usize, big_endian: bool) -> Step {
    let offset_of = |data: &[u8]| (data.as_ptr() as usize).saturating_sub(base);
    match block {
        PcapBlockOwned::LegacyHeader(_) => Step::Skip,
        PcapBlockOwned::Legacy(record) => Step::Packet(Packet {
            interface: None,
            time: PacketTime::Legacy {
                seconds: record.ts_sec,
                fraction: record.ts_usec,
            },
            caplen: record.caplen,
            orig_len: record.origlen,
            start: offset_of(record.data),
            len: record.data.len(),
        }),
        PcapBlockOwned::NG(block) => match block {
            Block::SectionHeader(shb) => Step::Section {
                big_endian: shb.big_endian(),
                major: shb.major_version,
                minor: shb.minor_version,
            },
            Block::InterfaceDescription(idb) => Step::Interface(Interface::from_idb(
                u32::from(idb.linktype.0 as u16),
                idb.snaplen,
                &idb.options,
                big_endian,
            )),
            Block::EnhancedPacket(epb) => Step::Packet(Packet {
                interface: Some(epb.if_id as usize),
                time: PacketTime::Units {
                    high: epb.ts_high,
                    low: epb.ts_low,
                },
                caplen: epb.caplen,
                orig_len: epb.origlen,
                start: offset_of(epb.data),
                len: epb.data.len().min(epb.caplen as usize),
            }),
            Block::SimplePacket(spb) => Step::Packet(Packet {
                interface: Some(0),
                time: PacketTime::None,
                caplen: spb.origlen.min(spb.data.len() as u32),
                orig_len: spb.origlen,
                start: offset_of(spb.data),
                len: spb.data.len().min(spb.origlen as usize),
            }),
            Block::DecryptionSecrets(dsb) => {
                if dsb.secrets_type.0 == SECRETS_TYPE_TLS_KEY_LOG {
                    let len = (dsb.secrets_len as usize).min(dsb.data.len());
                    Step::Secrets(dsb.data.get(..len).map(<[u8]>::to_vec))
                } else {
                    Step::Secrets(None)
                }
            }
            // Wireshark 4.0 shows journal entries and custom blocks (any PEN) as frames.
            Block::SystemdJournalExport(_) | Block::Custom(_) => Step::NonPacketFrame,
            Block::Unknown(unknown) => {
                // pcap-parser reads the block type little-endian whatever the section says.
                let block_type = if big_endian {
                    unknown.block_type.swap_bytes()
                } else {
                    unknown.block_type
                };
                if block_type == SJE_TYPE {
                    return Step::NonPacketFrame;
                }
                if block_type != OPB_TYPE {
                    return Step::Skip;
                }
                match parse_obsolete_packet(unknown.data, big_endian) {
                    Some(opb) => Step::Packet(Packet {
                        interface: Some(usize::from(opb.interface_id)),
                        time: PacketTime::Units {
                            high: opb.ts_high,
                            low: opb.ts_low,
                        },
                        caplen: opb.caplen,
                        orig_len: opb.orig_len,
                        start: offset_of(unknown.data) + opb.data_offset,
                        len: opb.data_len,
                    }),
                    None => Step::Corrupt(
                        "obsolete packet block shorter than its captured length".into(),
                    ),
                }
            }
            _ => Step::Skip,
        },
    }
}

pub(super) fn fetch_error(error: &PcapError<&[u8]>) -> Fetch {
    match error {
        PcapError::Eof => Fetch::End,
        PcapError::UnexpectedEof => Fetch::Truncated,
        PcapError::Incomplete(_) => Fetch::NeedMore,
        PcapError::BufferTooSmall => Fetch::BufferTooSmall,
        PcapError::ReadError => Fetch::ReadError,
        other => Fetch::Invalid(format!("unreadable record: {}", describe_error(other))),
    }
}

/// A short description of a pcap-parser error, without dumping the remaining input.
pub(super) fn describe_error<I>(error: &PcapError<I>) -> String {
    match error {
        PcapError::Eof => "end of file".into(),
        PcapError::UnexpectedEof => "unexpected end of file".into(),
        PcapError::ReadError => "read error".into(),
        PcapError::Incomplete(n) => format!("{n} more bytes needed"),
        PcapError::BufferTooSmall => "record larger than the buffer".into(),
        PcapError::HeaderNotRecognized => "header not recognised".into(),
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("invalid block ({})", kind.description())
        }
    }
}
