/**
 * The dependency rule, checked on the import graph read from the source:
 * handlers -> lambda -> domain <- store, and every part may read contract/.
 * Nothing under functions/ reaches infrastructure/, local/, bench/, test/ or
 * the test kit; the domain knows no AWS type; the contract and the client
 * stand alone; bench/ and test/ share testkit/ and never import each other.
 * A forbidden import added anywhere fails this test, with the file and the
 * import named.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  imports: Record<string, string>;
};

/** One import of one file: the specifier as written and, when it is ours, the file it names. */
interface ImportEdge {
  readonly from: string;
  readonly specifier: string;
  /** Repository-relative target for `#alias` and relative imports; undefined for packages. */
  readonly to?: string;
}

function sourceFiles(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, folder))) {
    const path = join(folder, entry);
    if (entry === 'node_modules' || entry === 'fixtures' || entry === 'results') continue;
    if (statSync(join(root, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|js)$/.test(entry)) out.push(path);
  }
  return out;
}

function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) return normalize(join(dirname(from), specifier));
  if (!specifier.startsWith('#')) return undefined;
  for (const [alias, target] of Object.entries(packageJson.imports)) {
    if (alias.endsWith('/*') && specifier.startsWith(alias.slice(0, -1))) {
      return normalize(target.replace('*', specifier.slice(alias.length - 1)));
    }
    if (alias === specifier) return normalize(target);
  }
  return `unresolved:${specifier}`;
}

/** Every static and dynamic import of the given files. */
function importsOf(
  files: readonly string[],
  read = (file: string) => readFileSync(join(root, file), 'utf8'),
) {
  const edges: ImportEdge[] = [];
  const pattern =
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const file of files) {
    for (const match of read(file).matchAll(pattern)) {
      const specifier = (match[1] ?? match[2]) as string;
      const to = resolveSpecifier(file, specifier);
      edges.push({ from: file, specifier, ...(to === undefined ? {} : { to: relative('.', to) }) });
    }
  }
  return edges;
}

interface Rule {
  readonly name: string;
  /** The files the rule is about. */
  readonly applies: (file: string) => boolean;
  /** True for an import these files may not have. */
  readonly forbids: (edge: ImportEdge) => boolean;
}

const under = (folder: string) => (path: string | undefined) => path?.startsWith(folder) === true;
const awsPackage = (specifier: string) =>
  /^(@aws-sdk|@aws-lambda-powertools|@middy|aws-lambda|aws-cdk-lib|constructs)/.test(specifier);

const rules: readonly Rule[] = [
  {
    name: 'functions/ imports nothing from infrastructure/, local/, bench/, test/, testkit/ or client/',
    applies: under('functions/'),
    forbids: ({ to }) =>
      ['infrastructure/', 'local/', 'bench/', 'test/', 'testkit/', 'client/'].some((folder) =>
        under(folder)(to),
      ),
  },
  {
    name: 'the domain imports no adapter, no Lambda edge, no handler and no AWS package',
    applies: under('functions/domain/'),
    forbids: ({ to, specifier }) =>
      under('functions/store/')(to) ||
      under('functions/lambda/')(to) ||
      under('functions/handlers/')(to) ||
      awsPackage(specifier),
  },
  {
    name: 'the store adapter imports no Lambda edge and no handler',
    applies: under('functions/store/'),
    forbids: ({ to }) => under('functions/lambda/')(to) || under('functions/handlers/')(to),
  },
  {
    name: 'the Lambda edge imports no handler',
    applies: under('functions/lambda/'),
    forbids: ({ to }) => under('functions/handlers/')(to),
  },
  {
    name: 'the contract imports nothing but itself',
    applies: under('contract/'),
    forbids: ({ to, specifier }) =>
      to === undefined ? !specifier.startsWith('node:') : !under('contract/')(to),
  },
  {
    name: 'the client depends on Node built-ins and itself only',
    applies: under('client/'),
    forbids: ({ to, specifier }) =>
      to === undefined ? !specifier.startsWith('node:') : !under('client/')(to),
  },
  {
    name: 'the CDK app names handlers by entry path and imports none of their code',
    applies: under('infrastructure/'),
    forbids: ({ to }) =>
      under('functions/')(to) || under('local/')(to) || under('bench/')(to) || under('test/')(to),
  },
  {
    name: 'bench/ does not import test/',
    applies: under('bench/'),
    forbids: ({ to }) => under('test/')(to),
  },
  {
    name: 'test/ does not import bench/',
    applies: under('test/'),
    forbids: ({ to }) => under('bench/')(to),
  },
  {
    name: 'every # import resolves to a file of the repository',
    applies: () => true,
    forbids: ({ to }) => to?.startsWith('unresolved:') === true,
  },
];

const violationsOf = (edges: readonly ImportEdge[]) =>
  rules.flatMap((rule) =>
    edges
      .filter((edge) => rule.applies(edge.from) && rule.forbids(edge))
      .map((edge) => `${rule.name}: ${edge.from} imports '${edge.specifier}'`),
  );

const folders = [
  'functions',
  'contract',
  'client',
  'local',
  'infrastructure',
  'bench',
  'test',
  'testkit',
  'bin',
].filter((folder) => {
  try {
    return statSync(join(root, folder)).isDirectory();
  } catch {
    return false;
  }
});

describe('the dependency rule', () => {
  const edges = importsOf(folders.flatMap(sourceFiles));

  it('reads the import graph of the whole tree', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(
      edges.some(
        (edge) => edge.from.startsWith('functions/handlers/') && edge.to?.startsWith('functions/lambda/'),
      ),
    ).toBe(true);
  });

  it('holds for every import of the tree', () => {
    expect(violationsOf(edges)).toEqual([]);
  });

  it('catches a forbidden import (negative control)', () => {
    const planted = importsOf(
      [
        'functions/domain/planted.ts',
        'client/planted.ts',
        'contract/planted.ts',
        'test/unit/planted.test.ts',
      ],
      (file) =>
        ({
          'functions/domain/planted.ts':
            "import { table } from '#infrastructure/handler-settings';\nimport { GetCommand } from '@aws-sdk/lib-dynamodb';",
          'client/planted.ts': "import { nodePhases } from '#contract/workflow';",
          'contract/planted.ts': "import { z } from 'zod';",
          'test/unit/planted.test.ts': "const race = await import('../../bench/race.ts');",
        })[file] as string,
    );

    expect(violationsOf(planted).map((violation) => violation.split(':')[0])).toEqual([
      'functions/ imports nothing from infrastructure/, local/, bench/, test/, testkit/ or client/',
      'the domain imports no adapter, no Lambda edge, no handler and no AWS package',
      'the contract imports nothing but itself',
      'the client depends on Node built-ins and itself only',
      'test/ does not import bench/',
    ]);
  });
});
