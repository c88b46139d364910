//! Rules across connections of one capture: one client id used by two connections at once
//! (the broker drops the older, MQTT 3.1.1 §3.1.4 step 2 / 5.0 §3.1.4-3), identical attempts
//! that are sometimes reset, and reconnect storms (many attempts, intervals not growing).

use super::facts::{duration_text, secs_between, text_of};
use super::summary::ConnSummary;
use super::{CrossCtx, Hit};
use crate::common::At;
use crate::flow::CloseHow;
use rustc_hash::FxBuildHasher;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, SocketAddr};

/// `candidates` grouped by `key`, only the groups of at least `min` members, in key order;
/// members keep the candidates' order.
///
/// This is most of the end of a fleet run, where every summary is visited once per rule and
/// nearly every visit is a cache miss. A tree of the keys compared whole keys n log n times;
/// a hash map raised the 1 GB benchmark's peak memory by 12 MiB (a bucket and a list per key).
/// Here: (hash of the key, position) pairs, 16 bytes each, are sorted; only a run of one hash
/// long enough to count has its keys made again and compared (split by key in the rare case
/// of a hash shared by different keys); the groups that count are sorted by key at the end.
fn groups_of<'a, K: Ord + Hash>(
    candidates: impl Iterator<Item = &'a ConnSummary>,
    key: impl Fn(&'a ConnSummary) -> K,
    min: usize,
) -> Vec<(K, Vec<&'a ConnSummary>)> {
    let candidates: Vec<&ConnSummary> = candidates.collect();
    let mut hashed: Vec<(u64, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(position, c)| (FxBuildHasher.hash_one(key(c)), position))
        .collect();
    hashed.sort_unstable();
    let mut groups = Vec::new();
    for run in hashed.chunk_by(|a, b| a.0 == b.0) {
        if run.len() < min.max(1) {
            continue;
        }
        // Positions ascend within a run: members come in candidate order.
        let mut keyed: Vec<(K, &ConnSummary)> = run
            .iter()
            .filter_map(|&(_, position)| candidates.get(position))
            .map(|&c| (key(c), c))
            .collect();
        if let Some(first) = keyed.first()
            && keyed.iter().any(|k| k.0 != first.0)
        {
            // One hash, different keys: by key, keeping candidate order (a stable sort).
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let mut keyed = keyed.into_iter().peekable();
        while let Some((k, first)) = keyed.next() {
            let mut members = vec![first];
            while let Some((_, c)) = keyed.next_if(|next| next.0 == k) {
                members.push(c);
            }
            if members.len() >= min {
                groups.push((k, members));
            }
        }
    }
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    groups
}

/// The smallest whole group size that reaches a `min_attempts`-like threshold (1 when the
/// threshold is not a number above 1): `groups_of` with it keeps exactly the groups of at
/// least `threshold` members.
fn at_least(threshold: f64) -> usize {
    if threshold > 1.0 {
        threshold.ceil() as usize
    } else {
        1
    }
}

pub(crate) fn duplicate_client_id<'a>(ctx: &CrossCtx<'a>) -> Vec<Hit> {
    let max_delay = ctx.threshold("max_takeover_delay_s");
    // Keys borrow the summaries' ids: a copy per connection was most of this rule's time.
    let with_id = ctx
        .connections
        .iter()
        .filter(|c| c.connect_at().is_some() && c.client_id().is_some_and(|id| !id.is_empty()));
    let key = |c: &'a ConnSummary| {
        let client_id = c.client_id().unwrap_or_default();
        (c.capture, c.server(), client_id)
    };
    let mut hits = Vec::new();
    for ((_, server, client_id), mut members) in groups_of(with_id, key, 2) {
        members.sort_by_key(|c| c.connect_at().map(|a| a.frame));
        let mut takeovers: Vec<(&ConnSummary, &ConnSummary, At, At)> = Vec::new();
        for (i, newer) in members.iter().enumerate() {
            let Some(newer_connect) = newer.connect_at() else {
                continue;
            };
            // A takeover drops a connection that was open when the newer one came: only the
            // few before it can be, which also keeps long captures linear.
            let window = ctx.threshold("max_overlapping") as usize;
            for older in members.iter().take(i).skip(i.saturating_sub(window)) {
                let Some(dropped) = older.server_drop() else {
                    continue;
                };
                let client_closed_first = older
                    .client_close()
                    .is_some_and(|at| at.frame < newer_connect.frame);
                if dropped.frame > newer_connect.frame
                    && secs_between(newer_connect, dropped) <= max_delay
                    && !client_closed_first
                {
                    takeovers.push((older, newer, newer_connect, dropped));
                }
            }
        }
        if takeovers.is_empty() {
            continue;
        }
        let mut ids: Vec<usize> = takeovers
            .iter()
            .flat_map(|(o, n, _, _)| [o.id, n.id])
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let clients: std::collections::BTreeSet<IpAddr> = takeovers
            .iter()
            .flat_map(|(o, n, _, _)| [o.client().ip(), n.client().ip()])
            .collect();
        let fight = takeovers.len() as f64 >= ctx.threshold("fight_min_takeovers");
        let mut hit = Hit::new()
            .variant(if fight { "fight" } else { "single" })
            .var("client_id", text_of(client_id))
            .var("server", server)
            .var("count", takeovers.len())
            .var("connections_n", ids.len())
            .var(
                "clients",
                clients
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        for (older, newer, connect, dropped) in takeovers.iter().take(4) {
            hit = hit
                .at(
                    *connect,
                    format!("CONNECT on connection {} (same id)", newer.id),
                )
                .at(
                    *dropped,
                    format!(
                        "server drops connection {} {}",
                        older.id,
                        drop_delay(*connect, *dropped)
                    ),
                );
        }
        hit.connections = ids;
        hits.push(hit);
    }
    hits
}

