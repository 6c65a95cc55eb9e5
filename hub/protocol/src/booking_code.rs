//! Booking codes: the short code a resident reads off a ticket, derived from a booking's UUID.
//!
//! A kiosk makes the booking's UUID itself, so it can print the code while offline. The code is
//! eight characters from an alphabet without look-alikes (no I, L, O, U, 0, 1) plus one check
//! character, printed as `ABCD-EFGH-J`; a mistyped character is caught by the check.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// 30 characters: digits and capitals that cannot be confused when read aloud or handwritten.
const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
const BODY_LEN: usize = 8;

/// A booking code such as `7KQM-2XHD-R`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BookingCode([u8; BODY_LEN + 1]);

/// Why a string is not a booking code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BookingCodeError {
    #[error("a booking code has {BODY_LEN} characters and a check character")]
    Length,
    #[error("'{0}' is not used in booking codes")]
    Character(char),
    #[error("the check character does not match: a character was mistyped")]
    Check,
}

impl BookingCode {
    /// The code of the booking with this id. The same id always gives the same code.
    pub fn from_uuid(id: Uuid) -> Self {
        // The UUID's first 64 bits as a number; v4 and v7 ids differ early enough in their
        // random part that two bookings of one region collide with negligible probability,
        // and the hub still checks uniqueness.
        let bytes = id.as_bytes();
        let mut n = u64::from_be_bytes([
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
        ]);
        let mut body = [0u8; BODY_LEN];
        for slot in body.iter_mut() {
            *slot = (n % ALPHABET.len() as u64) as u8;
            n /= ALPHABET.len() as u64;
        }
        let mut code = [0u8; BODY_LEN + 1];
        for (out, digit) in code.iter_mut().zip(body) {
            *out = ALPHABET[digit as usize];
        }
        code[BODY_LEN] = ALPHABET[check_digit(&body) as usize];
        BookingCode(code)
    }

    /// The code as plain characters without separators, e.g. for a QR code.
    pub fn compact(&self) -> &str {
        std::str::from_utf8(&self.0).expect("booking codes are built from ASCII")
    }
}

/// A weighted sum modulo the alphabet's (non-prime) size would miss some swaps; the position
/// weights 1..=8 are all coprime to 30 except 2..6, so use weights that are: 1, 7, 11, 13, ...
fn check_digit(body: &[u8; BODY_LEN]) -> u8 {
    const WEIGHTS: [u32; BODY_LEN] = [1, 7, 11, 13, 17, 19, 23, 29];
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    (sum % ALPHABET.len() as u32) as u8
}

fn digit_of(c: char) -> Result<u8, BookingCodeError> {
    let upper = c.to_ascii_uppercase();
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == upper)
        .map(|p| p as u8)
        .ok_or(BookingCodeError::Character(c))
}

impl FromStr for BookingCode {
    type Err = BookingCodeError;

    /// Accepts upper or lower case, with or without dashes and spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let chars: Vec<char> = s
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .collect();
        if chars.len() != BODY_LEN + 1 {
            return Err(BookingCodeError::Length);
        }
        let mut body = [0u8; BODY_LEN];
        for (slot, c) in body.iter_mut().zip(&chars) {
            *slot = digit_of(*c)?;
        }
        if digit_of(chars[BODY_LEN])? != check_digit(&body) {
            return Err(BookingCodeError::Check);
        }
        let mut code = [0u8; BODY_LEN + 1];
        for (out, c) in code.iter_mut().zip(&chars) {
            *out = c.to_ascii_uppercase() as u8;
        }
        Ok(BookingCode(code))
    }
}

impl fmt::Display for BookingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.compact();
        write!(f, "{}-{}-{}", &s[..4], &s[4..8], &s[8..])
    }
}

impl Serialize for BookingCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BookingCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C834))
    }

    #[test]
    fn codes_round_trip_through_text() {
        for n in 0..500 {
            let code = BookingCode::from_uuid(id(n));
            let text = code.to_string();
            assert_eq!(text.len(), 11, "{text}");
            assert_eq!(text.parse::<BookingCode>(), Ok(code));
            assert_eq!(
                text.to_lowercase().replace('-', " ").parse::<BookingCode>(),
                Ok(code)
            );
        }
    }

    #[test]
    fn one_mistyped_character_is_caught() {
        let code = BookingCode::from_uuid(id(42)).compact().to_string();
        for pos in 0..code.len() {
            for &alt in ALPHABET.iter() {
                let mut typo: Vec<u8> = code.clone().into_bytes();
                if typo[pos] == alt {
                    continue;
                }
                typo[pos] = alt;
                let typo = String::from_utf8(typo).unwrap();
                assert!(typo.parse::<BookingCode>().is_err(), "{typo} accepted");
            }
        }
    }

    #[test]
    fn look_alike_characters_are_refused() {
        assert_eq!(
            "IOLU0001A".parse::<BookingCode>(),
            Err(BookingCodeError::Character('I'))
        );
        assert_eq!("ABC".parse::<BookingCode>(), Err(BookingCodeError::Length));
    }

    #[test]
    fn serde_uses_the_printed_form() {
        let code = BookingCode::from_uuid(id(7));
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{code}\""));
        assert_eq!(serde_json::from_str::<BookingCode>(&json).unwrap(), code);
        // The same code with another check character is refused.
        let text = code.to_string();
        let last = text.chars().last().unwrap();
        let other = if last == '2' { '3' } else { '2' };
        let wrong = format!("\"{}{other}\"", &text[..text.len() - 1]);
        assert!(
            serde_json::from_str::<BookingCode>(&wrong).is_err(),
            "{wrong}"
        );
    }
}
