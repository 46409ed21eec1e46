/**
 * How the codec's preset dictionary (`functions/domain/codec-dictionaries.ts`,
 * codec `wfo-bucket-deflate-d2`) is cut from the real Argo node statuses in
 * `fixtures/argo-node-status`: one node of each shape (type, phase, with or
 * without children, with or without outputs), in canonical form, in file then
 * key order, the last `maxBytes` of them. Deflate finds matches in the
 * dictionary as if it preceded each bucket, so a bucket of real nodes starts
 * with its common strings already seen. `test/unit/domain/codec.test.ts`
 * checks that the stored dictionary is exactly what this cuts.
 */
import { canonicalJson } from '#domain/codec';
import type { JsonValue } from '#domain/nodes';
import { type ArgoNodeMap, loadArgoFixtures } from './argo-generator.ts';

/** Bytes of the d2 dictionary (deflate uses at most 32 KB; more costs CPU per bucket). */
export const dictionaryBytes = 8192;

export function cutDictionary(
  fixtures: readonly { nodes: ArgoNodeMap }[] = loadArgoFixtures(),
  maxBytes = dictionaryBytes,
): string {
  const shapes = new Map<string, string>();
  for (const { nodes } of fixtures) {
    for (const [id, node] of Object.entries(nodes)) {
      const shape = `${node.type}/${node.phase}/${node.children ? 1 : 0}/${node.outputs ? 1 : 0}`;
      if (!shapes.has(shape)) shapes.set(shape, `${JSON.stringify(id)}:${canonicalJson(node as JsonValue)}`);
    }
  }
  const text = [...shapes.values()].join(',');
  // Cut on a character boundary; the fixtures are ASCII, so characters are bytes.
  return text.length > maxBytes ? text.slice(text.length - maxBytes) : text;
}
