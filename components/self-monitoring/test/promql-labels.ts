/**
 * Which labels a PromQL expression uses, and which labels its result carries, from the
 * Prometheus project's own grammar (@prometheus-io/lezer-promql) and a table of the labels each
 * metric has. Every label matcher, `by`/`without` and `on`/`ignoring`/`group_*` label is checked
 * against the labels the series under it can have; the result's labels are what a legend or an
 * alert annotation may name.
 */
import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

export interface MetricLabels {
  /** Labels of the metric itself; `undefined` for a selector that names no metric (any labels). */
  labelsOf(metric: string): readonly string[] | undefined;
}

/** A label a query uses that the series it applies to cannot have. */
export interface LabelProblem {
  label: string;
  where: string;
}

/** `undefined`: unknown (any label may be there); otherwise exactly these. */
type Labels = ReadonlySet<string> | undefined;

/** Functions whose result has no labels at all. */
const SCALAR_FUNCTIONS = new Set(['time', 'vector', 'scalar', 'pi', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'hour', 'minute', 'month', 'year']);

const ANY: Labels = undefined;
const NONE: Labels = new Set();

function union(a: Labels, b: Labels): Labels {
  return a === undefined || b === undefined ? ANY : new Set([...a, ...b]);
}

export class PromqlLabels {
  readonly problems: LabelProblem[] = [];
  readonly metrics = new Set<string>();

  constructor(
    private readonly table: MetricLabels,
    private readonly expr: string,
    private readonly where: string,
  ) {}

  private text(node: SyntaxNode): string {
    return this.expr.slice(node.from, node.to);
  }

