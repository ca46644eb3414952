// Generated from src-tauri/src/ui_types.rs and src-tauri/src/command_list.rs by ts-rs. Do not
// edit: run `UPDATE_BINDINGS=1 cargo test -p spotoken-app --lib` after changing them.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

export type ErrorCode = "endpoint_unknown" | "not_the_web_api" | "not_configured" | "client_id_invalid" | "scope_unknown" | "settings_invalid" | "no_account" | "account_ambiguous" | "account_unknown" | "needs_sign_in" | "keychain_entry_missing" | "keychain_entry_cut" | "rate_limited" | "quota_exceeded" | "spotify_unavailable" | "network_down" | "lock_timeout" | "pagination_stopped" | "keychain_unavailable" | "keychain_no_session_bus" | "keychain_locked" | "keychain_timeout" | "keychain_unlock_cancelled" | "keychain_no_collection" | "keychain_error" | "store_unknown" | "store_key_missing" | "store_key_unusable" | "store_key_wrong" | "agent_running" | "callback_invalid" | "callback_state_mismatch" | "login_denied" | "login_error" | "login_timeout" | "login_cancelled" | "login_not_pending" | "loopback_unavailable" | "code_invalid" | "code_expired" | "pkce_mismatch" | "redirect_uri_mismatch" | "refresh_revoked" | "client_invalid" | "token_endpoint_error" | "access_token_expired" | "access_token_invalid" | "scope_missing" | "user_not_registered" | "premium_required" | "web_api_error" | "endpoint_withdrawn" | "approval_unavailable" | "handout_denied" | "unexpected_response" | "io_error" | "browser_unavailable" | "clipboard_error" | "window_error" | "autostart_error" | "activity_unreadable" | "ipc_error" | "unknown";

/** A Client ID as the engine accepts it. */
export const CLIENT_ID_PATTERN = /^[0-9a-fA-F]{32}$/;

/** How long Spotify keeps a sign-in's refresh token. */
export const REFRESH_TOKEN_MONTHS = 6;

export type Diagnosis = { 
/**
 * Stable, `snake_case`; documented in the README.
 */
code: ErrorCode, message: string, 
/**
 * What to do, in words for any front end.
 */
fix: string, 
/**
 * The same as a step a front end can offer: a command, a button.
 */
next?: NextStep | null, };

export type RedirectKind = "loopback" | "deep-link";

export type AccountState = "ok" | "needs_sign_in" | "error";

export type Scopes = { requested: Array<string>, granted: Array<string>, 
/**
 * Requested but not granted.
 */
missing: Array<string>, };

export type AccountView = { id: string, display_name: string | null, 
/**
 * The Client ID it signed in through, shortened (a person may use several).
 */
client_id_short: string, state: AccountState, access_expires_at: number, refresh_expires_at: number, authorized_at: string, last_refresh_at: string | null, scopes: Scopes, last_error: Diagnosis | null, 
/**
 * What to act on soon, other than missing scopes (shown as chips).
 */
warnings: Array<string>, 
/**
 * How long the refresh token lives in all, for its meter.
 */
refresh_lifetime_secs: number, 
/**
 * Under this much left, the refresh token's meter turns amber.
 */
refresh_warning_secs: number, 
/**
 * The background refresher renews the access token this long before it ends.
 */
refresh_lead_secs: number, 
/**
 * Anomalies not acknowledged yet.
 */
anomalies: Array<AnomalyView>, 
/**
 * A program new to the account waits for the person's answer before it gets a token.
 */
asks_before_new_program: boolean, 
/**
 * Spotify's request quota for the Client ID is used up (`QUOTA_EXCEEDED`): until
 * then (unix seconds), or `None` when Spotify did not say. `null`: not used up.
 */
quota_exceeded: QuotaView | null, };

export type QuotaView = { 
/**
 * When it ends (unix seconds), if Spotify said.
 */
until: number | null, };

export type AnomalyView = { id: string, 
/**
 * Unix seconds.
 */
at: number, account: string, code: string, 
/**
 * `alert` (the tokens may be in other hands) or `notice`.
 */
severity: string, title: string, message: string, fix: string, acknowledged: boolean, };

