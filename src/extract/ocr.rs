//! OCR of scanned pages: a page without a usable text layer is rendered to an image by
//! poppler's `pdftoppm` and read by Tesseract 5, in the PDF worker (so a page that makes either
//! loop or crash costs that file, never the run).
//!
//! Tesseract is loaded at run time through its C API (`libtesseract.so.5`, Debian's
//! `tesseract-ocr`), by a handful of functions declared here: no bindings generated at build
//! time (that needs libclang), no link-time dependency, and an app that runs where Tesseract is
//! absent and says so ([`status`]). Each page gets its own deadline inside Tesseract; a page
//! that overruns keeps what was recognised by then.
//!
//! What comes out is each page's words with their confidence and their box on the page (as
//! shares of its width and height, so that a viewer draws the highlight over the page at any
//! zoom). Words Tesseract itself barely believes are left out of the page's text, and a page
//! whose words are mostly such guesses (a photograph, a drawing) gives no text at all: a
//! passage of invented words would only mislead both searches.

use std::ffi::{c_char, c_float, c_int, c_uchar, c_void, CStr, CString};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use super::poppler;

/// The resolution pages are rendered at: Tesseract reads body text best at about 300 dpi.
pub const DPI: u32 = 300;

/// The longest side of a rendered page, in pixels: 300 dpi on a poster-sized page would be
/// hundreds of megabytes, so such a page is rendered at less (20 inches at 300 dpi).
const MAX_SIDE: f64 = 6000.0;

/// The time Tesseract gets for one page; what it recognised by then is kept. A dense page
/// at 300 dpi takes a few seconds on one core.
pub const PAGE_DEADLINE_MS: i32 = 45_000;

/// Words with a confidence below this (Tesseract's 0 to 100) are guesses: left out of the
/// page's text (they stay in the word list, for the record).
pub const WORD_FLOOR: u8 = 30;

/// A page whose mean word confidence (weighted by length) is below this is not text: a
/// photograph, a drawing, a texture that Tesseract read as letters.
const PAGE_FLOOR: f32 = 45.0;

/// One recognised word.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OcrWord {
    /// The word as read.
    #[serde(rename = "t")]
    pub text: String,
    /// Tesseract's confidence, 0 to 100.
    #[serde(rename = "c")]
    pub confidence: u8,
    /// Its box: left, top, right, bottom, as shares of the page's width and height (0 to 1,
    /// from the top left corner of the page as displayed).
    #[serde(rename = "b")]
    pub bbox: [f32; 4],
    /// Whether it starts a new line.
    #[serde(rename = "l", default, skip_serializing_if = "std::ops::Not::not")]
    pub line_start: bool,
}

impl OcrWord {
    /// Whether it goes into the page's text: a word Tesseract believes, and not a lone mark
    /// it half believes (the specks of a noisy scan read as `:` or `.`).
    pub fn believed(&self) -> bool {
        let lone_mark = !self.text.chars().any(char::is_alphanumeric);
        self.confidence >= if lone_mark { SPECK_FLOOR } else { WORD_FLOOR }
    }
}

/// The confidence a word without a letter or a digit needs to be kept.
const SPECK_FLOOR: u8 = 90;

/// A page read by OCR.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OcrPage {
    /// The page, 1-based.
    pub page: u32,
    /// The mean confidence of its words, weighted by their length (0 to 100).
    pub confidence: f32,
    /// The resolution it was rendered at.
    pub dpi: u32,
    /// Its words in reading order.
    pub words: Vec<OcrWord>,
    /// Whether Tesseract ran out of time on it (its words are those read by then).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overran: bool,
}

impl OcrPage {
    /// The page's text: the words Tesseract believes, line by line; empty where the page is
    /// not text at all.
    pub fn text(&self) -> String {
        if self.confidence < PAGE_FLOOR {
            return String::new();
        }
        let mut text = String::new();
        for word in self.words.iter().filter(|w| w.believed()) {
            if !text.is_empty() {
                text.push(if word.line_start { '\n' } else { ' ' });
            }
            text.push_str(&word.text);
        }
        text
    }
}

/// Where OCR stands on this machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OcrStatus {
    /// Whether scanned pages are read.
    pub available: bool,
    /// Tesseract's version, where it loaded.
    pub version: Option<String>,
    /// The languages OCR reads (`eng`), where it loaded.
    pub languages: Vec<String>,
    /// Every language installed, where it loaded.
    pub installed: Vec<String>,
    /// Why not, in words a person can act on, where it is not available.
    pub reason: Option<String>,
}

