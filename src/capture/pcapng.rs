//! pcapng details pcap-parser leaves to the caller: the per-section interface table with each
//! interface's link type, snaplen, `if_tsresol` and `if_tsoffset` (read in the section's byte
//! order), integer timestamp conversion, and the obsolete Packet Block (type 2).
//!
//! Guarantees: pure functions over plain values; arithmetic is done in `i128` and saturates, so
//! no timestamp, resolution or offset can overflow or panic.

use pcap_parser::PcapNGOption;

/// `if_tsresol` option code (pcapng §4.2, Interface Description Block options).
const OPT_IF_TSRESOL: u16 = 9;
/// `if_tsoffset` option code (pcapng §4.2).
const OPT_IF_TSOFFSET: u16 = 14;

/// One interface of the current section, as far as frames need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interface {
    pub link_type: u32,
    pub snaplen: u32,
    pub resolution: TsResolution,
    /// Seconds added to every timestamp of this interface (`if_tsoffset`).
    pub offset_s: i64,
}

/// Timestamp unit of an interface: 10^-n or 2^-n seconds (pcapng §4.2, `if_tsresol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TsResolution {
    PowerOf10(u8),
    PowerOf2(u8),
}

impl TsResolution {
    /// Decodes an `if_tsresol` byte: high bit clear = negative power of 10, set = of 2. Values
    /// no computer clock can mean (beyond 10^-19 or 2^-64) fall back to the default µs.
    pub(crate) fn from_option(byte: u8) -> TsResolution {
        let exponent = byte & 0x7f;
        if byte & 0x80 == 0 {
            if exponent <= 19 {
                TsResolution::PowerOf10(exponent)
            } else {
                TsResolution::MICROSECONDS
            }
        } else if exponent <= 64 {
            TsResolution::PowerOf2(exponent)
        } else {
            TsResolution::MICROSECONDS
        }
    }

    /// The default when `if_tsresol` is absent (pcapng §4.2: 10^-6).
    pub(crate) const MICROSECONDS: TsResolution = TsResolution::PowerOf10(6);

    /// True for units below a microsecond (10^-7 s and finer, 2^-20 s and finer).
    pub(crate) fn finer_than_micros(self) -> bool {
        match self {
            TsResolution::PowerOf10(e) => e > 6,
            TsResolution::PowerOf2(e) => e >= 20,
        }
    }

    /// Converts a count of units to nanoseconds.
    pub(crate) fn to_nanos(self, units: u64) -> i128 {
        let units = i128::from(units);
        match self {
            TsResolution::PowerOf10(e) if e <= 9 => units * 10i128.pow(u32::from(9 - e)),
            TsResolution::PowerOf10(e) => units / 10i128.pow(u32::from(e - 9)),
            // units * 1e9 fits i128 (< 2^94); the shift is at most 64.
            TsResolution::PowerOf2(e) => (units * 1_000_000_000) >> e,
        }
    }
}

impl Interface {
    /// Builds the interface from an IDB's link type, snaplen and raw options, reading
    /// multi-byte option values in the section's byte order (pcap-parser reads `if_tsoffset`
    /// as little-endian whatever the section says).
    pub(crate) fn from_idb(
        link_type: u32,
        snaplen: u32,
        options: &[PcapNGOption<'_>],
        big_endian: bool,
    ) -> Interface {
        let mut resolution = TsResolution::MICROSECONDS;
        let mut offset_s = 0i64;
        for option in options {
            let Ok(value) = option.as_bytes() else {
                continue;
            };
            match option.code.0 {
                OPT_IF_TSRESOL => {
                    if let Some(&byte) = value.first() {
                        resolution = TsResolution::from_option(byte);
                    }
                }
                OPT_IF_TSOFFSET => {
                    if let Some(bytes) = value.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                        offset_s = if big_endian {
                            i64::from_be_bytes(bytes)
                        } else {
                            i64::from_le_bytes(bytes)
                        };
                    }
                }
                _ => {}
            }
        }
        Interface {
            link_type,
            snaplen,
            resolution,
            offset_s,
        }
    }

