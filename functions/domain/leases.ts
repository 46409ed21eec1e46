/**
 * Renewing a version: raising `expiresAt` of every item a reader of it
 * needs (invariant 3). A commit does it for the version it builds on when
 * the record's lease runs short, and the scheduled renewer for every current
 * version. Chunk layout: the manifest (and its base) and its chunks. Log
 * layout: the chain's entries and the base (the snapshot's pages, or a
 * chunk-layout version).
 */
import { sumCosts } from './manifest-policy.ts';
import type { WorkflowStore, WriteCost } from './store.ts';
import type { LoadedVersion } from './version-reader.ts';

export interface Renewal extends WriteCost {
  /** True when an item of the version no longer exists. */
  readonly missing: boolean;
}

export async function renewVersion(
  store: WorkflowStore,
  uid: string,
  version: LoadedVersion,
  expiresAt: number,
): Promise<Renewal> {
  const costs: WriteCost[] = [];
  let missing = false;
  const renewManifestVersion = async (manifest: NonNullable<LoadedVersion['manifest']>) => {
    const chunks = await store.renewChunks(uid, manifest.chunks, expiresAt);
    costs.push(chunks);
    if (chunks.missing.length > 0) missing = true;
    const renewed = await store.renewManifest(manifest, expiresAt);
    if (renewed) costs.push(renewed);
    else missing = true;
  };
  if (version.log) {
    const { log } = version;
    const entries = [
      ...(log.snapshot ? [log.snapshot.entry.key] : []),
      ...log.deltas.map((delta) => delta.key),
    ];
    const renewed = await store.renewLogItems(uid, entries, expiresAt);
    costs.push(renewed);
    if (renewed.missing > 0) missing = true;
    if (log.snapshot) {
      const pages = await store.renewChunks(uid, log.snapshot.tables.pages, expiresAt);
      costs.push(pages);
      if (pages.missing.length > 0) missing = true;
    }
    if (log.manifestBase) await renewManifestVersion(log.manifestBase);
  } else if (version.manifest) {
    await renewManifestVersion(version.manifest);
  }
  return { ...sumCosts(costs), missing };
}
