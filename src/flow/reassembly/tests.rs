//! Tests of the reassembly module.

use super::*;

/// What came out, with adjacent data merged so tests do not depend on piece boundaries.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    D(Vec<u8>),
    G(u64),
}

fn collect(out: &mut Vec<Out>) -> impl FnMut(Delivery<'_>) + '_ {
    move |d| match (d, out.last_mut()) {
        (Delivery::Data(bytes), Some(Out::D(prev))) => prev.extend_from_slice(bytes),
        (Delivery::Data(bytes), _) => out.push(Out::D(bytes.to_vec())),
        (Delivery::Gap(n), _) => out.push(Out::G(n)),
    }
}

fn d(s: &str) -> Out {
    Out::D(s.as_bytes().to_vec())
}

const LIMITS: ReassemblyLimits = ReassemblyLimits {
    max_buffered: 1 << 20,
    max_holes: 8,
};

/// Feeds `(offset, text)` segments and returns what was delivered after each one, and the
/// number of fresh bytes reported for each.
fn run(segments: &[(u64, &str)]) -> (Reassembler, Vec<Out>, Vec<u64>) {
    let mut r = Reassembler::new();
    let mut out = Vec::new();
    let mut fresh = Vec::new();
    for &(off, text) in segments {
        fresh.push(r.insert(off, Content::Data(text.as_bytes()), &mut collect(&mut out)));
        r.enforce(LIMITS, &mut collect(&mut out));
        r.check_invariants();
    }
    (r, out, fresh)
}

#[test]
fn table_of_arrival_orders() {
    struct Case {
        name: &'static str,
        segments: &'static [(u64, &'static str)],
        delivered: &'static str,
        next: u64,
        holes: usize,
        fresh: &'static [u64],
    }
    let cases = [
        Case {
            name: "in order",
            segments: &[(0, "abc"), (3, "def")],
            delivered: "abcdef",
            next: 6,
            holes: 0,
            fresh: &[3, 3],
        },
        Case {
            name: "out of order, hole filled",
            segments: &[(3, "def"), (6, "gh"), (0, "abc")],
            delivered: "abcdefgh",
            next: 8,
            holes: 0,
            fresh: &[3, 2, 3],
        },
        Case {
            name: "hole still open",
            segments: &[(0, "ab"), (4, "ef")],
            delivered: "ab",
            next: 2,
            holes: 1,
            fresh: &[2, 2],
        },
        Case {
            name: "full retransmission is not fresh",
            segments: &[(0, "abc"), (0, "abc")],
            delivered: "abc",
            next: 3,
            holes: 0,
            fresh: &[3, 0],
        },
        Case {
            name: "overlap at the head keeps the first copy",
            segments: &[(0, "abcd"), (2, "XXef")],
            delivered: "abcdef",
            next: 6,
            holes: 0,
            fresh: &[4, 2],
        },
        Case {
            name: "overlap at the tail of held data keeps the first copy",
            segments: &[(4, "efgh"), (2, "cdXXXXij"), (0, "ab")],
            delivered: "abcdefghij",
            next: 10,
            holes: 0,
            fresh: &[4, 4, 2],
        },
        Case {
            name: "segment spanning two held pieces fills both holes",
            segments: &[(2, "c"), (5, "f"), (0, "abXdeXg")],
            delivered: "abcdefg",
            next: 7,
            holes: 0,
            fresh: &[1, 1, 5],
        },
        Case {
            name: "held piece entirely inside a later one",
            segments: &[(3, "d"), (1, "bcXe")],
            delivered: "",
            next: 0,
            holes: 1,
            fresh: &[1, 3],
        },
        Case {
            name: "zero-length segments change nothing",
            segments: &[(0, ""), (0, "ab"), (2, ""), (9, "")],
            delivered: "ab",
            next: 2,
            holes: 0,
            fresh: &[0, 2, 0, 0],
        },
        Case {
            name: "window probe of one byte at the edge, then the full segment",
            segments: &[(0, "ab"), (2, "c"), (2, "cdef")],
            delivered: "abcdef",
            next: 6,
            holes: 0,
            fresh: &[2, 1, 3],
        },
        Case {
            name: "reverse order",
            segments: &[(4, "e"), (3, "d"), (2, "c"), (1, "b"), (0, "a")],
            delivered: "abcde",
            next: 5,
            holes: 0,
            fresh: &[1, 1, 1, 1, 1],
        },
        Case {
            name: "far beyond any window is ignored",
            segments: &[(0, "a"), (MAX_AHEAD + 2, "z")],
            delivered: "a",
            next: 1,
            holes: 0,
            fresh: &[1, 0],
        },
    ];
    for case in cases {
        let (r, out, fresh) = run(case.segments);
        let expected = if case.delivered.is_empty() {
            vec![]
        } else {
            vec![d(case.delivered)]
        };
        assert_eq!(out, expected, "{}", case.name);
        assert_eq!(r.next_offset(), case.next, "{}", case.name);
        assert_eq!(r.holes(), case.holes, "{}", case.name);
        assert_eq!(fresh, case.fresh, "{}", case.name);
    }
}

