import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import { formatWindow, isWindowOpen, parseWindow } from './window.js';

describe('maintenance windows', () => {
  it.each([
    ['Sat 02:00-06:00 Europe/Brussels', 'Sat 02:00-06:00 Europe/Brussels'],
    ['sat,sun 2:00-6:30 UTC', 'Sat,Sun 02:00-06:30 UTC'],
    ['Mon-Fri 22:00-02:00 America/New_York', 'Mon,Tue,Wed,Thu,Fri 22:00-02:00 America/New_York'],
    ['Fri-Mon 00:00-24:00 UTC', 'Mon,Fri,Sat,Sun 00:00-24:00 UTC'],
    ['daily 01:00-05:00 Asia/Tokyo', 'daily 01:00-05:00 Asia/Tokyo'],
  ])('parses %s as %s', (text, shown) => {
    expect(formatWindow(parseWindow(text))).toBe(shown);
  });

  it.each([
    ['Sat 02:00-06:00', 'must be "<days> HH:MM-HH:MM <time zone>"'],
    ['Sat 02:00-06:00 Europe/Bruxelles', '"Europe/Bruxelles" is not a time zone'],
    ['Caturday 02:00-06:00 UTC', '"Caturday" is not a day'],
    ['Sat 2-6 UTC', 'must be HH:MM'],
    ['Sat 02:00-25:00 UTC', 'is not a time of day'],
    ['Sat 02:00-02:00 UTC', 'opens and closes at the same time'],
  ])('refuses %s, naming what is wrong', (text, message) => {
    let error: unknown;
    try {
      parseWindow(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('VALIDATION_ERROR');
    expect((error as AppError).message).toContain(message);
    expect((error as AppError).message).toMatch(/^window: /);
  });

  it('is open in its own time zone, summer time included', () => {
    const w = parseWindow('Sat 02:00-06:00 Europe/Brussels');
    expect(isWindowOpen(w, new Date('2026-03-21T00:59:00Z'))).toBe(false); // Sat 01:59 CET
    expect(isWindowOpen(w, new Date('2026-03-21T01:00:00Z'))).toBe(true); // Sat 02:00 CET
    expect(isWindowOpen(w, new Date('2026-03-21T04:59:00Z'))).toBe(true);
    expect(isWindowOpen(w, new Date('2026-03-21T05:00:00Z'))).toBe(false);
    expect(isWindowOpen(w, new Date('2026-07-04T00:30:00Z'))).toBe(true); // Sat 02:30 CEST
    expect(isWindowOpen(w, new Date('2026-07-04T04:30:00Z'))).toBe(false); // Sat 06:30 CEST
    expect(isWindowOpen(w, new Date('2026-03-22T01:30:00Z'))).toBe(false); // Sunday
  });

  it('a window past midnight belongs to the day it opens on', () => {
    const w = parseWindow('Fri 22:00-02:00 UTC');
    expect(isWindowOpen(w, new Date('2026-03-20T23:00:00Z'))).toBe(true); // Fri 23:00
    expect(isWindowOpen(w, new Date('2026-03-21T01:59:00Z'))).toBe(true); // Sat 01:59
    expect(isWindowOpen(w, new Date('2026-03-21T02:00:00Z'))).toBe(false);
    expect(isWindowOpen(w, new Date('2026-03-21T23:00:00Z'))).toBe(false); // Sat 23:00
    expect(isWindowOpen(w, new Date('2026-03-20T01:00:00Z'))).toBe(false); // Fri 01:00 (Thursday's night)
  });
});
