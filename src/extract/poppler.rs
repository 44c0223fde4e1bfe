//! The second reader: poppler's `pdftotext`, run as a separate program where it is installed
//! (Debian's `poppler-utils`; GPL, so MedShelf runs it and never links it).
//!
//! pdf-extract is MedShelf's reader; this one is asked only for what it could not give: a
//! document it fails on entirely (a European Heart Journal trial set in PDFlib Type 1 fonts
//! panics inside it), a page it fails on or finds empty, and pages whose text it decodes into
//! symbol soup (fonts without a Unicode map: `mai(tai(i(/ si(%s rhythm`). It runs in the PDF
//! worker, under the worker's memory limit and its own time limit, so it cannot hang or crash
//! an index run either. `MEDSHELF_PDFTOTEXT` names the program (`off` turns it off).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// The most text taken from one document: far beyond any paper, short of exhausting memory.
const MAX_TEXT_BYTES: usize = 64 << 20;

/// The time allowed for one document: poppler reads a hundred pages in about a second, and
/// stops short of the worker's own limit, so that the worker answers first.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The `pdftotext` program, where one runs.
static PROGRAM: LazyLock<Option<PathBuf>> = LazyLock::new(|| {
    let program = match &crate::settings::get().pdftotext {
        Some(p) if p == "off" || p.is_empty() => return None,
        Some(p) => PathBuf::from(p),
        None => PathBuf::from("pdftotext"),
    };
    Command::new(&program)
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()
        .filter(|s| s.success())
        .map(|_| program)
});

/// Whether the second reader is installed.
pub fn available() -> bool {
    PROGRAM.is_some()
}

