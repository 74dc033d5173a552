import { describe, expect, it } from 'vitest';
import { FailureError, InterruptedError, UsageError } from '../../src/errors.js';
import { engineFailure, errorLinesFrom, redact, stripColor } from '../../src/pulumi/engine-error.js';

const ctx = { operation: 'update', ref: { project: 'lookout-prod', stack: 'prod-infra' } };

describe('errorLinesFrom', () => {
  it('takes the error lines of Pulumi output, including one after a CommandError stream label, once each', () => {
    const text = [
      'code: -2',
      ' stdout: ',
      ' stderr: error: getting stack configuration: open Pulumi.yaml: permission denied',
      'Diagnostics:',
      '  aws:eks:Cluster (cluster):',
      '    error: creating EKS Cluster (lookout-prod): ResourceInUseException: Cluster already exists with name: lookout-prod',
      '    error: creating EKS Cluster (lookout-prod): ResourceInUseException: Cluster already exists with name: lookout-prod',
      '  pulumi:pulumi:Stack (lookout-prod-prod-infra):',
      '    error: update failed',
    ].join('\n');
    expect(errorLinesFrom(text)).toEqual([
      'getting stack configuration: open Pulumi.yaml: permission denied',
      'creating EKS Cluster (lookout-prod): ResourceInUseException: Cluster already exists with name: lookout-prod',
    ]);
  });

  it('keeps a generic line when it is the only one', () => {
    expect(errorLinesFrom('error: update failed')).toEqual(['update failed']);
  });
});

describe('stripColor and redact', () => {
  it('removes ANSI escapes and Pulumi colour directives', () => {
    expect(stripColor('\u001b[31merror:\u001b[0m <{%fg 1%}>boom<{%reset%}>')).toBe('error: boom');
  });
  it('replaces every occurrence of each secret', () => {
    expect(redact('a pw b pw', ['pw', ''])).toBe('a [redacted] b [redacted]');
  });
});

describe('engineFailure', () => {
  it('passes Lookout errors through unchanged', () => {
    const e = new UsageError('bad');
    expect(engineFailure(e, ctx)).toBe(e);
  });

  it('prefers InterruptedError when the signal aborted, whatever the engine said', () => {
    const controller = new AbortController();
    controller.abort();
    expect(engineFailure(new Error('error: update failed'), { ...ctx, signal: controller.signal })).toBeInstanceOf(InterruptedError);
  });

  it('quotes the first meaningful line when the CLI could not even start', () => {
    const err = engineFailure(
      new Error('code: -2\n stdout: \n stderr: Command failed with ENOENT: /opt/pulumi/bin/pulumi up\nspawn /opt/pulumi/bin/pulumi ENOENT\n err?: Error'),
      ctx,
    );
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toBe('Pulumi update of stack lookout-prod/prod-infra failed:\n  Command failed with ENOENT: /opt/pulumi/bin/pulumi up');
  });

  it('indents multi-line diagnostics under their resource', () => {
    const err = engineFailure(new Error('x'), {
      ...ctx,
      diagnostics: [{ urn: 'urn:pulumi:prod-infra::lookout-prod::aws:iam/role:Role::nodes', message: 'first line\nsecond line' }],
    });
    expect(err.message).toBe('Pulumi update of stack lookout-prod/prod-infra failed:\n  aws:iam/role:Role "nodes": first line\n    second line');
  });
});
