/**
 * The client keeps its own copies of the contract (it depends on Node
 * built-ins only, so that it can be copied into a controller as it is).
 * These tests pin each copy to the service's: change either side alone and
 * they fail.
 */
import { describe, expect, it } from 'vitest';
import * as client from '#client/wfo-client';
import { routes } from '#contract/api';
import { errorStatus, nodePhases, stopStrategies, workflowPhases } from '#contract/workflow';

describe("the client's copy of the contract", () => {
  it('has the node phases, workflow phases and stop strategies of the service', () => {
    expect([...client.nodePhases]).toEqual([...nodePhases]);
    expect([...client.workflowPhases]).toEqual([...workflowPhases]);
    expect([...client.stopStrategies]).toEqual([...stopStrategies]);
  });

  it('has every error code of the service with its status, and an error class for each', () => {
    expect(client.errorCodes).toEqual(errorStatus);
    const classes = [
      client.BadRequestError,
      client.NotFoundError,
      client.GoneError,
      client.PayloadTooLargeError,
      client.UnsupportedMediaTypeError,
      client.InternalServerError,
    ];
    const codes = classes.map((ErrorClass) => new ErrorClass('x').code);
    codes.push(
      new client.ConflictError('x', undefined).code,
      new client.ServiceUnavailableError('x', 1).code,
    );
    expect(codes.sort()).toEqual(Object.keys(errorStatus).sort());
  });

  it('calls only routes the service has, by the same method, and every route of the service', () => {
    const serviceRoutes = routes.map((route) => `${route.method} ${route.path}`);
    const clientRoutes = Object.values(client.clientRoutes).map((route) => `${route.method} ${route.path}`);

    expect(clientRoutes.sort()).toEqual(serviceRoutes.sort());
  });
});
