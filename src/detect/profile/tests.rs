//! Profile checks: limits come from rules/profiles, JWTs are decoded but never shown.

use crate::common::Side;
use crate::detect::test_support::*;
use crate::detect::{Finding, RuleBook};

fn with_profile(c: &crate::conn::Connection, name: &str) -> Vec<Finding> {
    let book = RuleBook::builtin().with_profile(name);
    let Ok(book) = book else { panic!("{book:?}") };
    findings_under(c, 10, &book)
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
fn qos_unsupported_names_the_platform_and_allows_its_maximum() {
    // AWS IoT Core (rules/profiles/aws-iot.toml): max_qos = 1. QoS 1 is allowed; QoS 2 is
    // refused, and the finding names the platform by its profile title.
    let with_qos = |qos: u8| {
        let mut c = established_plain();
        let mut p = packet("PUBLISH");
        p.qos = Some(qos);
        mqtt(&mut c, 8, 5, Side::Orig, p);
        with_profile(&c, "aws-iot")
    };
    assert!(!fired(&with_qos(1)).contains(&"qos_unsupported"));
    let f = with_qos(2);
    let hit = f.iter().find(|f| f.rule == "qos_unsupported");
    assert!(
        hit.is_some_and(|h| h.title == "AWS IoT Core does not support QoS 2"),
        "{f:#?}"
    );
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

fn with_keep_alive(keep_alive: u16) -> crate::conn::Connection {
    let mut c = established_plain();
    if let Some(x) = c.mqtt.as_mut().and_then(|m| m.connect.as_mut()) {
        x.keep_alive = keep_alive;
    }
    c
}

fn keepalive_finding(keep_alive: u16, profile: &str) -> Option<Finding> {
    with_profile(&with_keep_alive(keep_alive), profile)
        .into_iter()
        .find(|f| f.rule == "keepalive_out_of_range")
}

/// AWS IoT Core quotas (message broker): a keep-alive under 30 s is used as 30 s. Not a
/// refusal, so info, saying what the broker will use and when it closes (1.5 x 30 s).
#[test]
fn aws_iot_raises_a_short_keep_alive_to_30_s_at_info() {
    let f = keepalive_finding(10, "aws-iot");
    let Some(f) = f else {
        panic!("no keepalive_out_of_range")
    };
    assert_eq!(f.severity.name(), "info", "{f:#?}");
    assert!(f.title.contains("will use a keep-alive of 30 s"), "{f:#?}");
    assert!(
        f.detail.contains("not a refusal") && f.detail.contains("45.0 s"),
        "{f:#?}"
    );
    // Nothing else: the connection is healthy.
    let all = with_profile(&with_keep_alive(10), "aws-iot");
    assert!(all.iter().all(|f| f.severity.name() == "info"), "{all:#?}");
}

/// Above 1200 s AWS IoT Core uses 1200 s (the supported value closest to the request): a client
/// pinging every hour is dropped after 1800 s of silence, so this one is a warning.
#[test]
fn aws_iot_lowers_a_long_keep_alive_to_1200_s_as_a_warning() {
    let f = keepalive_finding(3600, "aws-iot");
    let Some(f) = f else {
        panic!("no keepalive_out_of_range")
    };
    assert_eq!(f.severity.name(), "warning", "{f:#?}");
    assert!(
        f.title.contains("1200 s") && f.detail.contains("1800.0 s"),
        "{f:#?}"
    );
}

#[test]
fn aws_iot_keep_alive_bounds_are_inside_the_range() {
    for ka in [30, 60, 1200] {
        assert!(keepalive_finding(ka, "aws-iot").is_none(), "{ka}");
    }
    // 0 turns keep-alive off (MQTT 3.1.1 §3.1.2.10); the profile does not judge it.
    assert!(keepalive_finding(0, "aws-iot").is_none());
}

/// Alibaba Cloud IoT Platform refuses a keep-alive outside 30-1200 s: the base text (warning),
/// never the "will use" variants of a clamping platform. 600 s (outside the Link SDK's own
/// 60-300 s parameter range) is accepted by the platform.
#[test]
fn aliyun_refuses_a_keep_alive_outside_30_to_1200_s() {
    for ka in [10, 1300] {
        let f = keepalive_finding(ka, "aliyun");
        let Some(f) = f else {
            panic!("no keepalive_out_of_range for {ka}")
        };
        assert_eq!(f.severity.name(), "warning", "{f:#?}");
        assert!(
            f.title.contains("outside") && f.title.contains("30-1200 s"),
            "{f:#?}"
        );
        assert!(!f.title.contains("will use"), "{f:#?}");
    }
    for ka in [30, 60, 600, 1200] {
        assert!(keepalive_finding(ka, "aliyun").is_none(), "{ka}");
    }
}

/// The window a keep-alive lapse is measured against: MQTT's 1.5x by default, from the clamped
/// keep-alive on AWS IoT Core, and with Alibaba's 30-s check timer on top.
#[test]
fn keepalive_window_follows_the_profile() {
    use crate::detect::profile::{MQTT_KEEPALIVE_FACTOR, keepalive_window};
    let limits = |name: &str| {
        let book = RuleBook::builtin().with_profile(name);
        let Ok(book) = book else { panic!("{book:?}") };
        book.profile().limits.clone()
    };
    let generic = keepalive_window(&limits("generic"), 10, MQTT_KEEPALIVE_FACTOR);
    assert_eq!(
        generic.map(|w| (w.used_s, w.earliest_s, w.latest_s)),
        Some((10, 15.0, None))
    );
    let aws = keepalive_window(&limits("aws-iot"), 10, MQTT_KEEPALIVE_FACTOR);
    assert_eq!(aws.map(|w| (w.used_s, w.earliest_s)), Some((30, 45.0)));
    let aws = keepalive_window(&limits("aws-iot"), 3600, MQTT_KEEPALIVE_FACTOR);
    assert_eq!(aws.map(|w| w.used_s), Some(1200));
    // Alibaba refuses rather than clamps: the keep-alive stays as asked.
    let ali = keepalive_window(&limits("aliyun"), 60, MQTT_KEEPALIVE_FACTOR);
    assert_eq!(
        ali.map(|w| (w.used_s, w.earliest_s, w.latest_s)),
        Some((60, 90.0, Some(120.0)))
    );
    assert_eq!(ali.map(|w| w.text()).as_deref(), Some("90.0 s to 120.0 s"));
    assert!(keepalive_window(&limits("aws-iot"), 0, MQTT_KEEPALIVE_FACTOR).is_none());
}

/// Alibaba Cloud IoT Platform (MQTT protocol page): QoS 0 and 1, no QoS 2; 256 KB packets.
#[test]
fn aliyun_qos_and_packet_size() {
    let mut c = established_plain();
    let mut p = packet("PUBLISH");
    p.qos = Some(1);
    p.remaining_len = Some(262_144);
    mqtt(&mut c, 8, 5, Side::Orig, p);
    assert!(with_profile(&c, "aliyun").is_empty());
    let mut p = packet("PUBLISH");
    p.qos = Some(2);
    p.remaining_len = Some(262_145);
    mqtt(&mut c, 9, 6, Side::Orig, p);
    let f = fired(&with_profile(&c, "aliyun"));
    assert!(
        f.contains(&"qos_unsupported") && f.contains(&"packet_too_large"),
        "{f:?}"
    );
}

/// AWS IoT Core quotas: client id up to 128 bytes.
#[test]
fn aws_iot_client_id_limit_is_128_bytes() {
    let mut c = established_plain();
    let set = |c: &mut crate::conn::Connection, n: usize| {
        if let Some(x) = c.mqtt.as_mut().and_then(|m| m.connect.as_mut()) {
            x.client_id = Some(vec![b'a'; n]);
        }
    };
    set(&mut c, 128);
    assert!(!fired(&with_profile(&c, "aws-iot")).contains(&"client_id_invalid"));
    set(&mut c, 129);
    assert!(fired(&with_profile(&c, "aws-iot")).contains(&"client_id_invalid"));
}

/// Limits set before sources were checked limit by limit, still without a public page that
/// names them. Remove an entry when its profile cites one; add none.
const KNOWN_UNCITED: &[(&str, &str)] = &[
    ("azure-event-grid", "sni_required"),
    ("clearblade", "min_tls_version"),
    ("clearblade", "client_id_required"),
];

/// Every limit a built-in profile sets is named by one of its sources, and no source rests on
/// an issue brief instead of public documentation.
#[test]
fn every_profile_limit_is_named_by_a_source() {
    for p in RuleBook::builtin().profiles() {
        if p.name == "generic" {
            continue;
        }
        let path = format!(
            "{}/rules/profiles/{}.toml",
            env!("CARGO_MANIFEST_DIR"),
            p.name
        );
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let value: toml::Value = toml::from_str(&text).unwrap_or(toml::Value::Boolean(false));
        let keys: Vec<String> = value
            .get("limits")
            .and_then(|l| l.as_table())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        assert!(!keys.is_empty(), "{path}");
        for key in keys {
            let cited = p
                .sources
                .iter()
                .any(|s| s.limit.split([',', ' ']).any(|name| name == key));
            let known = KNOWN_UNCITED.contains(&(p.name.as_str(), key.as_str()));
            assert!(
                cited != known,
                "{}: {key} cited {cited}, listed {known}",
                p.name
            );
        }
        for s in &p.sources {
            let note = s.note.as_deref().unwrap_or("").to_lowercase();
            assert!(!note.contains("issue brief"), "{}: {}", p.name, s.url);
        }
    }
}

#[test]
fn clearblade_idle_timeout_only_for_a_keep_alive_above_twenty_minutes() {
    // keepalive_out_of_range idle_timeout: ClearBlade drops a client idle for 1200 s whatever
    // its keep-alive; 600 s (above keep_alive_min_s = 60) pings in time, 1300 s does not.
    assert!(keepalive_finding(600, "clearblade").is_none());
    assert!(keepalive_finding(1_200, "clearblade").is_none());
    let idle = keepalive_finding(1_201, "clearblade");
    assert!(
        idle.as_ref().is_some_and(|f| f.detail.contains("1200")),
        "{idle:#?}"
    );
}

#[test]
fn a_jwt_without_iat_is_a_problem_only_where_the_platform_requires_a_jwt() {
    // jwt_invalid: "lacks an exp or iat claim" needs jwt_password (ClearBlade); elsewhere a
    // JWT without iat is the platform's business (RFC 7519 §4.1.6: iat is optional).
    let now = T0_NS / 1_000_000_000;
    let c = with_jwt(&format!(r#"{{"exp":{},"aud":"p"}}"#, now + 3600), false);
    assert!(!fired(&with_profile(&c, "generic")).contains(&"jwt_invalid"));
    let f = with_profile(&c, "clearblade");
    assert!(
        f.iter()
            .any(|f| f.rule == "jwt_invalid" && f.detail.contains("lacks an exp or iat")),
        "{f:#?}"
    );
}

#[test]
fn a_will_at_the_platforms_maximum_qos_is_supported() {
    // qos_unsupported (will): AWS IoT Core's max_qos = 1 is allowed for the will message too;
    // only a will above it (QoS 2) is a finding.
    let with_will_qos = |qos: u8| {
        let mut c = established_plain();
        if let Some(x) = c.mqtt.as_mut().and_then(|m| m.connect.as_mut()) {
            x.will = Some(crate::proto::mqtt::message::WillInfo {
                topic: b"devices/d1/lwt".to_vec(),
                qos,
                retain: false,
                payload_len: 7,
            });
        }
        with_profile(&c, "aws-iot")
    };
    let f = with_will_qos(1);
    assert!(!fired(&f).contains(&"qos_unsupported"), "{f:#?}");
    let f = with_will_qos(2);
    assert!(
        f.iter().any(|f| f.rule == "qos_unsupported"
            && f.detail.contains("QoS 2 for the will message")),
        "{f:#?}"
    );
}

#[test]
fn a_keepalive_window_without_grace_is_one_instant_not_a_range() {
    // KeepAliveWindow::text: "from .. to .." only when the platform's check timer makes the
    // latest close later than the earliest; a grace of 0 s leaves the single limit.
    use crate::detect::profile::KeepAliveWindow;
    let window = |latest_s| KeepAliveWindow {
        used_s: 60,
        earliest_s: 90.0,
        latest_s,
    };
    assert_eq!(window(Some(90.0)).text(), "90.0 s");
    assert_eq!(window(None).text(), "90.0 s");
    assert_eq!(window(Some(120.0)).text(), "90.0 s to 120.0 s");
}

#[test]
fn a_jwt_living_exactly_the_platforms_maximum_is_valid() {
    // jwt_invalid lifetime: ClearBlade allows exp - iat <= 24 h (rules/profiles/clearblade.toml,
    // jwt_max_lifetime_s = 86400, "over" the limit is the problem): a token of exactly 86400 s
    // is fine, one second more is not.
    let now = T0_NS / 1_000_000_000;
    let lifetime = |seconds: i64| {
        let claims = format!(r#"{{"iat":{now},"exp":{},"aud":"p"}}"#, now + seconds);
        with_profile(&with_jwt(&claims, false), "clearblade")
    };
    let f = lifetime(86_400);
    assert!(!fired(&f).contains(&"jwt_invalid"), "{f:#?}");
    let f = lifetime(86_401);
    assert!(
        f.iter().any(|f| f.rule == "jwt_invalid"
            && f.detail
                .contains("its lifetime exp - iat is 86401 s, over the platform's 86400 s")),
        "{f:#?}"
    );
}
