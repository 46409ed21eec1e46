/** `DELETE /v1/workflows/{uid}`: deletes the record only; its versions expire by TTL (invariant 5). */
import { httpHandler } from '#http/middleware';
import { uidOf } from '#http/params';
import { noContent } from '#http/responses';
import { serviceFromEnvironment } from '#store/clients';

const { service } = serviceFromEnvironment();

export const handler = httpHandler({}, async (event) => {
  const uid = uidOf(event);

  await service.deleteWorkflow(uid);

  return noContent();
});
