/** `GET /v1/namespaces/{namespace}/workflows?limit=&next=`: one bounded page of summaries. */
import { httpHandler } from '#http/middleware';
import { namespaceOf } from '#http/params';
import { json, summaryBody } from '#http/responses';
import { listQuerySchema, parseWith } from '#http/schemas';
import { serviceFromEnvironment } from '#store/clients';

const { service } = serviceFromEnvironment();

export const handler = httpHandler({}, async (event) => {
  const namespace = namespaceOf(event);
  const query = parseWith(listQuerySchema, event.queryStringParameters ?? {}, 'query');

  const page = await service.listWorkflows(namespace, query.limit, query.next);

  return json(200, {
    items: page.items.map(summaryBody),
    ...(page.next === undefined ? {} : { next: page.next }),
  });
});
