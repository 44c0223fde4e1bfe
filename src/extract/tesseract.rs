//! Tesseract 5 through its C API (`tesseract/capi.h`), loaded at run time with `libloading`:
//! the functions OCR uses, declared here by hand, one instance per process initialised with
//! the chosen languages ([`super::ocr`] decides what to read and keeps what comes out).

use std::ffi::{c_char, c_float, c_int, c_uchar, c_void, CStr, CString};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use super::ocr::{OcrPage, OcrWord, PAGE_DEADLINE_MS};
use super::poppler;

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
    is_valid_word: unsafe extern "C" fn(*mut Api, *const c_char) -> c_int,
    set_variable: unsafe extern "C" fn(*mut Api, *const c_char, *const c_char) -> c_int,
    detect_orientation: unsafe extern "C" fn(
        *mut Api,
        *mut c_int,
        *mut c_float,
        *mut *const c_char,
        *mut c_float,
    ) -> c_int,
}

/// Tesseract, loaded and initialised for the chosen languages.
pub(super) struct Engine {
    /// Keeps the functions' code mapped.
    _library: libloading::Library,
    functions: Functions,
    /// The `TessBaseAPI` instance; used by one page at a time (the mutex).
    api: Mutex<ApiHandle>,
    /// A second instance, started with the orientation data (`osd`) the first time a page's
    /// orientation is asked ([`Engine::orientation`]); null where that data is not installed
    /// or did not load. Orientation is detected by `osd` alone: an instance started with a
    /// language's data answers 270 degrees for every page.
    osd: Mutex<Option<ApiHandle>>,
    /// Whether the orientation data is installed (Debian's `tesseract-ocr` depends on it).
    has_osd: bool,
    pub(super) version: String,
    pub(super) languages: Vec<String>,
    pub(super) installed: Vec<String>,
}

struct ApiHandle(*mut Api);

// SAFETY: the handle is only used with the engine's mutex held, one call sequence at a time;
// Tesseract's API object has no affinity to the thread that created it.
unsafe impl Send for ApiHandle {}

/// The engine, loaded on first use; `Err` says why it cannot be.
pub(super) fn engine() -> Result<&'static Engine, &'static String> {
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
        if let Ok(mut osd) = engine.osd.try_lock() {
            if let Some(api) = osd.as_mut() {
                // SAFETY: as above, for the orientation instance.
                unsafe {
                    ApiDrop(std::mem::replace(&mut api.0, std::ptr::null_mut()))
                        .end(&engine.functions)
                };
            }
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
            let osd = names.iter().any(|n| n == "osd");
            names.retain(|n| n != "osd");
            names.sort();
            ApiDrop(probe).end(&functions);
            (names, osd)
        };
        let (installed, has_osd) = installed;
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
        quiet(&functions, api);
        libc::atexit(end_at_exit);
        Ok(Engine {
            _library: library,
            functions,
            api: Mutex::new(ApiHandle(api)),
            osd: Mutex::new(None),
            has_osd,
            version,
            languages: wanted,
            installed,
        })
    }
}

/// Sends Tesseract's own messages ("Detected 73 diacritics", "Invalid resolution 0 dpi",
/// the orientation detection's: notes for its developers, on every page) nowhere instead of to
/// standard error, where they came between the lines of an index run. `debug_file` is one
/// setting for the process.
///
/// SAFETY: `api` is a live, initialised `TessBaseAPI`.
unsafe fn quiet(f: &Functions, api: *mut Api) {
    if cfg!(unix) {
        let (name, nowhere) = (c"debug_file", c"/dev/null");
        (f.set_variable)(api, name.as_ptr(), nowhere.as_ptr());
    }
}

/// How Tesseract parts ink from paper before it reads a page (its `thresholding_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Threshold {
    /// Tesseract's default: one Otsu threshold for the whole page. Type lighter than most
    /// of the page's (a patient booklet's cyan headings, its olive call-out boxes) falls on
    /// the paper's side, and a page printed on a yellow panel reads as one black block.
    Global,
    /// Otsu's threshold tile by tile (Leptonica's): in a tile of pale type, or of type on a
    /// tinted panel, the threshold falls between that type and its paper (docs/OCR.md, "Pale
    /// type and tinted panels"). Sauvola's threshold, Tesseract's third, loses type as pale
    /// as gray 200 on white.
    Tiled,
}

