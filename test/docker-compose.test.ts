import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readSupergraphConfig } from '../schema/composition.js';
import { projectPath } from '../subgraphs/shared/paths.js';

interface ComposeService {
  image?: string;
  profiles?: string[];
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test: string[] };
}

const compose = parse(readFileSync(projectPath('docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;
const subgraphs = readSupergraphConfig(projectPath('schema', 'supergraph.yaml'));

function envName(subgraph: string): string {
  return `SUBGRAPH_${subgraph.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
}

describe('docker-compose.yml', () => {
  it.each(subgraphs.map((s) => [s.name, s.url]))('runs subgraph %s where the gateway looks for it under compose', (name, routingUrl) => {
    const service = services[name];
    expect(service, `service ${name}`).toBeDefined();
    const url = new URL(routingUrl);
    // Under compose the routing URL's host is the service name; port and path stay the same.
    const expected = `${url.protocol}//${name}:${url.port}${url.pathname}`;
    expect(services.gateway!.environment![envName(name)]).toBe(expected);
    expect(service!.environment!.PORT).toBe(url.port);
    expect(service!.environment!.NODE_ENV).toBe('production');
    // Reached through the gateway only: nothing of it is published.
    expect(service!.ports).toBeUndefined();
    expect(service!.healthcheck!.test.join(' ')).toContain(`http://127.0.0.1:${url.port}/ready`);
    // Subgraphs verify the identity token against the gateway's JWKS.
    expect(service!.environment!.IDENTITY_JWKS_URL).toBe('http://gateway:4000/.well-known/jwks.json');
    expect(services.gateway!.depends_on![name]).toEqual({ condition: 'service_healthy' });
  });

  it('starts every service from an entry point that the build produces', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name === 'redis') continue;
      const entry = service.command?.[1];
      expect(entry, `${name} command`).toMatch(/^dist\/.+\.js$/);
      expect(existsSync(projectPath(entry!)), `${name}: ${entry}`).toBe(true);
    }
  });

  it('serves the gateway on 4000 with a readiness check, Redis behind a password and the identity key it is given', () => {
    const gateway = services.gateway!;
    expect(gateway.ports).toEqual(['4000:4000']);
    expect(gateway.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:4000/ready');
    expect(gateway.environment!.NODE_ENV).toBe('production');
    expect(gateway.environment!.REDIS_URL).toBe('redis://:${REDIS_PASSWORD:?set REDIS_PASSWORD}@redis:6379');
    expect(services.redis!.command).toEqual(expect.arrayContaining(['--requirepass', '${REDIS_PASSWORD:?set REDIS_PASSWORD}']));
    expect(services.redis!.healthcheck!.test.join(' ')).toContain('-a "$$REDIS_PASSWORD"');
    // Production refuses to start without the key; compose refuses to start without the variable.
    expect(gateway.environment!.IDENTITY_PRIVATE_KEY).toMatch(/^\$\{IDENTITY_PRIVATE_KEY:\?/);
    // frontdesk.config.yaml reads the issuer from AUTH_*; the dev issuer answers when none is given.
    expect(gateway.environment!.AUTH_JWKS_URL).toBe('${AUTH_JWKS_URL:-http://issuer:4099/.well-known/jwks.json}');
    const shipped = readFileSync(projectPath('frontdesk.config.yaml'), 'utf8');
    for (const name of ['AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'IDENTITY_PRIVATE_KEY']) expect(shipped).toContain(`\${${name}:-`);
    expect(Object.keys(gateway.environment!).filter((key) => /^SUBGRAPH_.+_URL$/.test(key))).toHaveLength(subgraphs.length);
  });

  it('publishes only the gateway; the token issuer runs in the dev profile, on loopback only', () => {
    const published = Object.entries(services).filter(([, service]) => service.ports && !service.profiles?.includes('dev'));
    expect(published.map(([name]) => name)).toEqual(['gateway']);
    const issuer = services.issuer!;
    expect(issuer.profiles).toEqual(['dev']);
    expect(issuer.ports).toEqual(['127.0.0.1:4099:4099']);
    expect(issuer.environment!.HOST).toBe('0.0.0.0');
    expect(services.gateway!.depends_on!.issuer).toEqual({ condition: 'service_healthy', required: false });
    for (const [name, service] of Object.entries(services)) {
      if (name === 'redis' || name === 'issuer') continue;
      expect(service.environment!.NODE_ENV, name).toBe('production');
    }
  });
});
