//! The speaker with the real `espeak-ng`, writing WAV files: every kiosk language is spoken, stop
//! and a new utterance kill the running process, personal text never reaches the loudspeaker,
//! and pulling the headphones out cuts personal speech short.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use hardware::audio::Route;
use hardware::simulated::SimAudio;
use kiosk::speech::{Output, Part, Speaker, Utterance};
use tempfile::TempDir;

/// Long enough that espeak-ng needs seconds for it, even writing a file.
fn long_text() -> String {
    "Der Bus fährt morgen früh um neun Uhr vom Dorfplatz ab und kommt gegen Mittag zurück. "
        .repeat(150)
}

fn speaker(jack: &SimAudio) -> (TempDir, Speaker) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let speaker = Speaker::new(Output::Wav(dir.path().into()), Box::new(jack.clone()))
        .expect("the speaker starts");
    (dir, speaker)
}

fn utterance(language: &str, parts: Vec<Part>) -> Utterance {
    Utterance {
        language: language.into(),
        parts,
        withheld: "Das hören Sie nur mit Kopfhörern.".into(),
    }
}

fn quiet(speaker: &Speaker) {
    assert!(
        speaker.wait_quiet(Duration::from_secs(60)),
        "the speaker ends"
    );
}

/// The number of bytes of sound in a WAV file espeak-ng wrote (after its 44-byte header).
fn sound_bytes(path: &Path) -> u64 {
    let bytes = std::fs::read(path).expect("the WAV file exists");
    assert_eq!(&bytes[..4], b"RIFF", "{} is a WAV file", path.display());
    (bytes.len() as u64).saturating_sub(44)
}

/// Waits until the speaker has started its first process.
fn started(speaker: &Speaker) {
    let end = Instant::now() + Duration::from_secs(10);
    while speaker.said().is_empty() {
        assert!(Instant::now() < end, "espeak-ng starts");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn every_kiosk_language_is_spoken() {
    let jack = SimAudio::default();
    let (_dir, speaker) = speaker(&jack);
    let texts = [
        ("de", "Fahrt buchen"),
        ("en", "Book a ride"),
        ("uk", "Замовити поїздку"),
        ("ar", "حجز رحلة"),
        ("tr", "Yolculuk ayırt"),
    ];
    for (language, text) in texts {
        speaker
            .say(utterance(language, vec![Part::public(text)]))
            .expect("a kiosk language");
        quiet(&speaker);
    }
    let said = speaker.said();
    assert_eq!(said.len(), 5);
    for (piece, (language, text)) in said.iter().zip(texts) {
        assert_eq!(piece.text, text);
        assert_eq!(piece.route, Route::Loudspeaker);
        let file = piece.file.as_ref().expect("a WAV file");
        // At 22 050 samples of 16 bits a second, a tenth of a second is 4 410 bytes.
        assert!(
            sound_bytes(file) > 4_410,
            "{language}: {} has sound",
            file.display()
        );
    }
}

#[test]
fn an_unknown_language_is_refused() {
    let (_dir, speaker) = speaker(&SimAudio::default());
    let refused = speaker.say(utterance("fr", vec![Part::public("Bonjour")]));
    assert!(refused.is_err());
    assert!(!speaker.is_speaking());
    assert!(!speaker.repeat(), "nothing to repeat");
}

#[test]
fn stop_kills_the_running_espeak() {
    let (_dir, speaker) = speaker(&SimAudio::default());
    speaker
        .say(utterance("de", vec![Part::public(long_text())]))
        .expect("German");
    started(&speaker);
    thread::sleep(Duration::from_millis(200));
    assert!(speaker.is_speaking(), "still speaking after 200 ms");
    let stopped = Instant::now();
    speaker.stop();
    assert!(
        speaker.wait_quiet(Duration::from_secs(2)),
        "quiet at once after stop"
    );
    let file = speaker.said()[0].file.clone().expect("a WAV file");
    let size = std::fs::metadata(&file).expect("the file").len();
    thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::metadata(&file).expect("the file").len(),
        size,
        "nothing is written after the stop ({:?} later)",
        stopped.elapsed()
    );

    // The whole text, uninterrupted, is longer than what was cut.
    speaker
        .say(utterance("de", vec![Part::public(long_text())]))
        .expect("German");
    quiet(&speaker);
    let whole = speaker.said()[1].file.clone().expect("a WAV file");
    assert!(sound_bytes(&whole) > size, "the cut one is shorter");
}

#[test]
fn a_new_utterance_interrupts_and_the_last_is_repeated() {
    let (_dir, speaker) = speaker(&SimAudio::default());
    speaker
        .say(utterance("de", vec![Part::public(long_text())]))
        .expect("German");
    started(&speaker);
    speaker
        .say(utterance("de", vec![Part::public("Wohin?")]))
        .expect("German");
    assert!(
        speaker.wait_quiet(Duration::from_secs(5)),
        "the long text did not run to its end"
    );
    assert!(speaker.repeat());
    quiet(&speaker);
    let texts: Vec<String> = speaker.said().into_iter().map(|s| s.text).collect();
    assert_eq!(texts.len(), 3);
    assert_eq!(texts[1..], ["Wohin?", "Wohin?"]);

    // The idle reset forgets it.
    speaker.forget();
    assert!(speaker.said().is_empty());
    assert!(!speaker.repeat());
}

#[test]
fn personal_text_is_spoken_only_into_headphones() {
    let jack = SimAudio::default();
    let (_dir, speaker) = speaker(&jack);
    let ticket = || {
        utterance(
            "de",
            vec![
                Part::public("Gebucht. Abholung: 09:10 bis 09:30"),
                Part::personal("Buchungscode: K7QX-2M"),
            ],
        )
    };
    speaker.say(ticket()).expect("German");
    quiet(&speaker);
    let loud = speaker.said();
    assert_eq!(loud.len(), 1);
    assert_eq!(loud[0].route, Route::Loudspeaker);
    assert!(!loud[0].text.contains("K7QX"), "{:?}", loud[0].text);
    assert!(loud[0].text.contains("Das hören Sie nur mit Kopfhörern."));
    assert!(loud[0].text.contains("Abholung"));

    jack.plug(true);
    speaker.say(ticket()).expect("German");
    quiet(&speaker);
    let private = &speaker.said()[1];
    assert_eq!(private.route, Route::Headphones);
    assert!(private.text.contains("Buchungscode: K7QX-2M"));
    let file = private.file.as_ref().expect("a WAV file");
    assert!(file.to_string_lossy().ends_with("-headphones.wav"));
    assert!(sound_bytes(file) > 4_410);
}

#[test]
fn pulling_the_headphones_out_cuts_personal_speech() {
    let jack = SimAudio::default();
    jack.plug(true);
    let (_dir, speaker) = speaker(&jack);
    speaker
        .say(utterance("de", vec![Part::personal(long_text())]))
        .expect("German");
    started(&speaker);
    thread::sleep(Duration::from_millis(100));
    assert!(speaker.is_speaking());
    jack.plug(false);
    assert!(
        speaker.wait_quiet(Duration::from_secs(2)),
        "cut at once when unplugged"
    );
    assert_eq!(speaker.said().len(), 1);
}
