/**
 * The independent check after a soak: a fresh DynamoDB client and a fresh
 * WorkflowService on it, not the runtime that served the load, replay the
 * ledger of acknowledged writes against what DynamoDB holds:
 *
 * - every workflow's record is at or past the last resourceVersion acknowledged for it;
 * - every acknowledged version is committed (in the version list), readable
 *   (no VersionMissing), and its content hashes to its id;
 * - every node an acknowledged write set is in that version as sent, or
 *   terminal where the write sent it unfinished (sticky phases, stop);
 *   every node it removed is gone;
 * - no node goes from a terminal phase back to an unfinished one between two
 *   acknowledged versions, and no version at or after a stop has an
 *   unfinished node (a stopped workflow with Running nodes is impossible).
 */
import { canonicalJson, prepareVersion } from '#domain/codec';
import { VersionMissingError } from '#domain/errors';
import { isTerminalNodePhase, type JsonValue, type NodeMap } from '#domain/nodes';
import { WorkflowService } from '#domain/workflow-service';
import { createDocumentClient } from '#store/clients';
import { DynamoDbStore } from '#store/dynamodb-store';
import type { Ack } from './workload.ts';

export interface VerifyOptions {
  readonly endpoint: string;
  readonly tableName: string;
  readonly acks: readonly Ack[];
  readonly uids: readonly string[];
  readonly retentionSeconds: number;
  readonly concurrency?: number;
}

export interface VerifyReport {
  readonly workflows: number;
  readonly stoppedWorkflows: number;
  readonly acknowledgedWrites: number;
  readonly versionsChecked: number;
  readonly nodesChecked: number;
  readonly versionMissing: number;
  readonly violationCount: number;
  /** The first violations, for a person to read. */
  readonly violations: string[];
  readonly seconds: number;
}

const unfinished = (nodes: NodeMap) =>
  Object.keys(nodes).filter((id) => {
    const phase = nodes[id]?.phase;
    return phase === 'Pending' || phase === 'Running';
  });