#[test]
fn skip_to_turns_holes_into_gaps_and_delivers_held_data() {
    let (mut r, mut out, _) = run(&[(0, "ab"), (4, "ef"), (8, "ij")]);
    r.skip_to(6, &mut collect(&mut out));
    r.check_invariants();
    assert_eq!(out, vec![d("ab"), Out::G(2), d("ef")]);
    assert_eq!(r.next_offset(), 6);
    assert_eq!(r.holes(), 1);
    // Past the end of everything held: the tail itself becomes a gap.
    r.skip_to(12, &mut collect(&mut out));
    r.check_invariants();
    assert_eq!(
        out,
        vec![d("ab"), Out::G(2), d("ef"), Out::G(2), d("ij"), Out::G(2)]
    );
    assert_eq!(r.next_offset(), 12);
}

#[test]
fn skip_to_behind_the_delivery_point_does_nothing() {
    let (mut r, mut out, _) = run(&[(0, "abcd")]);
    r.skip_to(2, &mut collect(&mut out));
    assert_eq!(out, vec![d("abcd")]);
    assert_eq!(r.next_offset(), 4);
}

#[test]
fn data_after_a_declared_gap_is_not_delivered_again() {
    let (mut r, mut out, _) = run(&[(0, "ab"), (4, "ef")]);
    r.flush(&mut collect(&mut out));
    let fresh = r.insert(2, Content::Data(b"cd"), &mut collect(&mut out));
    assert_eq!(fresh, 0);
    assert_eq!(out, vec![d("ab"), Out::G(2), d("ef")]);
}

#[test]
fn flush_delivers_everything_with_gaps_first() {
    let (mut r, mut out, _) = run(&[(2, "cd"), (6, "gh"), (7, "hi")]);
    r.flush(&mut collect(&mut out));
    r.check_invariants();
    assert_eq!(out, vec![Out::G(2), d("cd"), Out::G(2), d("ghi")]);
    assert_eq!(r.next_offset(), 9);
    assert_eq!(r.buffered(), 0);
    assert_eq!(r.holes(), 0);
}

#[test]
fn too_many_holes_declares_the_oldest_lost() {
    let limits = ReassemblyLimits {
        max_buffered: 1 << 20,
        max_holes: 2,
    };
    let mut r = Reassembler::new();
    let mut out = Vec::new();
    for off in [2u64, 4, 6] {
        r.insert(off, Content::Data(b"x"), &mut collect(&mut out));
        r.enforce(limits, &mut collect(&mut out));
        r.check_invariants();
    }
    assert_eq!(out, vec![Out::G(2), d("x")]);
    assert_eq!(r.holes(), 2);
    assert_eq!(r.next_offset(), 3);
}