/// Whether OCR can run here, and with what: loads Tesseract once per process.
pub fn status() -> OcrStatus {
    let renderer = poppler::available();
    match engine() {
        Ok(engine) if renderer => OcrStatus {
            available: true,
            version: Some(engine.version.clone()),
            languages: engine.languages.clone(),
            installed: engine.installed.clone(),
            reason: None,
        },
        Ok(engine) => OcrStatus {
            available: false,
            version: Some(engine.version.clone()),
            languages: engine.languages.clone(),
            installed: engine.installed.clone(),
            reason: Some(
                "scanned pages are not read: poppler's pdftoppm is missing (install poppler-utils)"
                    .into(),
            ),
        },
        Err(reason) => OcrStatus {
            available: false,
            version: None,
            languages: Vec::new(),
            installed: Vec::new(),
            reason: Some(reason.clone()),
        },
    }
}

/// How far the OCR of a document is: `done` of `pages` pages to recognise, `page` next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OcrProgress {
    /// Pages recognised so far.
    pub done: u32,
    /// Pages of the document that need OCR.
    pub pages: u32,
    /// The page being recognised now (1-based).
    pub page: u32,
}

/// Recognises the given pages (1-based) of the PDF at `path`, telling `progress` before each
/// and stopping between pages once `cancel` is set. A page that cannot be rendered or read is
/// left out; `Err` says why OCR could not run at all.
pub fn recognise(
    path: &Path,
    pages: &[u32],
    progress: &mut dyn FnMut(OcrProgress),
    cancel: &AtomicBool,
) -> Result<Vec<OcrPage>, String> {
    if !poppler::available() {
        return Err("poppler's pdftoppm is missing".into());
    }
    let engine = engine()?;
    let sizes = poppler::page_sizes(path).unwrap_or_default();
    let mut out = Vec::new();
    for (done, &page) in pages.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        progress(OcrProgress {
            done: done as u32,
            pages: pages.len() as u32,
            page,
        });
        let dpi = sizes
            .get(page as usize - 1)
            .map_or(DPI, |&(w, h)| dpi_for(w, h));
        let Some(image) = poppler::render(path, page, dpi) else {
            continue;
        };
        // A blank page (or one with a stamp's worth of ink) has nothing to read: Tesseract
        // would spend a second finding so.
        if ink(&image) < BLANK_INK {
            continue;
        }
        if let Some(read) = engine.read(&image, dpi, page) {
            out.push(read);
        }
    }
    Ok(out)
}

/// The share of dark pixels below which a page is blank: a line of body text alone is about
/// 0.1 % of a page's pixels at 300 dpi.
const BLANK_INK: f64 = 0.0002;

/// The share of a page's pixels that are dark (ink, not paper).
fn ink(image: &poppler::Gray) -> f64 {
    let dark = image.pixels.iter().filter(|&&p| p < 128).count();
    dark as f64 / image.pixels.len().max(1) as f64
}

/// The resolution for a page of `w` by `h` points: [`DPI`], less where its longest side would
/// pass [`MAX_SIDE`] pixels.
fn dpi_for(w: f64, h: f64) -> u32 {
    let inches = w.max(h) / 72.0;
    if !inches.is_finite() || inches <= 0.0 {
        return DPI;
    }
    ((MAX_SIDE / inches).floor() as u32).clamp(1, DPI)
}

// Tesseract's C API (tesseract/capi.h): the functions used here, with its types as they are.
type Api = c_void;
type ResultIterator = c_void;
type PageIterator = c_void;
type Monitor = c_void;
/// `TessPageIteratorLevel`.
const RIL_TEXTLINE: c_int = 2;
const RIL_WORD: c_int = 3;
/// `TessPageSegMode::PSM_AUTO`: page layout analysis, no orientation detection.
const PSM_AUTO: c_int = 3;

