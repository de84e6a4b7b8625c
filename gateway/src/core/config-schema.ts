import { z } from 'zod';
import { configSchema } from './config.js';

/** The JSON Schema of frontdesk.config.yaml, for editors (yaml-language-server) and docs. */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'Frontdesk gateway configuration' }, null, 2)}\n`;
}
