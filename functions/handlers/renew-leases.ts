/**
 * Scheduled (a quarter of R): keeps the current version of every workflow far
 * from expiry (invariant 3), idle and completed ones included. Emits how many
 * leases it renewed and the smallest remaining lease it saw, which the
 * renewer-lag alarm watches.
 */

import { metricNames } from '#contract/metrics';
import { scheduledHandler } from '#lambda/middleware';
import { addMetric, logger } from '#lambda/observability';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeRenewLeases = ({ service }: Wiring) =>
  scheduledHandler(async () => {
    const report = await service.renew();

    addMetric(metricNames.renewals, report.renewed);
    addMetric(metricNames.writeUnits, report.writeUnits);
    if (report.minRemainingLeaseSeconds !== undefined)
      addMetric(metricNames.minRemainingLeaseSeconds, report.minRemainingLeaseSeconds);
    if (report.versionMissing > 0) {
      addMetric(metricNames.versionMissing, report.versionMissing);
      logger.error('version missing: the renewer found current versions with items gone', { report });
    }
    logger.info('renewed leases', { report });
    return report;
  });

export const handler = makeRenewLeases(wiring());
