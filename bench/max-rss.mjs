// Preloaded into measured processes (NODE_OPTIONS=--import): records the process's peak
// resident set size at exit, so the benchmark reads the real figure without an external tool.
import { appendFileSync } from 'node:fs';

const target = process.env.LOOKOUT_BENCH_RSS_FILE;
if (target) {
  process.on('exit', () => {
    appendFileSync(target, `${process.resourceUsage().maxRSS}\n`);
  });
}
