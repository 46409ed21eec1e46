/**
 * The sort keys of every item of the versions table a version needs, in
 * either layout: what a reader of it reads, what a renewal must keep alive,
 * and what is not garbage. For tests and benchmarks that look at the items
 * themselves (leases, storage).
 */
import type { LoadedVersion } from '#domain/version-reader';
import { VersionReader } from '#domain/version-reader';
import type { DynamoDbStore } from '#store/dynamodb-store';
import { chunkKeys, entryKey, manifestKey } from '#store/keys';

type ManifestOf = NonNullable<LoadedVersion['manifest']>;

const manifestKeys = (manifest: ManifestOf): string[] => [
  manifestKey(manifest.nodeStatusVersion),
  ...(manifest.base ? [manifestKey(manifest.base.nodeStatusVersion)] : []),
  ...manifest.chunks.flatMap((chunk) => chunkKeys(chunk)),
];

/** The keys of a located version's items (an inline version has none but its manifest). */
export function versionItemKeys(version: LoadedVersion): string[] {
  const { log, manifest } = version;
  if (!log) return manifest ? manifestKeys(manifest) : [];
  return [
    ...(log.snapshot ? [entryKey(log.snapshot.entry.key)] : []),
    ...log.deltas.map((delta) => entryKey(delta.key)),
    ...(log.snapshot?.tables.pages ?? []).flatMap((page) => chunkKeys(page)),
    ...(log.manifestBase ? manifestKeys(log.manifestBase) : []),
  ];
}

/** The keys of the items the current version of `uid` needs, and its record. */
export async function currentVersionItemKeys(store: DynamoDbStore, uid: string) {
  const record = await store.getRecord(uid);
  if (!record) throw new Error(`no record for ${uid}`);
  // An inline version's manifest keeps the copy a reader by id needs: count it, not the record's.
  const version = await new VersionReader(store, Date.now).locate(
    { ...record, inline: undefined },
    record.nodeStatusVersion,
  );
  return { record, keys: versionItemKeys(version) };
}
