//! Zeek's view of a TCP connection: the per-endpoint state machine behind `conn_state`, and the
//! `history` letters (Zeek `base/protocols/conn/main.zeek`, `Conn::Info`, and the TCP analyzer's
//! endpoint states INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET).
//!
//! `Side::Orig` plays Zeek's originator. History letters are upper case for the originator:
//! `S` SYN without ACK, `H` SYN+ACK, `A` pure ACK, `D` data, `F` FIN, `R` RST, `I` FIN+RST,
//! `Q` SYN with FIN or RST, each recorded the first time it happens for that side (`S H F R`
//! again when the sequence number differs from the last packet of that kind, as Zeek does);
//! `T` retransmission, `W` zero window and `G` content gap on Zeek's logarithmic scale (at the
//! 1st, 10th, 100th... occurrence). Guarantees: no panics; the history is capped at
//! [`MAX_HISTORY`] letters.

use crate::common::{PerSide, Side};
use crate::wire::TcpFlags;

/// Longest history kept; a storm of RSTs with changing sequence numbers cannot grow it further.
pub(crate) const MAX_HISTORY: usize = 64;

/// Zeek's TCP endpoint states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum EndpointState {
    /// Nothing seen from this endpoint.
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    /// Seen, but its SYN was not.
    Partial,
    Established,
    /// Sent a FIN.
    Closed,
    Reset,
}

#[derive(Debug, Clone, Copy, Default)]
struct ScaledCounter {
    count: u64,
    threshold: u64,
}

impl ScaledCounter {
    /// Counts one occurrence; true when a letter is due (1st, 10th, 100th... time).
    fn bump(&mut self) -> bool {
        self.count = self.count.saturating_add(1);
        if self.threshold == 0 {
            self.threshold = 1;
        }
        if self.count == self.threshold {
            self.threshold = self.threshold.saturating_mul(10);
            true
        } else {
            false
        }
    }
}

/// Letter kinds recorded at most once per endpoint (bit masks).
const SEEN_SYN: u8 = 1 << 0;
const SEEN_FIN: u8 = 1 << 1;
const SEEN_RST: u8 = 1 << 2;
const SEEN_DATA: u8 = 1 << 3;
const SEEN_ACK: u8 = 1 << 4;
const SEEN_FIN_RST: u8 = 1 << 5;
const SEEN_MULTI: u8 = 1 << 6;

#[derive(Debug, Clone, Copy, Default)]
struct Endpoint {
    state: EndpointState,
    prev: EndpointState,
    seen: u8,
    last_syn_seq: Option<u32>,
    last_fin_seq: Option<u32>,
    last_rst_seq: Option<u32>,
    retransmissions: ScaledCounter,
    zero_windows: ScaledCounter,
    gaps: ScaledCounter,
}

impl Endpoint {
    fn set_state(&mut self, state: EndpointState) {
        self.prev = self.state;
        self.state = state;
    }
}

/// Zeek-style connection state and history of one flow.
#[derive(Debug, Clone, Default)]
pub(crate) struct ZeekTracker {
    endpoints: PerSide<Endpoint>,
    history: String,
}

