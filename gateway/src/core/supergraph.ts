import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import type { Logger } from './logger.js';

export class SupergraphError extends Error {
  override name = 'SupergraphError';
}

export interface LoadedSupergraph {
  /** The SDL as handed to @apollo/gateway (see `forGateway`). */
  sdl: string;
  /** The SDL exactly as in the file: later features read security directives from it. */
  originalSdl: string;
  hash: string;
  subgraphs: { name: string; url: string }[];
}

function describe(error: unknown): string {
  const err = error as { message?: string; causes?: { message: string }[] };
  const causes = err.causes?.map((cause) => cause.message).filter((m) => m !== err.message) ?? [];
  return [err.message ?? String(error), ...causes].join('; ');
}

/**
 * @apollo/gateway refuses supergraphs that link a feature `for: SECURITY` (what composition emits
 * for @authenticated, @requiresScopes and @policy). Frontdesk enforces those itself, so the
 * gateway gets the same SDL with that purpose removed and then ignores the directives.
 */
export function forGateway(sdl: string): string {
  return sdl.replace(/(@link\([^)]*?),\s*for:\s*SECURITY\s*\)/g, '$1)');
}

/** Parses and validates supergraph SDL; throws a SupergraphError naming `origin` and the problem. */
export function validateSupergraph(originalSdl: string, origin: string): LoadedSupergraph {
  if (originalSdl.trim() === '') throw new SupergraphError(`Invalid supergraph ${origin}: the file is empty`);
  const sdl = forGateway(originalSdl);
  let supergraph: Supergraph;
  try {
    supergraph = Supergraph.build(sdl, { validateSupergraph: true });
    supergraph.apiSchema();
  } catch (error) {
    throw new SupergraphError(`Invalid supergraph ${origin}: ${describe(error)}`);
  }
  const subgraphs = supergraph
    .subgraphs()
    .values()
    .map((subgraph) => ({ name: subgraph.name, url: subgraph.url }));
  return { sdl, originalSdl, hash: createHash('sha256').update(originalSdl).digest('hex'), subgraphs };
}

/** Reads and validates a supergraph file. */
export function readSupergraph(path: string): LoadedSupergraph {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'file not found' : `cannot read it (${code ?? describe(error)})`;
    throw new SupergraphError(`Cannot load supergraph ${path}: ${problem}`);
  }
  return validateSupergraph(text, path);
}

/**
 * Watches the directory (editors and `npm run compose` replace files by rename) and calls
 * `onChange` with each new valid version after a quiet period. Invalid versions are logged once
 * and skipped, so the last good supergraph stays in service.
 */
export function watchSupergraph(
  path: string,
  options: { debounceMs: number; initialHash: string; logger: Logger; onChange: (loaded: LoadedSupergraph) => void },
): () => void {
  let lastHash = options.initialHash;
  const reload = (): void => {
    let loaded: LoadedSupergraph;
    try {
      loaded = readSupergraph(path);
    } catch (error) {
      options.logger.error({ path }, `supergraph reload rejected, keeping the last good one: ${(error as Error).message}`);
      return;
    }
    if (loaded.hash === lastHash) return;
    try {
      options.onChange(loaded);
      lastHash = loaded.hash;
    } catch (error) {
      options.logger.error({ path }, `supergraph reload rejected, keeping the last good one: ${describe(error)}`);
    }
  };
  return watchFile(path, options.debounceMs, reload, options.logger);
}

/**
 * Calls `onChange` after a quiet period when `path` changes (its directory is watched: editors
 * replace files by rename).
 */
export function watchFile(path: string, debounceMs: number, onChange: () => void, logger: Logger): () => void {
  const file = basename(path);
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
    if (changed !== null && changed !== file) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  });
  watcher.on('error', (error) => logger.error({ path, err: error }, 'file watcher failed'));
  return () => {
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}

/** Where the last supergraph that loaded is kept: beside the file, `<file>.last-good`. */
export function lastGoodPath(path: string): string {
  return `${path}.last-good`;
}

/**
 * Keeps a supergraph that loaded beside its file (written whole, then renamed into place), so a
 * later start on a broken file can serve it. A failure to write is logged, never fatal.
 */
export function keepLastGood(path: string, loaded: LoadedSupergraph, logger: Logger): void {
  const target = lastGoodPath(path);
  try {
    if (existsSync(target) && readFileSync(target, 'utf8') === loaded.originalSdl) return;
    const temporary = `${target}.tmp-${process.pid}-${Date.now()}`;
    writeFileSync(temporary, loaded.originalSdl);
    renameSync(temporary, target);
  } catch (error) {
    logger.warn({ path: target, err: (error as Error).message }, 'could not keep a copy of the last good supergraph');
  }
}

/**
 * The supergraph to start on: the file, or, when it is missing or invalid and a last good copy
 * loads, that copy, with why (the gateway serves it degraded until the file is fixed).
 */
export function readSupergraphOrLastGood(path: string, useLastGood: boolean): { loaded: LoadedSupergraph; degraded?: string } {
  try {
    return { loaded: readSupergraph(path) };
  } catch (error) {
    const fallback = lastGoodPath(path);
    if (!useLastGood || !existsSync(fallback)) throw error;
    let loaded: LoadedSupergraph;
    try {
      loaded = readSupergraph(fallback);
    } catch {
      throw error;
    }
    return { loaded, degraded: `${(error as Error).message}; serving the last good copy ${fallback}` };
  }
}
