import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { tempDir } from './servers.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/**
 * An overlay of deploy/kubernetes rendered by kubectl's kustomize, on a copy with the dev identity
 * key (never committed) made here.
 */
export function renderOverlay(overlay: 'dev' | 'production'): K8sObject[] {
  const dir = join(tempDir('frontdesk-k8s-'), 'kubernetes');
  cpSync(projectPath('deploy', 'kubernetes'), dir, { recursive: true });
  writeFileSync(join(dir, 'overlays', 'dev', 'identity-dev.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const out = execFileSync('kubectl', ['kustomize', join(dir, 'overlays', overlay)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((doc) => doc.toJS() as K8sObject);
}

/** The data of the rendered ConfigMap whose name (before kustomize's hash) is `name`. */
export function configMapData(objects: K8sObject[], name: string): Record<string, string> {
  const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith(`${name}-`));
  if (!map) throw new Error(`no ConfigMap ${name}`);
  return map.data as Record<string, string>;
}
