/** `GET /v1/namespaces/{namespace}/workflows?limit=&next=`: one bounded page of summaries. */
import { httpHandler } from '#lambda/middleware';
import { namespaceOf } from '#lambda/params';
import { json, summaryBody } from '#lambda/responses';
import { listQuerySchema, parseWith } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeListWorkflows = ({ service, config }: Wiring) =>
  httpHandler(config, {}, async (event) => {
    const namespace = namespaceOf(event);
    const query = parseWith(listQuerySchema, event.queryStringParameters ?? {}, 'query');

    const page = await service.listWorkflows(namespace, query.limit, query.next);

    return json(200, {
      items: page.items.map(summaryBody),
      ...(page.next === undefined ? {} : { next: page.next }),
    });
  });

export const handler = makeListWorkflows(wiring());
