// Days (`YYYY-MM-DD`) and months (`YYYY-MM`) are computed here, in UTC, and stored as text, so
// no query needs a dialect's date functions (ARCHITECTURE.md, storage).

export const dayOf = (date: Date): string => date.toISOString().slice(0, 10);
export const monthOf = (date: Date): string => date.toISOString().slice(0, 7);
/** The month (`YYYY-MM`) of a day (`YYYY-MM-DD`). */
export const monthOfDay = (day: string): string => day.slice(0, 7);

/** The month `n` months after `month` (negative: before). */
export function addMonths(month: string, n: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const index = y * 12 + (m - 1) + n;
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}

export const firstDay = (month: string): string => `${month}-01`;

/** The day `n` days after `day` (negative: before). */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** The last day of a month. */
export const lastDay = (month: string): string => addDays(firstDay(addMonths(month, 1)), -1);

/** Every month from `from` to `to`, both included. */
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let m = from; m <= to; m = addMonths(m, 1)) out.push(m);
  return out;
}

/** True for a real calendar day (not 2026-02-30). */
export const isRealDay = (day: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(Date.parse(`${day}T00:00:00Z`)) && dayOf(new Date(`${day}T00:00:00Z`)) === day;

/** True for a real month (01-12). */
export const isRealMonth = (month: string): boolean => /^\d{4}-(0[1-9]|1[0-2])$/.test(month);
