/** The verify probe: the proof, after create and upgrade, that every tenant works and is isolated. */
export { verifyAll, verifyCheckCount, verifyTenant, type VerifyOptions, type VerifyTenantOptions } from './probe.js';
export { DEFAULT_TIMING, PROBE_LOG_JOB, PROBE_METRIC, type VerifyTarget, type VerifyTiming } from './checks.js';
export { ProbeClient, ProbeTransportError, type ProbeConnection, type ProbeRequest, type ProbeResponse } from './client.js';
export { describeResult, type VerifyApi, type VerifyResult } from './result.js';
export {
  decodeRemoteWriteBody,
  decodeWriteRequest,
  encodeWriteRequest,
  remoteWriteBody,
  remoteWriteHeaders,
  type SeriesInput,
  type WriteRequest,
} from './remote-write.js';
export { lokiPushBody, LOKI_PUSH_HEADERS, type LogStream } from './loki-push.js';
