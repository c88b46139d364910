//! `mqpcap rules` (list every rule and profile) and `mqpcap rules ID` (explain one rule or
//! profile: its text templates, thresholds, variants and, for profiles, limits and sources).

use super::{Profile, RuleBook, RuleDef, rule_ids};
use std::io::{self, Write};

/// Writes the list, or the explanation of `id`. Returns false when `id` names nothing.
pub(crate) fn write(book: &RuleBook, id: Option<&str>, out: &mut dyn Write) -> io::Result<bool> {
    match id {
        None => {
            list(book, out)?;
            Ok(true)
        }
        Some(id) => {
            if let Some(rule) = book.rule(id) {
                explain_rule(rule, out)?;
                Ok(true)
            } else if let Some(p) = book.profiles().find(|p| p.name == id) {
                explain_profile(p, out)?;
                Ok(true)
            } else {
                Ok(false)
            }
        }
    }
}

fn list(book: &RuleBook, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Rules (in the order they run; `mqpcap rules ID` explains one):"
    )?;
    for id in rule_ids() {
        if let Some(rule) = book.rule(id) {
            writeln!(
                out,
                "  {:<28} {:<8} {}",
                id,
                rule.base.severity.name(),
                rule.summary
            )?;
        }
    }
    writeln!(out, "\nProfiles (--profile NAME):")?;
    for p in book.profiles() {
        writeln!(out, "  {:<28} {}", p.name, p.title)?;
    }
    Ok(())
}

fn explain_rule(rule: &RuleDef, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{} ({})", rule.id, rule.base.severity.name())?;
    if !rule.summary.is_empty() {
        writeln!(out, "  {}", rule.summary)?;
    }
    writeln!(out, "  defined in {}", rule.source)?;
    writeln!(out, "\n  title:  {}", rule.base.title)?;
    writeln!(out, "  detail: {}", rule.base.detail)?;
    writeln!(out, "  remedy: {}", rule.base.remedy)?;
    if !rule.thresholds.is_empty() {
        writeln!(out, "\n  thresholds:")?;
        for (name, value) in &rule.thresholds {
            writeln!(out, "    {name} = {value}")?;
        }
    }
    if !rule.variants.is_empty() {
        writeln!(out, "\n  variants (chosen by the facts):")?;
        for (key, text) in &rule.variants {
            writeln!(out, "    {key} ({}): {}", text.severity.name(), text.title)?;
        }
    }
    writeln!(out, "\n  More in rules/README.md.")
}

fn explain_profile(p: &Profile, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}: {}", p.name, p.title)?;
    if !p.description.is_empty() {
        writeln!(out, "  {}", p.description)?;
    }
    let limits = p.limits.entries();
    if limits.is_empty() {
        writeln!(out, "  no platform limits")?;
    } else {
        writeln!(out, "\n  limits:")?;
        for (name, value) in limits {
            writeln!(out, "    {name} = {value}")?;
        }
    }
    if !p.sources.is_empty() {
        writeln!(out, "\n  sources:")?;
        for s in &p.sources {
            writeln!(out, "    {}: {}", s.limit, s.url)?;
            if let Some(note) = &s.note {
                writeln!(out, "      {note}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(id: Option<&str>) -> (bool, String) {
        let mut out = Vec::new();
        let found = write(&RuleBook::builtin(), id, &mut out).unwrap_or(false);
        (found, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn lists_every_rule_and_profile() {
        let (_, t) = text(None);
        for id in rule_ids() {
            assert!(t.contains(id), "{id}");
        }
        assert!(t.contains("aws-iot") && t.contains("clearblade"));
    }

    #[test]
    fn explains_a_rule_a_profile_and_refuses_unknown_ids() {
        let (found, t) = text(Some("keepalive_lapse"));
        assert!(found && t.contains("factor = 1.5") && t.contains("inferred"));
        let (found, t) = text(Some("aws-iot"));
        assert!(found && t.contains("keep_alive_max_s = 1200") && t.contains("https://"));
        assert!(!text(Some("nope")).0);
    }
}

#[cfg(test)]
mod boundary_tests;
