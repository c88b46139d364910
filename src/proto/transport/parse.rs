//! The outcome type every transport parser returns: a message of `len` bytes, not enough bytes
//! yet, or bytes that cannot be this protocol. Parsers never see flows or frames.

/// Result of parsing one message from the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parse<T> {
    /// A whole message of `len` bytes.
    Complete {
        len: usize,
        message: T,
    },
    NeedMore,
    Invalid(&'static str),
}
