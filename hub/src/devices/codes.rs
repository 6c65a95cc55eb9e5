//! One-time enrolment codes: 12 characters of an alphabet without look-alikes, shown as
//! `XXXX-XXXX-XXXX`, stored only as a SHA-256 (the alphabet and the reading of a typed code are
//! the protocol's, shared with the kiosk's setup screen).

use protocol::device::{ENROL_CODE_ALPHABET as ALPHABET, ENROL_CODE_LEN};
use rand::Rng;
use sha2::{Digest, Sha256};

pub use protocol::device::normalise_enrol_code as normalise;

/// How long a code may be used.
pub const VALID_HOURS: i64 = 24;

/// A fresh code in its display form, `XXXX-XXXX-XXXX`.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    let raw: String = (0..ENROL_CODE_LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    display(&raw)
}

/// Groups of four joined by dashes.
fn display(raw: &str) -> String {
    raw.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// What the store keeps of a code: SHA-256 of its canonical form, hex.
pub fn hash(canonical: &str) -> String {
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_read_back_leniently() {
        let code = new_code();
        assert_eq!(code.len(), 14);
        assert_eq!(code.matches('-').count(), 2);
        let canonical = normalise(&code).unwrap();
        assert_eq!(
            normalise(&code.to_lowercase().replace('-', " ")),
            Some(canonical.clone())
        );
        assert_eq!(hash(&canonical).len(), 64);
        assert_ne!(new_code(), code);
        assert_eq!(normalise("K7QM-2XPA-9RT"), None, "too short");
        assert_eq!(
            normalise("K7QM-2XPA-9RT0"),
            None,
            "0 is not in the alphabet"
        );
    }
}
