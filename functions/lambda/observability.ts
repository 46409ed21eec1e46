/**
 * Powertools Logger, Metrics and Tracer: one instance of each per process,
 * configured from the `POWERTOOLS_*` environment at module load (log level,
 * metrics namespace, `POWERTOOLS_TRACE_ENABLED`, `POWERTOOLS_METRICS_DISABLED`).
 * Metric names and units come from `contract/metrics.ts`, which the
 * dashboard and alarms read too.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, type MetricUnit } from '@aws-lambda-powertools/metrics';

type MetricUnitValue = (typeof MetricUnit)[keyof typeof MetricUnit];

import { Tracer } from '@aws-lambda-powertools/tracer';
import {
  defaultMetricsNamespace,
  type MetricName,
  metricNames,
  metricUnits,
  serviceName,
} from '#contract/metrics';
import type { WriteResult } from '#domain/workflow-service';

export const logger = new Logger({ serviceName });

/**
 * Metrics reports its own problems through the logger. A handler that ends
 * without a metric (a health check, a 404) is normal here, not worth a warning.
 */
const metricsLogger = {
  debug: (...content: unknown[]) => logger.debug(content.map(String).join(' ')),
  info: (...content: unknown[]) => logger.info(content.map(String).join(' ')),
  warn: (...content: unknown[]) => {
    const text = content.map(String).join(' ');
    if (text.startsWith('No application metrics to publish')) logger.debug(text);
    else logger.warn(text);
  },
  error: (...content: unknown[]) => logger.error(content.map(String).join(' ')),
};

export const metrics = new Metrics({
  serviceName,
  // POWERTOOLS_METRICS_NAMESPACE, when set (the stack sets it), wins over the default.
  ...(process.env.POWERTOOLS_METRICS_NAMESPACE ? {} : { namespace: defaultMetricsNamespace }),
  logger: metricsLogger,
});

/** Disabled outside Lambda, and wherever POWERTOOLS_TRACE_ENABLED is false (the local runtime). */
export const tracer = new Tracer({ serviceName });

/** Adds one custom metric with the unit the dashboard expects. */
export function addMetric(name: MetricName, value: number): void {
  metrics.addMetric(name, metricUnits[name] as MetricUnitValue, value);
}

/**
 * Runs `operation` and records its duration as `latencyMetric`, whether it
 * succeeds or fails.
 *
 * @example
 * const result = await timed(metricNames.persistLatency, () => service.persist(input, conditions));
 */
export async function timed<T>(latencyMetric: MetricName, operation: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await operation();
  } finally {
    addMetric(latencyMetric, Math.round((performance.now() - started) * 100) / 100);
  }
}

/** What a write cost: commit retries and re-applies, bytes raw vs stored, chunks written vs reused, write units. */
export function recordWrite(result: WriteResult): void {
  addMetric(metricNames.commitRetries, result.conflicts);
  addMetric(metricNames.reapplies, result.reapplied ? Math.max(1, result.conflicts) : 0);
  addMetric(metricNames.rawBytes, result.rawBytes);
  addMetric(metricNames.storedBytes, result.storedBytes);
  addMetric(metricNames.chunksWritten, result.write.chunksWritten);
  addMetric(metricNames.chunksReused, result.write.chunksReused);
  addMetric(metricNames.writeUnits, result.write.writeUnits);
}
