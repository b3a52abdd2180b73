import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { StackError } from './errors.js';
import { displayPath, repoRoot, type ResolvedOptions } from './options.js';

/** A program the stack runs, and the variable that overrides where it is found. */
export interface Tool {
  /** File name on PATH and in the cache bin, e.g. `nats-server`. */
  name: string;
  /** Env variable holding an explicit path; when set, nothing else is searched. */
  envVar: string;
}

export const natsServerTool: Tool = { name: 'nats-server', envVar: 'KERNOS_NATS_SERVER_BIN' };
export const temporalTool: Tool = { name: 'temporal', envVar: 'KERNOS_TEMPORAL_BIN' };
export const javaTool: Tool = { name: 'java', envVar: 'KERNOS_JAVA_BIN' };

const SETUP_HINT = 'run: bash scripts/setup.sh';

/**
 * Finds a tool: the env override, then `<cacheDir>/bin`, then (for java) `$JAVA_HOME/bin`, then PATH.
 * Throws a `missing_binary` StackError whose one line says where it looked and what to run.
 */
export function findTool(tool: Tool, options: Pick<ResolvedOptions, 'cacheDir' | 'env'>): string {
  const { env } = options;
  const override = env[tool.envVar];
  if (override) {
    if (isExecutable(override)) return override;
    throw new StackError(
      'missing_binary',
      `kernos: ${tool.name} not found at ${tool.envVar}=${override}; fix the path or unset ${tool.envVar}`,
    );
  }

  const cacheBin = join(options.cacheDir, 'bin');
  const dirs = [cacheBin];
  if (tool === javaTool && env.JAVA_HOME) dirs.push(join(env.JAVA_HOME, 'bin'));
  dirs.push(...(env.PATH ?? '').split(delimiter).filter(Boolean));
  for (const dir of dirs) {
    const candidate = join(dir, tool.name);
    if (isExecutable(candidate)) return candidate;
  }

  const where = tool === javaTool ? 'on PATH, in JAVA_HOME' : 'on PATH';
  const fix = tool === javaTool ? `install Java 17+ (apt-get install -y openjdk-17-jdk-headless), then ${SETUP_HINT}` : SETUP_HINT;
  throw new StackError('missing_binary', `kernos: ${tool.name} not found ${where} or in ${displayPath(cacheBin, env)}; ${fix}`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Sources of the Neo4j launcher; their hash names its build in the cache. */
export const launcherSourceDir = join(repoRoot, 'tools', 'neo4j-launcher');

/**
 * The cache key scripts/setup.sh uses for the launcher build:
 * `find pom.xml src -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16`.
 * Keeping both in step means an edited Launcher.java is never run from a stale jar.
 */
export function launcherHash(sourceDir: string = launcherSourceDir): string {
  const files = ['pom.xml', ...listFiles(join(sourceDir, 'src')).map((file) => relative(sourceDir, file))];
  // LC_ALL=C sort orders by bytes; for the ASCII paths here that is JavaScript's default order.
  files.sort();
  const listing = files
    .map((file) => `${createHash('sha256').update(readFileSync(join(sourceDir, file))).digest('hex')}  ${file}\n`)
    .join('');
  return createHash('sha256').update(listing).digest('hex').slice(0, 16);
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path);
    return entry.isFile() ? [path] : [];
  });
}

/** The launcher's classpath dir (`<cacheDir>/neo4j-launcher/<hash>/lib`), which scripts/setup.sh fills. */
export function findLauncherLib(options: Pick<ResolvedOptions, 'cacheDir' | 'env'>, sourceDir: string = launcherSourceDir): string {
  if (!existsSync(join(sourceDir, 'pom.xml'))) {
    throw new StackError('missing_binary', `kernos: Neo4j launcher sources not found at ${sourceDir}; restore tools/neo4j-launcher`);
  }
  const lib = join(options.cacheDir, 'neo4j-launcher', launcherHash(sourceDir), 'lib');
  if (!existsSync(lib)) {
    throw new StackError(
      'missing_binary',
      `kernos: Neo4j launcher is not built for the current tools/neo4j-launcher sources (no ${displayPath(lib, options.env)}); ${SETUP_HINT}`,
    );
  }
  return lib;
}
