// Cross-checks vectors/dcc with Digital Bazaar's own libraries and writes
// vectors/dcc/CROSSCHECK.json, which gen/manifest.py folds into MANIFEST.json
// (field "digitalBazaar").
//
//   cd vectors/dcc/gen/crosscheck && npm ci && node crosscheck.mjs
//
// No network: contexts come from the repository's contexts/ directory, did:web
// documents from vectors/dcc/dids, did:key documents are derived from the key,
// status lists are served from vectors/dcc/statusLists by the URLs the
// fixtures use.
import {readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import jsigs from 'jsonld-signatures';
import * as vc from '@digitalbazaar/vc';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';

const {purposes: {AssertionProofPurpose}} = jsigs;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const D = path.resolve(HERE, '../..');
const CTX = path.resolve(D, '../../contexts');
const NOW = '2026-12-04T00:00:00Z';
const ED = 'https://w3id.org/security/suites/ed25519-2020/v1';
const MK = 'https://w3id.org/security/multikey/v1';
const PREFIXES = [
  'https://digitalcredentials.github.io/vc-test-fixtures/statusLists/didkey-ed25519Signature2020/',
  'https://raw.githubusercontent.com/digitalcredentials/verifier-core/refs/heads/main/src/test-fixtures/status/',
];

const docs = new Map();
for(const line of readFileSync(path.join(CTX, 'refresh.sh'), 'utf8').split('\n')) {
  const m = line.match(/^(https?:\/\/[^|\s]+)\|([^|]+)\|/);
  if(m) docs.set(m[1], JSON.parse(readFileSync(path.join(CTX, m[2]), 'utf8')));
}
const didDocs = {};
for(const n of ['legacy', 'oidf']) {
  const d = JSON.parse(readFileSync(path.join(D, 'dids', n, 'did.json'), 'utf8'));
  didDocs[d.id] = d;
}
function resolveDid(did) {
  if(didDocs[did]) return didDocs[did];
  if(did.startsWith('did:key:z6Mk')) {
    const fp = did.slice(8);
    const vm = {id: `${did}#${fp}`, type: 'Ed25519VerificationKey2020', controller: did, publicKeyMultibase: fp};
    return {'@context': ['https://www.w3.org/ns/did/v1', ED], id: did, verificationMethod: [vm],
      assertionMethod: [vm.id], authentication: [vm.id]};
  }
  throw new Error(`cannot resolve ${did} offline`);
}
async function documentLoader(url) {
  const ok = document => ({contextUrl: null, documentUrl: url, document: structuredClone(document)});
  if(docs.has(url)) return ok(docs.get(url));
  for(const p of PREFIXES) {
    if(url.startsWith(p)) return ok(JSON.parse(readFileSync(path.join(D, 'statusLists/didkey-ed25519Signature2020', url.slice(p.length)), 'utf8')));
  }
  if(url.startsWith('did:')) {
    const [did, frag] = url.split('#');
    const doc = resolveDid(did);
    if(!frag) return ok(doc);
    // verification methods may be embedded only in assertionMethod (dids/legacy)
    for(const k of ['verificationMethod', 'assertionMethod']) {
      for(const v of doc[k] || []) {
        if(typeof v === 'object' && v.id === url) return ok({'@context': v.type === 'Multikey' ? MK : ED, ...v});
      }
    }
  }
  throw new Error(`static loader: no document for ${url}`);
}
const suites = () => [new Ed25519Signature2020(), new DataIntegrityProof({cryptosuite: eddsaRdfc2022})];
const msg = e => e ? (e.errors?.length ? e.errors.map(x => x.message).join('; ') : e.message)
  .replace(/The current date time \(\S+\)/g, 'The current date time') : undefined;

function walk(dir) {
  return readdirSync(dir).sort().flatMap(f => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
async function proofResults(doc) {
  const proofs = Array.isArray(doc.proof) ? doc.proof : [doc.proof];
  const out = [];
  for(const p of proofs) {
    const suite = p.type === 'Ed25519Signature2020' ? new Ed25519Signature2020() : new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
    const name = p.type + (p.cryptosuite ? '/' + p.cryptosuite : '');
    try {
      const r = await jsigs.verify({...doc, proof: p}, {suite, purpose: new AssertionProofPurpose(), documentLoader});
      out.push({proof: name, verified: r.verified, ...(r.verified ? {} : {error: msg(r.error)})});
    } catch(e) {
      out.push({proof: name, verified: false, error: e.message});
    }
  }
  return out;
}
const result = {generatedBy: 'gen/crosscheck/crosscheck.mjs', now: NOW, statusLists: {}, credentials: {}};
for(const f of walk(path.join(D, 'statusLists'))) {
  const doc = JSON.parse(readFileSync(f, 'utf8'));
  const full = await vc.verifyCredential({credential: doc, suite: suites(), documentLoader, now: NOW});
  result.statusLists[path.relative(D, f)] = {proofs: await proofResults(doc), verifyCredential: {verified: full.verified, ...(full.verified ? {} : {error: msg(full.error)})}};
}
for(const f of walk(path.join(D, 'verifiableCredentials')).filter(f => f.endsWith('.json'))) {
  const rel = path.relative(D, f);
  const raw = readFileSync(f, 'utf8');
  if(!raw.trim()) { result.credentials[rel] = {error: 'empty file'}; continue; }
  const doc = JSON.parse(raw);
  const r = {proofs: await proofResults(doc)};
  if(doc.credentialStatus) {
    for(const [k, match] of [['checkStatus', true], ['checkStatusWithoutIssuerMatch', false]]) {
      const s = await checkStatus({credential: doc, documentLoader, suite: suites(), verifyMatchingIssuers: match});
      r[k] = {verified: s.verified, ...(s.error ? {error: msg(s.error)} : {}),
        ...(s.results ? {statusBitSet: s.results.map(x => x.status)} : {})};
    }
  }
  const full = await vc.verifyCredential({credential: doc, suite: suites(), documentLoader, now: NOW,
    checkStatus: doc.credentialStatus ? (o => checkStatus({...o, verifyMatchingIssuers: true})) : undefined});
  // Note: vc-bitstring-status-list reports the bit in results[].status; a set
  // bit does not make verifyCredential fail, so it is recorded separately.
  r.verifyCredential = {verified: full.verified,
    ...(full.verified ? {} : {error: msg(full.error) ?? (full.statusResult && !full.statusResult.verified ? 'status: ' + msg(full.statusResult.error) : undefined)}),
    ...(full.statusResult?.results ? {statusBitSet: full.statusResult.results.map(x => x.status)} : {})};
  result.credentials[rel] = r;
}
writeFileSync(path.join(D, 'CROSSCHECK.json'), JSON.stringify(result, null, 2) + '\n');
console.log('wrote CROSSCHECK.json');
