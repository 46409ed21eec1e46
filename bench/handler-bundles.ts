/**
 * Bundle size and cold init time of every Lambda handler. Each
 * `functions/handlers/*.ts` is bundled with esbuild the way the CDK construct
 * (`infrastructure/constructs/handler-function.ts`) bundles it: ESM, a
 * `require` banner, `module` before `main`, target node22, minified, source
 * map without sources, the AWS SDK included. Cold init is the time a fresh
 * Node process takes to `await import()` the bundle with the Lambda's
 * environment (`NODE_OPTIONS=--enable-source-maps` included), measured
 * inside the process, median of a few runs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { median, round } from './support/stats.ts';

const run = promisify(execFile);

export const projectRoot = fileURLToPath(new URL('../', import.meta.url));

const esmRequireBanner =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

export interface HandlerBundle {
  readonly handler: string;
  readonly bundleBytes: number;
  /** gzip -9 of the bundle: about what the deployment zip weighs. */
  readonly compressedBytes: number;
  readonly sourceMapBytes: number;
  /** `await import(bundle)` in a fresh process, median, ms. */
  readonly initMs: number;
  readonly initMsRuns: readonly number[];
  /** Whole process, spawn to exit, median, ms (Node's own start included). */
  readonly processMs: number;
  /** The same import without `--enable-source-maps`, median, ms (not measured by `--quick`). */
  readonly initMsWithoutSourceMaps?: number;
}

export interface BundleReport {
  readonly bundles: readonly HandlerBundle[];
  /** A fresh process that imports nothing, median, ms: Node's own start. */
  readonly emptyProcessMs: number;
  readonly note?: string;
}

const lambdaEnvironment = {
  AWS_REGION: 'us-east-1',
  WFO_TABLE_NAME: 'workflow-offload',
  WFO_RETENTION_SECONDS: '172800',
  POWERTOOLS_SERVICE_NAME: 'workflow-offload',
  POWERTOOLS_METRICS_NAMESPACE: 'WorkflowOffload',
  LOG_LEVEL: 'INFO',
  NODE_OPTIONS: '--enable-source-maps',
};

async function timeImport(
  file: string | undefined,
  sourceMaps = true,
): Promise<{ initMs: number; processMs: number }> {
  const script = file
    ? `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`
    : 'console.log(0);';
  const start = performance.now();
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH ?? '',
      ...lambdaEnvironment,
      NODE_OPTIONS: sourceMaps ? lambdaEnvironment.NODE_OPTIONS : '',
    },
    cwd: tmpdir(),
  });
  return { initMs: Number(stdout.trim().split('\n').pop()), processMs: performance.now() - start };
}

/** Bundles and times every handler; `runs` fresh processes per handler. */
export async function measureHandlerBundles(
  runs: number,
  log: (line: string) => void,
  withoutSourceMaps = true,
): Promise<BundleReport> {
  const handlersDirectory = join(projectRoot, 'functions', 'handlers');
  if (!existsSync(handlersDirectory)) {
    return { bundles: [], emptyProcessMs: Number.NaN, note: 'no functions/handlers/ yet: skipped' };
  }
  const entries = (await readdir(handlersDirectory)).filter((file) => file.endsWith('.ts')).sort();
  if (entries.length === 0) {
    return { bundles: [], emptyProcessMs: Number.NaN, note: 'functions/handlers/ is empty: skipped' };
  }
  const { build } = await import('esbuild');
  const outdir = await mkdtemp(join(tmpdir(), 'wfo-bundles-'));
  try {
    const empty: number[] = [];
    for (let index = 0; index < runs; index++) empty.push((await timeImport(undefined)).processMs);
    const bundles: HandlerBundle[] = [];
    for (const entry of entries) {
      const name = basename(entry, '.ts');
      const outfile = join(outdir, name, 'index.mjs');
      try {
        await build({
          entryPoints: [join(handlersDirectory, entry)],
          outfile,
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node22',
          mainFields: ['module', 'main'],
          banner: { js: esmRequireBanner },
          minify: true,
          sourcemap: true,
          sourcesContent: false,
          logLevel: 'silent',
        });
      } catch (error) {
        log(`  ${name}: does not bundle yet (${(error as Error).message.split('\n')[0]}): skipped`);
        continue;
      }
      const code = await readFile(outfile);
      const map = await readFile(`${outfile}.map`);
      const init: number[] = [];
      const whole: number[] = [];
      const plain: number[] = [];
      for (let index = 0; index < runs; index++) {
        const timing = await timeImport(outfile);
        init.push(timing.initMs);
        whole.push(timing.processMs);
        if (withoutSourceMaps) plain.push((await timeImport(outfile, false)).initMs);
      }
      bundles.push({
        handler: name,
        bundleBytes: code.length,
        compressedBytes: gzipSync(code, { level: 9 }).length,
        sourceMapBytes: map.length,
        initMs: round(median(init), 1),
        initMsRuns: init.map((value) => round(value, 1)),
        processMs: round(median(whole), 1),
        ...(plain.length > 0 ? { initMsWithoutSourceMaps: round(median(plain), 1) } : {}),
      });
      log(`  ${name}: ${(code.length / 1024).toFixed(0)} KB, init ${median(init).toFixed(0)} ms`);
    }
    return { bundles, emptyProcessMs: round(median(empty), 1) };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}
