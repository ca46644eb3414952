// The record's codes in words for people. The codes themselves stay in `spotoken
// activity --json` and in each row's details.
import type { ErrorCode } from "./bindings";

const CHANNELS: Record<string, string> = {
  "cli-token": "spotoken token",
  "cli-api": "spotoken api",
  "cli-exec": "spotoken exec",
  "tray-copy": "Copy in the tray",
  "window-copy": "Copy in the window",
  "window-reveal": "Reveal in the window",
  agent: "the agent's socket",
};

const ACTORS: Record<string, string> = {
  "app-background": "the app, in the background",
  cli: "the command line",
  window: "you, in the window",
  tray: "you, from the tray",
  agent: "the agent",
};

const OUTCOMES: Record<string, string> = {
  served: "Given out",
  refreshed: "Given out, after a refresh",
  failed: "Failed",
  again: "Signed in again",
  new: "New sign-in",
  rotated: "Done; Spotify sent a new refresh token",
  kept: "Done; same refresh token",
  omitted: "Done",
};

const CODES: Record<ErrorCode, string> = {
  endpoint_unknown: "no such Web API operation",
  not_the_web_api: "not a Web API address",
  not_configured: "no Client ID set",
  client_id_invalid: "the Client ID is not valid",
  scope_unknown: "an unknown scope",
  settings_invalid: "the settings could not be read",
  no_account: "no account signed in",
  account_ambiguous: "more than one account matched",
  account_unknown: "no such account",
  needs_sign_in: "the account needs to sign in again",
  keychain_entry_missing: "the tokens were not in the keychain",
  keychain_entry_cut: "the keychain kept only part of the tokens",
  rate_limited: "Spotify asked to slow down",
  quota_exceeded: "the app's Spotify quota was used up",
  spotify_unavailable: "Spotify had a problem on its side",
  network_down: "Spotify could not be reached",
  lock_timeout: "another refresh took too long",
  pagination_stopped: "a list's pages were not followed to the end",
  keychain_unavailable: "the keychain could not be reached",
  keychain_no_session_bus: "no desktop session for the keychain",
  keychain_locked: "the keychain was locked",
  keychain_timeout: "the keychain did not answer",
  keychain_unlock_cancelled: "the keychain's unlock was cancelled",
  keychain_no_collection: "the keychain has nowhere to keep tokens",
  keychain_error: "the keychain refused",
  agent_running: "another agent is already running",
  store_unknown: "the token store setting is not one Spotoken knows",
  store_key_missing: "the encrypted store has no key",
  store_key_unusable: "the encrypted store's key cannot be used",
  store_key_wrong: "the encrypted store's key does not fit",
  callback_invalid: "the sign-in's return address was damaged",
  callback_state_mismatch: "the return address was for another sign-in",
  login_denied: "access was declined on Spotify's page",
  login_error: "Spotify ended the sign-in with an error",
  login_timeout: "the sign-in took too long",
  login_cancelled: "the sign-in was cancelled",
  login_not_pending: "no sign-in was waiting",
  loopback_unavailable: "the local return address could not be opened",
  code_invalid: "Spotify refused the sign-in code",
  code_expired: "the sign-in code had expired",
  pkce_mismatch: "the sign-in's proof did not match",
  redirect_uri_mismatch: "the redirect URI is not registered on Spotify",
  refresh_revoked: "Spotify no longer accepts this sign-in",
  client_invalid: "Spotify does not know this Client ID",
  token_endpoint_error: "Spotify's token service refused",
  access_token_expired: "the access token had expired",
  access_token_invalid: "Spotify refused the access token",
  scope_missing: "a scope was missing",
  user_not_registered: "the account is not on the app's user list",
  premium_required: "Spotify Premium is needed",
  web_api_error: "the Web API refused",
  endpoint_withdrawn: "the operation is withdrawn for this app",
  approval_unavailable: "no one could be asked to allow the program",
  handout_denied: "you denied the program",
  unexpected_response: "Spotify answered something unexpected",
  io_error: "a file could not be read or written",
  browser_unavailable: "no browser could be opened",
  clipboard_error: "the clipboard refused",
  window_error: "the window could not be shown",
  autostart_error: "start at login could not be changed",
  activity_unreadable: "the activity record could not be read",
  ipc_error: "the window could not reach the app",
  unknown: "something unexpected happened",
};

export const channelWords = (c: string | null | undefined) => (c ? (CHANNELS[c] ?? c) : "");
export const actorWords = (a: string | null | undefined) => (a ? (ACTORS[a] ?? a) : "");
export const outcomeWords = (o: string | null | undefined) => (o ? (OUTCOMES[o] ?? o) : "");
export const codeWords = (code: string | null | undefined) => (code ? (CODES[code as ErrorCode] ?? code) : "");
