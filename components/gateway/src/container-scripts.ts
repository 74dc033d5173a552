/**
 * The shell the gateway's containers run (the stock nginx image has a POSIX shell and awk):
 * writing the resolver include at start, starting nginx, and the reload loop of the sidecar.
 * They are pure functions of their paths, so tests run them under a real shell and nginx.
 */

const SAFE_PATH = /^\/[A-Za-z0-9._\/-]*$/;

function checkPath(what: string, path: string): string {
  // Every path is interpolated into a shell script; allow nothing a shell would interpret.
  if (!SAFE_PATH.test(path)) throw new Error(`gateway script: ${what} must be an absolute path of [A-Za-z0-9._/-], not ${JSON.stringify(path)}`);
  return path;
}

export interface ResolverScriptOptions {
  /** Normally /etc/resolv.conf. */
  resolvConf: string;
  /** The include file the nginx config names in `resolver: { include }`. */
  output: string;
  /** How long nginx caches answers; Service IPs rarely change, but new Services must appear. */
  validSeconds?: number;
}

/**
 * Writes `resolver <nameservers> valid=<n>s [ipv6=off];` from resolv.conf. nginx does not read
 * resolv.conf itself, and the cluster DNS address differs between clusters, so it is read at
 * container start. AAAA lookups stay on only when a nameserver is IPv6.
 */
export function resolverIncludeScript(options: ResolverScriptOptions): string {
  const valid = options.validSeconds ?? 10;
  if (!Number.isInteger(valid) || valid < 1) throw new Error(`gateway script: validSeconds must be a whole number ≥ 1, not ${valid}`);
  const resolvConf = checkPath('resolvConf', options.resolvConf);
  const output = checkPath('output', options.output);
  return [
    `awk -v valid=${valid} '`,
    `  $1 == "nameserver" && $2 != "" { if ($2 ~ /:/) { ns = ns " [" $2 "]"; v6 = 1 } else { ns = ns " " $2 } }`,
    `  END {`,
    `    if (ns == "") { print "lookout-gateway: no nameserver in ${resolvConf}" > "/dev/stderr"; exit 1 }`,
    `    printf "resolver%s valid=%ds%s;\\n", ns, valid, (v6 ? "" : " ipv6=off")`,
    `  }' ${resolvConf} > ${output}`,
  ].join('\n');
}

export interface StartScriptOptions extends ResolverScriptOptions {
  /** The generated nginx.conf. */
  configFile: string;
}

/** The nginx container's command: the resolver include, then nginx in the foreground as PID 1's child. */
export function gatewayStartScript(options: StartScriptOptions): string {
  return ['set -eu', resolverIncludeScript(options), `exec nginx -c ${checkPath('configFile', options.configFile)} -g 'daemon off;'`].join('\n');
}

export interface ReloadLoopOptions {
  /** Directories whose files nginx reads at (re)load: the tenants' Secret and the TLS Secret. */
  watchDirs: readonly string[];
  /** nginx's pid file (on a volume shared with the nginx container). */
  pidFile: string;
  /** Written with the time on every round, for the sidecar's probes. */
  heartbeatFile: string;
  intervalSeconds: number;
}

/**
 * The reload sidecar. The kubelet updates mounted Secrets in place (a symlink swap), so the
 * loop compares a checksum of the files' names and contents every few seconds and sends nginx
 * SIGHUP, its graceful reload, when anything changed: new workers start with the new maps and
 * old ones finish their requests. A config that fails to load leaves nginx on the old one.
 * The checksum starts empty so the first round reloads once, covering a change made between
 * nginx's start and the sidecar's.
 */
export function reloadLoopScript(options: ReloadLoopOptions): string {
  if (options.watchDirs.length === 0) throw new Error('gateway script: watchDirs is empty');
  if (!Number.isInteger(options.intervalSeconds) || options.intervalSeconds < 1) {
    throw new Error(`gateway script: intervalSeconds must be a whole number ≥ 1, not ${options.intervalSeconds}`);
  }
  const dirs = options.watchDirs.map((d) => checkPath('watchDirs', d.replace(/\/+$/, ''))).join(' ');
  const pidFile = checkPath('pidFile', options.pidFile);
  const heartbeat = checkPath('heartbeatFile', options.heartbeatFile);
  return [
    'set -u',
    `state() { for dir in ${dirs}; do ls "$dir"/; cat "$dir"/* 2>/dev/null; done | md5sum; }`,
    "last=''",
    'while :; do',
    `  date +%s > ${heartbeat}`,
    '  now=$(state)',
    '  if [ "$now" != "$last" ]; then',
    `    if kill -HUP "$(cat ${pidFile} 2>/dev/null)" 2>/dev/null; then`,
    '      echo "lookout-reloader: tenants or certificate changed; nginx reloaded"',
    '      last=$now',
    '    else',
    '      echo "lookout-reloader: nginx is not running yet; retrying" >&2',
    '    fi',
    '  fi',
    `  sleep ${options.intervalSeconds}`,
    'done',
  ].join('\n');
}

/** The sidecar's probe: the loop wrote its heartbeat within `maxAgeSeconds`. */
export function heartbeatProbeScript(heartbeatFile: string, maxAgeSeconds: number): string {
  return `test $(( $(date +%s) - $(cat ${checkPath('heartbeatFile', heartbeatFile)}) )) -lt ${maxAgeSeconds}`;
}

/**
 * The nginx container's preStop hook: wait while the load balancer stops sending new
 * connections, then ask nginx for a graceful stop (SIGQUIT: finish the requests in flight) and
 * wait for it to exit, whatever stop signal the image declares.
 */
export function gracefulStopScript(pidFile: string, drainSeconds: number): string {
  if (!Number.isInteger(drainSeconds) || drainSeconds < 0) throw new Error(`gateway script: drainSeconds must be a whole number ≥ 0, not ${drainSeconds}`);
  const pid = checkPath('pidFile', pidFile);
  return [
    `sleep ${drainSeconds}`,
    `pid=$(cat ${pid} 2>/dev/null) || exit 0`,
    'kill -QUIT "$pid" 2>/dev/null || exit 0',
    'while kill -0 "$pid" 2>/dev/null; do sleep 1; done',
  ].join('\n');
}
