/**
 * The node tree as `argo get` prints it: STEP (a phase icon and the display
 * name, drawn as a tree), TEMPLATE, PODNAME, DURATION and MESSAGE, aligned
 * as Go's tabwriter aligns them. The structure follows Argo's own printer:
 * DAG and Steps nodes are boundaries that hold the nodes whose `boundaryID`
 * names them; StepGroup and Retry nodes hold their `children`; a StepGroup,
 * a Retry of one attempt and an omitted Skipped node are not printed
 * themselves; siblings are ordered by start time, then by their index in a
 * list (`sleep(9:nine)` before `sleep(10:ten)`), then by name.
 *
 * On top of Argo's output, for maps of any size: `--phase` prints only nodes
 * of those phases (their children still show, as Argo's field selector
 * does), `--depth` stops at a depth, `--node` prints one subtree, and a run
 * of more than {@link collapseAbove} siblings is shortened to its first and
 * last few with one line that counts the rest by phase.
 */
import type { JsonValue, NodeMap, NodeStatus } from '../wfo-client.ts';

/** Argo's phase icons (`JobStatusIconMap`) and the suspend icon. */
const phaseIcons: Readonly<Record<string, string>> = {
  Pending: '◷',
  Running: '●',
  Succeeded: '✔',
  Skipped: '○',
  Failed: '✖',
  Error: '⚠',
  Omitted: '○',
};
const suspendIcon = 'ǁ';

/** More siblings than this are shortened. */
export const collapseAbove = 40;
const keepFirst = 20;
const keepLast = 5;

export interface TreeOptions {
  /** The workflow's name: Argo prints the tree only when its root node has this id. */
  readonly workflowName: string;
  /** Only nodes of these phases get a line. */
  readonly phases?: ReadonlySet<string>;
  /** Deepest level to print; the root is 0. */
  readonly depth?: number;
  /** Print the subtree of this node only. */
  readonly node?: string;
  /** Never shorten runs of siblings. */
  readonly all?: boolean;
  /** Durations of unfinished nodes run to this time (default now). */
  readonly now?: Date;
}

type Kind = 'boundary' | 'parent' | 'execution';

interface RenderNode {
  readonly id: string;
  readonly kind: Kind;
  readonly children: RenderNode[];
}

const str = (value: JsonValue | undefined): string => (typeof value === 'string' ? value : '');

const kindOf = (type: string): Kind | undefined => {
  if (type === 'DAG' || type === 'Steps') return 'boundary';
  if (type === 'StepGroup' || type === 'Retry') return 'parent';
  if (['Pod', 'Skipped', 'Suspend', 'HTTP', 'Plugin', 'Container'].includes(type)) return 'execution';
  return undefined;
};

