//! The sink contract under random segment sequences.

use super::*;

/// Checks what any sequence of segments must give: every flow opened is closed once; per side,
/// delivered plus gapped bytes equal the summary's byte count and gaps equal the missing
/// bytes; at most one FIN per side and nothing delivered after it.
#[derive(Default)]
struct Checker {
    opened: Vec<u32>,
    closed: Vec<u32>,
    /// Per (flow, side): bytes, gap bytes, FIN reported.
    sides: std::collections::HashMap<(u32, Side), (u64, u64, bool)>,
    problems: Vec<String>,
}

impl FlowSink for Checker {
    fn open(&mut self, flow: &FlowOpen) {
        self.opened.push(flow.id.0);
    }
    fn data(&mut self, id: FlowId, side: Side, data: &[u8], _at: At) {
        let entry = self.sides.entry((id.0, side)).or_default();
        if entry.2 {
            self.problems
                .push(format!("flow {} {side:?}: data after FIN", id.0));
        }
        entry.0 += data.len() as u64;
    }
    fn gap(&mut self, id: FlowId, side: Side, len: u64, _at: At) {
        let entry = self.sides.entry((id.0, side)).or_default();
        if entry.2 {
            self.problems
                .push(format!("flow {} {side:?}: gap after FIN", id.0));
        }
        entry.0 += len;
        entry.1 += len;
    }
    fn tcp_event(&mut self, id: FlowId, side: Side, event: TcpEvent, _at: At) {
        if event == TcpEvent::Fin {
            let entry = self.sides.entry((id.0, side)).or_default();
            if entry.2 {
                self.problems
                    .push(format!("flow {} {side:?}: second FIN", id.0));
            }
            entry.2 = true;
        }
    }
    fn closed(&mut self, id: FlowId, summary: TcpSummary) {
        self.closed.push(id.0);
        let mut missing = 0;
        for side in [Side::Orig, Side::Resp] {
            let (bytes, gaps, _) = self.sides.get(&(id.0, side)).copied().unwrap_or_default();
            missing += gaps;
            if summary.sides[side.index()].bytes != bytes {
                self.problems
                    .push(format!("flow {} {side:?}: byte count", id.0));
            }
        }
        if summary.missing_bytes != missing {
            self.problems.push(format!("flow {}: missing bytes", id.0));
        }
    }
}

#[test]
fn random_segment_sequences_keep_the_sink_contract() {
    let mut rng = crate::test_rng::XorShift::new(0x9e37_79b9_7f4a_7c15);
    let mut next = move || rng.next_u64();
    let flag_choices = [S, S | A, A, P | A, F | A, R, R | A, F, A, P | A];
    for _round in 0..300 {
        let mut table = FlowTable::new(FlowLimits {
            max_buffered_per_side: 2000,
            max_holes: 3,
        });
        let mut checker = Checker::default();
        let mut last = [1000u32, 5000u32];
        for frame in 1..200u64 {
            let r = next();
            let from_client = r & 1 == 0;
            let (me, peer) = if from_client { (0, 1) } else { (1, 0) };
            let step = (r >> 8) % 100;
            let seq = last[me].wrapping_add(step as u32).wrapping_sub(30);
            let len = ((r >> 20) % 40) as usize;
            last[me] = seq.wrapping_add(len as u32);
            let ack = last[peer]
                .wrapping_add(((r >> 30) % 60) as u32)
                .wrapping_sub(20);
            let pkt = Pkt {
                from_client,
                seq,
                ack,
                flags: flag_choices[((r >> 40) % 10) as usize],
                window: if r % 29 == 0 { 0 } else { 500 },
                payload: vec![b'x'; len],
                missing: if r % 31 == 0 { 7 } else { 0 },
                ms: 0,
            };
            let time_ns = frame as i64 * (((r >> 50) % 5) as i64 + 1) * 1_000_000;
            table.on_segment(at(frame, time_ns), &pkt.segment(), &mut checker);
        }
        table.finish(&mut checker);
        let mut closed = checker.closed.clone();
        closed.sort_unstable();
        assert_eq!(checker.opened, closed, "every flow closed once");
        assert!(checker.problems.is_empty(), "{:?}", checker.problems);
    }
}