export async function verifyLedger(options: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const documentClient = createDocumentClient({
    AWS_REGION: 'us-east-1',
    DYNAMODB_ENDPOINT: options.endpoint,
  });
  const store = new DynamoDbStore(documentClient, { tableName: options.tableName });
  const service = new WorkflowService(store, { retentionSeconds: options.retentionSeconds });
  const violations: string[] = [];
  let violationCount = 0;
  let versionsChecked = 0;
  let nodesChecked = 0;
  let versionMissing = 0;
  let stoppedWorkflows = 0;
  const violation = (text: string) => {
    violationCount++;
    if (violations.length < 50) violations.push(text);
  };

  const acksByUid = new Map<string, Ack[]>();
  for (const ack of options.acks) {
    const list = acksByUid.get(ack.uid) ?? [];
    list.push(ack);
    acksByUid.set(ack.uid, list);
  }

  async function verifyWorkflow(uid: string): Promise<void> {
    const acks = (acksByUid.get(uid) ?? []).sort((a, b) => a.resourceVersion - b.resourceVersion);
    const record = await store.getRecord(uid);
    if (!record) {
      violation(`${uid}: no record, though ${acks.length} writes were acknowledged`);
      return;
    }
    const lastAcknowledged = acks.at(-1)?.resourceVersion ?? 0;
    if (record.resourceVersion < lastAcknowledged) {
      violation(
        `${uid}: record at resourceVersion ${record.resourceVersion}, below the acknowledged ${lastAcknowledged}`,
      );
    }
    try {
      const current = await service.getWorkflow(uid);
      if (record.shutdown) {
        stoppedWorkflows++;
        if (current.phase !== 'Failed') violation(`${uid}: stopped but phase ${current.phase}`);
        const left = unfinished(current.nodes);
        if (left.length > 0) violation(`${uid}: stopped with ${left.length} Running or Pending nodes`);
      }
    } catch (error) {
      if (error instanceof VersionMissingError) versionMissing++;
      violation(`${uid}: current version unreadable: ${(error as Error).message}`);
    }
    const listed = new Set(
      (await service.listVersions(uid, 1000)).map((version) => version.nodeStatusVersion),
    );

    // One version per resourceVersion; acknowledgements of the same commit must agree.
    const versionAt = new Map<number, string>();
    for (const ack of acks) {
      const known = versionAt.get(ack.resourceVersion);
      if (known !== undefined && known !== ack.nodeStatusVersion) {
        violation(`${uid}: resourceVersion ${ack.resourceVersion} acknowledged as two versions`);
      }
      versionAt.set(ack.resourceVersion, ack.nodeStatusVersion);
    }

    let previousTerminal = new Set<string>();
    let stoppedAt: number | undefined;
    for (const [resourceVersion, version] of [...versionAt].sort(([a], [b]) => a - b)) {
      const here = acks.filter((ack) => ack.resourceVersion === resourceVersion);
      if (!listed.has(version))
        violation(`${uid}: acknowledged version ${version} (rv ${resourceVersion}) not listed`);
      let nodes: NodeMap;
      try {
        nodes = (await service.getVersion(uid, version)).nodes;
      } catch (error) {
        // Retention is far longer than the run: every acknowledged version must still be readable.
        if (error instanceof VersionMissingError) versionMissing++;
        violation(`${uid}: acknowledged version ${version} unreadable: ${(error as Error).name}`);
        continue;
      }
      versionsChecked++;
      if (prepareVersion(nodes).nodeStatusVersion !== version) {
        violation(`${uid}: version ${version} holds content that hashes to another id`);
      }
      for (const ack of here) {
        for (const [id, sent] of Object.entries(ack.set ?? {})) {
          nodesChecked++;
          const stored = nodes[id];
          if (stored === undefined) {
            violation(`${uid}: node ${id} set by an acknowledged ${ack.op} is missing from its version`);
            continue;
          }
          if (canonicalJson(stored as JsonValue) === sent) continue;
          const sentPhase = (JSON.parse(sent) as { phase?: unknown }).phase;
          // Sticky: an unfinished phase sent onto a finished node (or a stopped workflow) keeps the finished one.
          if (isTerminalNodePhase(stored.phase) && !isTerminalNodePhase(sentPhase)) continue;
          violation(
            `${uid}: node ${id} differs from what an acknowledged ${ack.op} set (rv ${resourceVersion})`,
          );
        }
        for (const id of ack.removed ?? []) {
          nodesChecked++;
          if (nodes[id] !== undefined)
            violation(`${uid}: node ${id} removed by an acknowledged patch is still there`);
        }
        if (ack.op === 'stop') stoppedAt ??= resourceVersion;
      }
      if (stoppedAt !== undefined) {
        const left = unfinished(nodes);
        if (left.length > 0) {
          violation(
            `${uid}: version at rv ${resourceVersion}, at or after the stop, has ${left.length} unfinished nodes`,
          );
        }
      }
      const terminal = new Set<string>();
      for (const [id, node] of Object.entries(nodes)) {
        if (isTerminalNodePhase(node.phase)) terminal.add(id);
        else if (previousTerminal.has(id)) {
          violation(
            `${uid}: node ${id} went from a finished phase back to ${String(node.phase)} (rv ${resourceVersion})`,
          );
        }
      }
      previousTerminal = terminal;
    }
  }

  const queue = [...options.uids];
  await Promise.all(
    Array.from({ length: options.concurrency ?? 4 }, async () => {
      for (let uid = queue.shift(); uid !== undefined; uid = queue.shift()) await verifyWorkflow(uid);
    }),
  );
  documentClient.destroy();
  return {
    workflows: options.uids.length,
    stoppedWorkflows,
    acknowledgedWrites: options.acks.length,
    versionsChecked,
    nodesChecked,
    versionMissing,
    violationCount,
    violations,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}
