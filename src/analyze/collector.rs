//! The [`FlowSink`] that turns flow callbacks into [`Connection`]s: one [`Building`] per active
//! flow, indexed by `FlowId`, finished into a connection when the flow closes.

use super::building::Building;
use crate::common::{At, Side};
use crate::conn::Connection;
use crate::flow::{FlowId, FlowOpen, FlowSink, TcpEvent, TcpSummary};
use crate::proto::tls::decrypt::KeyLog;
use std::sync::Arc;

/// The [`FlowSink`] that turns flow callbacks into connections.
pub(super) struct Collector {
    capture: usize,
    /// Key-logged secrets: the `--keylog` files plus the capture's DSBs seen so far.
    keys: Arc<KeyLog>,
    /// Indexed by `FlowId` (dense, in creation order); `None` once finished.
    active: Vec<Option<Building>>,
    pub(super) finished: Vec<Connection>,
}

impl Collector {
    pub(super) fn new(capture: usize, keys: Arc<KeyLog>) -> Self {
        Collector {
            capture,
            keys,
            active: Vec::new(),
            finished: Vec::new(),
        }
    }

    /// Adds the key log text of newly read Decryption Secrets Blocks (a new shared copy, made
    /// only when a block appears).
    pub(super) fn add_secrets(&mut self, texts: &[Vec<u8>]) {
        let mut keys = KeyLog::clone(&self.keys);
        for text in texts {
            keys.add_text(text);
        }
        self.keys = Arc::new(keys);
    }

    fn building(&mut self, id: FlowId) -> Option<&mut Building> {
        self.active.get_mut(id.0 as usize).and_then(Option::as_mut)
    }
}

impl FlowSink for Collector {
    fn open(&mut self, flow: &FlowOpen) {
        let index = flow.id.0 as usize;
        if self.active.len() <= index {
            self.active.resize_with(index + 1, || None);
        }
        self.active[index] = Some(Building::new(flow.clone()));
    }

    fn data(&mut self, id: FlowId, side: Side, data: &[u8], at: At) {
        let keys = (!self.keys.is_empty()).then(|| self.keys.clone());
        if let Some(b) = self.building(id) {
            if let Some(keys) = keys {
                b.offer_keys(keys);
            }
            b.data(side, data, at);
        }
    }

    fn gap(&mut self, id: FlowId, side: Side, len: u64, at: At) {
        if let Some(b) = self.building(id) {
            b.gap(side, len, at);
        }
    }

    fn tcp_event(&mut self, id: FlowId, side: Side, event: TcpEvent, at: At) {
        if let Some(b) = self.building(id) {
            b.tcp_event(side, event, at);
        }
    }

    fn closed(&mut self, id: FlowId, summary: TcpSummary) {
        let taken = self.active.get_mut(id.0 as usize).and_then(Option::take);
        if let Some(b) = taken {
            let conn = b.into_connection(self.capture, summary);
            self.finished.push(conn);
        }
    }
}