impl ZeekTracker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The history letters so far.
    pub(crate) fn history(&self) -> &str {
        &self.history
    }

    fn endpoint(&self, side: Side) -> &Endpoint {
        &self.endpoints[side]
    }

    fn add_letter(&mut self, side: Side, upper: char) {
        if self.history.len() >= MAX_HISTORY {
            return;
        }
        self.history.push(match side {
            Side::Orig => upper,
            Side::Resp => upper.to_ascii_lowercase(),
        });
    }

    /// Records `letter` the first time `mask` happens for `side`; returns true if it had
    /// happened before.
    fn check_letter(&mut self, side: Side, mask: u8, letter: char) -> bool {
        let ep = &mut self.endpoints[side];
        if ep.seen & mask != 0 {
            return true;
        }
        ep.seen |= mask;
        self.add_letter(side, letter);
        false
    }

    /// Takes one segment sent by `side` (Zeek `TCP_Analyzer::DeliverPacket`: history first,
    /// then the state machine).
    pub(crate) fn on_segment(&mut self, side: Side, flags: TcpFlags, seq: u32, payload_len: u32) {
        self.update_history(side, flags, seq, payload_len);
        self.update_state(side, flags, payload_len);
    }

    pub(crate) fn on_retransmission(&mut self, side: Side) {
        if self.endpoints[side].retransmissions.bump() {
            self.add_letter(side, 'T');
        }
    }

    pub(crate) fn on_zero_window(&mut self, side: Side) {
        if self.endpoints[side].zero_windows.bump() {
            self.add_letter(side, 'W');
        }
    }

    pub(crate) fn on_gap(&mut self, side: Side) {
        if self.endpoints[side].gaps.bump() {
            self.add_letter(side, 'G');
        }
    }

    fn update_history(&mut self, side: Side, flags: TcpFlags, seq: u32, len: u32) {
        let control = u8::from(flags.syn()) + u8::from(flags.fin()) + u8::from(flags.rst());
        if control > 1 {
            if flags.fin() && flags.rst() {
                self.check_letter(side, SEEN_FIN_RST, 'I');
            } else {
                self.check_letter(side, SEEN_MULTI, 'Q');
            }
        } else if flags.syn() {
            let letter = if flags.ack() { 'H' } else { 'S' };
            let last = self.endpoint(side).last_syn_seq;
            if self.check_letter(side, SEEN_SYN, letter) && last != Some(seq) {
                self.add_letter(side, letter);
            }
            self.endpoints[side].last_syn_seq = Some(seq);
        } else if flags.fin() {
            // A FIN's sequence number is the one after its data.
            let fin_seq = seq.wrapping_add(len);
            let last = self.endpoint(side).last_fin_seq;
            if self.check_letter(side, SEEN_FIN, 'F') && last != Some(fin_seq) {
                self.add_letter(side, 'F');
            }
            self.endpoints[side].last_fin_seq = Some(fin_seq);
        } else if flags.rst() {
            let last = self.endpoint(side).last_rst_seq;
            if self.check_letter(side, SEEN_RST, 'R') && last != Some(seq) {
                self.add_letter(side, 'R');
            }
            self.endpoints[side].last_rst_seq = Some(seq);
        } else if len > 0 {
            self.check_letter(side, SEEN_DATA, 'D');
        } else if flags.ack() {
            self.check_letter(side, SEEN_ACK, 'A');
        }
    }

    /// Zeek `TCP_Analyzer::UpdateStateMachine`, one arm per endpoint state.
    fn update_state(&mut self, side: Side, flags: TcpFlags, len: u32) {
        use EndpointState::*;
        let is_orig = side == Side::Orig;
        let (me, peer) = (side, side.other());
        match self.endpoints[me].state {
            Inactive => {
                if flags.syn() {
                    if is_orig {
                        let next = if flags.ack() { SynAckSent } else { SynSent };
                        self.endpoints[me].set_state(next);
                    } else {
                        // A SYN (normally SYN+ACK) from the responder answers the originator.
                        if self.endpoints[peer].state == SynSent {
                            self.endpoints[peer].set_state(Established);
                        }
                        self.endpoints[me].set_state(Established);
                    }
                }
                if flags.fin() {
                    self.endpoints[me].set_state(Closed);
                }
                if flags.rst() {
                    self.endpoints[me].set_state(Reset);
                }
                if self.endpoints[me].state == Inactive {
                    let orig_syn_sent = self.endpoints[Side::Orig].state == SynSent;
                    if !is_orig && len == 0 && orig_syn_sent {
                        // Some stacks ACK a SYN before answering it: not a partial connection.
                    } else if flags.ack() && self.endpoints[peer].state == Established {
                        // SYN+ACK seen, SYN missed: the pure ACK establishes this side.
                        self.endpoints[me].set_state(Established);
                    } else {
                        self.endpoints[me].set_state(Partial);
                    }
                }
            }
            SynSent | SynAckSent => {
                if flags.fin() {
                    self.endpoints[me].set_state(Closed);
                }
                if flags.rst() {
                    self.endpoints[me].set_state(Reset);
                }
            }
            Established | Partial => {
                if flags.syn()
                    && !flags.ack()
                    && self.endpoints[me].state == Partial
                    && self.endpoints[peer].state == Inactive
                {
                    self.endpoints[me].set_state(SynSent);
                }
                if flags.fin() && !flags.rst() {
                    self.endpoints[me].set_state(Closed);
                    let p = self.endpoints[peer];
                    if p.state == Reset && p.prev == Closed {
                        // The peer sent FIN then RST: that was a normal termination.
                        self.endpoints[peer].set_state(Closed);
                    }
                }
                if flags.rst() {
                    self.endpoints[me].set_state(Reset);
                }
            }
            Closed => {
                // After a FIN exchange a RST does not change the outcome.
                if flags.rst() && self.endpoints[peer].state != Closed {
                    self.endpoints[me].set_state(Reset);
                }
            }
            Reset => {}
        }
    }

    /// Zeek's `conn_state` (`Conn::conn_state`), from the endpoint states, the payload byte
    /// counts and the history.
    pub(crate) fn conn_state(&self, orig_bytes: u64, resp_bytes: u64) -> &'static str {
        use EndpointState::*;
        let os = self.endpoints.orig.state;
        let rs = self.endpoints.resp.state;
        let o_inactive = matches!(os, Inactive | Partial);
        let r_inactive = matches!(rs, Inactive | Partial);
        if rs == Reset {
            if matches!(os, SynSent | SynAckSent)
                || (os == Reset && orig_bytes == 0 && resp_bytes == 0)
            {
                "REJ"
            } else if o_inactive {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == Reset {
            if r_inactive {
                if history_is_syn_then_rst(&self.history) {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == Closed && os == Closed {
            "SF"
        } else if os == Closed {
            if r_inactive { "SH" } else { "S2" }
        } else if rs == Closed {
            if o_inactive { "SHR" } else { "S3" }
        } else if os == SynSent && rs == Inactive {
            "S0"
        } else if os == Established && rs == Established {
            "S1"
        } else {
            "OTH"
        }
    }
}

/// Zeek's `/^\^?S[^HAFGIQ]*R.*/`: the originator's SYN, then its RST with none of its
/// handshake, ACK, FIN, gap or odd-flag letters between.
fn history_is_syn_then_rst(history: &str) -> bool {
    let h = history.strip_prefix('^').unwrap_or(history);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests;