struct Functions {
    version: unsafe extern "C" fn() -> *const c_char,
    create: unsafe extern "C" fn() -> *mut Api,
    delete: unsafe extern "C" fn(*mut Api),
    init3: unsafe extern "C" fn(*mut Api, *const c_char, *const c_char) -> c_int,
    languages: unsafe extern "C" fn(*const Api) -> *mut *mut c_char,
    delete_text_array: unsafe extern "C" fn(*mut *mut c_char),
    set_page_seg_mode: unsafe extern "C" fn(*mut Api, c_int),
    set_image: unsafe extern "C" fn(*mut Api, *const c_uchar, c_int, c_int, c_int, c_int),
    set_source_resolution: unsafe extern "C" fn(*mut Api, c_int),
    recognize: unsafe extern "C" fn(*mut Api, *mut Monitor) -> c_int,
    clear: unsafe extern "C" fn(*mut Api),
    iterator: unsafe extern "C" fn(*mut Api) -> *mut ResultIterator,
    iterator_delete: unsafe extern "C" fn(*mut ResultIterator),
    iterator_next: unsafe extern "C" fn(*mut ResultIterator, c_int) -> c_int,
    iterator_text: unsafe extern "C" fn(*const ResultIterator, c_int) -> *mut c_char,
    iterator_confidence: unsafe extern "C" fn(*const ResultIterator, c_int) -> c_float,
    page_iterator: unsafe extern "C" fn(*const ResultIterator) -> *const PageIterator,
    bounding_box: unsafe extern "C" fn(
        *const PageIterator,
        c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
    ) -> c_int,
    at_beginning_of: unsafe extern "C" fn(*const PageIterator, c_int) -> c_int,
    delete_text: unsafe extern "C" fn(*const c_char),
    monitor_create: unsafe extern "C" fn() -> *mut Monitor,
    monitor_delete: unsafe extern "C" fn(*mut Monitor),
    monitor_deadline: unsafe extern "C" fn(*mut Monitor, c_int),
}

/// Tesseract, loaded and initialised for the chosen languages.
struct Engine {
    /// Keeps the functions' code mapped.
    _library: libloading::Library,
    functions: Functions,
    /// The `TessBaseAPI` instance; used by one page at a time (the mutex).
    api: Mutex<ApiHandle>,
    version: String,
    languages: Vec<String>,
    installed: Vec<String>,
}

struct ApiHandle(*mut Api);

// SAFETY: the handle is only used with the engine's mutex held, one call sequence at a time;
// Tesseract's API object has no affinity to the thread that created it.
unsafe impl Send for ApiHandle {}

/// The engine, loaded on first use; `Err` says why it cannot be.
fn engine() -> Result<&'static Engine, &'static String> {
    ENGINE.get_or_init(load).as_ref()
}

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();

/// Ends the engine's Tesseract instance as the process exits: registered after Tesseract was
/// loaded, it runs before Tesseract's own static destructors, which otherwise report the
/// instance's language data as leaked on standard error.
extern "C" fn end_at_exit() {
    if let Some(Ok(engine)) = ENGINE.get() {
        if let Ok(mut api) = engine.api.try_lock() {
            // SAFETY: the instance is live and, with the lock held and the process exiting,
            // used by nothing else; the null left behind stops any later use.
            unsafe {
                ApiDrop(std::mem::replace(&mut api.0, std::ptr::null_mut())).end(&engine.functions)
            };
        }
    }
}

/// The names Tesseract 5's library goes by: Debian's soname first.
const LIBRARIES: &[&str] = &[
    "libtesseract.so.5",
    "libtesseract.so",
    "libtesseract.5.dylib",
];

