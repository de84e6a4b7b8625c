import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../gateway/src/core/config-schema.js';
import { projectPath } from '../subgraphs/shared/paths.js';

// `npm run config-schema` regenerates gateway/config.schema.json; a test fails when it is stale.
const path = projectPath('gateway', 'config.schema.json');
writeFileSync(path, configJsonSchema());
console.log(`wrote ${path}`);
