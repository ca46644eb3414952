//! The window's commands as Tauri sees them, all made from their one declaration
//! ([`command_list.rs`]): for each, a `#[tauri::command]` whose parameters are the
//! declared names (the keys the window sends) and types, calling the
//! [`crate::commands`] function of the same name, so the compiler checks every
//! function against its declaration; the handler that registers them; their names; and
//! their TypeScript, one typed call each, for `ui/src/bindings.ts`.

use crate::shell::Shell;
use crate::ui_types::*;
use spotoken_core::diagnose::WebPage;
use tauri::{AppHandle, Runtime, State, WebviewWindow};

macro_rules! app_commands {
    (@call async $e:expr) => { $e.await };
    (@call $e:expr) => { $e };
    (@ty app) => { AppHandle<R> };
    (@ty shell) => { State<'_, Shell> };
    (@ty window) => { WebviewWindow<R> };
    (@fn $name:ident ($($inj:ident),*) ($($arg:ident : $ty:ty),*) $($async:ident)? -> $ret:ty) => {
        #[tauri::command]
        pub $($async)? fn $name<R: Runtime>(
            _runtime: AppHandle<R>,
            $($inj: app_commands!(@ty $inj),)*
            $($arg: $ty),*
        ) -> Result<$ret, Diagnosis> {
            app_commands!(@call $($async)? crate::commands::$name($($inj,)* $($arg),*))
        }
    };
    ($( $name:ident ( $($inj:ident),* $(| $($arg:ident : $ty:ty),+ )? ) $($async:ident)? -> $ret:ty ; )*) => {
        /// Their names.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        $( app_commands!(@fn $name ($($inj),*) ($($($arg : $ty),+)?) $($async)? -> $ret); )*

        /// Registers every command with Tauri.
        pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        /// Their TypeScript: one typed call each.
        pub fn typescript(cfg: &ts_rs::Config) -> String {
            let mut out = String::new();
            $( {
                let args: Vec<(&str, String)> = vec![$($((stringify!($arg), <$ty as ts_rs::TS>::name(cfg))),+)?];
                out.push_str(&command_typescript(stringify!($name), &args, &<$ret as ts_rs::TS>::name(cfg)));
            } )*
            out
        }
    };
}
include!("command_list.rs");

/// One command as a typed TypeScript call: `saveSettings: (input: SettingsInput) =>
/// invoke<Overview>("save_settings", { input }),` (Tauri takes camelCase argument names).
pub fn command_typescript(name: &str, args: &[(&str, String)], answer: &str) -> String {
    let camel = |s: &str| -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in s.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    };
    let params: Vec<String> = args.iter().map(|(a, ty)| format!("{}: {ty}", camel(a))).collect();
    let keys: Vec<String> = args.iter().map(|(a, _)| camel(a)).collect();
    let payload = if keys.is_empty() { String::new() } else { format!(", {{ {} }}", keys.join(", ")) };
    format!("  {}: ({}) => invoke<{answer}>(\"{name}\"{payload}),\n", camel(name), params.join(", "))
}
