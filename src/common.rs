//! Small value types shared by every stage: which side of a connection spoke (and a value kept
//! per side), and where in the capture something happened. They carry no pcap or TCP knowledge,
//! so protocol parsers can use them while staying independent of `capture`, `wire` and `flow`.

use std::ops::{Index, IndexMut};

use serde::Serialize;

/// One side of a TCP connection, named by who spoke first at the TCP level.
///
/// `Orig` is the side that sent the SYN, or, for a connection seen mid-stream, the sender of the
/// first captured segment. Which side is the *client* is decided later (see `conn`), because a
/// mid-stream capture only reveals it through the protocols (ClientHello, CONNECT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Orig,
    Resp,
}

impl Side {
    pub(crate) fn other(self) -> Side {
        match self {
            Side::Orig => Side::Resp,
            Side::Resp => Side::Orig,
        }
    }
    /// 0 for `Orig`, 1 for `Resp`: an index into per-side arrays (tests; the code uses
    /// [`PerSide`] and [`Side::of`]).
    #[cfg(test)]
    pub(crate) fn index(self) -> usize {
        match self {
            Side::Orig => 0,
            Side::Resp => 1,
        }
    }
    /// This side's entry of a public `[orig, resp]` array (the serialized per-side fields keep
    /// that shape): a `match`, so unlike `pair[side.index()]` it cannot go out of bounds.
    pub(crate) fn of<T>(self, pair: &[T; 2]) -> &T {
        let [orig, resp] = pair;
        match self {
            Side::Orig => orig,
            Side::Resp => resp,
        }
    }
    /// Mutable [`Side::of`].
    pub(crate) fn of_mut<T>(self, pair: &mut [T; 2]) -> &mut T {
        let [orig, resp] = pair;
        match self {
            Side::Orig => orig,
            Side::Resp => resp,
        }
    }
}

/// One value per side of a connection, indexed by [`Side`]: `x[side]`.
///
/// Two named fields rather than a `[T; 2]` indexed by `side.index()`, so that indexing is a
/// `match` that cannot go out of bounds (the crate denies panicking indexing outside tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PerSide<T> {
    pub orig: T,
    pub resp: T,
}

impl<T> PerSide<T> {
    /// The same value for both sides.
    pub(crate) fn both(value: T) -> Self
    where
        T: Clone,
    {
        PerSide {
            orig: value.clone(),
            resp: value,
        }
    }
    /// Both values, `Orig` first.
    pub(crate) fn iter(&self) -> std::array::IntoIter<&T, 2> {
        self.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a PerSide<T> {
    type Item = &'a T;
    type IntoIter = std::array::IntoIter<&'a T, 2>;
    /// Both values, `Orig` first.
    fn into_iter(self) -> Self::IntoIter {
        [&self.orig, &self.resp].into_iter()
    }
}

impl<'a, T> IntoIterator for &'a mut PerSide<T> {
    type Item = &'a mut T;
    type IntoIter = std::array::IntoIter<&'a mut T, 2>;
    /// Both values, `Orig` first.
    fn into_iter(self) -> Self::IntoIter {
        [&mut self.orig, &mut self.resp].into_iter()
    }
}

impl<T> Index<Side> for PerSide<T> {
    type Output = T;
    fn index(&self, side: Side) -> &T {
        match side {
            Side::Orig => &self.orig,
            Side::Resp => &self.resp,
        }
    }
}

impl<T> IndexMut<Side> for PerSide<T> {
    fn index_mut(&mut self, side: Side) -> &mut T {
        match side {
            Side::Orig => &mut self.orig,
            Side::Resp => &mut self.resp,
        }
    }
}

/// Where something happened: Wireshark's 1-based frame number and the frame's capture time in
/// nanoseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct At {
    pub frame: u64,
    pub time_ns: i64,
}

/// An event of some layer, stamped with where it happened and which side caused it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Timed<E> {
    pub at: At,
    pub side: Side,
    pub event: E,
}

/// Lower-case hexadecimal of `bytes` (hashes, fingerprints, serial numbers): the one place
/// bytes are written as hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(digit(b >> 4));
        out.push(digit(b & 0x0f));
    }
    out
}

/// Text when valid UTF-8, else `{"bytes_base64": "..."}` (CONTRACT.md: never lossy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum BytesText {
    Text(String),
    Bytes { bytes_base64: String },
}

impl BytesText {
    pub(crate) fn new(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(s) => BytesText::Text(s.to_string()),
            Err(_) => BytesText::Bytes {
                bytes_base64: base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    bytes,
                ),
            },
        }
    }
    /// The bytes as received (the base64 decoded back).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        match self {
            BytesText::Text(s) => s.as_bytes().to_vec(),
            BytesText::Bytes { bytes_base64 } => {
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, bytes_base64)
                    .unwrap_or_default()
            }
        }
    }
    /// For tables: the text, or the bytes escaped.
    pub(crate) fn display(&self) -> String {
        match self {
            BytesText::Text(s) => s.clone(),
            BytesText::Bytes { bytes_base64 } => format!("base64:{bytes_base64}"),
        }
    }
}
