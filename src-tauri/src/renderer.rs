//! The page's renderer, when it ends under the app.
//!
//! On Linux the page runs in a WebKitGTK web process of its own. When that process crashes or
//! WebKit kills it for memory, the window is left blank while the app (the engine, the library,
//! any indexing under way) runs on: the user would have to quit and start again to get the page
//! back. Here the app says why on stderr and reloads the page, which starts a new renderer; the
//! page boots as on launch and asks the engine where things stand, so nothing is lost.

use tauri::{Runtime, WebviewWindow};
use webkit2gtk::{WebProcessTerminationReason, WebViewExt};

/// Watches `window`'s renderer and reloads the page whenever it ends abnormally.
pub(crate) fn reload_when_it_ends<R: Runtime>(window: &WebviewWindow<R>) {
    let watched = window.with_webview(|webview| {
        webview
            .inner()
            .connect_web_process_terminated(|view, reason| {
                let why = match reason {
                    WebProcessTerminationReason::Crashed => "it crashed",
                    WebProcessTerminationReason::ExceededMemoryLimit => {
                        "it went over WebKit's memory limit"
                    }
                    WebProcessTerminationReason::TerminatedByApi => "it was ended on request",
                    _ => "of a reason this WebKit does not name",
                };
                eprintln!(
                    "medshelf-app: the page's renderer ended because {why}; reloading the page"
                );
                view.reload();
            });
    });
    if let Err(e) = watched {
        eprintln!("medshelf-app: cannot watch the page's renderer: {e}");
    }
}
