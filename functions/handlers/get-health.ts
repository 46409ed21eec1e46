/** `GET /healthz`: the function is up. It does not touch the table, so it stays cheap and fast. */
import { httpHandler } from '#http/middleware';
import { json } from '#http/responses';

export const handler = httpHandler({}, async () => json(200, { status: 'ok' }));
