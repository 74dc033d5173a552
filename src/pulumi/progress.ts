/**
 * Progress of a Pulumi operation, reduced from the engine's events: how many resources are
 * finished, which ones are being worked on, and the engine's error diagnostics (kept so a
 * failure can quote the engine's own words).
 *
 * What counts as a resource is what the program registers: custom resources, components and
 * explicit providers, but not the root stack or the engine's default providers (see
 * `isProgramResource`). That is also what a mock run of the program counts, so the caller's
 * total hint and `done` measure the same thing. Unchanged (`same`) resources count too: an
 * update visits every registered resource, and leaving them out would stop `done` short of
 * the total. Each resource counts once, even when a replacement gives it two steps.
 */
import type { EngineEvent, OpMap, OpType } from '@pulumi/pulumi/automation/index.js';
import { isProgramResource, parseUrn } from './deployment.js';
import type { EngineDiagnostic } from './engine-error.js';

export interface EngineProgress {
  /** URNs of resources whose step finished (successfully or not). */
  readonly finished: ReadonlySet<string>;
  readonly failed: number;
  readonly totalHint?: number;
  /** Resources being worked on, oldest first. */
  readonly inFlight: ReadonlyArray<{ urn: string; text: string }>;
  readonly diagnostics: readonly EngineDiagnostic[];
  /** The change summary of the engine's final event, when it came. */
  readonly summary?: OpMap;
  readonly cancelled: boolean;
}

export interface ProgressView {
  done: number;
  total?: number;
  message: string;
}

/** Enough to quote the failures of a large update without keeping an unbounded list. */
const MAX_DIAGNOSTICS = 50;

export function initialProgress(totalHint?: number): EngineProgress {
  return {
    finished: new Set(),
    failed: 0,
    ...(totalHint !== undefined && totalHint > 0 ? { totalHint } : {}),
    inFlight: [],
    diagnostics: [],
    cancelled: false,
  };
}

const VERBS: Partial<Record<OpType, string>> = {
  same: 'checking',
  create: 'creating',
  update: 'updating',
  delete: 'deleting',
  replace: 'replacing',
  'create-replacement': 'creating a replacement for',
  'delete-replaced': 'deleting the replaced',
  read: 'reading',
  'read-replacement': 'reading',
  refresh: 'refreshing',
  discard: 'forgetting',
  'discard-replaced': 'forgetting',
  'remove-pending-replace': 'finishing the replacement of',
  import: 'importing',
  'import-replacement': 'importing',
};

/** `aws:s3/bucket:Bucket` → `aws:s3:Bucket`: the module path adds length but no information. */
export function shortType(type: string): string {
  const [pkg, module, kind] = type.split(':');
  if (kind === undefined || module === undefined) return type;
  return `${pkg}:${module.split('/')[0]}:${kind}`;
}

export function reduceEngineEvent(state: EngineProgress, event: EngineEvent): EngineProgress {
  if (event.resourcePreEvent) {
    const { urn, op } = event.resourcePreEvent.metadata;
    if (!isProgramResource(urn) || state.inFlight.some((r) => r.urn === urn)) return state;
    const { type, name } = parseUrn(urn);
    const text = `${VERBS[op] ?? op} ${name} (${shortType(type)})`;
    return { ...state, inFlight: [...state.inFlight, { urn, text }] };
  }
  if (event.resOutputsEvent) {
    return finish(state, event.resOutputsEvent.metadata.urn, false);
  }
  if (event.resOpFailedEvent) {
    return finish(state, event.resOpFailedEvent.metadata.urn, true);
  }
  if (event.diagnosticEvent) {
    const d = event.diagnosticEvent;
    if (d.severity !== 'error' || state.diagnostics.length >= MAX_DIAGNOSTICS) return state;
    const diagnostic: EngineDiagnostic = { message: d.message.trim(), ...(d.urn ? { urn: d.urn } : {}) };
    return { ...state, diagnostics: [...state.diagnostics, diagnostic] };
  }
  if (event.summaryEvent) {
    return { ...state, summary: event.summaryEvent.resourceChanges };
  }
  if (event.cancelEvent) {
    return { ...state, cancelled: true };
  }
  return state;
}

function finish(state: EngineProgress, urn: string, failed: boolean): EngineProgress {
  if (!isProgramResource(urn)) return state;
  const finished = new Set(state.finished);
  finished.add(urn);
  return {
    ...state,
    finished,
    failed: state.failed + (failed ? 1 : 0),
    inFlight: state.inFlight.filter((r) => r.urn !== urn),
  };
}

export function progressView(state: EngineProgress): ProgressView {
  const done = state.finished.size;
  // A hint from a mock run or a preview can be a little off (a resource the program only
  // registers on some paths); never show more done than total.
  const total = state.totalHint !== undefined ? Math.max(state.totalHint, done) : undefined;
  const current = state.inFlight[state.inFlight.length - 1];
  const others = state.inFlight.length - 1;
  const message = current ? `${current.text}${others > 0 ? ` (+${others} more)` : ''}` : '';
  return { done, ...(total !== undefined ? { total } : {}), message };
}

/**
 * The number of resources an update will visit, from a preview's change summary. The
 * summary counts the root stack too (a one-bucket program previews as "2 to create").
 */
export function totalFromChangeSummary(summary: OpMap | Record<string, number>): number | undefined {
  const sum = Object.values(summary).reduce<number>((a, n) => a + (typeof n === 'number' ? n : 0), 0);
  return sum > 0 ? sum - 1 : undefined;
}
