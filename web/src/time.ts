// Timestamps in the viewer's own time zone and locale, always with the date.

const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** "25 Nov 2026, 14:05" in the viewer's locale. */
export function formatTimestamp(unixMs: number): string {
  return full.format(new Date(unixMs));
}

/** ISO form for `<time datetime>`. */
export function isoTimestamp(unixMs: number): string {
  return new Date(unixMs).toISOString();
}
