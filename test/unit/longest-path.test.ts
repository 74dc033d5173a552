/** The generic longest path under the plan's critical path: known graphs, ties, cycles. */
import { describe, expect, it } from 'vitest';
import { DependencyCycleError, longestPath, type WeightedNode } from '../../src/plan/longest-path.js';

const nodes = (weights: Record<string, number>): WeightedNode[] => Object.entries(weights).map(([id, weight]) => ({ id, weight }));
const deps = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

describe('longestPath', () => {
  it('finds the heaviest chain, not the longest in nodes or the heaviest single node', () => {
    // a → b → d (1+2+1 = 4) has more nodes; a → c → d (1+5+1 = 7) is heavier; e (6) stands alone.
    const graph = nodes({ a: 1, b: 2, c: 5, d: 1, e: 6 });
    expect(longestPath(graph, deps({ b: ['a'], c: ['a'], d: ['b', 'c'] }))).toEqual({ total: 7, path: ['a', 'c', 'd'] });
  });

  it('ends the chain at its last weighted node: a weightless node after it ties and comes later', () => {
    const graph = nodes({ network: 30, cluster: 540, pool: 240, component: 0, bucket: 5 });
    const edges = deps({ cluster: ['network'], pool: ['cluster'], component: ['pool'], bucket: [] });
    expect(longestPath(graph, edges)).toEqual({ total: 810, path: ['network', 'cluster', 'pool'] });
    // Listed first, the weightless node wins the tie and closes the chain.
    const [network, cluster, pool, component, bucket] = graph;
    expect(longestPath([component!, network!, cluster!, pool!, bucket!], edges).path).toEqual(['network', 'cluster', 'pool', 'component']);
  });

  it('breaks ties by the order of the nodes, for both the end and each predecessor', () => {
    const graph = nodes({ x: 3, y: 3, z: 1 });
    expect(longestPath(graph, deps({ z: ['y', 'x'] }))).toEqual({ total: 4, path: ['x', 'z'] });
    expect(longestPath(nodes({ q: 2, p: 2 }), deps({}))).toEqual({ total: 2, path: ['q'] });
  });

  it('ignores prerequisites that are not nodes, and repeated ones', () => {
    expect(longestPath(nodes({ a: 2, b: 3 }), deps({ b: ['outside', 'a', 'a'] }))).toEqual({ total: 5, path: ['a', 'b'] });
  });

  it('gives an empty path for an empty graph', () => {
    expect(longestPath([], new Map())).toEqual({ total: 0, path: [] });
  });

  it('refuses a cycle, naming it, instead of recursing forever', () => {
    const graph = nodes({ a: 1, b: 1, c: 1 });
    expect(() => longestPath(graph, deps({ a: ['c'], b: ['a'], c: ['b'] }))).toThrow(DependencyCycleError);
    expect(() => longestPath(graph, deps({ a: ['c'], b: ['a'], c: ['b'] }))).toThrow('dependency cycle: a → c → b → a');
    expect(() => longestPath(nodes({ a: 1 }), deps({ a: ['a'] }))).toThrow('dependency cycle: a → a');
  });
});
