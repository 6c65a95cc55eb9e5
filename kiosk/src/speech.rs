//! Speech output: texts spoken by `espeak-ng` (from Debian) in the resident's language, on a
//! thread of its own, routed by [`hardware::audio::route`]: personal parts only into headphones,
//! replaced by a neutral phrase on the loudspeaker.
//!
//! The UI thread only hands an [`Utterance`] over ([`Speaker::say`]) or kills the running process
//! ([`Speaker::stop`]); starting, waiting for and reaping `espeak-ng` happens on the speaker's
//! worker thread. A new utterance interrupts the one before. Played through ALSA
//! (`espeak-ng --stdout | aplay -D <device>`, one device per route) or written as WAV files
//! (tests, a PC without sound).

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use hardware::AudioOut;
use hardware::audio::{Route, Speech, route};

/// Words per minute: slower than espeak-ng's 175, for residents who hear badly.
const RATE: u32 = 150;

/// How many spoken pieces [`Speaker::said`] keeps (it holds personal text, so few, and
/// [`Speaker::forget`] empties it).
const KEEP_SAID: usize = 32;

/// How often the worker looks whether the running process has ended.
const POLL: Duration = Duration::from_millis(10);

/// The espeak-ng voice of a kiosk language (`espeak-ng --voices`).
pub fn voice(language: &str) -> Option<&'static str> {
    match language {
        "de" => Some("de"),
        "en" => Some("en-gb"),
        "uk" => Some("uk"),
        "ar" => Some("ar"),
        "tr" => Some("tr"),
        _ => None,
    }
}

/// Where the sound goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Played with `aplay -D <device>`: the loudspeaker's and the headphone jack's ALSA devices.
    Alsa {
        loudspeaker: String,
        headphones: String,
    },
    /// Written as `<n>-loudspeaker.wav` or `<n>-headphones.wav` into this directory.
    Wav(PathBuf),
}

/// One piece of an utterance: public screen text, or personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub text: String,
    pub speech: Speech,
}

impl Part {
    pub fn public(text: impl Into<String>) -> Part {
        Part {
            text: text.into(),
            speech: Speech::Public,
        }
    }

    pub fn personal(text: impl Into<String>) -> Part {
        Part {
            text: text.into(),
            speech: Speech::Personal,
        }
    }
}

/// What to say, in which language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Utterance {
    /// A kiosk language code (de, en, uk, ar, tr).
    pub language: String,
    pub parts: Vec<Part>,
    /// Said on the loudspeaker instead of a personal part ("Bitte Kopfhörer einstecken …").
    pub withheld: String,
}

/// One process the speaker ran: where it went and what it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Said {
    pub route: Route,
    pub text: String,
    /// The WAV file, with [`Output::Wav`].
    pub file: Option<PathBuf>,
}

/// The speaker could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error("the kiosk has no voice for language {0:?}")]
    UnknownLanguage(String),
    #[error("starting the speech thread: {0}")]
    Thread(std::io::Error),
}

/// A job for the worker: an utterance, valid while the generation has not moved on.
struct Job {
    generation: u64,
    utterance: Utterance,
}

/// The processes speaking one piece (espeak-ng, and aplay behind it).
struct Running {
    children: Vec<Child>,
    route: Route,
}

impl Running {
    fn kill(&mut self) {
        for child in &mut self.children {
            // An already ended process cannot be killed; that is fine.
            let _ = child.kill();
        }
    }

    /// Whether every process has ended (and is reaped).
    fn ended(&mut self) -> bool {
        self.children
            .iter_mut()
            .all(|c| !matches!(c.try_wait(), Ok(None)))
    }
}

struct Inner {
    program: PathBuf,
    output: Output,
    audio: Mutex<Box<dyn AudioOut>>,
    /// Bumped by every `say` and `stop`: jobs and pieces of older generations are dropped.
    generation: AtomicU64,
    /// Jobs handed to the worker and not finished.
    pending: AtomicUsize,
    running: Mutex<Option<Running>>,
    last: Mutex<Option<Utterance>>,
    said: Mutex<VecDeque<Said>>,
    files: AtomicU64,
}

/// Speaks utterances with espeak-ng on its own thread. Cheap to clone; clones share the speaker.
#[derive(Clone)]
pub struct Speaker {
    inner: Arc<Inner>,
    jobs: mpsc::Sender<Job>,
}

impl Speaker {
    /// A speaker running `espeak-ng` from `PATH` into `output`; `audio` tells whether headphones
    /// are plugged in (asked for every utterance) and pulling them out cuts personal speech short.
    pub fn new(output: Output, audio: Box<dyn AudioOut>) -> Result<Speaker, SpeechError> {
        Speaker::with_program("espeak-ng", output, audio)
    }

