/**
 * The JSON Schema of `lookout.yaml`, generated from the zod schema so that editor completion
 * and validation can never drift from what the CLI accepts.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

export const CONFIG_SCHEMA_ID = 'urn:lookout:schema:lookout.yaml';

/**
 * Draft 2020-12, describing the file as written (`io: 'input'`), so fields that have a
 * default are optional and show that default.
 */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: CONFIG_SCHEMA_ID,
    title: 'lookout.yaml',
    description:
      'Configuration of a Lookout instance: the cloud network and cluster, DNS and TLS, and the tenants. ' +
      'Used by `lookout plan`, `create` and `upgrade`; check a file with `lookout config validate`.',
    ...rest,
  };
}
