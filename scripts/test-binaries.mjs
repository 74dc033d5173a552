#!/usr/bin/env node
// `npm run test:binaries [-- name… ] [--deadline-minutes N] [--keep-going] [--list] [--force]`
//
// Builds the real programs that the integration suites run (test/binaries.json) with the
// ordinary `go` command, through the Go module proxy only, pinned to exact module versions,
// into a cache outside the repository. Nothing here is committed and nothing is downloaded
// at test time: a suite whose binary is missing reports itself skipped with this command.
//
// Each build happens in a throwaway wrapper module in the cache. It requires the pinned
// module, repeats the upstream go.mod's `replace` directives (the ones that point into the
// same repository get the entry's `siblings` version instead), and runs `go build`.
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binDir, cacheRoot, entryKey, loadPinned, manifestPath, readManifest, recipeHash, wrapperGoMod } from './test-binaries-lib.mjs';

function parseArgs(argv) {
  const opts = { names: [], deadlineMinutes: undefined, keepGoing: false, list: false, force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--deadline-minutes') {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) usage(`--deadline-minutes expects a positive number of minutes, got ${JSON.stringify(argv[i])}`);
      opts.deadlineMinutes = v;
    } else if (a === '--keep-going') opts.keepGoing = true;
    else if (a === '--list') opts.list = true;
    else if (a === '--force') opts.force = true;
    else if (a === '--help' || a === '-h') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else opts.names.push(a);
  }
  return opts;
}

function usage(problem) {
  const out = problem ? process.stderr : process.stdout;
  if (problem) out.write(`test-binaries: ${problem}\n`);
  out.write('usage: npm run test:binaries -- [name|name@version …] [--deadline-minutes N] [--keep-going] [--list] [--force]\n');
  process.exit(problem ? 2 : 0);
}