/** The index Argo recovers from a display name such as `sleep(9:nine)`, or -1. */
function indexInName(name: string): number {
  const match = /\((\d+)/.exec(name);
  return match ? Number(match[1]) : -1;
}

function compareSiblings(nodes: NodeMap, a: RenderNode, b: RenderNode): number {
  const startA = Date.parse(str(nodes[a.id]?.startedAt)) || 0;
  const startB = Date.parse(str(nodes[b.id]?.startedAt)) || 0;
  if (startA !== startB) return startA - startB;
  const nameA = str(nodes[a.id]?.displayName);
  const nameB = str(nodes[b.id]?.displayName);
  const indexA = indexInName(nameA);
  const indexB = indexInName(nameB);
  if (indexA >= 0 && indexB >= 0) return indexA - indexB;
  return nameA < nameB ? -1 : nameA > nameB ? 1 : 0;
}

/** The forest Argo's `convertToRenderTrees` builds, by root id. */
function renderTrees(nodes: NodeMap): Map<string, RenderNode> {
  const made = new Map<string, RenderNode>();
  const parentOfChild = new Map<string, string>();
  for (const [id, node] of Object.entries(nodes)) {
    const kind = kindOf(str(node.type));
    if (kind === undefined) continue;
    made.set(id, { id, kind, children: [] });
    if (kind === 'parent' && Array.isArray(node.children)) {
      for (const child of node.children) if (typeof child === 'string') parentOfChild.set(child, id);
    }
  }
  const roots = new Map<string, RenderNode>();
  for (const renderNode of made.values()) {
    const parentId = parentOfChild.get(renderNode.id) ?? (str(nodes[renderNode.id]?.boundaryID) || undefined);
    const parent = parentId === undefined ? undefined : made.get(parentId);
    if (parent && (parentOfChild.has(renderNode.id) || parent.kind === 'boundary'))
      parent.children.push(renderNode);
    else if (parentId === undefined) roots.set(renderNode.id, renderNode);
  }
  for (const renderNode of made.values()) renderNode.children.sort((a, b) => compareSiblings(nodes, a, b));
  return roots;
}

/** Argo's `filterNode`: whether the node gets no line, and whether its children are drawn as a group. */
function filtered(node: NodeStatus, options: TreeOptions): { hidden: boolean; groupChildren: boolean } {
  const type = str(node.type);
  if (type === 'Retry' && Array.isArray(node.children) && node.children.length === 1) {
    return { hidden: true, groupChildren: false };
  }
  if (type === 'StepGroup') return { hidden: true, groupChildren: true };
  if (type === 'Skipped' && node.phase === 'Omitted') return { hidden: true, groupChildren: false };
  if (options.phases && !options.phases.has(str(node.phase))) return { hidden: true, groupChildren: false };
  return { hidden: false, groupChildren: false };
}

/** FNV-1a, 32 bits, over the UTF-8 bytes of `text` (Argo's pod name hash). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Argo's pod name (v2): `<workflow>-<template>-<fnv32a(node name)>`, the prefix cut to fit 253 characters. */
export function podName(workflowName: string, nodeName: string, templateName: string): string {
  if (workflowName === nodeName) return workflowName;
  let prefix = templateName === '' ? workflowName : `${workflowName}-${templateName}`;
  const maxPrefix = 253 - 10;
  if (prefix.length > maxPrefix - 1) prefix = prefix.slice(0, maxPrefix - 1);
  return `${prefix}-${fnv1a(nodeName)}`;
}

/** Argo's short relative duration: `0s`, `1s`, `19s`, `1m`, `12m`, `1h`, `5h`, `1d`, `3d`. */
export function shortDuration(milliseconds: number): string {
  const seconds = Math.floor(milliseconds / 1000);
  if (seconds < 1) return '0s';
  if (seconds < 2) return '1s';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 120) return '1m';
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 7200) return '1h';
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  if (seconds < 172_800) return '1d';
  return `${Math.floor(seconds / 86_400)}d`;
}

function templateOf(node: NodeStatus): string {
  const ref = node.templateRef;
  if (ref && typeof ref === 'object' && !Array.isArray(ref)) return `${str(ref.name)}/${str(ref.template)}`;
  return str(node.templateName);
}

/** One line's cells: STEP (prefix included), TEMPLATE, PODNAME, DURATION, MESSAGE. */
type Row = readonly [string, string, string, string, string];

function rowOf(node: NodeStatus, prefix: string, options: TreeOptions): Row {
  const suspended = node.type === 'Suspend' && (node.phase === 'Running' || node.phase === 'Pending');
  const icon = suspended ? suspendIcon : (phaseIcons[str(node.phase)] ?? ' ');
  const step = `${prefix}${icon} ${str(node.displayName)}`;
  const template = templateOf(node);
  if (node.type !== 'Pod') return [step, template, '', '', str(node.message)];
  const started = Date.parse(str(node.startedAt));
  const finished = Date.parse(str(node.finishedAt));
  const end = Number.isNaN(finished) ? (options.now ?? new Date()).getTime() : finished;
  const duration = Number.isNaN(started) ? '' : shortDuration(end - started);
  return [
    step,
    template,
    podName(options.workflowName, str(node.name), template),
    duration,
    str(node.message),
  ];
}