    /// As [`Speaker::new`] with another espeak-ng binary.
    pub fn with_program(
        program: impl Into<PathBuf>,
        output: Output,
        mut audio: Box<dyn AudioOut>,
    ) -> Result<Speaker, SpeechError> {
        let (jobs, queue) = mpsc::channel();
        let inner = Arc::new_cyclic(|weak: &std::sync::Weak<Inner>| {
            let weak = weak.clone();
            audio.listen(Box::new(move |plugged| {
                if let (false, Some(inner)) = (plugged, weak.upgrade()) {
                    inner.cut_headphones();
                }
            }));
            Inner {
                program: program.into(),
                output,
                audio: Mutex::new(audio),
                generation: AtomicU64::new(0),
                pending: AtomicUsize::new(0),
                running: Mutex::new(None),
                last: Mutex::new(None),
                said: Mutex::new(VecDeque::new()),
                files: AtomicU64::new(0),
            }
        });
        let worker = Arc::clone(&inner);
        thread::Builder::new()
            .name("speech".into())
            .spawn(move || work(&worker, &queue))
            .map_err(SpeechError::Thread)?;
        Ok(Speaker { inner, jobs })
    }

    /// Says `utterance`, interrupting whatever is being said. Returns at once.
    pub fn say(&self, utterance: Utterance) -> Result<(), SpeechError> {
        if voice(&utterance.language).is_none() {
            return Err(SpeechError::UnknownLanguage(utterance.language));
        }
        *lock(&self.inner.last) = Some(utterance.clone());
        let generation = self.inner.interrupt();
        self.inner.pending.fetch_add(1, Ordering::SeqCst);
        if self
            .jobs
            .send(Job {
                generation,
                utterance,
            })
            .is_err()
        {
            // The worker only ends when every sender is gone, so this does not happen.
            self.inner.pending.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Says the last utterance again (from its start); false if there is none.
    pub fn repeat(&self) -> bool {
        let last = lock(&self.inner.last).clone();
        match last {
            Some(utterance) => self.say(utterance).is_ok(),
            None => false,
        }
    }

    /// Stops speaking now: the running process is killed, queued speech dropped. Returns at once.
    pub fn stop(&self) {
        self.inner.interrupt();
    }

    /// Whether something is being said or waits to be said.
    pub fn is_speaking(&self) -> bool {
        self.inner.pending.load(Ordering::SeqCst) > 0
    }

    /// Blocks until nothing is said any more, at most `timeout`; true if quiet. For tests and
    /// shutdown, never on the UI thread.
    pub fn wait_quiet(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while self.is_speaking() {
            if Instant::now() >= end {
                return false;
            }
            thread::sleep(POLL);
        }
        true
    }

    /// The pieces spoken lately, oldest first.
    pub fn said(&self) -> Vec<Said> {
        lock(&self.inner.said).iter().cloned().collect()
    }

    /// Stops and forgets what was said (the idle reset: nothing of a resident stays).
    pub fn forget(&self) {
        self.stop();
        *lock(&self.inner.last) = None;
        lock(&self.inner.said).clear();
        if let Err(e) = lock(&self.inner.audio).reset_volume() {
            tracing::warn!("resetting the volume: {e}");
        }
    }
}

impl Inner {
    /// Moves to a new generation and kills the running process; the worker reaps it.
    fn interrupt(&self) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(running) = lock(&self.running).as_mut() {
            running.kill();
        }
        generation
    }

    /// Headphones pulled out: what they were saying stops at once.
    fn cut_headphones(&self) {
        let into_headphones = lock(&self.running)
            .as_ref()
            .is_some_and(|r| r.route == Route::Headphones);
        if into_headphones {
            self.interrupt();
        }
    }

    fn current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::SeqCst) == generation
    }

    fn remember(&self, said: Said) {
        let mut list = lock(&self.said);
        if list.len() == KEEP_SAID {
            list.pop_front();
        }
        list.push_back(said);
    }

    /// Starts the processes of one piece.
    fn spawn(&self, voice: &str, route: Route, text: &str) -> std::io::Result<Running> {
        let mut speak = Command::new(&self.program);
        speak
            .args(["-b", "1", "-v", voice, "-s", &RATE.to_string()])
            .stdin(Stdio::piped())
            .stderr(Stdio::null());
        let mut file = None;
        let mut children = Vec::new();
        match &self.output {
            Output::Wav(dir) => {
                let n = self.files.fetch_add(1, Ordering::SeqCst);
                let name = match route {
                    Route::Headphones => "headphones",
                    Route::Loudspeaker | Route::Withhold => "loudspeaker",
                };
                let path = dir.join(format!("{n:04}-{name}.wav"));
                speak.arg("-w").arg(&path).stdout(Stdio::null());
                file = Some(path);
                children.push(speak.spawn()?);
            }
            Output::Alsa {
                loudspeaker,
                headphones,
            } => {
                let device = match route {
                    Route::Headphones => headphones,
                    Route::Loudspeaker | Route::Withhold => loudspeaker,
                };
                let mut espeak = speak.arg("--stdout").stdout(Stdio::piped()).spawn()?;
                let wav = espeak
                    .stdout
                    .take()
                    .map(Stdio::from)
                    .unwrap_or(Stdio::null());
                children.push(espeak);
                match Command::new("aplay")
                    .args(["-q", "-D", device])
                    .stdin(wav)
                    .stderr(Stdio::null())
                    .spawn()
                {
                    Ok(play) => children.push(play),
                    Err(e) => {
                        let mut running = Running { children, route };
                        running.kill();
                        running.ended();
                        return Err(e);
                    }
                }
            }
        }
        let mut running = Running { children, route };
        // espeak-ng reads the text from stdin, so no text is ever taken for an option.
        if let Some(mut stdin) = running.children[0].stdin.take()
            && let Err(e) = stdin.write_all(text.as_bytes())
        {
            // Killed already (an interrupt between spawn and here) or failed: nothing to say.
            tracing::debug!("handing text to espeak-ng: {e}");
        }
        self.remember(Said {
            route,
            text: text.into(),
            file,
        });
        Ok(running)
    }
}

