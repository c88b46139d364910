//! Which server ports are MQTT brokers' and how they speak: the IANA ports (1883 plain MQTT,
//! 8883 MQTT over TLS) and those the user declares with `--broker-port`, as tshark's
//! `-d tcp.port==P,mqtt` does. Rules that judge a silence or a wrong protocol on "an MQTT port"
//! ask here, so a broker on 1884 or 443 is judged like one on 1883.

use std::collections::BTreeMap;

/// How a broker port is meant to be spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerTransport {
    /// Plain MQTT (a TLS ClientHello there is a protocol mismatch).
    Plain,
    /// MQTT over TLS (a plain CONNECT there is a protocol mismatch).
    Tls,
    /// Declared without saying which: either may be right.
    Either,
}

/// The broker ports of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokerPorts {
    ports: BTreeMap<u16, BrokerTransport>,
}

impl Default for BrokerPorts {
    fn default() -> Self {
        BrokerPorts {
            ports: BTreeMap::from([(1883, BrokerTransport::Plain), (8883, BrokerTransport::Tls)]),
        }
    }
}

impl BrokerPorts {
    /// Adds (or redefines) a broker port.
    pub(crate) fn declare(&mut self, port: u16, transport: BrokerTransport) {
        self.ports.insert(port, transport);
    }

    /// How `port` is spoken to, if it is a broker port.
    pub(crate) fn get(&self, port: u16) -> Option<BrokerTransport> {
        self.ports.get(&port).copied()
    }

    pub(crate) fn contains(&self, port: u16) -> bool {
        self.ports.contains_key(&port)
    }

    /// Parses `--broker-port`'s value: `PORT`, `PORT/plain` or `PORT/tls`.
    pub(crate) fn parse_declaration(text: &str) -> Result<(u16, BrokerTransport), String> {
        let (port, transport) = match text.split_once('/') {
            None => (text, BrokerTransport::Either),
            Some((port, "plain")) => (port, BrokerTransport::Plain),
            Some((port, "tls")) => (port, BrokerTransport::Tls),
            Some((_, other)) => {
                return Err(format!(
                    "`{other}` is neither plain nor tls (PORT[/plain|/tls])"
                ));
            }
        };
        match port.parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("`{port}` is not a TCP port (1-65535)")),
            Ok(port) => Ok((port, transport)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_iana_ports_and_declared_ones() {
        let mut ports = BrokerPorts::default();
        assert_eq!(ports.get(1883), Some(BrokerTransport::Plain));
        assert_eq!(ports.get(8883), Some(BrokerTransport::Tls));
        assert_eq!(ports.get(1884), None);
        ports.declare(1884, BrokerTransport::Either);
        ports.declare(8883, BrokerTransport::Plain);
        assert_eq!(ports.get(1884), Some(BrokerTransport::Either));
        assert_eq!(ports.get(8883), Some(BrokerTransport::Plain));
    }

    #[test]
    fn declarations_parse_or_say_why_not() {
        let parse = BrokerPorts::parse_declaration;
        assert_eq!(parse("1884"), Ok((1884, BrokerTransport::Either)));
        assert_eq!(parse("443/tls"), Ok((443, BrokerTransport::Tls)));
        assert_eq!(parse("10883/plain"), Ok((10883, BrokerTransport::Plain)));
        assert!(parse("0").is_err());
        assert!(parse("70000").is_err());
        assert!(parse("1883/quic").unwrap_err().contains("quic"));
        assert!(parse("mqtt").is_err());
    }
}