fn load() -> Result<Engine, String> {
    let settings = crate::settings::get();
    let candidates: Vec<std::ffi::OsString> = match &settings.tesseract {
        Some(named) => vec![named.clone()],
        None => LIBRARIES.iter().map(|n| n.into()).collect(),
    };
    // SAFETY: loading Tesseract runs its static initialisers, which have no preconditions.
    let library = candidates
        .iter()
        .find_map(|name| unsafe { libloading::Library::new(name) }.ok())
        .ok_or_else(|| {
            "scanned pages are not read: Tesseract is not installed (install tesseract-ocr and \
             tesseract-ocr-eng, then index again with --retry-failed)"
                .to_string()
        })?;
    let functions = functions(&library).map_err(|e| {
        format!("scanned pages are not read: the Tesseract found is not version 5 ({e})")
    })?;
    // SAFETY: the functions match capi.h's declarations; the strings they return are
    // Tesseract's own and outlive the calls that read them (freed with its functions).
    unsafe {
        let version = CStr::from_ptr((functions.version)())
            .to_string_lossy()
            .into_owned();
        let api = (functions.create)();
        if api.is_null() {
            return Err("scanned pages are not read: Tesseract could not start".into());
        }
        // The installed languages: asked of an API initialised with any, English first.
        let installed = {
            let probe = (functions.create)();
            let english = CString::new("eng").expect("no NUL");
            let _ = (functions.init3)(probe, std::ptr::null(), english.as_ptr());
            let list = (functions.languages)(probe);
            let mut names = Vec::new();
            if !list.is_null() {
                let mut at = list;
                while !(*at).is_null() {
                    names.push(CStr::from_ptr(*at).to_string_lossy().into_owned());
                    at = at.add(1);
                }
                (functions.delete_text_array)(list);
            }
            names.retain(|n| n != "osd");
            names.sort();
            ApiDrop(probe).end(&functions);
            names
        };
        let wanted: Vec<String> = match &settings.ocr_languages {
            Some(list) => list
                .split(['+', ',', ' '])
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            None if installed.iter().any(|l| l == "eng") => vec!["eng".into()],
            None => installed.first().cloned().into_iter().collect(),
        };
        let missing: Vec<&String> = wanted.iter().filter(|l| !installed.contains(l)).collect();
        if wanted.is_empty() || !missing.is_empty() {
            ApiDrop(api).end(&functions);
            return Err(format!(
                "scanned pages are not read: Tesseract has no data for {} (installed: {}; \
                 install tesseract-ocr-eng or set MEDSHELF_OCR_LANGUAGES)",
                if missing.is_empty() {
                    "any language".to_string()
                } else {
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                if installed.is_empty() {
                    "none".to_string()
                } else {
                    installed.join(", ")
                }
            ));
        }
        let joined = CString::new(wanted.join("+")).map_err(|e| e.to_string())?;
        if (functions.init3)(api, std::ptr::null(), joined.as_ptr()) != 0 {
            ApiDrop(api).end(&functions);
            return Err(format!(
                "scanned pages are not read: Tesseract could not load {}",
                wanted.join("+")
            ));
        }
        (functions.set_page_seg_mode)(api, PSM_AUTO);
        libc::atexit(end_at_exit);
        Ok(Engine {
            _library: library,
            functions,
            api: Mutex::new(ApiHandle(api)),
            version,
            languages: wanted,
            installed,
        })
    }
}

/// An API instance ended and freed when it is no longer wanted.
struct ApiDrop(*mut Api);

impl ApiDrop {
    /// SAFETY: the pointer is a live `TessBaseAPI` (or null) that nothing uses after this.
    unsafe fn end(self, f: &Functions) {
        if !self.0.is_null() {
            // Delete ends the instance too.
            (f.delete)(self.0);
        }
    }
}

fn functions(library: &libloading::Library) -> Result<Functions, libloading::Error> {
    // SAFETY: each symbol is declared with capi.h's signature for Tesseract 5.
    unsafe {
        Ok(Functions {
            version: *library.get(b"TessVersion\0")?,
            create: *library.get(b"TessBaseAPICreate\0")?,
            delete: *library.get(b"TessBaseAPIDelete\0")?,
            init3: *library.get(b"TessBaseAPIInit3\0")?,
            languages: *library.get(b"TessBaseAPIGetAvailableLanguagesAsVector\0")?,
            delete_text_array: *library.get(b"TessDeleteTextArray\0")?,
            set_page_seg_mode: *library.get(b"TessBaseAPISetPageSegMode\0")?,
            set_image: *library.get(b"TessBaseAPISetImage\0")?,
            set_source_resolution: *library.get(b"TessBaseAPISetSourceResolution\0")?,
            recognize: *library.get(b"TessBaseAPIRecognize\0")?,
            clear: *library.get(b"TessBaseAPIClear\0")?,
            iterator: *library.get(b"TessBaseAPIGetIterator\0")?,
            iterator_delete: *library.get(b"TessResultIteratorDelete\0")?,
            iterator_next: *library.get(b"TessResultIteratorNext\0")?,
            iterator_text: *library.get(b"TessResultIteratorGetUTF8Text\0")?,
            iterator_confidence: *library.get(b"TessResultIteratorConfidence\0")?,
            page_iterator: *library.get(b"TessResultIteratorGetPageIteratorConst\0")?,
            bounding_box: *library.get(b"TessPageIteratorBoundingBox\0")?,
            at_beginning_of: *library.get(b"TessPageIteratorIsAtBeginningOf\0")?,
            delete_text: *library.get(b"TessDeleteText\0")?,
            monitor_create: *library.get(b"TessMonitorCreate\0")?,
            monitor_delete: *library.get(b"TessMonitorDelete\0")?,
            monitor_deadline: *library.get(b"TessMonitorSetDeadlineMSecs\0")?,
        })
    }
}

impl Engine {
    /// Reads one rendered page; `None` where Tesseract fails on it.
    fn read(&self, image: &poppler::Gray, dpi: u32, page: u32) -> Option<OcrPage> {
        let f = &self.functions;
        let (width, height) = (
            c_int::try_from(image.width).ok()?,
            c_int::try_from(image.height).ok()?,
        );
        let api = self.api.lock().unwrap_or_else(|p| p.into_inner());
        if api.0.is_null() {
            return None;
        }
        let started = Instant::now();
        // SAFETY: the image outlives the recognition (cleared before returning); iterator and
        // monitor are created, used and freed here; strings are copied before they are freed.
        unsafe {
            (f.set_image)(api.0, image.pixels.as_ptr(), width, height, 1, width);
            (f.set_source_resolution)(api.0, dpi as c_int);
            let monitor = (f.monitor_create)();
            if !monitor.is_null() {
                (f.monitor_deadline)(monitor, PAGE_DEADLINE_MS);
            }
            let failed = (f.recognize)(api.0, monitor) != 0;
            let overran = started.elapsed().as_millis() as i64 >= PAGE_DEADLINE_MS as i64;
            if !monitor.is_null() {
                (f.monitor_delete)(monitor);
            }
            if failed && !overran {
                (f.clear)(api.0);
                return None;
            }
            let words = self.words(api.0, image);
            (f.clear)(api.0);
            let (sum, weight) = words.iter().fold((0.0f32, 0.0f32), |(s, n), w| {
                let len = w.text.chars().count() as f32;
                (s + w.confidence as f32 * len, n + len)
            });
            Some(OcrPage {
                page,
                confidence: if weight > 0.0 { sum / weight } else { 0.0 },
                dpi,
                words,
                overran,
            })
        }
    }

    /// SAFETY: `api` holds a recognised image of `image`'s size.
    unsafe fn words(&self, api: *mut Api, image: &poppler::Gray) -> Vec<OcrWord> {
        let f = &self.functions;
        let mut words = Vec::new();
        let iterator = (f.iterator)(api);
        if iterator.is_null() {
            return words;
        }
        let page = (f.page_iterator)(iterator);
        let (w, h) = (image.width as f32, image.height as f32);
        loop {
            let raw = (f.iterator_text)(iterator, RIL_WORD);
            if !raw.is_null() {
                let text = CStr::from_ptr(raw).to_string_lossy().trim().to_string();
                (f.delete_text)(raw);
                let confidence = (f.iterator_confidence)(iterator, RIL_WORD).clamp(0.0, 100.0);
                let (mut l, mut t, mut r, mut b) = (0, 0, 0, 0);
                let boxed = (f.bounding_box)(page, RIL_WORD, &mut l, &mut t, &mut r, &mut b) != 0;
                let line_start = (f.at_beginning_of)(page, RIL_TEXTLINE) != 0;
                if !text.is_empty() && boxed {
                    words.push(OcrWord {
                        text,
                        confidence: confidence.round() as u8,
                        bbox: [l as f32 / w, t as f32 / h, r as f32 / w, b as f32 / h],
                        line_start,
                    });
                }
            }
            if (f.iterator_next)(iterator, RIL_WORD) == 0 {
                break;
            }
        }
        (f.iterator_delete)(iterator);
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, confidence: u8, line_start: bool) -> OcrWord {
        OcrWord {
            text: text.into(),
            confidence,
            bbox: [0.0; 4],
            line_start,
        }
    }

    #[test]
    fn a_page_keeps_the_words_it_believes_line_by_line() {
        let page = OcrPage {
            page: 1,
            confidence: 88.0,
            dpi: DPI,
            words: vec![
                word("Aspirin", 95, true),
                word("after", 91, false),
                word("~#%", 12, false),
                word("stroke", 93, true),
            ],
            overran: false,
        };
        assert_eq!(page.text(), "Aspirin after\nstroke");
        let photo = OcrPage {
            confidence: 20.0,
            ..page
        };
        assert_eq!(photo.text(), "");
    }

    #[test]
    fn a_blank_page_has_no_ink_and_a_line_of_text_has_some() {
        let (width, height) = (2550, 3300);
        let mut page = poppler::Gray {
            width,
            height,
            pixels: vec![255; width * height],
        };
        assert!(ink(&page) < BLANK_INK);
        // One line of 10-point text: about 2,000 pixels across, a third of its 40 inked.
        for x in 300..2300 {
            for y in (600..640).step_by(3) {
                page.pixels[y * width + x] = 0;
            }
        }
        assert!(ink(&page) > BLANK_INK, "{}", ink(&page));
    }

    #[test]
    fn large_pages_are_rendered_at_less_than_300_dpi() {
        assert_eq!(dpi_for(612.0, 792.0), DPI);
        // A 200-inch poster: its longest side stays within the bound.
        let dpi = dpi_for(14_400.0, 14_400.0);
        assert!(f64::from(dpi) * 200.0 <= MAX_SIDE, "{dpi}");
        assert_eq!(dpi_for(f64::NAN, 0.0), DPI);
    }
}