/** The tree's lines, header first, aligned; undefined when the map has no root named like the workflow. */
export function renderTree(nodes: NodeMap, options: TreeOptions): string | undefined {
  const roots = renderTrees(nodes);
  const rootId = options.node ?? options.workflowName;
  const root = options.node === undefined ? roots.get(rootId) : findRenderNode(roots, rootId);
  if (!root) return undefined;
  const rows: Row[] = [];
  const render = (renderNode: RenderNode, depth: number, nodePrefix: string, childPrefix: string) => {
    const node = nodes[renderNode.id] as NodeStatus;
    const { hidden, groupChildren } = filtered(node, options);
    if (!hidden) rows.push(rowOf(node, nodePrefix, options));
    if (options.depth !== undefined && depth >= options.depth && !hidden) return;
    const children = renderNode.children;
    const shown = shorten(children, options);
    shown.forEach((child, index) => {
      const last = shown.length - 1;
      if (child === 'more') {
        const hiddenRun = children.slice(keepFirst, children.length - keepLast);
        rows.push([
          `${childPrefix}├─… ${hiddenRun.length} more: ${countPhases(nodes, hiddenRun)}`,
          '',
          '',
          '',
          '',
        ]);
        return;
      }
      let part: string;
      let sub: string;
      if (hidden && groupChildren) {
        [part, sub] =
          last === 0
            ? ['──', '  ']
            : index === 0
              ? ['┬─', '│ ']
              : index === last
                ? ['└─', '  ']
                : ['├─', '│ '];
      } else if (!hidden) {
        [part, sub] = index === last ? ['└─', '  '] : ['├─', '│ '];
      } else {
        [part, sub] = ['', ''];
      }
      if (!hidden) render(child, depth + 1, childPrefix + part, childPrefix + sub);
      else render(child, depth, (index === 0 ? nodePrefix : childPrefix) + part, childPrefix + sub);
    });
  };
  render(root, 0, ' ', ' ');
  return align([['STEP', 'TEMPLATE', 'PODNAME', 'DURATION', 'MESSAGE'], ...rows]);
}

function findRenderNode(roots: Map<string, RenderNode>, id: string): RenderNode | undefined {
  const pending = [...roots.values()];
  while (pending.length > 0) {
    const next = pending.pop() as RenderNode;
    if (next.id === id) return next;
    pending.push(...next.children);
  }
  return undefined;
}

/** The children to draw: all, or the first and last few around a marker. */
function shorten(children: RenderNode[], options: TreeOptions): (RenderNode | 'more')[] {
  if (options.all || children.length <= collapseAbove) return children;
  return [...children.slice(0, keepFirst), 'more', ...children.slice(children.length - keepLast)];
}

function countPhases(nodes: NodeMap, run: readonly RenderNode[]): string {
  const counts = new Map<string, number>();
  for (const { id } of run) {
    const phase = str(nodes[id]?.phase) || 'no phase';
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  }
  return [...counts].map(([phase, count]) => `${count} ${phase}`).join(', ');
}

/**
 * Go's tabwriter with padding 2: each of the first four columns as wide as
 * its widest cell plus two spaces, over the whole table; the message column
 * likewise over the node lines (the header's MESSAGE is its trailing text).
 */
function align(rows: readonly Row[]): string {
  const width = (column: number, from: number) =>
    Math.max(...rows.slice(from).map((row) => [...(row[column] as string)].length)) + 2;
  const widths = [0, 1, 2, 3].map((column) => width(column, 0));
  const messageWidth = rows.length > 1 ? width(4, 1) : 0;
  return rows
    .map((row, index) => {
      const pad = (text: string, size: number) => text + ' '.repeat(Math.max(0, size - [...text].length));
      const cells = row.slice(0, 4).map((cell, column) => pad(cell, widths[column] as number));
      return index === 0 ? `${cells.join('')}${row[4]}` : `${cells.join('')}${pad(row[4], messageWidth)}`;
    })
    .join('\n');
}
