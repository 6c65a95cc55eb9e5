//! Where speech goes: personal data only into headphones, and back to a set volume after use.

/// The volume speech starts at and returns to when the kiosk resets after idle.
pub const DEFAULT_VOLUME: u8 = 60;

/// What is about to be spoken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speech {
    /// Screen texts anyone standing nearby may hear (menus, opening hours).
    Public,
    /// Names, addresses, phone numbers, booking codes, appointment topics.
    Personal,
}

/// Where it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Loudspeaker,
    Headphones,
    /// Not spoken: the kiosk says (publicly) that headphones are needed to hear it.
    Withhold,
}

/// Decides one utterance's route. The kiosk asks again for every utterance, so unplugging the
/// headphones stops personal data at the next one (and it should cut the current one short).
pub fn route(speech: Speech, headphones_plugged: bool) -> Route {
    match (speech, headphones_plugged) {
        (_, true) => Route::Headphones,
        (Speech::Public, false) => Route::Loudspeaker,
        (Speech::Personal, false) => Route::Withhold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_spoken_only_into_headphones() {
        assert_eq!(route(Speech::Personal, true), Route::Headphones);
        assert_eq!(route(Speech::Personal, false), Route::Withhold);
    }

    #[test]
    fn public_text_follows_the_headphones_when_plugged() {
        assert_eq!(route(Speech::Public, true), Route::Headphones);
        assert_eq!(route(Speech::Public, false), Route::Loudspeaker);
    }
}
