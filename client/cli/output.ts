/**
 * How `wfo` prints: aligned `key: value` lines, text tables, byte sizes,
 * node counts by phase and one-line error messages. Pure functions of their
 * arguments; the commands decide what to print, this module how.
 */
import {
  ConflictError,
  type NodeMap,
  nodePhases,
  ServiceUnavailableError,
  type WfoApiError,
  type WorkflowMetadata,
  type WriteStats,
} from '../wfo-client.ts';

/** Drops what the client adds to the server's body (`etag`, `created`), so `--json` is the server's JSON. */
export function withoutClientFields<T extends object>(value: T): Omit<T, 'etag' | 'created'> {
  const { etag: _etag, created: _created, ...body } = value as T & { etag?: unknown; created?: unknown };
  return body;
}

/** The rows of a workflow's metadata, leaving out empty fields; `nodes` is the text of the nodes row. */
export function metadataRows(workflow: WorkflowMetadata, nodes: string): [string, string][] {
  const rows: [string, string | undefined][] = [
    ['uid', workflow.uid],
    ['namespace', workflow.namespace],
    ['name', workflow.name],
    ['phase', workflow.phase],
    ['message', workflow.message],
    ['shutdown', workflow.shutdown],
    ['resourceVersion', workflow.resourceVersion],
    ['nodeStatusVersion', workflow.nodeStatusVersion],
    ['nodes', nodes],
    ['createdAt', workflow.createdAt],
    ['updatedAt', workflow.updatedAt],
  ];
  return rows.filter((row): row is [string, string] => row[1] !== undefined && row[1] !== '');
}

/** What one write cost, in one line; `-` when the server did not say. */
export function describeWrite(write: WriteStats | undefined): string {
  if (write === undefined) return '-';
  return `${write.chunksWritten} chunk(s) written, ${write.chunksReused} reused, ${formatBytes(write.bytesWritten)}, ${write.writeUnits} write unit(s)`;
}

/** `Running 2, Succeeded 25`, in lifecycle order; nodes without a phase count as `none`. */
export function phaseCounts(nodes: NodeMap): string {
  const counts = new Map<string, number>();
  for (const node of Object.values(nodes)) {
    const phase = typeof node.phase === 'string' && node.phase !== '' ? node.phase : 'none';
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  }
  if (counts.size === 0) return 'none';
  const order = (phase: string): number => {
    const index = (nodePhases as readonly string[]).indexOf(phase);
    return index === -1 ? nodePhases.length : index;
  };
  return [...counts]
    .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
    .map(([phase, count]) => `${phase} ${count}`)
    .join(', ');
}

/** One line per node: id, phase, name and message, `-` where a node has none. */
export function nodeTable(nodes: NodeMap): string {
  const text = (value: unknown): string => (typeof value === 'string' && value !== '' ? oneLine(value) : '-');
  return table(
    ['ID', 'PHASE', 'NAME', 'MESSAGE'],
    Object.entries(nodes).map(([id, node]) => [
      id,
      text(node.phase),
      text(node.displayName ?? node.name),
      text(node.message),
    ]),
  );
}

/** `key:  value` lines with the values aligned. */
export function keyValues(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([key]) => key.length)) + 2;
  return rows.map(([key, value]) => `${`${key}:`.padEnd(width)}${value}`).join('\n');
}

/** Columns separated by two spaces; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `900 B`, `46.9 KiB`: binary units with one decimal. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `Code: message`, plus what to retry from (409) or how long to wait (503) when the server said. */
export function describeApiError(error: WfoApiError): string {
  let text = `${error.code}: ${error.message}`;
  if (error instanceof ConflictError && error.current !== undefined) {
    text += ` (current resourceVersion ${error.current.resourceVersion}, nodeStatusVersion ${error.current.nodeStatusVersion})`;
  }
  if (error instanceof ServiceUnavailableError && error.retryAfterSeconds !== undefined) {
    text += ` (retry after ${error.retryAfterSeconds}s)`;
  }
  return text;
}

/** Folds line breaks into spaces: an error or a table cell stays on one line. */
export const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();
