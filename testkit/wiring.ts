/**
 * Wirings for tests: the handlers' settings, store and service built from a
 * config the test names, so that no test sets `process.env` before importing
 * a handler. Pass one to a handler factory (`makePutWorkflow(wiring)`), to
 * {@link handlersOn} in `handlers.ts`, or to the local runtime; spy on its
 * `documentClient.send` or its `service` to make them fail.
 */
import type { Config } from '#lambda/config';
import { loadConfig } from '#lambda/config';
import { createWiring, type DynamoDbWiring, type WiringParts } from '#lambda/wiring';
import type { TestTable } from './table.ts';

/** Settings by their environment names, as strings, as `loadConfig` reads them. */
export type SettingOverrides = Partial<Record<keyof Config, string>>;

export interface TestWiringOptions {
  /** Default `unit-test-table`. */
  readonly tableName?: string;
  /** Default a port nobody listens on (9): a call that gets through fails as unreachable. */
  readonly endpoint?: string;
  /** Any other setting, e.g. `{ WFO_ALWAYS_OFFLOAD: 'true' }`. */
  readonly overrides?: SettingOverrides;
  /** A client or domain settings of the test's own. */
  readonly parts?: WiringParts;
}

/**
 * A wiring on DynamoDB at `endpoint`, configured as `loadConfig` would be
 * from an environment holding these settings.
 *
 * @example
 * const wiring = testWiring({ overrides: { WFO_MAX_BODY_BYTES: String(64 * 1024) } });
 * const putWorkflow = makePutWorkflow(wiring);
 * vi.spyOn(wiring.documentClient, 'send').mockRejectedValue(throttled());
 */
export function testWiring(options: TestWiringOptions = {}): DynamoDbWiring {
  const config = loadConfig({
    WFO_TABLE_NAME: options.tableName ?? 'unit-test-table',
    DYNAMODB_ENDPOINT: options.endpoint ?? 'http://127.0.0.1:9',
    AWS_REGION: 'us-east-1',
    ...options.overrides,
  });
  return createWiring(config, options.parts);
}

/** A wiring on a suite's own table (see `createTestTable`). */
export function tableWiring(table: TestTable, overrides: SettingOverrides = {}): DynamoDbWiring {
  return testWiring({ tableName: table.tableName, endpoint: table.endpoint, overrides });
}
