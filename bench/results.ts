/** Writes a run's JSON under bench/results/: a timestamped file and a stable `<kind>-latest.json`. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileTimestamp } from './support/stats.ts';

export const resultsDirectory = fileURLToPath(new URL('./results/', import.meta.url));

export async function writeResults(kind: string, data: unknown, at = new Date()): Promise<string[]> {
  await mkdir(resultsDirectory, { recursive: true });
  const text = `${JSON.stringify(data, null, 2)}\n`;
  const files = [
    join(resultsDirectory, `${kind}-${fileTimestamp(at)}.json`),
    join(resultsDirectory, `${kind}-latest.json`),
  ];
  for (const file of files) await writeFile(file, text);
  return files.map((file) => file.slice(file.indexOf('bench/results/')));
}
