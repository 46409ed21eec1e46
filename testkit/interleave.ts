/**
 * Makes a race deterministic: wraps a store so that the first call of one
 * method returns its result only after `meanwhile` has run. Everything else
 * passes straight through.
 *
 * @example
 * // the stop reads the record, then the controller commits, then the stop goes on
 * const stopStore = interleaveAfter(store, 'getRecord', () => controller.persist(update));
 */
import type { WorkflowStore } from '#domain/store';

export function interleaveAfter<Method extends keyof WorkflowStore>(
  store: WorkflowStore,
  method: Method,
  meanwhile: () => Promise<unknown>,
): WorkflowStore {
  let pending: (() => Promise<unknown>) | undefined = meanwhile;
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method || typeof value !== 'function') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (...args: unknown[]) => {
        const result = await value.apply(target, args);
        const run = pending;
        pending = undefined;
        if (run) await run();
        return result;
      };
    },
  });
}