export type RequestView = { id: string, 
/**
 * Unix seconds.
 */
at: number, account: string, program: string, program_path: string | null, };

export type Approval = "allow-once" | "always" | "deny";

export type ActivityEventView = { 
/**
 * Unix seconds.
 */
at: number, account: string, 
/**
 * `handout`, `refresh`, `sign-in`, `sign-out`, `scopes` or `keychain` (a repair).
 */
kind: string, channel: string | null, by: string | null, program: string | null, program_path: string | null, fingerprint: string | null, outcome: string | null, code: string | null, detail: string | null, };

export type ActivityQuery = { account: string | null, channel: string | null, program: string | null, };

export type ActivityView = { events: Array<ActivityEventView>, 
/**
 * Events left out of `events` beyond the first [`ACTIVITY_PAGE`].
 */
more: number, 
/**
 * Hand-outs per hour over the last 7 days, oldest first, after the filters.
 */
per_hour: Array<number>, 
/**
 * Unix seconds at which the first hour of `per_hour` starts.
 */
per_hour_from: number, 
/**
 * Open anomalies first, then the acknowledged, newest first within each.
 */
anomalies: Array<AnomalyView>, accounts: Array<string>, channels: Array<string>, programs: Array<string>, };

export type SettingsView = { client_id: string | null, 
/**
 * Set by `SPOTOKEN_CLIENT_ID`, which wins over the settings file.
 */
client_id_from_env: boolean, redirect: RedirectKind, scopes: Array<string>, 
/**
 * 0: never clear copied tokens from the clipboard.
 */
clipboard_clear_secs: number, 
/**
 * Starts in the tray when the person logs in; `null` where that cannot be arranged.
 */
autostart: boolean | null, 
/**
 * Each kind of anomaly, and whether it is shown as a desktop notification.
 */
anomaly_kinds: Array<AnomalyKind>, 
/**
 * More hand-outs than this for one account within a minute is a burst.
 */
burst_per_minute: number, };

export type AnomalyKind = { code: string, title: string, notify: boolean, };

export type SettingsInput = { client_id: string, redirect: RedirectKind, scopes: Array<string>, clipboard_clear_secs: number, 
/**
 * The anomaly codes to show as desktop notifications.
 */
notify_anomalies: Array<string>, burst_per_minute: number, };

export type RedirectUris = { deep_link: string, loopback: string, };

export type Overview = { settings: SettingsView, accounts: Array<AccountView>, 
/**
 * The login in progress, if one is pending.
 */
login: LoginView | null, redirect_uris: RedirectUris, 
/**
 * A failure the person has not seen (a tray copy with no notification daemon).
 */
notice: Diagnosis | null, 
/**
 * Programs waiting for the person to allow them a token, oldest first.
 */
requests: Array<RequestView>, 
/**
 * How times of day are written, as the tray writes them.
 */
clock: ClockStyle, };

export type LoginView = { redirect: RedirectKind, 
/**
 * The consent page's address, for a browser on another profile or machine.
 */
address: string, 
/**
 * Unix seconds: when the login stops waiting.
 */
expires_at: number, 
/**
 * How long a login waits, in seconds.
 */
timeout_secs: number, };

export type LinkCheck = { ok: boolean, message: string, 
/**
 * What to do when it failed; empty when it passed.
 */
fix: string, 
/**
 * The exact command to try, when there is one.
 */
command: string | null, };

export type LoginFinished = { account: AccountView | null, error: Diagnosis | null, };

export type ScopeInfo = { name: string, meaning: string, group: string, };

export type Preset = { name: string, scopes: Array<string>, };

export type ScopeCatalog = { scopes: Array<ScopeInfo>, presets: Array<Preset>, };

export type Copied = { account: string, 
/**
 * Seconds until the clipboard is cleared, if it will be.
 */
clears_in_secs: number | null, };

