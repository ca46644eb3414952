//! The tray icon and its menu, drawn from the engine's [`tray_model`].

use crate::shell::Shell;
use spotoken_desktop::menu::{Action, MenuEntry, TrayModel, tray_model};
use tauri::image::Image;
use tauri::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

const TRAY_ID: &str = "spotoken";
const ICON: &[u8] = include_bytes!("../../icons/tray.png");
const ICON_ATTENTION: &[u8] = include_bytes!("../../icons/tray-attention.png");

fn model<R: Runtime>(app: &AppHandle<R>) -> TrayModel {
    let shell = app.state::<Shell>();
    let notice = shell.notice().map(|n| format!("⚠ {}", n.message));
    match shell.engine().status() {
        Ok(report) => tray_model(&report, &local_clock, notice.as_deref()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the accounts for the tray");
            let none = spotoken_core::StatusReport::new(&[], shell.engine().clock().now());
            tray_model(&none, &local_clock, notice.as_deref())
        }
    }
}

/// "14:32" or "2:32 PM", in the person's time zone and clock format (as the window).
fn local_clock(at: spotoken_core::Timestamp) -> String {
    spotoken_core::ClockStyle::of_process().local_time(at)
}

fn build_entries<R: Runtime>(app: &AppHandle<R>, entries: &[MenuEntry]) -> tauri::Result<Vec<Box<dyn IsMenuItem<R>>>> {
    let mut out: Vec<Box<dyn IsMenuItem<R>>> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        match entry {
            MenuEntry::Item { label, action, enabled } => {
                out.push(Box::new(MenuItem::with_id(app, action.id(), label, *enabled, None::<&str>)?));
            }
            MenuEntry::Note(label) => {
                out.push(Box::new(MenuItem::with_id(app, format!("note:{i}"), label, false, None::<&str>)?));
            }
            MenuEntry::Submenu { label, entries } => {
                let children = build_entries(app, entries)?;
                let refs: Vec<&dyn IsMenuItem<R>> = children.iter().map(|c| c.as_ref()).collect();
                out.push(Box::new(Submenu::with_items(app, label, true, &refs)?));
            }
            MenuEntry::Separator => out.push(Box::new(PredefinedMenuItem::separator(app)?)),
        }
    }
    Ok(out)
}

fn menu<R: Runtime>(app: &AppHandle<R>, model: &TrayModel) -> tauri::Result<Menu<R>> {
    let items = build_entries(app, &model.entries)?;
    let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(|c| c.as_ref()).collect();
    Menu::with_items(app, &refs)
}

fn icon(attention: bool) -> tauri::Result<Image<'static>> {
    Image::from_bytes(if attention { ICON_ATTENTION } else { ICON })
}

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let model = model(app);
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(model.attention)?)
        .tooltip(&model.tooltip)
        .menu(&menu(app, &model)?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_click(app, event.id().as_ref()))
        .build(app)?;
    Ok(())
}

/// Redraws menu, tooltip and icon from the current state.
pub fn update<R: Runtime>(app: &AppHandle<R>) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else { return };
    let model = model(app);
    let result = menu(app, &model)
        .and_then(|m| tray.set_menu(Some(m)))
        .and_then(|()| tray.set_tooltip(Some(&model.tooltip)))
        .and_then(|()| icon(model.attention))
        .and_then(|i| tray.set_icon(Some(i)));
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not update the tray");
    }
}

fn on_click<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let Some(action) = Action::from_id(id) else { return };
    let app = app.clone();
    match action.clone() {
        Action::CopyToken(account) => {
            tauri::async_runtime::spawn(async move {
                let shell = app.state::<Shell>();
                match shell.copy_token(&app, &account, spotoken_core::activity::Channel::TrayCopy).await {
                    Ok(copied) => {
                        if shell.notice().is_some() {
                            shell.set_notice(None);
                            let _ = crate::shell::changed(&app);
                        }
                        let clears =
                            copied.clears_in_secs.map(|s| format!(" It is cleared in {s} s.")).unwrap_or_default();
                        crate::shell::notify(
                            &app,
                            "Access token copied",
                            &format!(
                                "Valid for at least {} minutes.{clears}",
                                crate::shell::HAND_OUT_MIN_VALID.as_secs() / 60
                            ),
                        );
                    }
                    Err(e) => {
                        // A bare window manager may have no notification daemon: the log,
                        // the tray's icon and menu, and the window's next opening say it too.
                        tracing::warn!(code = %e.code, "the tray could not copy a token");
                        crate::shell::notify(&app, "Could not copy the token", &format!("{} {}", e.message, e.fix));
                        shell.set_notice(Some(crate::ui_types::Diagnosis {
                            message: format!("Copy from the tray failed: {}", e.message),
                            ..e
                        }));
                        let _ = crate::shell::changed(&app);
                    }
                }
            });
        }
        Action::Refresh(account) => {
            tauri::async_runtime::spawn(async move {
                let shell = app.state::<Shell>();
                if let Err(e) = shell
                    .engine()
                    .refresh_within(&account, spotoken_core::activity::Actor::Tray, crate::shell::REFRESH_DEADLINE)
                    .await
                {
                    let d = e.diagnose();
                    crate::shell::notify(&app, "Refresh failed", &format!("{} {}", d.message, d.fix));
                }
                let _ = crate::shell::changed(&app);
            });
        }
        Action::Open | Action::Login | Action::Activity => {
            let page = match action {
                Action::Login => Some(crate::ui_types::Page::Login),
                Action::Activity => Some(crate::ui_types::Page::Activity),
                _ => None,
            };
            if let Err(e) = crate::window::open(&app, page) {
                tracing::warn!(error = %e, "cannot open the window");
            }
        }
        Action::Quit => app.exit(0),
    }
}
