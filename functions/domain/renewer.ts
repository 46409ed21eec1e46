/**
 * The scheduled renewer (invariant 3): keeps the current version of every
 * workflow far from expiry, idle and completed ones included. It finds the
 * workflows through the lease index, never by scanning the table, and
 * extends the leases of every item of the current version (`leases.ts`),
 * then the record's lease, conditionally on the version: a commit in
 * between set its own.
 */
import { VersionMissingError } from './errors.ts';
import { renewVersion } from './leases.ts';
import { epochSeconds, type Retention } from './retention.ts';
import type { LeaseEntry, Page, WorkflowStore } from './store.ts';
import type { VersionReader } from './version-reader.ts';

export interface RenewReport {
  readonly examined: number;
  readonly renewed: number;
  readonly versionMissing: number;
  /** Smallest remaining lease of any workflow before this run, in seconds. */
  readonly minRemainingLeaseSeconds?: number | undefined;
  readonly writeUnits: number;
}

type RenewOutcome = 'renewed' | 'skipped' | 'missing';

export class Renewer {
  constructor(
    private readonly store: WorkflowStore,
    private readonly reader: VersionReader,
    private readonly retention: Retention,
    private readonly now: () => number,
  ) {}

  async renew(): Promise<RenewReport> {
    const nowSeconds = epochSeconds(this.now());
    const renewBefore = this.retention.renewBefore(nowSeconds);
    const expiresAt = this.retention.bornExpiresAt(nowSeconds);
    const minimumLease = await this.store.minimumLease();
    let examined = 0;
    let renewed = 0;
    let versionMissing = 0;
    let writeUnits = 0;
    let cursor: string | undefined;
    do {
      const page: Page<LeaseEntry> = await this.store.findShortLeases(renewBefore, 100, cursor);
      cursor = page.next;
      for (const entry of page.items) {
        examined++;
        const { outcome, writeUnits: units } = await this.renewOne(entry.uid, renewBefore, expiresAt);
        if (outcome === 'renewed') renewed++;
        if (outcome === 'missing') versionMissing++;
        writeUnits += units;
      }
    } while (cursor);
    return {
      examined,
      renewed,
      versionMissing,
      minRemainingLeaseSeconds: minimumLease === undefined ? undefined : minimumLease - nowSeconds,
      writeUnits,
    };
  }

  private async renewOne(
    uid: string,
    renewBefore: number,
    expiresAt: number,
  ): Promise<{ outcome: RenewOutcome; writeUnits: number }> {
    const record = await this.store.getRecord(uid);
    if (!record || record.leaseExpiresAt >= renewBefore) return { outcome: 'skipped', writeUnits: 0 };
    let version: Awaited<ReturnType<VersionReader['locate']>>;
    try {
      // An inline version's buckets live in the record; its manifest keeps the copy a reader by id needs.
      version = await this.reader.locate({ ...record, inline: undefined }, record.nodeStatusVersion);
    } catch (error) {
      if (error instanceof VersionMissingError) return { outcome: 'missing', writeUnits: 0 };
      throw error;
    }
    const renewed = await renewVersion(this.store, uid, version, expiresAt);
    const { writeUnits } = renewed;
    if (renewed.missing) return { outcome: 'missing', writeUnits };
    // Conditional on the version: a commit in between set its own lease.
    const renewedRecord = await this.store.renewRecordLease(uid, record.nodeStatusVersion, expiresAt);
    return { outcome: 'renewed', writeUnits: writeUnits + (renewedRecord ? 1 : 0) };
  }
}
