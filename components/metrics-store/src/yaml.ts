/**
 * YAML output for Cortex and Alertmanager, which parse with Go's yaml.v2: a YAML 1.1 parser,
 * where plain `on`, `no`, `y` are booleans. Serializing with the 1.1 schema makes the `yaml`
 * package quote such strings, so a tenant called `no` stays a string key.
 */
import YAML from 'yaml';

export function toYaml(value: unknown): string {
  return YAML.stringify(value, { version: '1.1', lineWidth: 0 });
}

export function fromYaml(text: string): unknown {
  return YAML.parse(text, { version: '1.1' });
}
