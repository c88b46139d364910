//! A bounds-checked cursor over a packet body, and the UTF-8 string check. Every read checks
//! the length first and returns `None` past the end, so no read can panic.

use super::parser::{VarInt, decode_varint};

/// A cursor over a body. Every read checks the length first and returns `None` past the end.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    /// Bytes read so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        rest
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.bytes(1).and_then(|b| b.first().copied())
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.bytes(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let b = self.bytes(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Some(u32::from_be_bytes(a))
    }
    /// A variable byte integer; `Err` when malformed, `Ok(None)` when cut.
    pub(crate) fn varint(&mut self) -> Result<Option<u32>, &'static str> {
        match decode_varint(self.buf.get(self.pos..).unwrap_or(&[])) {
            VarInt::Value { value, len } => {
                self.pos += len;
                Ok(Some(value))
            }
            VarInt::NeedMore => Ok(None),
            VarInt::Invalid(why) => Err(why),
        }
    }
    /// Two-byte length then that many bytes (UTF-8 string or binary data, 5.0 §1.5.4, §1.5.6).
    pub(crate) fn prefixed(&mut self) -> Option<&'a [u8]> {
        let save = self.pos;
        let len = self.u16()?;
        match self.bytes(usize::from(len)) {
            Some(b) => Some(b),
            None => {
                self.pos = save;
                None
            }
        }
    }
}

/// Checks a UTF-8 string field: well-formed UTF-8 without U+0000 (MQTT 3.1.1 §1.5.3,
/// 5.0 §1.5.4). Returns what is wrong.
pub(crate) fn utf8_problem(bytes: &[u8]) -> Option<&'static str> {
    match std::str::from_utf8(bytes) {
        Err(_) => Some("invalid UTF-8"),
        Ok(s) if s.contains('\0') => Some("U+0000 in a UTF-8 string"),
        Ok(_) => None,
    }
}
