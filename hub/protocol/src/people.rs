//! Who a kiosk ride is for: the resident number printed on tickets, a new resident's details in a
//! ride entry, and the caregiver session that lists the residents a caregiver books for.
//!
//! A known resident types their resident number on a digit keypad: six digits and a check digit
//! (Damm's algorithm, which catches every single wrong digit and every swap of two neighbours),
//! printed as `482-913-7`. The hub assigns each resident one number, unique in the region; the
//! kiosk checks the check digit before it stores an entry, and the hub resolves the number when
//! the entry arrives (an unknown number is refused in the answer), so it works offline too.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `POST` [`CaregiverSessionRequest`] → [`CaregiverSession`], mutual TLS, online only.
pub const CAREGIVER_SESSIONS_PATH: &str = "/api/v1/device/caregiver-sessions";

/// Digits of a kiosk PIN a caregiver sets on the web or at the hub.
pub const PIN_LEN: usize = 6;

/// Digits of a resident number before its check digit.
const BODY_LEN: usize = 6;

/// Damm's quasigroup of order 10 (weakly totally anti-symmetric).
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

fn damm(digits: &[u8]) -> u8 {
    digits
        .iter()
        .fold(0u8, |interim, d| DAMM[interim as usize][*d as usize])
}

/// A resident number such as `482-913-7`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResidentNumber([u8; BODY_LEN + 1]);

/// Why a string is not a resident number.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResidentNumberError {
    #[error("a resident number has {BODY_LEN} digits and a check digit")]
    Length,
    #[error("'{0}' is not a digit")]
    Character(char),
    #[error("the check digit does not match: a digit was mistyped")]
    Check,
}

impl ResidentNumber {
    /// The number with body `n` (taken modulo 10^6, leading zeros kept) and its check digit.
    pub fn from_body(n: u32) -> ResidentNumber {
        let mut digits = [0u8; BODY_LEN + 1];
        let mut rest = n % 1_000_000;
        for slot in digits[..BODY_LEN].iter_mut().rev() {
            *slot = (rest % 10) as u8;
            rest /= 10;
        }
        digits[BODY_LEN] = damm(&digits[..BODY_LEN]);
        ResidentNumber(digits)
    }

    /// The seven digits without separators, as stored.
    pub fn compact(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

impl FromStr for ResidentNumber {
    type Err = ResidentNumberError;

    /// Accepts the digits with or without dashes and spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut digits = Vec::with_capacity(BODY_LEN + 1);
        for c in s.chars().filter(|c| *c != '-' && !c.is_whitespace()) {
            let d = c.to_digit(10).ok_or(ResidentNumberError::Character(c))?;
            digits.push(d as u8);
            if digits.len() > BODY_LEN + 1 {
                return Err(ResidentNumberError::Length);
            }
        }
        let digits: [u8; BODY_LEN + 1] =
            digits.try_into().map_err(|_| ResidentNumberError::Length)?;
        // With the check digit appended, Damm's interim digit ends at 0.
        if damm(&digits) != 0 {
            return Err(ResidentNumberError::Check);
        }
        Ok(ResidentNumber(digits))
    }
}

impl fmt::Display for ResidentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.compact();
        write!(f, "{}-{}-{}", &s[..3], &s[3..6], &s[6..])
    }
}

impl Serialize for ResidentNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResidentNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A resident new to the service, as the kiosk sends them inside a ride entry (`new_resident`).
/// The village is the kiosk's; the hub places the home at the village centre and records the
/// consent the kiosk showed (see [`CONSENT_PURPOSE`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewResident {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// One of the street names of the kiosk's village (`streets` of the village record).
    pub street: String,
    /// `12`, `12a`, `3-5`: up to 8 characters.
    pub house_number: String,
    /// The kiosk's language when the resident booked; tickets and calls use it.
    pub language: String,
    /// The resident tapped to agree to the consent text; `false` is refused.
    pub consent: bool,
}

/// What the consent on the kiosk is for, as the hub records it.
pub const CONSENT_PURPOSE: &str = "Fahrten buchen, abholen und bei Fragen anrufen";

/// A caregiver's login at a kiosk: phone number and kiosk PIN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaregiverSessionRequest {
    pub phone: String,
    pub pin: String,
}

/// The answer to a right PIN: the caregiver and the residents they may book for (first names
/// and villages only: the kiosk shows them to choose from, and keeps nothing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaregiverSession {
    pub caregiver_id: String,
    pub residents: Vec<CaredFor>,
}

/// A resident a caregiver books for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaredFor {
    pub resident_id: String,
    pub first_name: String,
    pub village: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_catch_typos_and_swaps() {
        for n in [0, 1, 482_913, 999_999, 123_456] {
            let number = ResidentNumber::from_body(n);
            let text = number.to_string();
            assert_eq!(text.len(), 9, "{text}");
            assert_eq!(text.parse::<ResidentNumber>(), Ok(number));
            assert_eq!(number.compact().parse::<ResidentNumber>(), Ok(number));
            let digits: Vec<char> = number.compact().chars().collect();
            for i in 0..digits.len() {
                for d in '0'..='9' {
                    if d == digits[i] {
                        continue;
                    }
                    let mut typo = digits.clone();
                    typo[i] = d;
                    let typo: String = typo.into_iter().collect();
                    assert_eq!(
                        typo.parse::<ResidentNumber>(),
                        Err(ResidentNumberError::Check)
                    );
                }
                if i + 1 < digits.len() && digits[i] != digits[i + 1] {
                    let mut swap = digits.clone();
                    swap.swap(i, i + 1);
                    let swap: String = swap.into_iter().collect();
                    assert!(swap.parse::<ResidentNumber>().is_err(), "{swap}");
                }
            }
        }
    }

    #[test]
    fn wrong_shapes_are_refused() {
        assert_eq!(
            "12345".parse::<ResidentNumber>(),
            Err(ResidentNumberError::Length)
        );
        assert_eq!(
            "12345678".parse::<ResidentNumber>(),
            Err(ResidentNumberError::Length)
        );
        assert_eq!(
            "12a4567".parse::<ResidentNumber>(),
            Err(ResidentNumberError::Character('a'))
        );
        assert!(serde_json::from_str::<ResidentNumber>("\"000-000-1\"").is_err());
        assert_eq!(
            serde_json::to_string(&ResidentNumber::from_body(0)).unwrap(),
            "\"000-000-0\""
        );
    }
}
