//! Profile checks: limits come from rules/profiles, JWTs are decoded but never shown.

use crate::common::Side;
use crate::detect::test_support::*;
use crate::detect::{Finding, RuleBook};

fn with_profile(c: &crate::conn::Connection, name: &str) -> Vec<Finding> {
    let book = RuleBook::builtin().with_profile(name);
    let Ok(book) = book else { panic!("{book:?}") };
    findings_with(vec![c.clone()], 10, &book)
        .per_connection
        .into_iter()
        .flatten()
        .collect()
}

fn fired(f: &[Finding]) -> Vec<&'static str> {
    f.iter().map(|f| f.rule).collect()
}

#[test]
fn generic_profile_checks_no_platform_limits() {
    let mut c = established_plain();
    let mut p = packet("PUBLISH");
    p.qos = Some(2);
    mqtt(&mut c, 8, 5, Side::Orig, p);
    assert!(with_profile(&c, "generic").is_empty());
    let f = with_profile(&c, "aws-iot");
    assert!(fired(&f).contains(&"qos_unsupported"), "{f:#?}");
}

#[test]
fn keepalive_and_client_id_against_clearblade() {
    let mut c = established_plain();
    if let Some(x) = c.mqtt.as_mut().and_then(|m| m.connect.as_mut()) {
        x.keep_alive = 20;
        x.client_id = Some(b"projects/p/locations/us-central1/registries/r/devices/d1".to_vec());
    }
    let f = with_profile(&c, "clearblade");
    assert!(fired(&f).contains(&"keepalive_out_of_range"), "{f:#?}");
    assert!(!fired(&f).contains(&"client_id_invalid"));
    if let Some(x) = c.mqtt.as_mut().and_then(|m| m.connect.as_mut()) {
        x.client_id = Some(b"device-1".to_vec());
    }
    assert!(fired(&with_profile(&c, "clearblade")).contains(&"client_id_invalid"));
}

#[test]
fn client_id_format_placeholders() {
    use crate::detect::profile::matches_format;
    let f = "projects/{p}/locations/{r}/registries/{g}/devices/{d}";
    assert!(matches_format(
        f,
        "projects/a/locations/b/registries/c/devices/d"
    ));
    assert!(!matches_format(
        f,
        "projects/a/locations/b/registries/c/devices/"
    ));
    assert!(!matches_format(
        f,
        "projects/a/b/locations/b/registries/c/devices/d"
    ));
}

fn with_jwt(claims: &str, standard: bool) -> crate::conn::Connection {
    let mut c = established_plain();
    let jwt = crate::detect::jwt::make(r#"{"alg":"RS256","typ":"JWT"}"#, claims, standard);
    if let Some(x) = c.mqtt.as_mut().and_then(|m| m.connect.as_mut()) {
        x.password_len = Some(jwt.len());
        x.password = Some(jwt);
    }
    c
}

#[test]
fn jwt_problems_are_found_without_printing_the_token() {
    let now = T0_NS / 1_000_000_000;
    let c = with_jwt(
        &format!(r#"{{"iat":{},"exp":{}}}"#, now - 7200, now - 3600),
        false,
    );
    let f = with_profile(&c, "generic");
    let j = f.iter().find(|f| f.rule == "jwt_invalid");
    assert!(j.is_some_and(|j| j.detail.contains("expired")), "{f:#?}");
    let token = String::from_utf8(
        c.mqtt
            .as_ref()
            .and_then(|m| m.connect.as_ref())
            .and_then(|x| x.password.clone())
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    for f in &f {
        assert!(!f.detail.contains(&token) && !f.title.contains(&token));
        assert!(!f.detail.contains(token.split('.').next().unwrap_or("-")));
    }
    // Lifetime over 24 h and no aud on ClearBlade.
    let c = with_jwt(
        &format!(r#"{{"iat":{now},"exp":{}}}"#, now + 3 * 86_400),
        false,
    );
    let f = with_profile(&c, "clearblade");
    let j = f.iter().find(|f| f.rule == "jwt_invalid");
    assert!(
        j.is_some_and(|j| j.detail.contains("lifetime") && j.detail.contains("aud")),
        "{f:#?}"
    );
    assert!(with_profile(&c, "generic").is_empty());
    // iat in the future, standard base64.
    let c = with_jwt(
        &format!(r#"{{"iat":{},"exp":{}}}"#, now + 3600, now + 7200),
        true,
    );
    let f = with_profile(&c, "generic");
    let j = f.iter().find(|f| f.rule == "jwt_invalid");
    assert!(
        j.is_some_and(|j| j.detail.contains("future") && j.detail.contains("base64")),
        "{f:#?}"
    );
}

#[test]
fn extreme_jwt_claims_do_not_overflow() {
    let c = with_jwt(
        &format!(r#"{{"iat":{},"exp":{}}}"#, i64::MIN, i64::MAX),
        false,
    );
    let f = with_profile(&c, "clearblade");
    assert!(fired(&f).contains(&"jwt_invalid"));
    let c = with_jwt(
        &format!(r#"{{"iat":{},"exp":{}}}"#, i64::MAX, i64::MIN),
        false,
    );
    assert!(fired(&with_profile(&c, "clearblade")).contains(&"jwt_invalid"));
}

#[test]
fn payload_over_the_platform_limit_is_too_large() {
    let mut c = established_plain();
    let mut p = packet("PUBLISH");
    p.qos = Some(0);
    p.payload_len = Some(200_000);
    p.remaining_len = Some(200_010);
    mqtt(&mut c, 8, 5, Side::Orig, p);
    assert!(fired(&with_profile(&c, "aws-iot")).contains(&"packet_too_large"));
    assert!(!fired(&with_profile(&c, "aliyun")).contains(&"packet_too_large"));
    assert!(with_profile(&c, "generic").is_empty());
}