/// The worker: one job after the other, each piece a process of its own, waited for here.
fn work(inner: &Inner, queue: &mpsc::Receiver<Job>) {
    for job in queue.iter() {
        speak(inner, &job);
        inner.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

fn speak(inner: &Inner, job: &Job) {
    let Some(voice) = voice(&job.utterance.language) else {
        return;
    };
    let plugged = lock(&inner.audio).headphones_plugged();
    for (route, text) in pieces(&job.utterance, plugged) {
        {
            // Started under the lock that `interrupt` kills under: an interrupt either comes
            // before (the generation check drops the piece) or finds the process to kill.
            let mut running = lock(&inner.running);
            if !inner.current(job.generation) {
                return;
            }
            match inner.spawn(voice, route, &text) {
                Ok(started) => *running = Some(started),
                Err(e) => {
                    tracing::warn!("starting espeak-ng: {e}");
                    return;
                }
            }
        }
        loop {
            let mut running = lock(&inner.running);
            let ended = running.as_mut().is_none_or(Running::ended);
            if ended {
                *running = None;
                break;
            }
            drop(running);
            thread::sleep(POLL);
        }
    }
}

/// The utterance as pieces of one route each: neighbours of the same route are spoken by one
/// process; personal parts become the withheld phrase (once per run) without headphones.
fn pieces(utterance: &Utterance, plugged: bool) -> Vec<(Route, String)> {
    let mut pieces: Vec<(Route, String)> = Vec::new();
    for part in &utterance.parts {
        let (route, text) = match route(part.speech, plugged) {
            Route::Withhold => (Route::Loudspeaker, utterance.withheld.as_str()),
            other => (other, part.text.as_str()),
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match pieces.last_mut() {
            Some((last, said)) if *last == route => {
                if !said.ends_with(text) {
                    // A full stop between labels makes espeak-ng pause.
                    if !said.ends_with(['.', '?', '!', ':']) {
                        said.push('.');
                    }
                    said.push('\n');
                    said.push_str(text);
                }
            }
            _ => pieces.push((route, text.to_string())),
        }
    }
    pieces
}

/// Locks a mutex even if a panic poisoned it: every value behind these locks is whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utterance(parts: Vec<Part>) -> Utterance {
        Utterance {
            language: "de".into(),
            parts,
            withheld: "Kopfhörer".into(),
        }
    }

    #[test]
    fn personal_parts_become_the_neutral_phrase_without_headphones() {
        let u = utterance(vec![
            Part::public("Ihre Fahrt"),
            Part::personal("Code AB12"),
            Part::personal("Praxis Dr. Weber"),
            Part::public("Fertig"),
        ]);
        assert_eq!(
            pieces(&u, false),
            vec![(Route::Loudspeaker, "Ihre Fahrt.\nKopfhörer.\nFertig".into())]
        );
        assert_eq!(
            pieces(&u, true),
            vec![(
                Route::Headphones,
                "Ihre Fahrt.\nCode AB12.\nPraxis Dr. Weber.\nFertig".into()
            )]
        );
    }

    #[test]
    fn every_kiosk_language_has_a_voice() {
        for code in ["de", "en", "uk", "ar", "tr"] {
            assert!(voice(code).is_some(), "{code}");
        }
        assert_eq!(voice("fr"), None);
    }
}
