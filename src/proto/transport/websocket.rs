//! WebSocket framing (RFC 6455 §5): a streaming decoder per direction that hands on the
//! unmasked payload of data frames (MQTT over WebSockets: MQTT 5.0 §6, 3.1.1 §6) and notes
//! control frames and protocol breaches. Frames may span segments and segments may hold many
//! frames; only a frame header (at most 14 bytes) and a control payload (at most 125) are
//! ever buffered.

use super::parse::Parse;

/// A frame header (RFC 6455 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub fin: bool,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
}

pub(crate) const OP_TEXT: u8 = 1;
#[cfg(test)]
pub(crate) const OP_BINARY: u8 = 2;
pub(crate) const OP_CLOSE: u8 = 8;

pub(crate) fn frame_header(b: &[u8]) -> Parse<FrameHeader> {
    let (Some(&b0), Some(&b1)) = (b.first(), b.get(1)) else {
        return Parse::NeedMore;
    };
    if b0 & 0x70 != 0 {
        // RSV1 is permessage-deflate (RFC 7692); MQTT clients do not negotiate it.
        return Parse::Invalid("reserved bits set (an extension such as compression)");
    }
    let opcode = b0 & 0x0f;
    if matches!(opcode, 3..=7 | 0xb..=0xf) {
        return Parse::Invalid("reserved opcode");
    }
    let fin = b0 & 0x80 != 0;
    if opcode >= 8 && (!fin || b1 & 0x7f > 125) {
        // §5.5: control frames are not fragmented and carry at most 125 bytes.
        return Parse::Invalid("control frame fragmented or longer than 125 bytes");
    }
    let (payload_len, mut at) = match b1 & 0x7f {
        126 => match b.get(2..4) {
            Some(&[hi, lo]) => (u64::from(u16::from_be_bytes([hi, lo])), 4),
            _ => return Parse::NeedMore,
        },
        127 => match b.get(2..).and_then(<[u8]>::first_chunk::<8>) {
            Some(&l) => {
                let n = u64::from_be_bytes(l);
                if n >> 63 != 0 {
                    return Parse::Invalid("64-bit length with its top bit set");
                }
                (n, 10)
            }
            None => return Parse::NeedMore,
        },
        n => (u64::from(n), 2),
    };
    let mask = if b1 & 0x80 != 0 {
        let Some(&key) = b.get(at..).and_then(<[u8]>::first_chunk::<4>) else {
            return Parse::NeedMore;
        };
        at += 4;
        Some(key)
    } else {
        None
    };
    Parse::Complete {
        len: at,
        message: FrameHeader {
            fin,
            opcode,
            mask,
            payload_len,
        },
    }
}

/// What a direction's frames showed besides data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WsNote {
    /// A Close frame (§5.5.1) with its status code when it carries one (§7.4).
    Close { code: Option<u16> },
    /// A text data frame: MQTT must be sent in binary frames (MQTT 5.0 §6.0).
    TextFrame,
    /// A client frame without a mask or a server frame with one (§5.1).
    MaskingWrong { masked: bool },
    /// Framing broken: decoding of this direction stopped.
    Invalid(&'static str),
}

/// Decoder of one direction's frames.
#[derive(Debug)]
pub(crate) struct WsDecoder {
    /// Client frames must be masked, server frames must not (§5.1).
    from_client: bool,
    header: [u8; 14],
    header_len: usize,
    current: Option<FrameHeader>,
    remaining: u64,
    mask_pos: usize,
    control: Vec<u8>,
    masking_noted: bool,
    text_noted: bool,
    stopped: bool,
    pub frames: u64,
}

impl WsDecoder {
    pub(crate) fn new(from_client: bool) -> Self {
        WsDecoder {
            from_client,
            header: [0; 14],
            header_len: 0,
            current: None,
            remaining: 0,
            mask_pos: 0,
            control: Vec::new(),
            masking_noted: false,
            text_noted: false,
            stopped: false,
            frames: 0,
        }
    }

    /// Decodes `input`: data payload (unmasked) is appended to `data`, notes to `notes`.
    pub(crate) fn decode(&mut self, mut input: &[u8], data: &mut Vec<u8>, notes: &mut Vec<WsNote>) {
        while !input.is_empty() && !self.stopped {
            let Some(frame) = self.current else {
                input = self.read_header(input, notes);
                continue;
            };
            let take = usize::try_from(self.remaining)
                .unwrap_or(usize::MAX)
                .min(input.len());
            let (chunk, rest) = input.split_at(take);
            input = rest;
            self.remaining -= take as u64;
            if frame.opcode >= 8 {
                let start = self.control.len();
                self.control.extend_from_slice(chunk);
                self.unmask(frame.mask, start);
            } else {
                let start = data.len();
                data.extend_from_slice(chunk);
                if let Some(tail) = data.get_mut(start..) {
                    self.unmask_slice(frame.mask, tail);
                }
            }
            if self.remaining == 0 {
                self.end_frame(frame, notes);
            }
        }
    }