impl Threshold {
    /// Tesseract's setting for it.
    fn setting(self) -> &'static std::ffi::CStr {
        match self {
            Threshold::Global => c"0",
            Threshold::Tiled => c"1",
        }
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
            is_valid_word: *library.get(b"TessBaseAPIIsValidWord\0")?,
            set_variable: *library.get(b"TessBaseAPISetVariable\0")?,
            detect_orientation: *library.get(b"TessBaseAPIDetectOrientationScript\0")?,
        })
    }
}

impl Engine {
    /// Reads one rendered page; `None` where Tesseract fails on it.
    pub(super) fn read(
        &self,
        image: &poppler::Gray,
        dpi: u32,
        page: u32,
        threshold: Threshold,
    ) -> Option<OcrPage> {
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
            (f.set_variable)(
                api.0,
                c"thresholding_method".as_ptr(),
                threshold.setting().as_ptr(),
            );
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
            Some(OcrPage {
                page,
                confidence: super::ocr::page_confidence(&words),
                dpi,
                words,
                overran,
                size: None,
            })
        }
    }

    /// How far the page's text is turned, as Tesseract's orientation detection reads it:
    /// the degrees (90, 180 or 270) to turn the image clockwise to set its text upright, or
    /// 0; `None` where it cannot tell (no orientation data, too little text, a weak verdict).
    pub(super) fn orientation(&self, image: &poppler::Gray, dpi: u32) -> Option<u32> {
        /// Tesseract's confidence in an orientation below which it is a guess: a page of
        /// text turned sideways scores 10 to 30, a page of three short lines 4 to 5. Low,
        /// because a wrong guess costs only time: the turned reading is kept only where it
        /// reads better.
        const SURE: f32 = 1.0;
        if !self.has_osd {
            return None;
        }
        let f = &self.functions;
        let (width, height) = (
            c_int::try_from(image.width).ok()?,
            c_int::try_from(image.height).ok()?,
        );
        let mut osd = self.osd.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: the instance is created, used and ended under the lock; the image outlives
        // the detection (cleared before returning); the script name is Tesseract's own.
        unsafe {
            if osd.is_none() {
                let api = (f.create)();
                let name = CString::new("osd").expect("no NUL");
                if api.is_null() || (f.init3)(api, std::ptr::null(), name.as_ptr()) != 0 {
                    ApiDrop(api).end(f);
                    *osd = Some(ApiHandle(std::ptr::null_mut()));
                } else {
                    quiet(f, api);
                    *osd = Some(ApiHandle(api));
                }
            }
            let api = osd.as_ref().map_or(std::ptr::null_mut(), |a| a.0);
            if api.is_null() {
                return None;
            }
            (f.set_image)(api, image.pixels.as_ptr(), width, height, 1, width);
            (f.set_source_resolution)(api, dpi as c_int);
            let (mut degrees, mut sure) = (0 as c_int, 0.0 as c_float);
            let (mut script, mut script_sure) = (std::ptr::null(), 0.0 as c_float);
            let found =
                (f.detect_orientation)(api, &mut degrees, &mut sure, &mut script, &mut script_sure);
            (f.clear)(api);
            // Tesseract gives the angle the text is turned counter-clockwise.
            (found != 0 && sure >= SURE && matches!(degrees, 0 | 90 | 180 | 270))
                .then(|| (360 - degrees as u32) % 360)
        }
    }

    /// How many of `words` are in the dictionaries of the languages Tesseract was started with
    /// (its own word lists: medical terms, names and inflections included).
    pub(super) fn known_words(&self, words: &[&str]) -> usize {
        let api = self.api.lock().unwrap_or_else(|p| p.into_inner());
        if api.0.is_null() {
            return 0;
        }
        words
            .iter()
            .filter_map(|w| CString::new(*w).ok())
            // SAFETY: a live API handle, held under its mutex, and a NUL-terminated string
            // that outlives the call (Tesseract only reads it).
            .filter(|w| unsafe { (self.functions.is_valid_word)(api.0, w.as_ptr()) } != 0)
            .count()
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
