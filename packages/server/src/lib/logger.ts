export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** `json`: one JSON object a line, for log collectors; `text`: one short line for people at a terminal. */
export type LogFormat = 'json' | 'text';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Log lines on a writer (stderr by default), one per event: JSON objects, or text for people. */
export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (l) => process.stderr.write(l),
  format: LogFormat = 'json',
  now: () => Date = () => new Date(),
): Logger {
  const min = ORDER[level];
  const log = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    const time = now();
    // JSON.stringify escapes C0 controls but leaves DEL, C1 and bidi characters raw: escaped too, the same JSON.
    write(format === 'text' ? `${textLine(time, lvl, msg, fields)}\n` : `${escapeControls(JSON.stringify({ time: time.toISOString(), level: lvl, pid: process.pid, msg, ...fields }))}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/**
 * `07:04:05 warn  password check failed username=admin address=127.0.0.1`: the time of day (UTC),
 * the level, the message and the fields as `key=value`. Values that are not plain words are
 * written as JSON strings, and every control character (of a request path, a user name: text
 * from clients) as an escape, so a log line can neither break into two nor act on the terminal.
 */
function textLine(time: Date, level: LogLevel, msg: string, fields: Record<string, unknown> = {}): string {
  const parts = [time.toISOString().slice(11, 19), level.padEnd(5), escapeControls(msg)];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    parts.push(`${escapeControls(key)}=${/^[\w.:/@+,[\]{}"-]*$/.test(text) && text !== '' ? escapeControls(text) : escapeControls(JSON.stringify(text))}`);
  }
  return parts.join(' ');
}

/** C0, DEL, C1 and the Unicode characters that reorder or hide text, as `\uXXXX`. */
function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Discards everything (tests). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
