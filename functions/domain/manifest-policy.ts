/**
 * When a manifest is stored as a delta, and what that obliges. A full
 * manifest of 10,000 nodes lists 1,024 chunks (about 45 KB); a 10-node update
 * changes a few dozen of them. So a manifest whose chunks differ from the
 * full manifest at the root of the current one in at most 1/8 of its buckets
 * is stored as a delta of that root: a small change costs a small write, and
 * a read needs at most two manifest items. The root must then live as long
 * as the delta, so a root whose lease runs short is renewed first.
 */
import { VersionMissingError } from './errors.ts';
import type { Manifest, WorkflowStore, WriteCost } from './store.ts';

/** A delta may list at most this fraction of the buckets. */
export const maxDeltaFraction = 1 / 8;

/**
 * The bucket indexes in which `manifest` differs from `root`, when it should
 * be stored as a delta of `root`; undefined when it should be stored whole.
 */
export function deltaIndexes(root: Manifest | undefined, manifest: Manifest): number[] | undefined {
  if (
    root === undefined ||
    root.inline !== undefined ||
    root.codec !== manifest.codec ||
    root.chunks.length !== manifest.chunks.length ||
    manifest.chunks.length === 0 ||
    root.nodeStatusVersion === manifest.nodeStatusVersion
  ) {
    return undefined;
  }
  const changed = manifest.chunks.flatMap((chunk, index) => {
    const same = root.chunks[index];
    return chunk.chunkId === same?.chunkId &&
      chunk.parts === same.parts &&
      // A chunk put again by a writer whose clock is behind the root's writer's can
      // have a shorter lease than the root recorded: keep the shorter one, or the
      // record's lease (which the renewer trusts) would be above the item's.
      chunk.leaseExpiresAt >= same.leaseExpiresAt
      ? []
      : [index];
  });
  return changed.length <= manifest.chunks.length * maxDeltaFraction ? changed : undefined;
}

/**
 * Writes `manifest` (and its history entry), as a delta of the root of
 * `previous` (the current version's manifest) when {@link deltaIndexes} says
 * so. Returns what it cost and the lease of the items the new manifest needs
 * (its own, and its root's).
 */
export async function writeManifest(
  store: WorkflowStore,
  manifest: Manifest,
  previous: Manifest | undefined,
  renewBefore: number,
): Promise<WriteCost & { leaseExpiresAt: number }> {
  const root = previous?.base ?? previous;
  const changedIndexes = deltaIndexes(root, manifest);
  if (root === undefined || changedIndexes === undefined) {
    const stored = await store.putManifest(manifest);
    return { ...costOnly(stored), leaseExpiresAt: manifest.expiresAt };
  }
  const costs: WriteCost[] = [];
  let leaseExpiresAt = manifest.expiresAt;
  if (root.expiresAt < renewBefore) {
    const renewed = await store.extendManifestLease(manifest.uid, root.nodeStatusVersion, manifest.expiresAt);
    if (!renewed) throw new VersionMissingError(manifest.uid, root.nodeStatusVersion, []);
    costs.push(renewed);
  } else {
    leaseExpiresAt = Math.min(leaseExpiresAt, root.expiresAt);
  }
  const stored = await store.putManifest(manifest, { base: root, changedIndexes });
  costs.push(costOnly(stored));
  if (!stored.stored) {
    // The version recurs (A, B, A) and its full manifest exists, maybe as the base of
    // other deltas: it was kept; make it live as long as this commit needs.
    const kept = await store.extendManifestLease(
      manifest.uid,
      manifest.nodeStatusVersion,
      manifest.expiresAt,
    );
    if (!kept) throw new VersionMissingError(manifest.uid, manifest.nodeStatusVersion, []);
    costs.push(kept);
    leaseExpiresAt = manifest.expiresAt;
  }
  return { ...sumCosts(costs), leaseExpiresAt };
}

const costOnly = ({ items, bytes, writeUnits }: WriteCost): WriteCost => ({ items, bytes, writeUnits });

export const sumCosts = (costs: readonly WriteCost[]): WriteCost =>
  costs.reduce(
    (sum, cost) => ({
      items: sum.items + cost.items,
      bytes: sum.bytes + cost.bytes,
      writeUnits: sum.writeUnits + cost.writeUnits,
    }),
    { items: 0, bytes: 0, writeUnits: 0 },
  );
