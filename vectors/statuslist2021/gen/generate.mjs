// Generates the StatusList2021 vectors in ../ with Digital Bazaar's libraries,
// fixed keys and fixed dates, then checks every credential with the library's
// own checkStatus and records the result in ../MANIFEST.json.
//
//   cd vectors/statuslist2021/gen && npm ci && node generate.mjs
//
// No network: every document is served by the static loader below.
import {createHash} from 'node:crypto';
import {writeFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import path from 'node:path';

import * as vc from '@digitalbazaar/vc';
import {createList, createCredential, decodeList, checkStatus} from '@digitalbazaar/vc-status-list';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import {Ed25519VerificationKey2020} from '@digitalbazaar/ed25519-verification-key-2020';
import * as slCtx from '@digitalbazaar/vc-status-list-context';
import * as credCtx from 'credentials-context';
import * as edCtx from 'ed25519-signature-2020-context';
import * as didCtx from 'did-context';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATE = '2025-01-01T00:00:00Z';
const LIST_LENGTH = 131072;
const BASE = 'https://status.example/2021';
const URLS = {
  revocation: `${BASE}/revocation`,
  suspension: `${BASE}/suspension`,
  tampered: `${BASE}/tampered`,
  other: `${BASE}/other`,
};
const VC_V1 = credCtx.constants.CREDENTIALS_CONTEXT_V1_URL;
const SL_V1 = slCtx.constants.CONTEXT_URL_V1;
const ED_V1 = edCtx.constants.CONTEXT_URL;
const DID_V1 = didCtx.constants.DID_CONTEXT_URL;

// ---- fixed keys (TEST ONLY: the seeds are public) ----
const seedOf = label => new Uint8Array(createHash('sha256').update(label).digest());
async function makeIssuer(label) {
  const seed = seedOf(label);
  const k = await Ed25519VerificationKey2020.generate({seed});
  const fp = k.fingerprint();
  const did = `did:key:${fp}`;
  const key = await Ed25519VerificationKey2020.from({
    id: `${did}#${fp}`, controller: did,
    publicKeyMultibase: k.publicKeyMultibase, privateKeyMultibase: k.privateKeyMultibase,
  });
  return {label, seedHex: Buffer.from(seed).toString('hex'), did, key};
}
const A = await makeIssuer('laurel-statuslist2021-issuer-A');
const B = await makeIssuer('laurel-statuslist2021-issuer-B');

// ---- static document loader ----
const docs = new Map();
for(const m of [credCtx.contexts, slCtx.contexts, edCtx.contexts, didCtx.contexts]) {
  for(const [url, doc] of m) docs.set(url, doc);
}
function didDoc(issuer) {
  const vm = issuer.key.export({publicKey: true, includeContext: false});
  return {
    '@context': [DID_V1, ED_V1],
    id: issuer.did,
    verificationMethod: [vm],
    authentication: [vm.id],
    assertionMethod: [vm.id],
  };
}
for(const i of [A, B]) {
  const dd = didDoc(i);
  docs.set(i.did, dd);
  docs.set(i.key.id, {'@context': ED_V1, ...dd.verificationMethod[0]});
}
const lists = new Map(); // URL -> list credential (what a fetch would return)
async function documentLoader(url) {
  const doc = lists.get(url) ?? docs.get(url);
  if(doc === undefined) throw new Error(`static loader: no document for ${url}`);
  return {contextUrl: null, documentUrl: url, document: structuredClone(doc)};
}
const suiteFor = issuer => new Ed25519Signature2020({key: issuer.key, date: DATE});
const verifySuite = new Ed25519Signature2020();

// ---- lists ----
async function makeList({id, statusPurpose, bits, issuer}) {
  const list = await createList({length: LIST_LENGTH});
  for(const b of bits) list.setStatus(b, true);
  const cred = await createCredential({id, list, statusPurpose});
  cred['@context'].push(ED_V1);
  cred.issuer = issuer.did;
  cred.issuanceDate = DATE;
  return vc.issue({credential: cred, suite: suiteFor(issuer), documentLoader});
}
const files = {};
files['list-revocation.json'] = await makeList({id: URLS.revocation, statusPurpose: 'revocation', bits: [7, 42], issuer: A});
files['list-suspension.json'] = await makeList({id: URLS.suspension, statusPurpose: 'suspension', bits: [9], issuer: A});
{
  // Signed as a valid list (same bits as list-revocation, its own id), then
  // encodedList replaced after signing with one that has bit 42 cleared.
  const t = await makeList({id: URLS.tampered, statusPurpose: 'revocation', bits: [7, 42], issuer: A});
  const l = await decodeList({encodedList: t.credentialSubject.encodedList});
  l.setStatus(42, false);
  t.credentialSubject.encodedList = await l.encode();
  files['list-tampered.json'] = t;
}
files['list-other-issuer.json'] = await makeList({id: URLS.other, statusPurpose: 'revocation', bits: [3, 7, 42], issuer: B});
lists.set(URLS.revocation, files['list-revocation.json']);
lists.set(URLS.suspension, files['list-suspension.json']);
lists.set(URLS.tampered, files['list-tampered.json']);
lists.set(URLS.other, files['list-other-issuer.json']);
const listFile = {
  [URLS.revocation]: 'list-revocation.json', [URLS.suspension]: 'list-suspension.json',
  [URLS.tampered]: 'list-tampered.json', [URLS.other]: 'list-other-issuer.json',
};

// ---- credentials ----
const entry = (url, statusPurpose, index) => {
  const e = {id: `${url}#${index}`, type: 'StatusList2021Entry', statusPurpose,
    statusListIndex: String(index), statusListCredential: url};
  return e;
};
let n = 0;
async function makeCred(name, credentialStatus) {
  n++;
  const credential = {
    '@context': [VC_V1, SL_V1, ED_V1],
    id: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    type: ['VerifiableCredential'],
    issuer: A.did,
    issuanceDate: DATE,
    credentialSubject: {id: 'did:example:subject'},
    credentialStatus,
  };
  return vc.issue({credential, suite: suiteFor(A), documentLoader});
}
const missing = entry(URLS.revocation, 'revocation', 11);
delete missing.statusListIndex;
const creds = [
  ['clear.json', entry(URLS.revocation, 'revocation', 3), {verified: true, codes: []}],
  ['revoked.json', entry(URLS.revocation, 'revocation', 42), {verified: false, codes: ['REVOKED']}],
  ['suspended.json', entry(URLS.suspension, 'suspension', 9), {verified: false, codes: ['SUSPENDED']}],
  ['both-clear.json', [entry(URLS.revocation, 'revocation', 5), entry(URLS.suspension, 'suspension', 6)], {verified: true, codes: []}],
  ['revoked-tampered-list.json', entry(URLS.tampered, 'revocation', 42), {verified: false, codes: ['STATUS_VERIFICATION_ERROR']}],
  ['other-issuer-list.json', entry(URLS.other, 'revocation', 3), {verified: false, codes: ['STATUS_VERIFICATION_ERROR']},
    {verified: false, codes: ['REVOKED']}],
  ['missing-index.json', missing, {verified: false, codes: ['STATUS_VERIFICATION_ERROR']}],
];
const manifest = [];
const summarize = r => {
  const out = {verified: r.verified};
  if(r.error) out.error = r.error.message;
  if(r.results) out.results = r.results.map(x => ({verified: x.verified, statusPurpose: x.credentialStatus?.statusPurpose, statusListIndex: x.credentialStatus?.statusListIndex}));
  return out;
};
for(const [name, status, expected, expectedWithSigner] of creds) {
  const c = await makeCred(name, status);
  files[name] = c;
  const preload = {};
  for(const s of Array.isArray(status) ? status : [status]) preload[s.statusListCredential] = listFile[s.statusListCredential];
  const db = summarize(await checkStatus({credential: c, documentLoader, suite: verifySuite, verifyStatusListCredential: true, verifyMatchingIssuers: true}));
  const dbNoIssuerMatch = summarize(await checkStatus({credential: c, documentLoader, suite: verifySuite, verifyStatusListCredential: true, verifyMatchingIssuers: false}));
  const proof = await vc.verifyCredential({credential: c, suite: verifySuite, documentLoader, checkStatus: async () => ({verified: true})});
  const e = {file: name, preload, expected};
  if(expectedWithSigner) e.expectedWithSigner = expectedWithSigner;
  e.digitalBazaar = {checkStatus: db, checkStatusWithoutIssuerMatch: dbNoIssuerMatch, credentialProofVerified: proof.verified};
  manifest.push(e);
}
// list proofs as seen by the library
const listProofs = {};
for(const [url, f] of Object.entries(listFile)) {
  const r = await vc.verifyCredential({credential: lists.get(url), suite: verifySuite, documentLoader});
  listProofs[f] = {url, issuer: lists.get(url).issuer, verified: r.verified, ...(r.error ? {error: r.error.errors?.[0]?.message ?? r.error.message} : {})};
}

for(const [f, doc] of Object.entries(files)) writeFileSync(path.join(OUT, f), JSON.stringify(doc, null, 2) + '\n');
const keys = Object.fromEntries([A, B].map(i => [i.label.slice(-1), {
  WARNING: 'TEST-ONLY key; the seed is public.',
  seedDerivation: `SHA-256(UTF-8 "${i.label}")`, seedHex: i.seedHex, did: i.did,
  verificationMethod: i.key.id, publicKeyMultibase: i.key.publicKeyMultibase,
}]));
writeFileSync(path.join(OUT, 'keys.json'), JSON.stringify({issuers: keys, lists: listProofs}, null, 2) + '\n');
writeFileSync(path.join(OUT, 'MANIFEST.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(JSON.stringify(manifest.map(m => [m.file, m.expected, m.digitalBazaar.checkStatus]), null, 0));
console.log(JSON.stringify(listProofs));
