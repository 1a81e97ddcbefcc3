// Times: stored and sent in UTC, shown in Japan Standard Time whatever the browser's zone.

const JST = 'Asia/Tokyo';
const full = new Intl.DateTimeFormat('ja-JP', { timeZone: JST, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** An ISO time (or epoch ms) as `2026/04/01 09:30:00 JST`. */
export function formatJst(t: string | number | null | undefined): string {
  if (t === null || t === undefined || t === '') return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return `${full.format(d)} JST`;
}

/** The value of a datetime-local input (read as JST) as a UTC ISO string. */
export function jstInputToIso(local: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]) - 9, Number(m[5]));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Now, as a datetime-local value in JST (the form's default). */
export function nowJstInput(nowMs: number = Date.now()): string {
  return new Date(nowMs + 9 * 3_600_000).toISOString().slice(0, 16);
}

/** Time from now to `iso` in whole minutes (negative once past). */
export function minutesUntil(iso: string, nowMs: number = Date.now()): number {
  return Math.round((Date.parse(iso) - nowMs) / 60_000);
}
