import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initMapping } from '../../adapters/init/init.js';
import { startSoapStub, type StubServer } from '../../adapters/init/stub.js';
import { loadSoapAdapter, startSoapAdapter, type RunningSoapAdapter } from '../../adapters/soap/adapter.js';
import { usesSoap12 } from '../../adapters/soap/client.js';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { startParcels, type ParcelsServer } from '../fixtures/parcels/server.js';
import { composeToFile, gql, startTestGateway, tempDir } from '../support/servers.js';

// The same SOAP adapter, with no code change, on an unrelated WSDL: SOAP 1.2, two namespaces,
// an imported XSD, extension, attributes, an enumeration, optional and repeated elements, rpc.
const MAPPING = projectPath('test', 'fixtures', 'parcels', 'parcels.soap.yaml');
let parcels: ParcelsServer;
let adapter: RunningSoapAdapter;
let gateway: RunningGateway;

beforeAll(async () => {
  parcels = await startParcels();
  adapter = await startSoapAdapter({ mappingPath: MAPPING, endpoint: parcels.endpoint, logLevel: 'silent', env: { PARCELS_CHANNEL: 'frontdesk-test' } });
  const path = join(tempDir(), 'supergraph.graphql');
  composeToFile(path, [{ name: 'parcels', url: adapter.url, sdl: adapter.generated.sdl }]);
  gateway = await startTestGateway({ supergraph: { path, watch: false } });
});
beforeEach(() => {
  parcels.requests.length = 0;
});
afterAll(async () => {
  await gateway?.stop();
  await adapter?.stop();
  await parcels?.stop();
});

const PARCEL = `trackingNumber priority state weightGrams declaredValue signature
  recipient { kind street city postalCode }
  checkpoints { seq at remark scanner location { street city } }`;

describe('a second WSDL through a gateway', () => {
  it('converts nested types across namespaces, attributes, enumerations, extension, long and decimal', async () => {
    const { body } = await gql(gateway.url, `{ parcel(trackingNumber: "PX-1") { ${PARCEL} } }`, { headers: { 'x-request-id': 'px-1' } });
    expect(body.errors).toBeUndefined();
    expect(body.data!.parcel).toEqual({
      trackingNumber: 'PX-1',
      priority: true,
      state: 'HELD_AT_CUSTOMS',
      weightGrams: '9007199254740993',
      declaredValue: '1234567.89',
      signature: null,
      recipient: { kind: 'home', street: 'Bahnhofstrasse 1', city: 'Zürich', postalCode: '8001' },
      checkpoints: [
        { seq: 1, at: '2025-03-01T08:00:00.000Z', remark: null, scanner: 'BSL-07', location: { street: 'Hub 4', city: 'Basel' } },
        { seq: 2, at: '2025-03-02T09:30:00.000Z', remark: 'Documents missing', scanner: 'ZRH-01', location: { street: 'Zollfreilager', city: 'Zürich' } },
      ],
    });
  });

  it('keeps a repeated element that occurs once a list, and fills optional elements', async () => {
    const { body } = await gql(gateway.url, '{ parcel(trackingNumber: "PX-2") { checkpoints { seq } signature priority recipient { kind postalCode } declaredValue } }');
    expect(body.data!.parcel).toEqual({ checkpoints: [{ seq: 1 }], signature: 'M. Dupont', priority: null, recipient: { kind: null, postalCode: null }, declaredValue: '0.10' });
  });

  it('speaks SOAP 1.2 with the custom header from the mapping and the request id', async () => {
    await gql(gateway.url, '{ parcel(trackingNumber: "PX-2") { state } }', { headers: { 'x-request-id': 'px-2' } });
    const request = parcels.requests[0]!;
    expect(request.contentType).toMatch(/^application\/soap\+xml/);
    expect(request.body).toContain('xmlns:soap="http://www.w3.org/2003/05/soap-envelope"');
    expect(request.body).toContain('<pt:Channel xmlns:pt="http://parcels.example.org/types">frontdesk-test</pt:Channel>');
    expect(request.requestId).toBe('px-2');
  });

  it('calls an rpc/literal operation', async () => {
    const { body } = await gql(gateway.url, '{ quote(weightGrams: "2500", country: "CH") { price days } }');
    expect(body.data).toEqual({ quote: { price: '7.50', days: 1 } });
    expect(parcels.requests[0]!.body).toMatch(/<weightGrams>2500<\/weightGrams>/);
  });

  it('maps SOAP 1.2 faults: Sender to BAD_USER_INPUT with the reason, Receiver to UPSTREAM_ERROR without it', async () => {
    const sender = await gql(gateway.url, '{ parcel(trackingNumber: "BAD") { state } }');
    expect(sender.body.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: 'parcels rejected the input: tracking number has a bad checksum' });
    const receiver = await gql(gateway.url, '{ parcel(trackingNumber: "BOOM") { state } }');
    expect(receiver.body.errors![0]!.extensions!.code).toBe('UPSTREAM_ERROR');
    expect(JSON.stringify(receiver.body)).not.toContain('parcels-db-3');
    const unknown = await gql(gateway.url, '{ parcel(trackingNumber: "PX-9") { state } }');
    expect(unknown.body).toMatchObject({ data: { parcel: null }, errors: [{ extensions: { code: 'NOT_FOUND' } }] });
  });

  it('resolves owned entities through single calls', async () => {
    const response = await fetch(adapter.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ _entities(representations: [{ __typename: "Parcel", trackingNumber: "PX-1" }, { __typename: "Parcel", trackingNumber: "PX-2" }]) { ... on Parcel { state } } }' }),
    });
    expect(await response.json()).toEqual({ data: { _entities: [{ state: 'HELD_AT_CUSTOMS' }, { state: 'DELIVERED' }] } });
  });
});

