/** The final result of a command: one JSON line under `--json`, human text otherwise. */
export function printResult(opts: { json?: boolean }, result: Record<string, unknown>, human: () => string): void {
  if (opts.json) process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...result }) + '\n');
  else process.stdout.write(human());
}
