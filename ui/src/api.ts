// Typed calls into the Rust shell. Types come from bindings.ts, generated from Rust.
import { invoke as tauriInvoke, type InvokeArgs } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import {
  EVENT_ACTIVITY,
  EVENT_LOGIN_FINISHED,
  EVENT_NAVIGATE,
  EVENT_OVERVIEW,
  type ActivityQuery,
  type CommandName,
  type ActivityView,
  type Approval,
  type CallCheck,
  type Copied,
  type LinkCheck,
  type LoginFinished,
  type Overview,
  type Page,
  type Redirect,
  type ScopeCatalog,
  type SettingsInput,
  type UiError,
  type WebPage,
} from "./bindings";

/** Only the declared commands (a misspelt name fails `npm run check`). */
const invoke = <T>(command: CommandName, args?: InvokeArgs) => tauriInvoke<T>(command, args);

export const api = {
  overview: () => invoke<Overview>("overview"),
  scopeCatalog: () => invoke<ScopeCatalog>("scope_catalog"),
  saveSettings: (input: SettingsInput) => invoke<Overview>("save_settings", { input }),
  startLogin: (scopes: string[], showDialog: boolean, account: string | null) =>
    invoke<Overview>("start_login", { scopes, showDialog, account }),
  cancelLogin: () => invoke<Overview>("cancel_login"),
  refreshNow: (account: string) => invoke<Overview>("refresh_now", { account }),
  copyToken: (account: string) => invoke<Copied>("copy_token", { account }),
  revealToken: (account: string) => invoke<string>("reveal_token", { account }),
  signOut: (account: string) => invoke<Overview>("sign_out", { account }),
  copyRedirectUri: (which: Redirect) => invoke<null>("copy_redirect_uri", { which }),
  openLink: (link: WebPage) => invoke<null>("open_link", { link }),
  uiReady: () => invoke<null>("ui_ready"),
  checkDeepLink: () => invoke<LinkCheck>("check_deep_link"),
  pasteRedirect: (address: string) => invoke<Overview>("paste_redirect", { address }),
  copyLoginAddress: () => invoke<null>("copy_login_address"),
  dismissNotice: () => invoke<Overview>("dismiss_notice"),
  setAutostart: (enabled: boolean) => invoke<Overview>("set_autostart", { enabled }),
  activity: (query: ActivityQuery) => invoke<ActivityView>("activity", { query }),
  acknowledge: (id: string | null, account: string | null) => invoke<Overview>("acknowledge", { id, account }),
  answerRequest: (id: string, approval: Approval) => invoke<Overview>("answer_request", { id, approval }),
  canCall: (account: string, query: string) => invoke<CallCheck[]>("can_call", { account, query }),
  setAskNewPrograms: (account: string, enabled: boolean) =>
    invoke<Overview>("set_ask_new_programs", { account, enabled }),
};

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
