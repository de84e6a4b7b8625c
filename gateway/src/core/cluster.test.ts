import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { workerExecArgv } from './cluster.js';

describe('workerExecArgv', () => {
  const cpus = availableParallelism();

  it('adds the semi-space and, with a worker per CPU (auto), single-threaded GC to the primary flags', () => {
    expect(workerExecArgv(cpus, { singleThreaded: 'auto', semiSpaceMb: 64 }, ['--enable-source-maps'])).toEqual(['--enable-source-maps', '--single-threaded-gc', '--max-semi-space-size=64']);
  });

  it('keeps parallel GC (auto) while workers leave CPUs free, and honours explicit settings', () => {
    if (cpus > 1) expect(workerExecArgv(cpus - 1, { singleThreaded: 'auto', semiSpaceMb: 64 }, [])).toEqual(['--max-semi-space-size=64']);
    expect(workerExecArgv(1, { singleThreaded: true, semiSpaceMb: 0 }, [])).toEqual(['--single-threaded-gc']);
    expect(workerExecArgv(cpus * 2, { singleThreaded: false, semiSpaceMb: 0 }, [])).toEqual([]);
  });

  it('never overrides a flag given to node itself', () => {
    expect(workerExecArgv(cpus, { singleThreaded: true, semiSpaceMb: 64 }, ['--max-semi-space-size=8', '--single-threaded-gc'])).toEqual(['--max-semi-space-size=8', '--single-threaded-gc']);
  });
});
