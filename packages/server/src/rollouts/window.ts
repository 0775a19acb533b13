import { invalid } from '../lib/errors.js';

/**
 * A maintenance window: the days it opens on, its start and end (minutes after local midnight) and
 * its IANA time zone. An end at or before the start closes on the next day (`Fri 22:00-02:00`).
 */
export interface MaintenanceWindow {
  /** 0 = Sunday ... 6 = Saturday, as Date.getDay(). */
  days: ReadonlySet<number>;
  start: number;
  end: number;
  timeZone: string;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FULL_DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const SHOWN = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function dayOf(text: string): number {
  const t = text.toLowerCase();
  const i = DAY_NAMES.indexOf(t) >= 0 ? DAY_NAMES.indexOf(t) : FULL_DAY_NAMES.indexOf(t);
  if (i < 0) throw invalid('window', `"${text}" is not a day; use Mon, Tue, Wed, Thu, Fri, Sat or Sun`);
  return i;
}

function minutesOf(text: string, what: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (!m) throw invalid('window', `the ${what} time "${text}" must be HH:MM`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 24 || min > 59 || (h === 24 && min > 0)) throw invalid('window', `the ${what} time "${text}" is not a time of day (00:00 to 24:00)`);
  return h * 60 + min;
}

/** The zone's canonical name, or a clear error: Intl knows every IANA zone of the runtime. */
export function checkTimeZone(zone: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw invalid('window', `"${zone}" is not a time zone DS knows; use an IANA name such as Europe/Brussels or UTC`);
  }
}

/**
 * Parses `<days> HH:MM-HH:MM <time zone>`: days are a day (`Sat`), a list (`Sat,Sun`), a span
 * (`Mon-Fri`, `Fri-Mon` wraps) or `daily`. Every error names what is wrong.
 */
export function parseWindow(text: string): MaintenanceWindow {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3) {
    throw invalid('window', `"${text}" must be "<days> HH:MM-HH:MM <time zone>", for example "Sat 02:00-06:00 Europe/Brussels"`);
  }
  const [dayText = '', hours = '', zone = ''] = parts;
  const days = new Set<number>();
  if (/^(daily|every-day|\*)$/i.test(dayText)) for (let d = 0; d < 7; d++) days.add(d);
  else {
    for (const item of dayText.split(',')) {
      const span = item.split('-');
      if (span.length === 1) days.add(dayOf(item));
      else if (span.length === 2) {
        const from = dayOf(span[0]!);
        const to = dayOf(span[1]!);
        for (let d = from; ; d = (d + 1) % 7) {
          days.add(d);
          if (d === to) break;
        }
      } else throw invalid('window', `"${item}" is not a day or a span of days such as Mon-Fri`);
    }
  }
  const times = hours.split('-');
  if (times.length !== 2) throw invalid('window', `"${hours}" must be a start and an end, HH:MM-HH:MM`);
  const start = minutesOf(times[0]!, 'start');
  const end = minutesOf(times[1]!, 'end');
  if (start === end) throw invalid('window', `"${hours}" opens and closes at the same time`);
  if (start === 24 * 60) throw invalid('window', 'a window cannot start at 24:00; start at 00:00 of the next day');
  return { days, start, end, timeZone: checkTimeZone(zone) };
}

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** The window as DS stores and shows it: `Sat 02:00-06:00 Europe/Brussels`, `Mon,Tue 22:00-02:00 UTC`, `daily ...`. */
export function formatWindow(w: MaintenanceWindow): string {
  const days = w.days.size === 7 ? 'daily' : [1, 2, 3, 4, 5, 6, 0].filter((d) => w.days.has(d)).map((d) => SHOWN[d]).join(',');
  return `${days} ${hhmm(w.start)}-${hhmm(w.end)} ${w.timeZone}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The weekday and minute of the day at `now` in `timeZone`. */
export function localTime(now: Date, timeZone: string): { day: number; minute: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { day: DAY_NAMES.indexOf(get('weekday').toLowerCase()), minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

/** Whether the window is open at `now` (a window past midnight belongs to the day it opened on). */
export function isWindowOpen(w: MaintenanceWindow, now: Date): boolean {
  const { day, minute } = localTime(now, w.timeZone);
  if (w.start < w.end) return w.days.has(day) && minute >= w.start && minute < w.end;
  return (w.days.has(day) && minute >= w.start) || (w.days.has((day + 6) % 7) && minute < w.end);
}
