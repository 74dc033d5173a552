/**
 * @lookout/gateway: the multi-tenant nginx gateway. One host per tenant, bearer token → tenant,
 * `X-Scope-OrgID` set by the gateway, TLS, body and rate limits, and a generated nginx config
 * that is a pure function (tested under a real nginx).
 */
export {
  BEARER_CHALLENGE,
  DEFAULT_GATEWAY_LIMITS,
  escapeRegex,
  hostTenantRegex,
  renderGatewayConfig,
  type GatewayConfigOptions,
  type GatewayLimits,
  type GatewayListener,
  type GatewayPaths,
  type GatewayResolver,
  type GatewayTls,
  type PublicListener,
} from './nginx-config.js';
export { API_ROUTES, GRAFANA_DATASOURCE_PATHS, HEALTH_PATH, TENANT_PLACEHOLDER, type ApiRoute, type ApiUpstream, type BodyClass, type GatewayUpstreams } from './routes.js';
export {
  MAX_TOKEN_LENGTH,
  MIN_TOKEN_LENGTH,
  TENANTS_SECRET_MAX_BYTES,
  TENANTS_SECRET_README,
  TENANT_FILE_GLOB,
  TOKENS_FILE_GLOB,
  TOKEN_ALPHABET,
  assertTenantName,
  assertToken,
  renderTenantEntry,
  renderTenantSecretData,
  renderTokenMapEntries,
  tenantFileName,
  tenantsSecretBytes,
  tokensFileName,
} from './tenant-files.js';
export {
  gatewayStartScript,
  gracefulStopScript,
  heartbeatProbeScript,
  reloadLoopScript,
  resolverIncludeScript,
  type ReloadLoopOptions,
  type ResolverScriptOptions,
  type StartScriptOptions,
} from './container-scripts.js';
export {
  GATEWAY_CONTAINER_PATHS,
  GATEWAY_NAMES,
  GATEWAY_PORTS,
  Gateway,
  NGINX_UID,
  RELOADER_RESOURCES,
  defaultUpstreams,
  gatewayConfigOptions,
  type GatewayArgs,
  type GatewayServiceOptions,
} from './gateway.js';
