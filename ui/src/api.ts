// Calls into the Rust shell and its events. Types and calls come from bindings.ts, generated from Rust.
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import {
  EVENT_ACTIVITY,
  EVENT_LOGIN_FINISHED,
  EVENT_NAVIGATE,
  EVENT_OVERVIEW,
  commands,
  type LoginFinished,
  type Overview,
  type Page,
  type UiError,
} from "./bindings";

/** The window's commands, generated with their argument and answer types from the one
 * declaration in src-tauri/src/command_list.rs. */
export const api = commands;

export function onOverview(handler: (o: Overview) => void): Promise<UnlistenFn> {
  return listen<Overview>(EVENT_OVERVIEW, (e) => handler(e.payload));
}

export function onLoginFinished(handler: (f: LoginFinished) => void): Promise<UnlistenFn> {
  return listen<LoginFinished>(EVENT_LOGIN_FINISHED, (e) => handler(e.payload));
}

export function onNavigate(handler: (p: Page) => void): Promise<UnlistenFn> {
  return listen<Page>(EVENT_NAVIGATE, (e) => handler(e.payload));
}

export function onActivity(handler: () => void): Promise<UnlistenFn> {
  return listen<null>(EVENT_ACTIVITY, () => handler());
}

/** Commands reject with a UiError; anything else becomes one. */
export function asUiError(e: unknown): UiError {
  if (e && typeof e === "object" && "code" in e && "message" in e && "fix" in e) return e as UiError;
  return {
    code: "ipc_error",
    message: `The window could not reach the app (${String(e)}).`,
    fix: "Try again; if it repeats, restart Spotoken.",
    next: null,
  };
}

export const CLIENT_ID = /^[0-9a-fA-F]{32}$/;
