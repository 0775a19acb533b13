import { readFileSync } from 'node:fs';

/** DS's own version, from the server package (same path from src/ and dist/). */
export const DS_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