    fn read_header<'a>(&mut self, input: &'a [u8], notes: &mut Vec<WsNote>) -> &'a [u8] {
        // `header_len` stays below the header's 14 bytes (a header is complete by then), and
        // `have` never passes them: the slices below always exist.
        let free = self.header.get_mut(self.header_len..).unwrap_or_default();
        let take = free.len().min(input.len());
        for (slot, &byte) in free.iter_mut().zip(input) {
            *slot = byte;
        }
        let have = self.header_len + take;
        match frame_header(self.header.get(..have).unwrap_or_default()) {
            Parse::NeedMore => {
                self.header_len = have;
                input.get(take..).unwrap_or_default()
            }
            Parse::Invalid(what) => {
                self.stopped = true;
                notes.push(WsNote::Invalid(what));
                &[]
            }
            Parse::Complete { len, message } => {
                // Bytes of `input` beyond the header were copied but belong to the payload.
                let used = len - self.header_len;
                self.header_len = 0;
                self.frames += 1;
                if message.mask.is_some() != self.from_client && !self.masking_noted {
                    self.masking_noted = true;
                    notes.push(WsNote::MaskingWrong {
                        masked: message.mask.is_some(),
                    });
                }
                if message.opcode == OP_TEXT && !self.text_noted {
                    self.text_noted = true;
                    notes.push(WsNote::TextFrame);
                }
                self.current = Some(message);
                self.remaining = message.payload_len;
                self.mask_pos = 0;
                self.control.clear();
                if message.payload_len == 0 {
                    self.end_frame(message, notes);
                }
                input.get(used..).unwrap_or_default()
            }
        }
    }

    fn end_frame(&mut self, frame: FrameHeader, notes: &mut Vec<WsNote>) {
        self.current = None;
        if frame.opcode == OP_CLOSE {
            let code = self
                .control
                .first_chunk::<2>()
                .map(|&c| u16::from_be_bytes(c));
            notes.push(WsNote::Close { code });
        }
    }

    fn unmask(&mut self, mask: Option<[u8; 4]>, start: usize) {
        let mut control = std::mem::take(&mut self.control);
        if let Some(tail) = control.get_mut(start..) {
            self.unmask_slice(mask, tail);
        }
        self.control = control;
    }

    /// §5.3: octet i of the payload is XORed with octet i mod 4 of the key.
    fn unmask_slice(&mut self, mask: Option<[u8; 4]>, bytes: &mut [u8]) {
        let Some(key) = mask else { return };
        let len = bytes.len();
        let keys = key.iter().cycle().skip(self.mask_pos & 3);
        for (b, k) in bytes.iter_mut().zip(keys) {
            *b ^= k;
        }
        self.mask_pos = self.mask_pos.wrapping_add(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked_frame(opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        f
    }

    #[test]
    fn masked_binary_frames_give_their_payload_whatever_the_split() {
        let connect = b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00";
        let big = vec![0x30u8; 300];
        let mut wire = masked_frame(OP_BINARY, connect, [1, 2, 3, 4]);
        wire.extend(masked_frame(OP_BINARY, &big, [9, 8, 7, 6]));
        wire.extend(masked_frame(OP_CLOSE, &[0x03, 0xe8], [5, 5, 5, 5]));
        let want: Vec<u8> = [&connect[..], &big].concat();
        for split in [1, 2, 3, 7, 13, 64, wire.len()] {
            let mut d = WsDecoder::new(true);
            let (mut data, mut notes) = (Vec::new(), Vec::new());
            for chunk in wire.chunks(split) {
                d.decode(chunk, &mut data, &mut notes);
            }
            assert_eq!(data, want, "split {split}");
            assert_eq!(
                notes,
                vec![WsNote::Close { code: Some(1000) }],
                "split {split}"
            );
            assert_eq!(d.frames, 3);
        }
    }

    #[test]
    fn unmasked_client_frames_and_text_frames_are_noted() {
        let mut d = WsDecoder::new(true);
        let (mut data, mut notes) = (Vec::new(), Vec::new());
        d.decode(&[0x81, 0x02, b'h', b'i'], &mut data, &mut notes);
        assert_eq!(data, b"hi");
        assert_eq!(
            notes,
            vec![WsNote::MaskingWrong { masked: false }, WsNote::TextFrame]
        );
    }

    #[test]
    fn header_prefixes_need_more_and_reserved_bits_stop_decoding() {
        let f = masked_frame(OP_BINARY, &[0u8; 200], [1, 1, 1, 1]);
        for n in 0..8 {
            assert_eq!(frame_header(&f[..n]), Parse::NeedMore, "{n}");
        }
        assert!(matches!(frame_header(&[0xc2, 0x00]), Parse::Invalid(_)));
        assert!(matches!(frame_header(&[0x89, 0x7e]), Parse::Invalid(_)));
        let mut d = WsDecoder::new(false);
        let (mut data, mut notes) = (Vec::new(), Vec::new());
        d.decode(&[0x83, 0x00, 0x82, 0x01, 0x00], &mut data, &mut notes);
        assert!(data.is_empty());
        assert!(matches!(notes.as_slice(), [WsNote::Invalid(_)]));
    }
}
