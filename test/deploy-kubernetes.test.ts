import { readFileSync } from 'node:fs';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../gateway/src/core/config.js';
import { readSupergraphConfig } from '../schema/composition.js';
import { projectPath } from '../subgraphs/shared/paths.js';
import { configMapData, renderOverlay, type K8sObject } from './support/kubernetes.js';

// The kustomize base and overlays in deploy/kubernetes, rendered by kubectl's kustomize and checked
// against the Kubernetes OpenAPI schema (kubernetes-models: Kubernetes 1.33) and against what the
// gateway needs of them.
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
  securityContext?: { runAsNonRoot?: boolean };
  terminationGracePeriodSeconds?: number;
}
type Workload = K8sObject & { spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};
/** The Secrets production needs, made outside git (README "Deploying to Kubernetes"). */
const PRODUCTION_SECRETS = ['frontdesk-identity', 'frontdesk-legacy', 'frontdesk-redis'];

const rendered = { dev: renderOverlay('dev'), production: renderOverlay('production') };
const of = <T extends K8sObject>(objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind) as T[];
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe.each(['dev', 'production'] as const)('deploy/kubernetes/overlays/%s', (overlay) => {
  const objects = rendered[overlay];
  const workloads = of<Workload>(objects, 'Deployment');
  const names = (kind: string) => new Set(of(objects, kind).map((o) => o.metadata.name));

  it('renders only objects valid against the Kubernetes OpenAPI schema, all in the overlay namespace', () => {
    expect(objects.length).toBeGreaterThan(20);
    for (const object of objects) {
      const model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(model, `a model for ${object.apiVersion} ${object.kind}`).toBeDefined();
      // kustomize wraps long base64 values over lines; Go's base64 decoder (the API server's) skips newlines.
      const data = object.kind === 'Secret' ? { data: Object.fromEntries(Object.entries(object.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s+/g, '')])) } : {};
      expect(() => new model!({ ...object, ...data } as never).validate(), `${object.kind} ${object.metadata.name}`).not.toThrow();
      expect(object.metadata.namespace).toBe(overlay === 'dev' ? 'frontdesk-dev' : 'frontdesk');
      expect(object.metadata.labels?.['app.kubernetes.io/part-of']).toBe('frontdesk');
    }
    // The validator does catch what is wrong: a port as a string, a replica count as text.
    const broken = structuredClone(workloads[0]!);
    (broken.spec.template.spec.containers[0]!.ports![0] as { containerPort: unknown }).containerPort = 'http';
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort must be integer/);
  });

  it('gives every workload probes, requests and limits, and a locked-down container', () => {
    expect(workloads.map((w) => w.metadata.name).sort()).toEqual(
      expect.arrayContaining(['frontdesk-accounts', 'frontdesk-catalog', 'frontdesk-erp', 'frontdesk-gateway', 'frontdesk-inventory', 'frontdesk-orders', 'frontdesk-products', 'frontdesk-reviews', 'frontdesk-warehouse']),
    );
    for (const workload of workloads) {
      const pod = workload.spec.template.spec;
      expect(matches(workload.spec.selector.matchLabels, workload.spec.template.metadata.labels), workload.metadata.name).toBe(true);
      expect(pod.securityContext?.runAsNonRoot, workload.metadata.name).toBe(true);
      for (const container of pod.containers) {
        const where = `${workload.metadata.name}/${container.name}`;
        expect(container.readinessProbe, where).toBeDefined();
        expect(container.livenessProbe, where).toBeDefined();
        for (const bound of ['requests', 'limits'] as const) {
          expect(container.resources?.[bound]?.cpu, `${where} ${bound}.cpu`).toBeDefined();
          expect(container.resources?.[bound]?.memory, `${where} ${bound}.memory`).toBeDefined();
        }
        expect(container.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(container.securityContext?.readOnlyRootFilesystem, where).toBe(true);
        if (container.image.startsWith('frontdesk') || container.image.includes('/frontdesk')) {
          expect(container.image, where).toBe(overlay === 'dev' ? 'frontdesk:local' : 'registry.example.com/frontdesk:0.1.0');
        }
        // Every volume mounted is declared.
        for (const mount of container.volumeMounts ?? []) expect(pod.volumes?.some((v) => v.name === mount.name), `${where} ${mount.name}`).toBe(true);
      }
    }
  });

  it('names only ConfigMaps it renders, and Secrets it renders (dev) or production makes outside git', () => {
    const secrets = new Set<string>();
    const configMaps = new Set<string>();
    for (const workload of workloads) {
      const pod = workload.spec.template.spec;
      for (const volume of pod.volumes ?? []) {
        if (volume.secret) secrets.add(volume.secret.secretName);
        if (volume.configMap) configMaps.add(volume.configMap.name);
      }
      for (const container of pod.containers) {
        for (const env of container.env ?? []) {
          if (env.valueFrom?.secretKeyRef) secrets.add(env.valueFrom.secretKeyRef.name);
          if (env.valueFrom?.configMapKeyRef) configMaps.add(env.valueFrom.configMapKeyRef.name);
        }
        for (const from of container.envFrom ?? []) {
          if (from.secretRef) secrets.add(from.secretRef.name);
          if (from.configMapRef) configMaps.add(from.configMapRef.name);
        }
      }
    }
    for (const name of configMaps) expect(names('ConfigMap').has(name), `ConfigMap ${name}`).toBe(true);
    if (overlay === 'dev') for (const name of secrets) expect(names('Secret').has(name), `Secret ${name}`).toBe(true);
    else {
      // No secret value is in git: production renders no Secret and needs exactly the documented ones.
      expect(names('Secret').size).toBe(0);
      expect([...secrets].sort()).toEqual(PRODUCTION_SECRETS);
    }
  });

  it('routes every Service to pods that have its target port', () => {
    for (const service of of<K8sObject & { spec: { selector: Record<string, string>; ports: { targetPort: string | number }[] } }>(objects, 'Service')) {
      const targets = workloads.filter((w) => matches(service.spec.selector, w.spec.template.metadata.labels));
      expect(targets, service.metadata.name).toHaveLength(1);
      const ports = targets[0]!.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
      for (const { targetPort } of service.spec.ports) expect(ports.some((p) => p.name === targetPort || p.containerPort === targetPort), `${service.metadata.name} ${targetPort}`).toBe(true);
    }
  });

  it('lets only the gateway reach subgraphs and only adapters reach the legacy systems', () => {
    type Policy = K8sObject & { spec: { podSelector: { matchLabels?: Record<string, string> }; ingress?: { from?: { podSelector?: { matchLabels?: Record<string, string> } }[] }[] } };
    const policies = of<Policy>(objects, 'NetworkPolicy');
    // Deny by default.
    expect(policies.some((p) => Object.keys(p.spec.podSelector.matchLabels ?? {}).length === 0 && (p.spec.ingress ?? []).length === 0)).toBe(true);
    /** Who may reach a workload's pods: the labels of allowed sources, or 'anyone'. */
    const allowedFrom = (workload: Workload) => {
      const labels = workload.spec.template.metadata.labels;
      const rules = policies.filter((p) => Object.keys(p.spec.podSelector.matchLabels ?? {}).length > 0 && matches(p.spec.podSelector.matchLabels!, labels)).flatMap((p) => p.spec.ingress ?? []);
      if (rules.some((rule) => !rule.from)) return 'anyone';
      return rules.flatMap((rule) => rule.from!.map((from) => from.podSelector?.matchLabels ?? {}));
    };
    const byName = (name: string) => workloads.find((w) => w.metadata.name === name)!;
    const podsAllowed = (sources: ReturnType<typeof allowedFrom>) => (sources === 'anyone' ? workloads : workloads.filter((w) => sources.some((s) => matches(s, w.spec.template.metadata.labels))));
    expect(allowedFrom(byName('frontdesk-gateway'))).toBe('anyone');
    for (const subgraph of ['frontdesk-accounts', 'frontdesk-reviews', 'frontdesk-products', 'frontdesk-inventory', 'frontdesk-orders']) {
      expect(podsAllowed(allowedFrom(byName(subgraph))).map((w) => w.metadata.name), subgraph).toEqual(['frontdesk-gateway']);
    }
    for (const legacy of ['frontdesk-catalog', 'frontdesk-erp', 'frontdesk-warehouse']) {
      expect(podsAllowed(allowedFrom(byName(legacy))).map((w) => w.metadata.name).sort(), legacy).toEqual(['frontdesk-inventory', 'frontdesk-orders', 'frontdesk-products']);
    }
  });

  it('scales and protects the gateway: HorizontalPodAutoscaler and PodDisruptionBudget on its pods, drain within the grace period', () => {
    const gateway = workloads.find((w) => w.metadata.name === 'frontdesk-gateway')!;
    const [hpa] = of<K8sObject & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number } }>(objects, 'HorizontalPodAutoscaler');
    expect(hpa!.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'frontdesk-gateway' });
    expect(hpa!.spec.minReplicas).toBe(overlay === 'dev' ? 1 : 3);
    const [pdb] = of<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable: number } }>(objects, 'PodDisruptionBudget');
    expect(matches(pdb!.spec.selector.matchLabels, gateway.spec.template.metadata.labels)).toBe(true);
    expect(pdb!.spec.maxUnavailable).toBe(1);
    const config = gatewayConfig(objects);
    expect(config.server.drainDelayMs).toBeGreaterThan(0);
    expect(gateway.spec.template.spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(config.server.drainDelayMs + config.server.drainTimeoutMs);
  });

  it('configures the gateway for production: a valid config, the shared identity key, each subgraph found through its headless Service', () => {
    const config = gatewayConfig(objects);
    expect(config.production).toBe(true);
    expect(config.auth?.identity.privateKeyFile).toBe('/var/run/secrets/frontdesk/identity/private-key.pem');
    const gateway = workloads.find((w) => w.metadata.name === 'frontdesk-gateway')!;
    const container = gateway.spec.template.spec.containers[0]!;
    expect(container.volumeMounts).toContainEqual({ name: 'identity', mountPath: '/var/run/secrets/frontdesk/identity', readOnly: true });
    expect(container.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/frontdesk', readOnly: true });
    const headless = of<K8sObject & { spec: { clusterIP?: string; ports: { port: number }[] } }>(objects, 'Service').filter((s) => s.spec.clusterIP === 'None');
    for (const { name } of readSupergraphConfig(projectPath('schema', 'supergraph.yaml'))) {
      const discovery = config.subgraphs[name]?.discovery;
      expect(discovery, name).toBeDefined();
      const service = headless.find((s) => discovery!.name.startsWith(`${s.metadata.name}.${NAMESPACE[overlay]}.svc.`));
      expect(service, `${name}: ${discovery!.name}`).toBeDefined();
      expect(service!.spec.ports[0]!.port).toBe(discovery!.port);
    }
    // The permissions are the project's own rules.
    expect(configMapData(objects, 'frontdesk-gateway-config')['permissions.yaml']).toBe(readFileSync(projectPath('schema', 'permissions.yaml'), 'utf8'));
  });
});

const NAMESPACE = { dev: 'frontdesk-dev', production: 'frontdesk' } as const;

/** The gateway's config from the rendered ConfigMap, read with the environment the Deployment gives it. */
function gatewayConfig(objects: K8sObject[]) {
  const file = configMapData(objects, 'frontdesk-gateway-config')['frontdesk.config.yaml']!;
  const env: Record<string, string> = { ...configMapData(objects, 'frontdesk-gateway-env'), POD_NAMESPACE: objects[0]!.metadata.namespace! };
  const text = file.replace(/\$\{([A-Z_]+)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => env[name] ?? fallback ?? `<${name} unset>`);
  return parseConfig(parseYaml(text), { production: true, source: 'ConfigMap frontdesk-gateway-config' });
}
