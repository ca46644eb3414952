//! The events the app sends the window, each declared once with its payload (a type
//! from `ui_types.rs`).

use crate::ui_types::{LoginFinished, Overview, Page, Theme};
use ts_rs::TS;

/// The events the app sends the window, each declared once with its payload: an
/// `emit_…` function that takes only that payload, and a typed listener in
/// `ui/src/bindings.ts` (`events.onOverview(…)`).
macro_rules! app_events {
    ($( $(#[$doc:meta])* $name:literal : $payload:ty => $emit:ident, $listen:ident; )*) => {
        $(
            $(#[$doc])*
            pub fn $emit<R: tauri::Runtime>(to: &impl tauri::Emitter<R>, payload: &$payload) -> tauri::Result<()> {
                to.emit($name, payload)
            }
        )*

        pub(crate) fn events_typescript(cfg: &ts_rs::Config) -> String {
            let mut out = String::from("/** The app's events, typed as declared (src-tauri/src/events.rs). */\nexport const events = {\n");
            $(
                let payload = <$payload as TS>::name(cfg);
                out.push_str(&format!(
                    "  {}: (handler: (payload: {payload}) => void): Promise<UnlistenFn> =>\n    listen<{payload}>(\"{}\", (e) => handler(e.payload)),\n",
                    stringify!($listen),
                    $name
                ));
            )*
            out.push_str("};\n");
            out
        }
    };
}

app_events! {
    /// Everything the window shows changed.
    "overview": Overview => emit_overview, onOverview;
    /// A login ended (with its account or its error).
    "login-finished": LoginFinished => emit_login_finished, onLoginFinished;
    /// Show this part of the window (the tray asked).
    "navigate": Page => emit_navigate, onNavigate;
    /// The activity record changed.
    "activity": () => emit_activity, onActivity;
    /// The desktop switched between light and dark.
    "appearance": Theme => emit_appearance, onAppearance;
}
