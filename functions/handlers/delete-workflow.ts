/** `DELETE /v1/workflows/{uid}`: deletes the record only; its versions expire by TTL (invariant 5). */
import { httpHandler } from '#lambda/middleware';
import { uidOf } from '#lambda/params';
import { noContent } from '#lambda/responses';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeDeleteWorkflow = ({ service, config }: Wiring) =>
  httpHandler(config, {}, async (event) => {
    const uid = uidOf(event);

    await service.deleteWorkflow(uid);

    return noContent();
  });

export const handler = makeDeleteWorkflow(wiring());