#[test]
fn too_many_buffered_bytes_declares_holes_lost_until_within_limit() {
    let limits = ReassemblyLimits {
        max_buffered: 2 * CHUNK_OVERHEAD + 8,
        max_holes: 100,
    };
    let mut r = Reassembler::new();
    let mut out = Vec::new();
    r.insert(10, Content::Data(b"0123"), &mut collect(&mut out));
    r.insert(20, Content::Data(b"4567"), &mut collect(&mut out));
    r.enforce(limits, &mut collect(&mut out));
    assert!(out.is_empty());
    r.insert(30, Content::Data(b"89"), &mut collect(&mut out));
    r.enforce(limits, &mut collect(&mut out));
    r.check_invariants();
    assert_eq!(out, vec![Out::G(10), d("0123")]);
    assert!(r.buffered() <= limits.max_buffered);
}

#[test]
fn truncate_forgets_held_data_beyond_the_limit() {
    let (mut r, mut out, _) = run(&[(0, "ab"), (4, "efgh"), (10, "kl")]);
    r.truncate_at(6);
    r.check_invariants();
    assert_eq!(r.holes(), 1);
    assert_eq!(r.end_offset(), 6);
    r.flush(&mut collect(&mut out));
    assert_eq!(out, vec![d("ab"), Out::G(2), d("ef")]);
}

#[test]
fn missing_bytes_at_the_delivery_point_are_a_gap_at_once() {
    let mut r = Reassembler::new();
    let mut out = Vec::new();
    r.insert(0, Content::Data(b"ab"), &mut collect(&mut out));
    let fresh = r.insert(2, Content::Missing(5), &mut collect(&mut out));
    r.insert(7, Content::Data(b"h"), &mut collect(&mut out));
    r.check_invariants();
    assert_eq!(fresh, 5);
    assert_eq!(out, vec![d("ab"), Out::G(5), d("h")]);
}

#[test]
fn missing_bytes_beyond_a_hole_are_held_as_a_gap() {
    let mut r = Reassembler::new();
    let mut out = Vec::new();
    r.insert(4, Content::Missing(3), &mut collect(&mut out));
    r.insert(7, Content::Data(b"x"), &mut collect(&mut out));
    r.check_invariants();
    assert_eq!(r.holes(), 1);
    // A later full copy of the missing range does not replace it: the first copy wins.
    r.insert(4, Content::Data(b"efg"), &mut collect(&mut out));
    r.insert(0, Content::Data(b"abcd"), &mut collect(&mut out));
    r.check_invariants();
    assert_eq!(out, vec![d("abcd"), Out::G(3), d("x")]);
}

#[test]
fn appending_after_a_hole_keeps_one_piece() {
    let mut r = Reassembler::new();
    let mut out = Vec::new();
    for i in 0..100u64 {
        r.insert(10 + i, Content::Data(b"x"), &mut collect(&mut out));
    }
    r.check_invariants();
    assert_eq!(r.buffered(), 100 + CHUNK_OVERHEAD);
    assert_eq!(r.holes(), 1);
    assert_eq!(r.end_offset(), 110);
}

#[test]
fn pseudo_random_orders_deliver_the_stream_exactly_once() {
    // A small linear congruential generator keeps the test deterministic.
    let text: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut state = 12345u64;
    let mut rand = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    for _round in 0..50 {
        let mut r = Reassembler::new();
        let mut got = Vec::new();
        for _ in 0..400 {
            let start = rand(2000);
            let len = rand(40).min(2000 - start);
            let s = usize::try_from(start).unwrap_or(0);
            let e = s + usize::try_from(len).unwrap_or(0);
            r.insert(start, Content::Data(&text[s..e]), &mut |dl| {
                if let Delivery::Data(b) = dl {
                    got.extend_from_slice(b)
                }
            });
            r.check_invariants();
        }
        r.insert(0, Content::Data(&text), &mut |dl| {
            if let Delivery::Data(b) = dl {
                got.extend_from_slice(b)
            }
        });
        r.check_invariants();
        assert_eq!(got, text);
        assert_eq!(r.buffered(), 0);
    }
}