describe('SOAP adapter start-up', () => {
  it('builds one-way operations and requests without elements (real-world WSDLs have both)', async () => {
    const dir = tempDir();
    const wsdl = `<?xml version="1.0"?>
<wsdl:definitions targetNamespace="urn:y" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:y">
  <wsdl:types><xs:schema targetNamespace="urn:y" elementFormDefault="qualified">
    <xs:element name="PingReq"><xs:complexType><xs:sequence/></xs:complexType></xs:element>
    <xs:element name="PingRes"><xs:complexType><xs:sequence><xs:element name="v" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="NotifyReq"><xs:complexType><xs:sequence><xs:element name="text" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
  </xs:schema></wsdl:types>
  <wsdl:message name="PingIn"><wsdl:part name="p" element="tns:PingReq"/></wsdl:message>
  <wsdl:message name="PingOut"><wsdl:part name="p" element="tns:PingRes"/></wsdl:message>
  <wsdl:message name="NotifyIn"><wsdl:part name="p" element="tns:NotifyReq"/></wsdl:message>
  <wsdl:portType name="PT">
    <wsdl:operation name="Ping"><wsdl:input message="tns:PingIn"/><wsdl:output message="tns:PingOut"/></wsdl:operation>
    <wsdl:operation name="Notify"><wsdl:input message="tns:NotifyIn"/></wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="B" type="tns:PT"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Ping"><soap:operation soapAction="Ping"/><wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>
    <wsdl:operation name="Notify"><soap:operation soapAction="Notify"/><wsdl:input><soap:body use="literal"/></wsdl:input></wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="S"><wsdl:port name="P" binding="tns:B"><soap:address location="http://localhost:1/y"/></wsdl:port></wsdl:service>
</wsdl:definitions>`;
    writeFileSync(join(dir, 'y.wsdl'), wsdl);
    writeFileSync(join(dir, 'y.soap.yaml'), 'service: y\nsubgraph: y\npermissions: {}\nwsdl: y.wsdl\ntarget: {}\noperations:\n  Ping:\n    field: ping\n  Notify:\n    field: notify\n    kind: mutation\n');
    const { generated } = await loadSoapAdapter(join(dir, 'y.soap.yaml'), { credentials: false });
    expect(generated.sdl).toMatch(/\bping: PingRes\n/);
    expect(generated.sdl).toMatch(/\bnotify\(text: String!?\): Boolean\n/);
  });

  it('detects the SOAP version from the port binding', () => {
    expect(usesSoap12('<definitions xmlns:s12="http://schemas.xmlsoap.org/wsdl/soap12/"><s12:address location="x"/></definitions>')).toBe(true);
    expect(usesSoap12('<definitions xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"><soap:address location="x"/></definitions>')).toBe(false);
  });

  it('fails with the WSDL location on constructs it cannot express', async () => {
    const dir = tempDir();
    const wsdl = `<?xml version="1.0"?>
<wsdl:definitions targetNamespace="urn:x" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:x">
  <wsdl:types><xs:schema targetNamespace="urn:x">
    <xs:element name="GetReq"><xs:complexType><xs:sequence><xs:any/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="GetRes"><xs:complexType><xs:sequence><xs:element name="v" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
  </xs:schema></wsdl:types>
  <wsdl:message name="In"><wsdl:part name="p" element="tns:GetReq"/></wsdl:message>
  <wsdl:message name="Out"><wsdl:part name="p" element="tns:GetRes"/></wsdl:message>
  <wsdl:portType name="PT"><wsdl:operation name="Get"><wsdl:input message="tns:In"/><wsdl:output message="tns:Out"/></wsdl:operation></wsdl:portType>
  <wsdl:binding name="B" type="tns:PT"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Get"><soap:operation soapAction="Get"/><wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation></wsdl:binding>
  <wsdl:service name="S"><wsdl:port name="P" binding="tns:B"><soap:address location="http://localhost:1/x"/></wsdl:port></wsdl:service>
</wsdl:definitions>`;
    writeFileSync(join(dir, 'any.wsdl'), wsdl);
    writeFileSync(join(dir, 'any.soap.yaml'), 'service: x\nsubgraph: x\npermissions: {}\nwsdl: any.wsdl\ntarget: {}\noperations:\n  Get:\n    field: get\n');
    await expect(loadSoapAdapter(join(dir, 'any.soap.yaml'), { credentials: false })).rejects.toThrow(`${join(dir, 'any.wsdl')} (GetReq xs:any): xs:any is not supported`);
    // Degraded: the construct is left out with its reason, the rest builds.
    writeFileSync(join(dir, 'any-degraded.soap.yaml'), 'service: x\nsubgraph: x\npermissions: {}\nwsdl: any.wsdl\ntarget: {}\ndegradeUnsupported: true\n');
    const degraded = await loadSoapAdapter(join(dir, 'any-degraded.soap.yaml'), { credentials: false });
    degraded.target.close();
    expect(degraded.generated.skipped).toEqual([{ what: 'GetReq xs:any', why: 'xs:any is not supported: left out' }]);
    expect(degraded.generated.rootFields.map((f) => `${f.kind} ${f.field}`)).toEqual(['query get']);
    writeFileSync(join(dir, 'missing.soap.yaml'), 'service: x\nsubgraph: x\npermissions: {}\nwsdl: nowhere.wsdl\ntarget: {}\n');
    await expect(loadSoapAdapter(join(dir, 'missing.soap.yaml'), { credentials: false })).rejects.toThrow(`Cannot load WSDL ${join(dir, 'nowhere.wsdl')}`);
    writeFileSync(join(dir, 'op.soap.yaml'), 'service: x\nsubgraph: x\npermissions: {}\nwsdl: any.wsdl\ntarget: {}\noperations:\n  Put:\n    field: put\n');
    await expect(loadSoapAdapter(join(dir, 'op.soap.yaml'), { credentials: false })).rejects.toThrow('(operation Put): the binding has no operation Put');
  });
});

