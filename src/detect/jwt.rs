//! Reads the claims of a JWT password (RFC 7519) without verifying or printing it: only the
//! facts rules need (algorithm, `exp`, `iat`, whether `aud` is present, the base64 alphabet).
//! RFC 7515 §2 requires base64url without padding; standard base64 (`+`, `/`, `=`) is a common
//! device mistake that platforms reject.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JwtFacts {
    pub alg: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub aud_present: bool,
    /// A part uses `+`, `/` or `=` (standard base64) instead of base64url.
    pub standard_base64: bool,
}

fn decode_part(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .or_else(|| STANDARD.decode(part).ok())
        .or_else(|| STANDARD_NO_PAD.decode(part).ok())
}

fn number(v: Option<&serde_json::Value>) -> Option<i64> {
    let v = v?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// `None` when the password is not a JWT (three dot-separated parts whose header is a JSON
/// object with `alg`).
pub(crate) fn inspect(password: &[u8]) -> Option<JwtFacts> {
    let text = std::str::from_utf8(password).ok()?.trim();
    let parts: Vec<&str> = text.split('.').collect();
    let [header, payload, _signature] = parts.as_slice() else {
        return None;
    };
    let header: serde_json::Value = serde_json::from_slice(&decode_part(header)?).ok()?;
    let alg = header.get("alg")?.as_str().map(String::from);
    let claims: serde_json::Value = serde_json::from_slice(&decode_part(payload)?).ok()?;
    let claims = claims.as_object()?;
    let standard_base64 = parts
        .iter()
        .any(|p| p.contains('+') || p.contains('/') || p.contains('='));
    Some(JwtFacts {
        alg,
        exp: number(claims.get("exp")),
        iat: number(claims.get("iat")),
        aud_present: claims.contains_key("aud"),
        standard_base64,
    })
}

#[cfg(test)]
pub(crate) fn make(header: &str, claims: &str, standard: bool) -> Vec<u8> {
    let enc = |s: &str| {
        if standard {
            STANDARD.encode(s)
        } else {
            URL_SAFE_NO_PAD.encode(s)
        }
    };
    format!("{}.{}.c2ln", enc(header), enc(claims)).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_claims_of_a_url_safe_jwt() {
        let jwt = make(
            r#"{"alg":"RS256","typ":"JWT"}"#,
            r#"{"iat":10,"exp":20,"aud":"p"}"#,
            false,
        );
        let f = inspect(&jwt);
        assert_eq!(
            f,
            Some(JwtFacts {
                alg: Some("RS256".into()),
                exp: Some(20),
                iat: Some(10),
                aud_present: true,
                standard_base64: false
            })
        );
    }

    #[test]
    fn notices_standard_base64() {
        // A header that encodes with padding in standard base64.
        let jwt = make(r#"{"alg":"ES256"}"#, r#"{"iat":12}"#, true);
        assert_eq!(inspect(&jwt).map(|f| f.standard_base64), Some(true));
    }

    #[test]
    fn plain_passwords_and_garbage_are_not_jwts() {
        assert_eq!(inspect(b"hunter2"), None);
        assert_eq!(inspect(b"a.b.c"), None);
        assert_eq!(inspect(&[0xff, b'.', b'.', 0xfe]), None);
        for n in 0..40 {
            let jwt = make(r#"{"alg":"HS256"}"#, r#"{"exp":5}"#, false);
            let _ = inspect(&jwt[..n.min(jwt.len())]);
        }
    }
}