/** Runs a command in its own process group, so a deadline can stop it and everything it started. */
function run(cmd, args, { cwd, env, log, deadline }) {
  return new Promise((resolve) => {
    const fd = openSync(log, 'a');
    writeFileSync(fd, `\n$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', fd, fd], detached: true });
    let timedOut = false;
    const ms = deadline === undefined ? undefined : deadline - Date.now();
    const timer = ms === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, Math.max(ms, 0));
    const onSignal = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } process.exit(130); };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      closeSync(fd);
      resolve({ code, signal, timedOut });
    });
  });
}

async function goJson(args, env, cwd, log) {
  const outFile = join(cwd, '.out.json');
  const res = await new Promise((resolve) => {
    const fd = openSync(outFile, 'w');
    const errFd = openSync(log, 'a');
    const child = spawn('go', args, { cwd, env, stdio: ['ignore', fd, errFd] });
    child.on('exit', (code) => { closeSync(fd); closeSync(errFd); resolve(code); });
  });
  const text = readFileSync(outFile, 'utf8');
  rmSync(outFile, { force: true });
  if (res !== 0) throw new Error(`go ${args.join(' ')} failed (see ${log})`);
  return JSON.parse(text);
}

async function build(entry, opts, deadline) {
  const key = entryKey(entry);
  const work = join(cacheRoot(), 'work', key);
  const logs = join(cacheRoot(), 'logs');
  mkdirSync(logs, { recursive: true });
  const log = join(logs, `${key}.log`);
  writeFileSync(log, `build of ${key} started ${new Date().toISOString()}\n`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const env = {
    ...process.env,
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local',
    CGO_ENABLED: '0',
    GOWORK: 'off',
  };
  const started = Date.now();
  const info = await goJson(['mod', 'download', '-json', `${entry.module}@${entry.version}`], env, work, log);
  if (info.Error) throw new Error(`${entry.module}@${entry.version}: ${info.Error}`);
  const upstreamGoMod = readFileSync(info.GoMod, 'utf8');

  let sourceDir;
  if (entry.embedCopies) {
    // The upstream build generates these files before `go build`; do the same on a copy.
    sourceDir = join(work, 'src');
    cpSync(info.Dir, sourceDir, { recursive: true });
    chmodRecursive(sourceDir);
    for (const [to, from] of Object.entries(entry.embedCopies)) cpSync(join(sourceDir, from), join(sourceDir, to));
  }
  writeFileSync(join(work, 'go.mod'), wrapperGoMod(entry, upstreamGoMod, sourceDir));
  const imports = Object.values(entry.packages).map((p) => `import _ "${p}"`).join('\n');
  writeFileSync(join(work, 'tools.go'), `//go:build tools\n\npackage tools\n\n${imports}\n`);
  let r = await run('go', ['mod', 'tidy'], { cwd: work, env, log, deadline });
  if (r.timedOut) return { status: 'deadline' };
  if (r.code !== 0) throw new Error(`go mod tidy failed (see ${log})`);

  const out = binDir(entry);
  const staging = `${out}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  for (const [bin, pkg] of Object.entries(entry.packages)) {
    const tags = entry.tags?.length ? ['-tags', entry.tags.join(',')] : [];
    const args = ['build', '-trimpath', ...tags, '-o', join(staging, bin), '-ldflags', ['-s', '-w', ...entry.ldflags].join(' '), pkg];
    r = await run('nice', ['-n', '10', 'go', ...args], { cwd: work, env, log, deadline });
    if (r.timedOut) return { status: 'deadline' };
    if (r.code !== 0) throw new Error(`go build ${pkg} failed (see ${log})`);
  }
  const sizes = Object.fromEntries(Object.keys(entry.packages).map((bin) => [bin, statSync(join(staging, bin)).size]));
  const goVersion = readFileSync(join(work, 'go.mod'), 'utf8').match(/^go\s+(\S+)/m)?.[1];
  const record = {
    name: entry.name,
    module: entry.module,
    version: entry.version,
    ...(entry.release ? { release: entry.release } : {}),
    recipe: recipeHash(entry),
    binaries: sizes,
    buildSeconds: Math.round((Date.now() - started) / 1000),
    builtAt: new Date().toISOString(),
    goModGo: goVersion,
    goToolchain: await goVersionString(env),
  };
  writeFileSync(join(staging, 'build.json'), JSON.stringify(record, null, 2) + '\n');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, '..'), { recursive: true });
  renameSync(staging, out);
  if (!opts.keepWork) rmSync(work, { recursive: true, force: true });
  return { status: 'built', record };
}

function chmodRecursive(dir) {
  // The module cache is read-only; the copy must be writable to add generated files.
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chmodRecursive(p);
    else chmodSync(p, 0o644);
  }
}

async function goVersionString(env) {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn('go', ['env', 'GOVERSION'], { env });
    child.stdout.on('data', (c) => (out += c));
    child.on('exit', () => resolve(out.trim()));
  });
}

function writeManifest(updates) {
  const manifest = readManifest();
  for (const rec of updates) manifest.builds[`${rec.name}@${rec.version}`] = rec;
  mkdirSync(cacheRoot(), { recursive: true });
  const tmp = `${manifestPath()}.tmp`;
  writeFileSync(tmp, JSON.stringify(manifest, null, 2) + '\n');
  renameSync(tmp, manifestPath());
}

function isBuilt(entry) {
  const dir = binDir(entry);
  const recordFile = join(dir, 'build.json');
  if (!existsSync(recordFile)) return false;
  try {
    const rec = JSON.parse(readFileSync(recordFile, 'utf8'));
    if (rec.recipe !== recipeHash(entry)) return false;
  } catch {
    return false;
  }
  return Object.keys(entry.packages).every((bin) => existsSync(join(dir, bin)));
}

function formatBytes(n) {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const pinned = loadPinned();
  let entries = pinned;
  if (opts.names.length) {
    entries = [];
    for (const n of opts.names) {
      const matches = pinned.filter((e) => e.name === n || entryKey(e) === n);
      if (!matches.length) usage(`no test binary named ${JSON.stringify(n)} in test/binaries.json (known: ${[...new Set(pinned.map((e) => e.name))].join(', ')})`);
      entries.push(...matches.filter((m) => !entries.includes(m)));
    }
  }
  if (opts.list) {
    for (const e of entries) {
      console.log(`${isBuilt(e) ? 'built  ' : 'missing'}  ${entryKey(e).padEnd(60)} ${binDir(e)}`);
    }
    return;
  }
  if (!(await hasGo())) {
    console.error('test-binaries: the `go` command is not on PATH; the suites that need these binaries will report themselves skipped');
    process.exit(opts.keepGoing ? 0 : 1);
  }
  const deadline = opts.deadlineMinutes === undefined ? undefined : Date.now() + opts.deadlineMinutes * 60_000;
  console.log(`test binaries: cache ${cacheRoot()}${deadline ? `, deadline ${opts.deadlineMinutes} min` : ''}`);
  const results = [];
  for (const entry of entries) {
    const key = entryKey(entry);
    if (!opts.force && isBuilt(entry)) {
      results.push({ key, status: 'cached' });
      console.log(`  ${key}: already built`);
      continue;
    }
    if (deadline && Date.now() >= deadline) {
      results.push({ key, status: 'deadline' });
      console.log(`  ${key}: not built, the deadline has passed`);
      continue;
    }
    console.log(`  ${key}: building (${entry.why})…`);
    try {
      const r = await build(entry, opts, deadline);
      if (r.status === 'built') {
        writeManifest([r.record]);
        const size = Object.values(r.record.binaries).reduce((a, b) => a + b, 0);
        console.log(`  ${key}: built in ${r.record.buildSeconds} s, ${formatBytes(size)}`);
      } else {
        console.log(`  ${key}: stopped at the deadline`);
      }
      results.push({ key, status: r.status });
    } catch (err) {
      console.log(`  ${key}: FAILED: ${err.message}`);
      results.push({ key, status: 'failed', error: err.message });
    }
  }
  const missing = results.filter((r) => r.status === 'failed' || r.status === 'deadline');
  if (missing.length) {
    console.log(`not built: ${missing.map((r) => `${r.key} (${r.status})`).join(', ')}; the suites that need them report themselves skipped`);
    if (!opts.keepGoing) process.exit(1);
  }
}

function hasGo() {
  return new Promise((resolve) => {
    const child = spawn('go', ['version'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}

await main();
