//! Connection ids given afterwards. When several captures are read at once, each is numbered
//! from 0 while it is read, and its run ids (every earlier capture's connections first) are
//! known only once every earlier capture has been read. The merge then moves a finished
//! connection to its run id with [`Renumber`]: the record's `id`, its findings' `connections`
//! and `continues` (CONTRACT.md `CONNECTION`), in the serialised JSON or in the report.
//!
//! The JSON is edited where those values stand rather than parsed again: re-serialising every
//! connection would cost as much as the serialisation the workers share. The places are
//! unambiguous in JSON: `"connections":` cannot occur inside a string, where every quote is
//! escaped (`\"connections\":`), so it is a key; `id` is the record's first key, `continues`
//! its last, and `connections` appears only in the connection's findings. The jobs-equality
//! tests compare these runs byte for byte with runs that number captures in order, so a new id
//! field left out here fails them.

use crate::report::model::{ConnectionReport, Finding};

/// Moves ids of one capture from the numbering it was read with to the run's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Renumber {
    /// The id the capture's first connection was given while reading.
    pub read_base: usize,
    /// Its id in the run.
    pub run_base: usize,
}

impl Renumber {
    /// True when the numbering is already the run's.
    pub(super) fn is_identity(self) -> bool {
        self.read_base == self.run_base
    }

    /// The run id of the connection read as `id`.
    pub(super) fn id(self, id: usize) -> usize {
        id.saturating_sub(self.read_base) + self.run_base
    }

    /// The report's ids in the run's numbering.
    pub(super) fn report(self, report: &mut ConnectionReport) {
        report.id = self.id(report.id);
        self.findings(&mut report.findings);
        if let Some(id) = &mut report.continues {
            *id = self.id(*id);
        }
    }

    /// The connections a connection's findings name, in the run's numbering.
    pub(super) fn findings(self, findings: &mut [Finding]) {
        for finding in findings {
            for id in &mut finding.connections {
                *id = self.id(*id);
            }
        }
    }

    /// The serialised record (compact JSON of a [`ConnectionReport`]) with its ids in the
    /// run's numbering.
    pub(super) fn json(self, json: &str) -> String {
        if self.is_identity() {
            return json.to_string();
        }
        let mut out = String::with_capacity(json.len() + 16);
        let mut rest = json;
        // `id`: the first key.
        if let Some(after) = rest.strip_prefix("{\"id\":") {
            out.push_str("{\"id\":");
            rest = self.number(after, &mut out);
        }
        // `continues`: the last key, a number or null.
        let tail_at = rest.rfind("\"continues\":");
        let (body, tail) = match tail_at {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        // `connections` of each finding: a list of numbers.
        let mut body = body;
        const KEY: &str = "\"connections\":[";
        while let Some(at) = body.find(KEY) {
            let (before, after) = body.split_at(at + KEY.len());
            out.push_str(before);
            body = after;
            loop {
                body = self.number(body, &mut out);
                match body.strip_prefix(',') {
                    Some(more) => {
                        out.push(',');
                        body = more;
                    }
                    None => break,
                }
            }
        }
        out.push_str(body);
        if let Some(value) = tail.strip_prefix("\"continues\":") {
            out.push_str("\"continues\":");
            let rest = self.number(value, &mut out);
            out.push_str(rest);
        } else {
            out.push_str(tail);
        }
        out
    }

    /// Copies the decimal number at the start of `text` to `out` in the run's numbering and
    /// returns what follows it; anything else (`null`, `]`) is left for the caller.
    fn number<'t>(self, text: &'t str, out: &mut String) -> &'t str {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let (number, rest) = text.split_at(digits);
        match number.parse::<usize>() {
            Ok(id) => out.push_str(&self.id(id).to_string()),
            Err(_) => out.push_str(number),
        }
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIFT: Renumber = Renumber {
        read_base: 0,
        run_base: 40,
    };

    /// The same edit done by parsing: what the textual one must equal (as a value: parsing
    /// does not keep the key order).
    fn by_parsing(json: &str, renumber: Renumber) -> serde_json::Value {
        let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
        let shift = |v: &mut serde_json::Value| {
            if let Some(n) = v.as_u64() {
                *v = (renumber.id(n as usize) as u64).into();
            }
        };
        shift(&mut value["id"]);
        shift(&mut value["continues"]);
        for f in value["findings"].as_array_mut().unwrap() {
            for c in f["connections"].as_array_mut().unwrap() {
                shift(c);
            }
        }
        value
    }

    #[test]
    fn record_ids_findings_and_continuation_move() {
        let json = r#"{"id":3,"capture":1,"findings":[{"rule":"a","connections":[3],"detail":"x \"connections\":[9] y"},{"rule":"b","connections":[3,7]}],"events":[],"continues":1}"#;
        let moved = SHIFT.json(json);
        assert_eq!(
            moved,
            r#"{"id":43,"capture":1,"findings":[{"rule":"a","connections":[43],"detail":"x \"connections\":[9] y"},{"rule":"b","connections":[43,47]}],"events":[],"continues":41}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&moved).unwrap();
        assert_eq!(parsed, by_parsing(json, SHIFT));
    }

    #[test]
    fn null_continuation_and_no_findings_stay() {
        let json = r#"{"id":0,"capture":2,"findings":[],"continues":null}"#;
        assert_eq!(
            SHIFT.json(json),
            r#"{"id":40,"capture":2,"findings":[],"continues":null}"#
        );
    }

    #[test]
    fn identity_is_a_copy_and_a_read_base_is_taken_off() {
        let same = Renumber {
            read_base: 5,
            run_base: 5,
        };
        let json = r#"{"id":7,"findings":[],"continues":null}"#;
        assert_eq!(same.json(json), json);
        let back = Renumber {
            read_base: 5,
            run_base: 2,
        };
        assert_eq!(
            back.json(r#"{"id":7,"findings":[{"connections":[7]}],"continues":6}"#),
            r#"{"id":4,"findings":[{"connections":[4]}],"continues":3}"#
        );
    }
}
