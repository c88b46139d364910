//! `failing_in_every_capture`: across the captures of one run (a fleet's directory), a device
//! (its MQTT client id, else its address) that failed in every capture it appears in, two or
//! more: the fault travels with the device (its credentials, certificates, firmware), not with
//! one network or one moment.

use super::book::RuleBook;
use super::summary::ConnSummary;
use super::{Hit, render};
use crate::finding::Finding;
use std::collections::BTreeMap;

/// A device's connections in one capture: how many, how many failed, their report ids.
#[derive(Default)]
struct InCapture {
    connections: usize,
    failed: usize,
    ids: Vec<usize>,
}

/// `summaries` in report-id order; `failing[id]`: the connection had a warning or error.
pub(crate) fn failing_in_every_capture(
    summaries: &[ConnSummary],
    failing: &[bool],
    book: &RuleBook,
) -> Vec<Finding> {
    let Some(rule) = book.rule("failing_in_every_capture") else {
        return Vec::new();
    };
    let mut devices: BTreeMap<String, BTreeMap<usize, InCapture>> = BTreeMap::new();
    for s in summaries {
        let device = match s.client_id().map(std::str::from_utf8) {
            Some(Ok(id)) if !id.is_empty() => format!("client id \"{id}\""),
            _ => format!("address {}", s.client().ip()),
        };
        let entry = devices
            .entry(device)
            .or_default()
            .entry(s.capture)
            .or_default();
        entry.connections += 1;
        entry.failed += usize::from(failing.get(s.id).copied().unwrap_or(false));
        entry.ids.push(s.id);
    }
    let mut findings = Vec::new();
    for (device, captures) in devices {
        let all_failed = captures.values().all(|c| c.failed > 0);
        if captures.len() < 2 || !all_failed {
            continue;
        }
        let connections: Vec<usize> = captures
            .values()
            .flat_map(|c| c.ids.iter().copied())
            .collect();
        let failed: usize = captures.values().map(|c| c.failed).sum();
        let list: Vec<String> = captures.keys().map(|c| c.to_string()).collect();
        let hit = Hit::new()
            .var("device", &device)
            .var("captures", captures.len())
            .var("capture_list", list.join(", "))
            .var("failed", failed)
            .var(
                "connections",
                captures.values().map(|c| c.connections).sum::<usize>(),
            );
        findings.push(render(
            "failing_in_every_capture",
            rule,
            hit,
            connections,
            &[],
        ));
    }
    findings
}

#[cfg(test)]
mod boundary_tests;