export type CallCheck = { method: string, path: string, summary: string, 
/**
 * Needed for the call.
 */
required: Array<string>, 
/**
 * Of those, the ones the account lacks.
 */
missing: Array<string>, 
/**
 * Listed but not needed: they add fields to the answer.
 */
optional: Array<string>, 
/**
 * Withdrawn for development-mode apps.
 */
withdrawn: boolean, 
/**
 * What replaced it, as `METHOD /path`.
 */
replacement: string | null, reference: string, };

export type WebPage = "dashboard" | "account_apps";

export type NextStep = { "step": "sign_in", account: string | null, } | { "step": "add_scopes", account: string | null, scopes: Array<string>, } | { "step": "set_client_id" } | { "step": "choose_account", accounts: Array<string>, } | { "step": "show_accounts" } | { "step": "show_scopes" } | { "step": "open", page: WebPage, };

export type Page = "login" | "activity";

export type Theme = "light" | "dark";

export type ClockStyle = { 
/**
 * `None` for the C and POSIX locales (and when none is set).
 */
locale: string | null, hour12: boolean, };

/** The window's commands, typed as declared: each rejects with a Diagnosis. */
export const commands = {
  overview: () => invoke<Overview>("overview"),
  scopeCatalog: () => invoke<ScopeCatalog>("scope_catalog"),
  saveSettings: (input: SettingsInput) => invoke<Overview>("save_settings", { input }),
  startLogin: (scopes: Array<string>, showDialog: boolean, account: string | null) => invoke<Overview>("start_login", { scopes, showDialog, account }),
  cancelLogin: () => invoke<Overview>("cancel_login"),
  refreshNow: (account: string) => invoke<Overview>("refresh_now", { account }),
  stopRefresh: (account: string) => invoke<boolean>("stop_refresh", { account }),
  copyToken: (account: string) => invoke<Copied>("copy_token", { account }),
  revealToken: (account: string) => invoke<string>("reveal_token", { account }),
  signOut: (account: string) => invoke<Overview>("sign_out", { account }),
  copyRedirectUri: (which: RedirectKind) => invoke<null>("copy_redirect_uri", { which }),
  openLink: (link: WebPage) => invoke<null>("open_link", { link }),
  uiReady: () => invoke<null>("ui_ready"),
  appearance: () => invoke<Theme | null>("appearance"),
  checkDeepLink: () => invoke<LinkCheck>("check_deep_link"),
  pasteRedirect: (address: string) => invoke<Overview>("paste_redirect", { address }),
  copyLoginAddress: () => invoke<null>("copy_login_address"),
  dismissNotice: () => invoke<Overview>("dismiss_notice"),
  setAutostart: (enabled: boolean) => invoke<Overview>("set_autostart", { enabled }),
  activity: (query: ActivityQuery) => invoke<ActivityView>("activity", { query }),
  acknowledge: (id: string | null, account: string | null) => invoke<Overview>("acknowledge", { id, account }),
  answerRequest: (id: string, approval: Approval) => invoke<Overview>("answer_request", { id, approval }),
  setAskNewPrograms: (account: string, enabled: boolean) => invoke<Overview>("set_ask_new_programs", { account, enabled }),
  canCall: (account: string, query: string) => invoke<Array<CallCheck>>("can_call", { account, query }),
};

/** The app's events, typed as declared (src-tauri/src/events.rs). */
export const events = {
  onOverview: (handler: (payload: Overview) => void): Promise<UnlistenFn> =>
    listen<Overview>("overview", (e) => handler(e.payload)),
  onLoginFinished: (handler: (payload: LoginFinished) => void): Promise<UnlistenFn> =>
    listen<LoginFinished>("login-finished", (e) => handler(e.payload)),
  onNavigate: (handler: (payload: Page) => void): Promise<UnlistenFn> =>
    listen<Page>("navigate", (e) => handler(e.payload)),
  onActivity: (handler: (payload: null) => void): Promise<UnlistenFn> =>
    listen<null>("activity", (e) => handler(e.payload)),
  onAppearance: (handler: (payload: Theme) => void): Promise<UnlistenFn> =>
    listen<Theme>("appearance", (e) => handler(e.payload)),
};