    /// Nanoseconds since the epoch for a 64-bit timestamp in this interface's units.
    pub(crate) fn time_ns(&self, ts_high: u32, ts_low: u32) -> i64 {
        let units = (u64::from(ts_high) << 32) | u64::from(ts_low);
        let nanos = self.resolution.to_nanos(units) + i128::from(self.offset_s) * 1_000_000_000;
        saturate_i64(nanos)
    }
}

pub(crate) fn saturate_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// An obsolete Packet Block (type 2, pcapng appendix: "Packet Block (obsolete!)"), which
/// pcap-parser returns as an unknown block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ObsoletePacket {
    pub interface_id: u16,
    pub ts_high: u32,
    pub ts_low: u32,
    pub caplen: u32,
    pub orig_len: u32,
    /// Offset of the packet data within the block body given to [`parse_obsolete_packet`].
    pub data_offset: usize,
    /// Bytes of packet data present in the body (at most `caplen`).
    pub data_len: usize,
}

/// Block type of the obsolete Packet Block.
pub(crate) const OPB_TYPE: u32 = 2;

/// Parses the body (after type and length) of an obsolete Packet Block: interface id (2),
/// drops count (2), timestamp high (4) and low (4), captured length (4), packet length (4),
/// data. `None` when the body is shorter than its fixed part or than `caplen`.
pub(crate) fn parse_obsolete_packet(body: &[u8], big_endian: bool) -> Option<ObsoletePacket> {
    let u16_at = |at: usize| -> Option<u16> {
        let bytes = <[u8; 2]>::try_from(body.get(at..at + 2)?).ok()?;
        Some(if big_endian {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let bytes = <[u8; 4]>::try_from(body.get(at..at + 4)?).ok()?;
        Some(if big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    };
    let interface_id = u16_at(0)?;
    let ts_high = u32_at(4)?;
    let ts_low = u32_at(8)?;
    let caplen = u32_at(12)?;
    let orig_len = u32_at(16)?;
    let data_offset = 20;
    let available = body.len().checked_sub(data_offset)?;
    let wanted = usize::try_from(caplen).ok()?;
    if wanted > available {
        return None;
    }
    Some(ObsoletePacket {
        interface_id,
        ts_high,
        ts_low,
        caplen,
        orig_len,
        data_offset,
        data_len: wanted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_power_of_ten_and_two() {
        assert_eq!(TsResolution::from_option(9).to_nanos(5), 5);
        assert_eq!(TsResolution::from_option(6).to_nanos(5), 5_000);
        assert_eq!(TsResolution::from_option(0).to_nanos(2), 2_000_000_000);
        assert_eq!(TsResolution::from_option(12).to_nanos(5_000), 5);
        // 2^-10 s units: 1024 units = 1 s.
        assert_eq!(
            TsResolution::from_option(0x80 | 10).to_nanos(1024),
            1_000_000_000
        );
        assert_eq!(
            TsResolution::from_option(0x80 | 64).to_nanos(u64::MAX),
            999_999_999
        );
        assert_eq!(TsResolution::from_option(99), TsResolution::MICROSECONDS);
    }

    #[test]
    fn extreme_timestamps_saturate() {
        let interface = Interface {
            link_type: 1,
            snaplen: 0,
            resolution: TsResolution::PowerOf10(0),
            offset_s: i64::MAX,
        };
        assert_eq!(interface.time_ns(u32::MAX, u32::MAX), i64::MAX);
    }

    #[test]
    fn obsolete_packet_block_body() {
        let mut body = vec![1, 0, 0, 0];
        body.extend_from_slice(&7u32.to_le_bytes());
        body.extend_from_slice(&9u32.to_le_bytes());
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(&60u32.to_le_bytes());
        body.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0]);
        let opb = parse_obsolete_packet(&body, false);
        assert_eq!(
            opb.map(|p| (p.interface_id, p.ts_high, p.caplen, p.orig_len, p.data_len)),
            Some((1, 7, 3, 60, 3))
        );
        for cut in 0..body.len() - 1 {
            let short = body.get(..cut).unwrap_or_default();
            assert!(parse_obsolete_packet(short, false).is_none() || cut >= 23);
        }
    }
}