describe('XSD and WSDL constructs of real services, through a stub served from the WSDL', () => {
  // test/fixtures/xsd-coverage: built-in types (xs:ID, xs:gYear, xs:NMTOKENS, xs:anyType...),
  // xs:list and xs:union, simpleContent on a user simpleType, xs:include in the same namespace,
  // colliding enumeration values, an rpc operation with a type= part, one-way and empty requests.
  let stub: StubServer;
  let coverage: RunningSoapAdapter;
  beforeAll(async () => {
    const dir = tempDir();
    const mappingPath = join(dir, 'coverage.soap.yaml');
    const init = await initMapping({ kind: 'soap', spec: projectPath('test', 'fixtures', 'xsd-coverage', 'coverage.wsdl'), service: 'coverage', out: mappingPath });
    expect(init.built.skipped).toEqual([]);
    expect(init.composition.ok).toBe(true);
    stub = await startSoapStub(mappingPath);
    const text = readFileSync(mappingPath, 'utf8').replace(/permissions:\n {2}types:\n(?: {4}.*\n| {6}.*\n| {8}.*\n)*/, 'permissions:\n  types:\n    Query: { "*": allow }\n    Mutation: { "*": allow }\n');
    writeFileSync(mappingPath, text);
    coverage = await startSoapAdapter({ mappingPath, endpoint: stub.url, logLevel: 'silent', tracing: false });
  });
  afterAll(async () => {
    await coverage?.stop();
    await stub?.close();
  });

  it('reads every construct back from the wire', async () => {
    const { body } = await gql(coverage.url, '{ lookupRecord(request: { id: "r1" }) { record { id ref year month day tokens size names language count ratio wait extra total { value currency } grade } } }');
    expect(body.errors).toBeUndefined();
    expect(body.data!.lookupRecord).toEqual({
      record: {
        id: '1',
        ref: 'stub',
        year: 'stub',
        month: 'stub',
        day: 'stub',
        tokens: 'stub',
        size: 'stub',
        names: 'stub',
        language: 'stub',
        count: '1',
        ratio: 1.5,
        wait: 'stub',
        extra: { stub: 'true' },
        total: { value: 'stub', currency: 'stub' },
        grade: 'A_B',
      },
    });
    expect(coverage.generated.sdl).toMatch(/enum Grade \{\s+A_B\s+A_B_2\s+C\s+\}/);
  });

  it('answers a one-way operation with true and an empty request with its answer', async () => {
    const { body } = await gql(coverage.url, 'mutation { sendNote(note: "hi") ping { ok } }');
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ sendNote: true, ping: { ok: true } });
  });
});
