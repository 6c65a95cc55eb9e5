//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1, 6 digits, 30-second steps,
//! as every authenticator app reads them from an `otpauth://` address. Secrets are shown in
//! base32 (RFC 4648, no padding).

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP: i64 = 30;
/// Steps before and after now that still count (clock drift of phones).
pub const DRIFT: i64 = 1;

/// A new random secret of 160 bits (RFC 4226's recommendation).
pub fn new_secret() -> Vec<u8> {
    rand::random::<[u8; 20]>().to_vec()
}

/// The time step of a Unix time.
pub fn step_of(unix: i64) -> i64 {
    unix.div_euclid(STEP)
}

/// The 6-digit code of `secret` at time step `step` (RFC 4226 dynamic truncation).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    // Hmac accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 1_000_000
}

/// The code at a Unix time, as the six digits an app shows.
pub fn code(secret: &[u8], unix: i64) -> String {
    format!("{:06}", code_at(secret, step_of(unix)))
}

/// Checks `input` against the steps around `unix`; returns the matching step, which must be
/// later than `last_step` (a code is used once).
pub fn verify(secret: &[u8], input: &str, unix: i64, last_step: Option<i64>) -> Option<i64> {
    let input: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if input.len() != 6 || !input.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(unix);
    (now - DRIFT..=now + DRIFT)
        .filter(|&step| last_step.is_none_or(|last| step > last))
        .find(|&step| format!("{:06}", code_at(secret, step)) == input)
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Reads base32 (any case, spaces and padding ignored).
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = BASE32
            .iter()
            .position(|&b| char::from(b) == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` address an authenticator app scans.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let label = percent(&format!("{issuer}:{account}"));
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        base32(secret),
        percent(issuer)
    )
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column (8 digits there; the last 6 are ours).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code(secret, time), eight[2..], "time {time}");
        }
    }

    #[test]
    fn a_code_counts_once_and_only_near_its_time() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let c = code(&secret, now);
        let step = verify(&secret, &c, now, None).unwrap();
        assert_eq!(step, step_of(now));
        assert_eq!(verify(&secret, &c, now, Some(step)), None, "reused");
        assert!(
            verify(&secret, &c, now + 30, None).is_some(),
            "one step of drift"
        );
        assert_eq!(verify(&secret, &c, now + 95, None), None, "too late");
        assert_eq!(verify(&secret, "12 34", now, None), None, "too short");
        assert_eq!(verify(&secret, "abcdef", now, None), None, "not digits");
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(from_base32("mzxw6ytboi======").unwrap(), b"foobar");
        let secret = new_secret();
        assert_eq!(from_base32(&base32(&secret)).unwrap(), secret);
        assert_eq!(from_base32("not base32!"), None);
    }

    #[test]
    fn otpauth_address_names_issuer_and_account() {
        let uri = otpauth_uri("Dorfpunkt", "anna admin", b"foobar");
        assert_eq!(
            uri,
            "otpauth://totp/Dorfpunkt%3Aanna%20admin?secret=MZXW6YTBOI&issuer=Dorfpunkt&algorithm=SHA1&digits=6&period=30"
        );
    }
}
