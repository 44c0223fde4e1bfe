//! What MedShelf takes from its environment, in one place, read once.
//!
//! A face (the CLI, the app) reads the environment once at start ([`Settings::from_env`]),
//! adjusts what its own flags override, and hands the value to the engine ([`init`]); engine
//! modules ask [`get`] and never read an environment variable themselves. Where no face
//! handed any (the engine as a library, its tests), the built-in defaults hold: a developer's
//! `MEDSHELF_MODEL` never changes what a test does. The one exception is the PDF worker's
//! memory limit, which a parent passes its child process in that child's environment: that is
//! the worker's protocol, not a setting.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::index::vector::Storage;

/// The public model hub, where `HF_ENDPOINT` names none.
pub const DEFAULT_HUB: &str = "https://huggingface.co";

/// Everything MedShelf reads from its environment.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `MEDSHELF_LIBRARY`: the library folder where none is named.
    pub library: Option<PathBuf>,
    /// `MEDSHELF_MODEL`: the model folder where none is named.
    pub model: Option<PathBuf>,
    /// `MEDSHELF_VECTOR_STORAGE` (`f32`, `bf16`, `f16`, `i8`): how a new vector index stores
    /// its vectors, for measuring them against each other; an existing index keeps its own.
    pub vector_storage: Option<Storage>,
    /// `MEDSHELF_PRECISION` (`auto`, the default; `f32`; `int8`): the embedding model's
    /// arithmetic (`embed::plan_precision`). `MEDSHELF_INT8=1`, its earlier spelling, means
    /// `int8`. A value that is none of these leaves the default and is kept in
    /// [`Settings::precision_error`].
    pub precision: crate::embed::PrecisionChoice,
    /// Why `MEDSHELF_PRECISION` was not understood, for a face to tell its user.
    pub precision_error: Option<String>,
    /// `HF_ENDPOINT`: the model hub a download asks (the hub's own tools read the same).
    pub hub: Option<String>,
    /// `MEDSHELF_EVAL_CACHE`: where `medshelf eval` keeps its benchmark indexes.
    pub eval_cache: Option<PathBuf>,
    /// `MEDSHELF_PDFTOTEXT`: the second PDF reader's program (`off` turns it off).
    pub pdftotext: Option<OsString>,
    /// `MEDSHELF_OCR`: `off` keeps index runs from recognising scanned pages (`index --no-ocr`
    /// does the same for one run).
    pub ocr_off: bool,
    /// `MEDSHELF_OCR_LANGUAGES`: the languages OCR reads, as Tesseract names them, joined by
    /// `+` (`eng+deu`); English where it is installed, when unset.
    pub ocr_languages: Option<String>,
    /// `MEDSHELF_TESSERACT`: the Tesseract library to load (a path or a file name), for a
    /// Tesseract installed outside the system's library folders.
    pub tesseract: Option<OsString>,
}

impl Settings {
    /// Reads the environment. Empty variables count as unset; a storage name that is not one
    /// is ignored (the default holds).
    pub fn from_env() -> Self {
        let os = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let text = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let (precision, precision_error) = match text("MEDSHELF_PRECISION") {
            Some(v) => match v.parse() {
                Ok(p) => (p, None),
                Err(e) => (Default::default(), Some(format!("MEDSHELF_PRECISION: {e}"))),
            },
            None if text("MEDSHELF_INT8").is_some_and(|v| v.trim() == "1") => {
                (crate::embed::PrecisionChoice::Int8, None)
            }
            None => Default::default(),
        };
        Settings {
            library: os("MEDSHELF_LIBRARY").map(PathBuf::from),
            model: os("MEDSHELF_MODEL").map(PathBuf::from),
            vector_storage: text("MEDSHELF_VECTOR_STORAGE").and_then(|v| v.parse().ok()),
            precision,
            precision_error,
            hub: text("HF_ENDPOINT"),
            eval_cache: os("MEDSHELF_EVAL_CACHE").map(PathBuf::from),
            pdftotext: std::env::var_os("MEDSHELF_PDFTOTEXT"),
            ocr_off: text("MEDSHELF_OCR").is_some_and(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "off" | "0" | "no" | "false"
                )
            }),
            ocr_languages: text("MEDSHELF_OCR_LANGUAGES"),
            tesseract: os("MEDSHELF_TESSERACT"),
        }
    }

    /// The library folder used when none is named: [`Settings::library`], else `medshelf` in
    /// the platform's data folder (`~/.local/share/medshelf` on Linux).
    pub fn library_dir(&self) -> Option<PathBuf> {
        self.library
            .clone()
            .or_else(|| dirs::data_dir().map(|d| d.join("medshelf")))
    }

    /// The model hub, without a trailing slash.
    pub fn hub(&self) -> String {
        self.hub
            .as_deref()
            .unwrap_or(DEFAULT_HUB)
            .trim()
            .trim_end_matches('/')
            .to_string()
    }
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Hands the engine the face's settings; the first call wins (returns false for a later one).
pub fn init(settings: Settings) -> bool {
    SETTINGS.set(settings).is_ok()
}

/// The settings a face handed in, or the built-in defaults where none did.
pub fn get() -> &'static Settings {
    static DEFAULTS: OnceLock<Settings> = OnceLock::new();
    SETTINGS
        .get()
        .unwrap_or_else(|| DEFAULTS.get_or_init(Settings::default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hub_defaults_to_the_public_one_and_loses_its_trailing_slash() {
        assert_eq!(Settings::default().hub(), DEFAULT_HUB);
        let local = Settings {
            hub: Some(" http://127.0.0.1:8080/ ".into()),
            ..Default::default()
        };
        assert_eq!(local.hub(), "http://127.0.0.1:8080");
    }

    #[test]
    fn a_named_library_wins_over_the_data_folder() {
        let named = Settings {
            library: Some("/papers/lib".into()),
            ..Default::default()
        };
        assert_eq!(named.library_dir(), Some(PathBuf::from("/papers/lib")));
    }
}
