/**
 * Running a Pulumi CLI command the Node Automation API has no method for (for example
 * `refresh --import-pending-creates`), the way the API runs its own: through the
 * workspace's PulumiCommand, in the workspace directory, with the workspace environment.
 */

export interface CommandOutput {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * `PulumiCommand.run` is marked @internal, so it is missing from the type declarations, but
 * it is what every Stack and LocalWorkspace method calls. It appends `--non-interactive`,
 * sets PULUMI_AUTOMATION_API, and sends SIGINT to the child when the signal aborts.
 */
export interface PulumiRunner {
  run(
    args: string[],
    cwd: string,
    additionalEnv: Record<string, string>,
    onOutput?: (data: string) => void,
    onError?: (data: string) => void,
    signal?: AbortSignal,
  ): Promise<CommandOutput>;
}

export function asRunner(command: unknown): PulumiRunner {
  if (typeof (command as Partial<PulumiRunner> | undefined)?.run !== 'function') {
    throw new Error('This version of @pulumi/pulumi has no PulumiCommand.run; Lookout needs it to run Pulumi commands.');
  }
  return command as PulumiRunner;
}

export interface WorkspaceEnvSource {
  envVars: Record<string, string>;
  pulumiHome?: string;
}

/** The environment Stack.runPulumiCmd gives the CLI (see @pulumi/pulumi/automation/stack.js). */
export function workspaceEnv(ws: WorkspaceEnvSource): Record<string, string> {
  return {
    // Enables the hidden --event-log flag and the other automation-only flags.
    PULUMI_DEBUG_COMMANDS: 'true',
    ...(ws.pulumiHome ? { PULUMI_HOME: ws.pulumiHome } : {}),
    ...ws.envVars,
  };
}
