/**
 * The client's local cache: the last version seen of each workflow, as a
 * gzip file named by the SHA-256 of its bytes (so a read checks the file
 * against its name), pointed at by one small reference file per workflow.
 * Writes go to a temporary file that is then renamed, so two processes
 * sharing the folder never see half a file; the last writer of a reference
 * wins, and either entry is a valid one. The folder is kept under a size
 * bound by removing the least recently used entries. What is read back is
 * also checked against its version id by the caller; a corrupt entry is
 * removed and treated as absent, never served.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { NodeMap, WorkflowMetadata } from './wfo-client.ts';

/** One cached version of one workflow. */
export interface CacheEntry {
  readonly workflow: WorkflowMetadata;
  readonly nodes: NodeMap;
}

export interface NodeCacheOptions {
  /** The folder; default {@link defaultCacheDirectory}. */
  readonly directory?: string;
  /** The service the entries come from: each service has its own sub-folder. */
  readonly baseUrl: string;
  /** Most bytes the entries may take; default 512 MiB (`WFO_CACHE_MAX_BYTES`). */
  readonly maxBytes?: number;
}

/** `WFO_CACHE_DIR`, else `$XDG_CACHE_HOME/wfo`, else `~/.cache/wfo`. */
export function defaultCacheDirectory(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  if (env.WFO_CACHE_DIR) return env.WFO_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'wfo');
  return join(homedir(), '.cache', 'wfo');
}

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');
const refName = (uid: string): string => `${Buffer.from(uid, 'utf8').toString('base64url')}.ref`;
const isMissing = (error: unknown): boolean => (error as { code?: string }).code === 'ENOENT';

export class NodeCache {
  readonly directory: string;
  private readonly maxBytes: number;

  constructor(options: NodeCacheOptions) {
    this.directory = join(options.directory ?? defaultCacheDirectory(), sha256(options.baseUrl).slice(0, 16));
    this.maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
  }

  /** The cached entry of a workflow, or undefined (none, or unreadable: then it is removed). */
  async get(uid: string): Promise<CacheEntry | undefined> {
    let blob: string;
    try {
      blob = (await readFile(join(this.directory, refName(uid)), 'utf8')).trim();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if (!/^[0-9a-f]{64}\.gz$/.test(blob)) {
      await this.forget(uid);
      return undefined;
    }
    const path = join(this.directory, blob);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    try {
      if (sha256(bytes) !== blob.slice(0, 64)) throw new Error('content does not match its name');
      const entry = JSON.parse(gunzipSync(bytes).toString('utf8')) as CacheEntry;
      if (entry.workflow?.uid !== uid || typeof entry.nodes !== 'object' || entry.nodes === null) {
        throw new Error('entry of another workflow');
      }
      // Recently used: kept longest when the cache is trimmed.
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
      return entry;
    } catch {
      await this.remove(uid, blob);
      return undefined;
    }
  }

  /** Stores an entry and points the workflow at it; trims the cache to its bound. */
  async put(entry: CacheEntry): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const bytes = gzipSync(JSON.stringify(entry), { level: 1 });
    const blob = `${sha256(bytes)}.gz`;
    await this.writeAtomically(blob, bytes);
    await this.writeAtomically(refName(entry.workflow.uid), blob);
    await this.trim(blob);
  }

  /** Drops the entry of a workflow (a corrupt or wrong one). */
  async forget(uid: string): Promise<void> {
    await rm(join(this.directory, refName(uid)), { force: true });
  }

  private async remove(uid: string, blob: string): Promise<void> {
    await rm(join(this.directory, blob), { force: true });
    await this.forget(uid);
  }

  private async writeAtomically(name: string, data: Uint8Array | string): Promise<void> {
    const temporary = join(this.directory, `.${name}.${randomUUID()}.tmp`);
    await writeFile(temporary, data);
    await rename(temporary, join(this.directory, name));
  }

  /** Removes the least recently used entries while the cache is over its bound (never `keep`). */
  private async trim(keep: string): Promise<void> {
    const files: { name: string; size: number; used: number }[] = [];
    for (const name of await readdir(this.directory)) {
      if (!name.endsWith('.gz') || name.startsWith('.')) continue;
      try {
        const info = await stat(join(this.directory, name));
        files.push({ name, size: info.size, used: info.mtimeMs });
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    let total = files.reduce((sum, file) => sum + file.size, 0);
    for (const file of files.sort((a, b) => a.used - b.used)) {
      if (total <= this.maxBytes) break;
      if (file.name === keep) continue;
      await rm(join(this.directory, file.name), { force: true });
      total -= file.size;
    }
  }

  /** Bytes the entries take now. */
  async size(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.directory).catch(() => [] as string[])) {
      if (name.endsWith('.gz') && !name.startsWith('.')) {
        total += (await stat(join(this.directory, name)).catch(() => ({ size: 0 }))).size;
      }
    }
    return total;
  }
}
