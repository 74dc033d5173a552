/**
 * The longest path through a weighted dependency graph: the chain of work that bounds how long
 * the whole takes when everything else runs in parallel beside it. Generic, so that `plan` can
 * apply it to any stack's resources and tests to any small graph.
 */

export interface WeightedNode {
  id: string;
  /** The node's own duration (or any weight); zero for nodes that take no time. */
  weight: number;
}

export interface LongestPath {
  /** Sum of the weights along the path. */
  total: number;
  /** Node ids from the first prerequisite to the last node. Empty for an empty graph. */
  path: string[];
}

export class DependencyCycleError extends Error {}

/**
 * `prerequisites` maps a node id to the ids it waits for; ids that are not nodes are ignored
 * (a dependency outside the graph costs nothing here). Ties go to the node that comes first in
 * `nodes`, both for the last node and for each predecessor, so the result is the same on every
 * run. A cycle cannot come from a Pulumi program (the engine refuses one), but a bad input must
 * not recurse forever: it throws DependencyCycleError naming the nodes.
 */
export function longestPath(nodes: readonly WeightedNode[], prerequisites: ReadonlyMap<string, readonly string[]>): LongestPath {
  const order = new Map(nodes.map((n, i) => [n.id, i]));
  const weight = new Map(nodes.map((n) => [n.id, n.weight]));
  /** Longest total ending at a node (its own weight included), and the predecessor on that path. */
  const finish = new Map<string, { total: number; via?: string }>();
  const visiting: string[] = [];

  const finishOf = (id: string): number => {
    const known = finish.get(id);
    if (known) return known.total;
    if (visiting.includes(id)) throw new DependencyCycleError(`dependency cycle: ${[...visiting.slice(visiting.indexOf(id)), id].join(' → ')}`);
    visiting.push(id);
    let best: { total: number; via?: string } = { total: 0 };
    const before = [...new Set(prerequisites.get(id) ?? [])].filter((p) => order.has(p)).sort((a, b) => order.get(a)! - order.get(b)!);
    for (const p of before) {
      const total = finishOf(p);
      if (best.via === undefined || total > best.total) best = { total, via: p };
    }
    visiting.pop();
    const result = { total: best.total + weight.get(id)!, ...(best.via === undefined ? {} : { via: best.via }) };
    finish.set(id, result);
    return result.total;
  };

  let end: string | undefined;
  for (const n of nodes) {
    const total = finishOf(n.id);
    if (end === undefined || total > finishOf(end)) end = n.id;
  }
  if (end === undefined) return { total: 0, path: [] };
  const path: string[] = [];
  for (let at: string | undefined = end; at !== undefined; at = finish.get(at)!.via) path.unshift(at);
  return { total: finish.get(end)!.total, path };
}
