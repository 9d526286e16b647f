const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

/**
 * A duration in seconds as a person would say it: the largest whole unit, days only from a week on
 * (172 800 s is "48 hours", 604 800 s "7 days", 5 400 s "90 minutes").
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s >= 7 * 86_400 && s % 86_400 === 0) return plural(s / 86_400, 'day');
  if (s % 3600 === 0) return plural(s / 3600, 'hour');
  if (s % 60 === 0) return plural(s / 60, 'minute');
  return plural(s, 'second');
}
