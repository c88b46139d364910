//! Broker ports learned from the capture: a server endpoint that answered MQTT (a CONNACK) in
//! one connection is a broker for every connection to it in the run, whatever its port. The
//! connections to it that the per-connection rules could not judge (their port was not a known
//! broker port: see `summary::Unjudged`) are judged here, at the end, under the same rule ids:
//! `no_connect_sent` for a client that sent nothing, `protocol_mismatch` for a ClientHello the
//! broker closed on without TLS. Deterministic: it depends only on the set of summaries.

use super::facts::{duration_text, secs_between};
use super::summary::{ConnSummary, Unjudged};
use super::{CrossCtx, Hit};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Server endpoints that answered MQTT, with the first connection that showed it.
fn learned_brokers(connections: &[ConnSummary]) -> BTreeMap<(usize, SocketAddr), &ConnSummary> {
    let mut brokers = BTreeMap::new();
    for c in connections.iter().filter(|c| c.connack_code.is_some()) {
        brokers.entry((c.capture, c.server())).or_insert(c);
    }
    brokers
}

/// The unjudged connections to learned brokers on ports that are not already broker ports.
fn to_learned<'a>(
    ctx: &'a CrossCtx,
) -> impl Iterator<Item = (&'a ConnSummary, &'a Unjudged, &'a ConnSummary)> + 'a {
    let brokers = learned_brokers(ctx.connections);
    ctx.connections.iter().filter_map(move |c| {
        let unjudged = c.unjudged.as_deref()?;
        if ctx.broker_ports.contains(c.server().port()) {
            return None;
        }
        let evidence = *brokers.get(&(c.capture, c.server()))?;
        Some((c, unjudged, evidence))
    })
}

fn learned_from(hit: Hit, broker: &ConnSummary) -> Hit {
    let mut hit = hit.var("learned_from", broker.id);
    if let Some(connect) = broker.connect_at() {
        hit = hit.at(
            connect,
            format!("connection {}: this endpoint answered MQTT", broker.id),
        );
    }
    hit
}

/// `no_connect_sent` on a learned broker endpoint.
pub(crate) fn learned_no_connect(ctx: &CrossCtx) -> Vec<Hit> {
    let min_wait = ctx.threshold("min_wait_s");
    to_learned(ctx)
        .filter_map(|(c, unjudged, broker)| {
            let Unjudged::Silent { up, end } = *unjudged else {
                return None;
            };
            let waited = secs_between(up, end);
            if waited < min_wait {
                return None;
            }
            let mut hit = Hit::new()
                .variant("learned")
                .var("port", c.server().port())
                .var("server", c.server())
                .var("waited", duration_text(waited))
                .at(up, format!("connection {} ready", c.id))
                .at(end, "end of the silent connection");
            hit.connections = vec![c.id];
            Some(learned_from(hit, broker))
        })
        .collect()
}

/// `protocol_mismatch` (TLS to a plain listener) on a learned broker endpoint.
pub(crate) fn learned_tls_to_plain(ctx: &CrossCtx) -> Vec<Hit> {
    let max_delay = ctx.threshold("max_plain_close_s");
    to_learned(ctx)
        .filter_map(|(c, unjudged, broker)| {
            let Unjudged::TlsUnanswered { hello, close, rst } = *unjudged else {
                return None;
            };
            // A plain MQTT broker reads the ClientHello as a bad packet and closes at once.
            if secs_between(hello, close) > max_delay {
                return None;
            }
            let mut hit = Hit::new()
                .variant("learned_tls_to_plain")
                .var("port", c.server().port())
                .var("server", c.server())
                .at(hello, format!("ClientHello (connection {})", c.id))
                .at(
                    close,
                    if rst {
                        "server resets without a TLS answer"
                    } else {
                        "server closes without a TLS answer"
                    },
                );
            hit.connections = vec![c.id];
            Some(learned_from(hit, broker))
        })
        .collect()
}