  private children(node: SyntaxNode, name?: string): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = node.firstChild; c; c = c.nextSibling) if (!name || c.name === name) out.push(c);
    return out;
  }

  private check(label: string, available: Labels, context: string): void {
    if (available !== undefined && !available.has(label)) {
      this.problems.push({ label, where: `${this.where}: ${context} uses "${label}", which the series there do not have (they have: ${[...available].sort().join(', ') || 'none'})` });
    }
  }

  private groupingLabels(node: SyntaxNode): string[] {
    return this.children(node, 'GroupingLabels').flatMap((g) => this.children(g, 'LabelName').map((l) => this.text(l)));
  }

  /** The labels of the expression's result, checking every label it uses on the way. */
  labels(node: SyntaxNode): Labels {
    switch (node.name) {
      case 'PromQL':
      case 'ParenExpr':
      case 'MatrixSelector':
      case 'SubqueryExpr':
      case 'OffsetExpr':
      case 'StepInvariantExpr':
        return this.labels(this.children(node).find((c) => isExpression(c))!);
      case 'NumberDurationLiteral':
      case 'NumberLiteral':
      case 'StringLiteral':
        return NONE;
      case 'UnaryExpr':
        return this.labels(this.children(node).find((c) => isExpression(c))!);
      case 'VectorSelector':
        return this.vectorSelector(node);
      case 'FunctionCall':
        return this.functionCall(node);
      case 'AggregateExpr':
        return this.aggregate(node);
      case 'BinaryExpr':
        return this.binary(node);
      default:
        throw new Error(`${this.where}: PromQL node ${node.name} is not handled ("${this.text(node)}")`);
    }
  }

  private vectorSelector(node: SyntaxNode): Labels {
    const name = this.children(node, 'Identifier')[0];
    const metric = name ? this.text(name) : undefined;
    let own: Labels = ANY;
    if (metric) {
      this.metrics.add(metric);
      const known = this.table.labelsOf(metric);
      own = known === undefined ? ANY : new Set(known);
    }
    for (const matchers of this.children(node, 'LabelMatchers')) {
      for (const m of this.children(matchers)) {
        const label = this.children(m, 'LabelName')[0];
        if (!label) continue;
        const text = this.text(label);
        if (text !== '__name__') this.check(text, own, `the selector ${this.text(node)}`);
      }
    }
    return own;
  }

  private functionCall(node: SyntaxNode): Labels {
    const identifier = this.children(node, 'FunctionIdentifier')[0]!;
    const fn = this.text(identifier);
    const body = this.children(node, 'FunctionCallBody')[0];
    const args = body ? this.children(body).filter((c) => isExpression(c)) : [];
    const argLabels = args.map((a) => this.labels(a));
    if (SCALAR_FUNCTIONS.has(fn)) return NONE;
    const vector = argLabels.find((_, i) => args[i]!.name !== 'StringLiteral' && args[i]!.name !== 'NumberDurationLiteral');
    if (fn === 'histogram_quantile') {
      const input = argLabels[1];
      this.check('le', input, 'histogram_quantile');
      return input === undefined ? ANY : new Set([...input].filter((l) => l !== 'le'));
    }
    if (fn === 'label_replace' || fn === 'label_join') {
      const destination = JSON.parse(this.text(args[1]!)) as string;
      return union(argLabels[0], new Set([destination]));
    }
    if (fn === 'absent' || fn === 'absent_over_time') return ANY;
    return vector ?? NONE;
  }

  private aggregate(node: SyntaxNode): Labels {
    const op = this.text(this.children(node, 'AggregateOp')[0]!);
    const body = this.children(node, 'FunctionCallBody')[0]!;
    const args = this.children(body).filter((c) => isExpression(c));
    // topk/bottomk/quantile/count_values take a parameter first.
    const input = this.labels(args[args.length - 1]!);
    for (const a of args.slice(0, -1)) this.labels(a);
    const modifier = this.children(node, 'AggregateModifier')[0];
    const grouping = modifier ? this.groupingLabels(modifier) : [];
    for (const label of grouping) this.check(label, input, `${op} ${modifier ? this.text(this.children(modifier)[0]!) : ''} (...)`);
    if (['topk', 'bottomk', 'limitk', 'limit_ratio'].includes(op)) return input;
    if (!modifier) return NONE;
    const without = this.children(modifier, 'Without').length > 0;
    if (without) return input === undefined ? ANY : new Set([...input].filter((l) => !grouping.includes(l)));
    return new Set(grouping);
  }

  private binary(node: SyntaxNode): Labels {
    const operands = this.children(node).filter((c) => isExpression(c));
    const [left, right] = [this.labels(operands[0]!), this.labels(operands[1]!)];
    const operator = this.children(node).find((c) => !isExpression(c) && c.name !== 'MatchingModifierClause' && c.name !== 'BoolModifier');
    const op = operator ? this.text(operator) : '';
    const scalar = (n: SyntaxNode) => ['NumberDurationLiteral', 'NumberLiteral'].includes(n.name) || (n.name === 'FunctionCall' && SCALAR_FUNCTIONS.has(this.text(this.children(n, 'FunctionIdentifier')[0]!)));
    const matching = this.children(node, 'MatchingModifierClause')[0];
    if (matching) {
      const groups = this.children(matching, 'GroupingLabels');
      const on = groups[0] ? this.children(groups[0], 'LabelName').map((l) => this.text(l)) : [];
      for (const label of on) {
        this.check(label, left, 'on/ignoring (left side)');
        this.check(label, right, 'on/ignoring (right side)');
      }
      const extra = groups[1] ? this.children(groups[1], 'LabelName').map((l) => this.text(l)) : [];
      const groupRight = this.children(matching, 'GroupRight').length > 0;
      for (const label of extra) this.check(label, groupRight ? left : right, 'group_left/group_right');
      if (groupRight) return right;
      if (this.children(matching, 'GroupLeft').length > 0) return union(left, new Set(extra));
    }
    if (scalar(operands[0]!)) return right;
    if (scalar(operands[1]!)) return left;
    if (op === 'or') return union(left, right);
    return left;
  }
}

function isExpression(node: SyntaxNode): boolean {
  return /Expr$|Selector$|Literal$|^FunctionCall$|^PromQL$/.test(node.name);
}

/** Parses one expression; throws on a syntax error. */
export function analyse(table: MetricLabels, expr: string, where: string): { result: Labels; problems: LabelProblem[]; metrics: Set<string> } {
  const tree = parser.parse(expr);
  let error: number | undefined;
  tree.iterate({ enter: (n) => (n.type.isError ? ((error = n.from), false) : undefined) });
  if (error !== undefined) throw new Error(`${where}: PromQL does not parse at ${error}: ${expr}`);
  const analysis = new PromqlLabels(table, expr, where);
  const result = analysis.labels(tree.topNode);
  return { result, problems: analysis.problems, metrics: analysis.metrics };
}
