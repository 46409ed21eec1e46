/** `GET /healthz`: the function is up. It does not touch the table, so it stays cheap and fast. */
import { httpHandler } from '#lambda/middleware';
import { json } from '#lambda/responses';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeGetHealth = ({ config }: Wiring) =>
  httpHandler(config, {}, async () => json(200, { status: 'ok' }));

export const handler = makeGetHealth(wiring());
