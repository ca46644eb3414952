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

/** "Wed 25 Nov, 14:32" in the person's time zone. */
export function localTime(unixSecs: number): string {
  return new Date(unixSecs * 1000).toLocaleString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}
