import type { ClockStyle } from "./bindings";

// The window formats its own durations: they tick every second while it is visible, so
// they cannot come from the app as text. The command line's `clock::human_duration`
// ("59m 58s", "181d 0h") is the terse form of the same figures for a terminal.

/** "59:58", "1:02:03", "expired" — for live countdowns. */
export function countdown(secondsLeft: number): string {
  if (secondsLeft <= 0) return "expired";
  const h = Math.floor(secondsLeft / 3600);
  const m = Math.floor((secondsLeft % 3600) / 60);
  const s = Math.floor(secondsLeft % 60);
  const mm = String(m).padStart(2, "0");
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${m}:${ss}`;
}

/** "181 days", "3 days 4 h", "5 h" — for the refresh token's months. */
export function longDuration(secondsLeft: number): string {
  if (secondsLeft <= 0) return "expired";
  const d = Math.floor(secondsLeft / 86400);
  const h = Math.floor((secondsLeft % 86400) / 3600);
  if (d >= 14) return `${d} days`;
  if (d >= 1) return `${d} day${d === 1 ? "" : "s"} ${h} h`;
  return `${h} h ${Math.floor((secondsLeft % 3600) / 60)} min`;
}

/** Unix seconds now, from the local clock. */
export const nowSecs = () => Date.now() / 1000;

// The desktop's locale and clock format, as the app reads them (the tray writes times
// the same way); until the first overview, the web view's own.
let style: ClockStyle = { locale: null, hour12: false };
let format = makeFormat();

function makeFormat(): Intl.DateTimeFormat {
  const options: Intl.DateTimeFormatOptions = {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "numeric",
    minute: "2-digit",
    hour12: style.hour12,
  };
  try {
    return new Intl.DateTimeFormat(style.locale ?? undefined, options);
  } catch {
    return new Intl.DateTimeFormat(undefined, options);
  }
}

/** Follows the desktop's clock style (from each overview). */
export function setClockStyle(next: ClockStyle) {
  if (next.locale === style.locale && next.hour12 === style.hour12) return;
  style = next;
  format = makeFormat();
}

/** "Wed 25 Nov, 14:32" (or "Wed, Nov 25, 2:32 PM") in the person's time zone and locale. */
export function localTime(unixSecs: number): string {
  return format.format(new Date(unixSecs * 1000));
}