fn drop_delay(connect: At, dropped: At) -> String {
    format!("{} later", duration_text(secs_between(connect, dropped)))
}

/// Whether an attempt failed with a reset before the session was up.
fn reset_failure(c: &ConnSummary) -> Option<At> {
    if c.close_how != CloseHow::Rst || c.session_up() {
        return None;
    }
    c.close_at()
}

fn attempt_key(c: &ConnSummary) -> (usize, IpAddr, SocketAddr, &str) {
    let sni = c.sni().unwrap_or_default();
    (c.capture, c.client().ip(), c.server(), sni)
}

pub(crate) fn rst_intermittent(ctx: &CrossCtx) -> Vec<Hit> {
    let attempts = ctx
        .connections
        .iter()
        .filter(|c| c.syn_seen && (c.tls_established.is_some() || c.mqtt));
    // Fewer than `min_attempts` identical attempts say nothing about intermittence.
    let min = at_least(ctx.threshold("min_attempts"));
    let mut hits = Vec::new();
    for ((_, _, server, sni), members) in groups_of(attempts, attempt_key, min) {
        let resets: Vec<(&ConnSummary, At)> = members
            .iter()
            .filter_map(|c| reset_failure(c).map(|at| (*c, at)))
            .collect();
        let ok = members.iter().filter(|c| c.succeeded()).count();
        if resets.is_empty() || ok == 0 {
            continue;
        }
        let mut hit = Hit::new()
            .var("server", server)
            .var("sni", if sni.is_empty() { "(none)" } else { sni })
            .var("attempts", members.len())
            .var("resets", resets.len())
            .var("ok", ok);
        for (c, at) in resets.iter().take(4) {
            hit = hit.at(
                *at,
                format!("RST ends attempt {} (connection {})", c.tcp_stream, c.id),
            );
        }
        hit.connections = members.iter().map(|c| c.id).collect();
        hits.push(hit);
    }
    hits
}

/// Many attempts from one client to one server, by client id (or by address when hidden in
/// TLS), too fast and without growing backoff.
pub(crate) fn reconnect_storm<'a>(ctx: &CrossCtx<'a>) -> Vec<Hit> {
    let attempts = ctx
        .connections
        .iter()
        .filter(|c| c.syn_seen && !ctx.explained.contains(&c.id));
    let key = |c: &'a ConnSummary| {
        let id = c.client_id().unwrap_or_default();
        (c.capture, c.client().ip(), c.server(), id)
    };
    // Groups of fewer than `min_attempts` are not storms.
    let groups = groups_of(
        attempts,
        key,
        (ctx.threshold("min_attempts") as usize).max(1),
    );
    let max_mean = ctx.threshold("max_mean_interval_s");
    let ratio = ctx.threshold("backoff_ratio");
    let share = ctx.threshold("backoff_share");
    let mut hits = Vec::new();
    for ((_, client, server, id), mut members) in groups {
        members.sort_by_key(|c| c.first.frame);
        let starts: Vec<At> = members.iter().map(|c| c.first).collect();
        let intervals: Vec<f64> = starts
            .array_windows()
            .map(|&[earlier, later]| secs_between(earlier, later))
            .collect();
        let span: f64 = intervals.iter().sum();
        let mean = span / intervals.len().max(1) as f64;
        if mean > max_mean {
            continue;
        }
        let growing = intervals
            .array_windows()
            .filter(|&&[before, after]| after >= before * ratio && after > 0.0)
            .count();
        let pairs = intervals.len().saturating_sub(1).max(1);
        if growing as f64 / pairs as f64 >= share {
            continue;
        }
        let failed = members.iter().filter(|c| !c.succeeded()).count();
        let shown: Vec<String> = intervals
            .iter()
            .take(8)
            .map(|s| duration_text(*s))
            .collect();
        let mut hit = Hit::new()
            .var("attempts", members.len())
            .var("client", client)
            .var("server", server)
            .var(
                "who",
                if id.is_empty() {
                    format!("client {client}")
                } else {
                    format!("client id {}", text_of(id))
                },
            )
            .var("span", duration_text(span))
            .var(
                "rate",
                format!("{:.1}", 60.0 * intervals.len() as f64 / span.max(0.001)),
            )
            .var("mean", duration_text(mean))
            .var(
                "intervals",
                format!(
                    "{}{}",
                    shown.join(", "),
                    if intervals.len() > 8 { ", ..." } else { "" }
                ),
            )
            .var("failed", failed);
        for c in members.iter().take(3) {
            hit = hit.at(c.first, format!("attempt (connection {})", c.id));
        }
        hit.connections = members.iter().map(|c| c.id).collect();
        hits.push(hit);
    }
    hits
}

#[cfg(test)]
mod tests;
