// Calls into the Rust shell and its events. Types and calls come from bindings.ts, generated from Rust.
import { commands, events, type Diagnosis } from "./bindings";

/** The window's commands, generated with their argument and answer types from the one
 * declaration in src-tauri/src/command_list.rs. */
export const api = commands;

/** The app's events, typed from their one declaration in src-tauri/src/ui_types.rs. */
export const { onOverview, onLoginFinished, onNavigate, onActivity } = events;

/** Commands reject with a Diagnosis; anything else becomes one. */
export function asDiagnosis(e: unknown): Diagnosis {
  if (e && typeof e === "object" && "code" in e && "message" in e && "fix" in e) return e as Diagnosis;
  return {
    code: "ipc_error",
    message: `The window could not reach the app (${String(e)}).`,
    fix: "Try again; if it repeats, restart Spotoken.",
    next: null,
  };
}