/// Every page's text as `pdftotext` reads it (reading order, UTF-8), or `None` where it is not
/// installed, fails, or overruns its time.
pub fn pages(path: &Path) -> Option<Vec<String>> {
    let program = PROGRAM.as_ref()?;
    let mut command = Command::new(program);
    command
        .args(["-q", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    bound(&mut command);
    let mut child = command.spawn().ok()?;
    let mut stdout = child.stdout.take()?;
    // Read on a thread so that a full pipe never blocks the program while it is waited for.
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = (&mut stdout)
            .take(MAX_TEXT_BYTES as u64)
            .read_to_end(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let text = reader.join().ok()?;
    if !status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&text);
    // Pages end with a form feed; the last one is followed by nothing.
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    Some(pages)
}

/// A page rendered to gray pixels, one byte each, row by row.
#[derive(Debug, Clone)]
pub struct Gray {
    /// Pixels across.
    pub width: usize,
    /// Pixels down.
    pub height: usize,
    /// `width * height` bytes, 0 black to 255 white.
    pub pixels: Vec<u8>,
}

/// Every page's size in points (width, height), as poppler's `pdfinfo` reads them, where it is
/// installed and the document opens.
pub fn page_sizes(path: &Path) -> Option<Vec<(f64, f64)>> {
    let program = sibling("pdfinfo")?;
    let mut command = Command::new(program);
    command.args(["-f", "1", "-l", "100000"]).arg(path);
    let out = run_bounded(&mut command, 1 << 20)?;
    let text = String::from_utf8_lossy(&out);
    let mut sizes = Vec::new();
    for line in text.lines() {
        // "Page    3 size: 612 x 792 pts (letter)"
        let Some(rest) = line.strip_prefix("Page") else {
            continue;
        };
        let Some((_, size)) = rest.split_once(" size:") else {
            continue;
        };
        let mut numbers = size
            .split_whitespace()
            .filter_map(|w| w.parse::<f64>().ok());
        if let (Some(w), Some(h)) = (numbers.next(), numbers.next()) {
            sizes.push((w, h));
        }
    }
    (!sizes.is_empty()).then_some(sizes)
}

/// The pages (1-based, ascending) that draw at least one image, inline or not, as poppler's
/// `pdfimages -list` finds them; `None` where it is not installed or cannot read the document
/// (then any page may hold one).
pub fn pages_with_images(path: &Path) -> Option<Vec<u32>> {
    let program = sibling("pdfimages")?;
    let mut command = Command::new(program);
    command.arg("-list").arg(path);
    let out = run_bounded(&mut command, 16 << 20)?;
    Some(parse_image_list(&String::from_utf8_lossy(&out)))
}

/// The page column of `pdfimages -list`: two header lines, then one row an image, whose
/// first field is its page.
fn parse_image_list(text: &str) -> Vec<u32> {
    let mut pages: Vec<u32> = text
        .lines()
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
        .collect();
    pages.sort_unstable();
    pages.dedup();
    pages
}

/// Renders page `page` (1-based) at `dpi` to gray pixels with poppler's `pdftoppm` (a separate
/// program: GPL, run and never linked), or `None` where it is not installed or fails. The
/// caller bounds the size through `dpi`; the worker's memory limit bounds the rest.
pub fn render(path: &Path, page: u32, dpi: u32) -> Option<Gray> {
    let out = run_bounded(&mut pdftoppm(path, page, dpi, &[])?, 512 << 20)?;
    parse_pgm(&out)
}

/// Renders one page (1-based) of a PDF as a gray JPEG of `quality` (1 to 100), as a phone
/// scan stores it; `None` where poppler is missing or fails on the page.
pub fn render_jpeg(path: &Path, page: u32, dpi: u32, quality: u8) -> Option<Vec<u8>> {
    let quality = format!("quality={}", quality.clamp(1, 100));
    let mut command = pdftoppm(path, page, dpi, &["-jpeg", "-jpegopt", &quality])?;
    run_bounded(&mut command, 512 << 20).filter(|out| !out.is_empty())
}

/// `pdftoppm` asked for one page (1-based) of `path` in gray at `dpi`, with `more` options,
/// to standard output.
fn pdftoppm(path: &Path, page: u32, dpi: u32, more: &[&str]) -> Option<Command> {
    let mut command = Command::new(sibling("pdftoppm")?);
    let page = page.to_string();
    command.args([
        "-q",
        "-gray",
        "-f",
        &page,
        "-l",
        &page,
        "-r",
        &dpi.to_string(),
    ]);
    command.args(more).arg(path);
    Some(command)
}

/// A binary PGM (`P5`, 8 bits) as `pdftoppm -gray` writes it.
fn parse_pgm(bytes: &[u8]) -> Option<Gray> {
    // Four fields (magic, width, height, maximum) separated by whitespace, then one
    // whitespace byte and the pixels.
    let mut fields = Vec::with_capacity(4);
    let mut at = 0;
    while fields.len() < 4 {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if start == at {
            return None;
        }
        fields.push(std::str::from_utf8(&bytes[start..at]).ok()?);
    }
    if fields[0] != "P5" || fields[3] != "255" {
        return None;
    }
    let width: usize = fields[1].parse().ok()?;
    let height: usize = fields[2].parse().ok()?;
    let pixels = bytes.get(at + 1..)?;
    if width == 0 || height == 0 || pixels.len() < width.checked_mul(height)? {
        return None;
    }
    Some(Gray {
        width,
        height,
        pixels: pixels[..width * height].to_vec(),
    })
}

/// A poppler program installed beside `pdftotext` (the same package), unless the second
/// reader is turned off.
fn sibling(name: &str) -> Option<PathBuf> {
    let reader = PROGRAM.as_ref()?;
    let beside = reader.with_file_name(name);
    Some(
        if reader.parent().is_some_and(|p| !p.as_os_str().is_empty()) {
            beside
        } else {
            PathBuf::from(name)
        },
    )
}

/// Runs a program to its end within [`TIMEOUT`], taking at most `limit` bytes of its output;
/// `None` where it fails, overruns or says more.
fn run_bounded(command: &mut Command, limit: usize) -> Option<Vec<u8>> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    bound(command);
    let mut child = command.spawn().ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stdout).take(limit as u64 + 1).read_to_end(&mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let out = reader.join().ok()?;
    (status.success() && out.len() <= limit).then_some(out)
}

/// Bounds the program beyond the wait below: the kernel stops it after its CPU time, and when
/// the process that started it dies (a worker killed for its own time limit), so that a file
/// poppler loops on never leaves a program spinning. Memory is bounded by the worker's limit,
/// which children inherit.
#[cfg(target_os = "linux")]
fn bound(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let seconds = TIMEOUT.as_secs() + 1;
    // SAFETY: between fork and exec the closure calls only async-signal-safe system calls
    // (prctl, setrlimit) on values it owns; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            let cpu = libc::rlimit {
                rlim_cur: seconds,
                rlim_max: seconds,
            };
            libc::setrlimit(libc::RLIMIT_CPU, &cpu);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn bound(_command: &mut Command) {}

/// How much of a page reads as symbol soup: the share of its words (three characters or more)
/// with a symbol between two letters (`a(d`, `dr%/s`), which a font without a Unicode map
/// gives and prose hardly ever does. Code in a statistics paper (`c(a)`) scores a few per cent.
pub(super) fn garbled(text: &str) -> f64 {
    const SYMBOLS: &str = "()%$!#*+=<>@^~|\";[]{}\\";
    let mut words = 0usize;
    let mut soup = 0usize;
    for word in text.split_whitespace() {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() < 3 {
            continue;
        }
        words += 1;
        if chars
            .windows(3)
            .any(|w| w[0].is_alphabetic() && SYMBOLS.contains(w[1]) && w[2].is_alphabetic())
        {
            soup += 1;
        }
    }
    if words < 20 {
        return 0.0;
    }
    soup as f64 / words as f64
}

#[cfg(test)]
mod tests {
    use super::{garbled, parse_image_list, parse_pgm};

    #[test]
    fn the_image_list_gives_each_page_once() {
        let list = "page   num  type   width height color comp bpc  enc interp  object ID x-ppi \
            y-ppi size ratio\n\
            ------------------------------------------------------------------------\n\
               3     0 image    2481  3296  gray    1   8  image  no         2  0   300   300  523K 6.5%\n\
               3     1 smask     100   100  gray    1   8  image  no         3  0    72    72   1K 10%\n\
              12     2 image      16    16  gray    1   1  ccitt  no  [inline]     72    72   20B 6%\n";
        assert_eq!(parse_image_list(list), vec![3, 12]);
        assert!(parse_image_list("").is_empty());
    }

    #[test]
    fn a_pgm_is_read_and_a_short_one_refused() {
        let mut pgm = b"P5\n3 2\n255\n".to_vec();
        pgm.extend_from_slice(&[0, 1, 2, 3, 4, 5]);
        let gray = parse_pgm(&pgm).unwrap();
        assert_eq!((gray.width, gray.height, gray.pixels[5]), (3, 2, 5));
        assert!(parse_pgm(&pgm[..pgm.len() - 1]).is_none());
        assert!(parse_pgm(b"P6\n3 2\n255\n012345012345012345").is_none());
    }

    #[test]
    fn symbol_soup_is_told_from_prose_and_code() {
        let soup = "Oral  lass . a(d ... a(tiarrhythmic dr%/s for mai(tai(i(/ si(%s rhythm a0er \
            catheter ablatio( of atrial fibrillatio(, ’omso( J, )ambiase PD, a*t%r G, Ba(er+ee \
            Provide(cia R the Cochra(e  ollaboratio(, P%blished by Joh( Wiley > So(s a(d more";
        assert!(garbled(soup) > 0.3, "{}", garbled(soup));
        let prose = "Pulmonary cystic echinococcosis is primarily managed through surgical \
            intervention. Medical treatment with albendazole (ALB) should only be contemplated if \
            surgery is contraindicated or not feasible (see section 4.2); regular monitoring for \
            secondary infection, or expectoration of the laminated layer, is mandated.";
        assert!(garbled(prose) < 0.02, "{}", garbled(prose));
    }
}
