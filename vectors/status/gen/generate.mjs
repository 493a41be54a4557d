// Generates Laurel Bitstring Status List v1.0 vectors into ../ (vectors/status/).
// Usage: node generate.mjs
import {createHash} from 'node:crypto';
import {writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {createList, createCredential, decodeList} from
  '@digitalbazaar/vc-bitstring-status-list';
import {documentLoader, CONTEXT_SOURCES} from './loader.mjs';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CREATED = '2026-01-01T00:00:00Z';
const LIST_LENGTH = 131072; // spec minimum (16 KiB uncompressed)

// ---- fixed, TEST-ONLY key material ----------------------------------------
const SEED_LABEL = 'laurel-status-issuer';
const SEED = createHash('sha256').update(SEED_LABEL).digest();

async function ed25519KeyFromSeed(seed) {
  const k = await Ed25519Multikey.generate({seed});
  const did = `did:key:${k.publicKeyMultibase}`;
  return Ed25519Multikey.from({
    type: 'Multikey',
    id: `${did}#${k.publicKeyMultibase}`,
    controller: did,
    publicKeyMultibase: k.publicKeyMultibase,
    secretKeyMultibase: k.secretKeyMultibase
  });
}
const issuer = await ed25519KeyFromSeed(SEED);
const suite = () => new DataIntegrityProof({
  signer: issuer.signer(), cryptosuite: eddsaRdfc2022, date: CREATED
});
const write = (name, obj) =>
  writeFileSync(join(OUT, name), JSON.stringify(obj, null, 2) + '\n');

// ---- status list credentials ----------------------------------------------
const LISTS = [
  {
    file: 'list-revocation.json', url: 'https://status.example/lists/1',
    statusPurpose: 'revocation', setBits: [3, 42, 100000]
  },
  {
    file: 'list-suspension.json', url: 'https://status.example/lists/2',
    statusPurpose: 'suspension', setBits: [7]
  },
];
const listDocs = new Map(); // url -> signed list credential
for(const l of LISTS) {
  const list = await createList({length: LIST_LENGTH});
  for(const i of l.setBits) {
    list.setStatus(i, true);
  }
  // createCredential() calls list.encode() (GZIP + base64url, 'u' multibase
  // prefix) and uses the VC v2 context by default.
  const unsigned = await createCredential({
    id: l.url, list, statusPurpose: l.statusPurpose
  });
  const credential = {
    '@context': unsigned['@context'],
    id: unsigned.id,
    type: unsigned.type,
    issuer: issuer.controller,
    validFrom: CREATED,
    credentialSubject: {
      id: unsigned.credentialSubject.id,
      type: unsigned.credentialSubject.type,
      statusPurpose: unsigned.credentialSubject.statusPurpose,
      encodedList: unsigned.credentialSubject.encodedList
    }
  };
  // sanity: round-trip decode
  const decoded = await decodeList(
    {encodedList: credential.credentialSubject.encodedList});
  if(decoded.length !== LIST_LENGTH ||
    !l.setBits.every(i => decoded.getStatus(i))) {
    throw new Error(`round-trip failed for ${l.file}`);
  }
  const signed = await vc.issue({credential, suite: suite(), documentLoader});
  write(l.file, signed);
  listDocs.set(l.url, signed);
  l.encodedListLength = credential.credentialSubject.encodedList.length;
}

// ---- credentials with BitstringStatusListEntry -------------------------------
const listByPurpose = Object.fromEntries(LISTS.map(l => [l.statusPurpose, l]));
const CREDS = [
  {file: 'cred-revoked-3.json', purpose: 'revocation', index: 3,
    uuid: '5b0e6a3c-1f2d-4c7a-9e01-000000000003'},
  {file: 'cred-revoked-100000.json', purpose: 'revocation', index: 100000,
    uuid: '5b0e6a3c-1f2d-4c7a-9e01-000000100000'},
  {file: 'cred-valid-4.json', purpose: 'revocation', index: 4,
    uuid: '5b0e6a3c-1f2d-4c7a-9e01-000000000004'},
  {file: 'cred-suspended-7.json', purpose: 'suspension', index: 7,
    uuid: '5b0e6a3c-1f2d-4c7a-9e02-000000000007'},
  {file: 'cred-not-suspended-8.json', purpose: 'suspension', index: 8,
    uuid: '5b0e6a3c-1f2d-4c7a-9e02-000000000008'},
];
const manifestCreds = [];
for(const c of CREDS) {
  const l = listByPurpose[c.purpose];
  const credential = {
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    id: `urn:uuid:${c.uuid}`,
    type: ['VerifiableCredential'],
    issuer: issuer.controller,
    validFrom: CREATED,
    credentialSubject: {id: 'did:example:holder'},
    credentialStatus: {
      id: `${l.url}#${c.index}`,
      type: 'BitstringStatusListEntry',
      statusPurpose: c.purpose,
      statusListIndex: String(c.index),
      statusListCredential: l.url
    }
  };
  const signed = await vc.issue({credential, suite: suite(), documentLoader});
  write(c.file, signed);
  manifestCreds.push({
    file: c.file,
    id: signed.id,
    statusPurpose: c.purpose,
    statusListIndex: String(c.index),
    statusListCredential: l.url,
    listFile: l.file,
    expected: {verified: true, status: l.setBits.includes(c.index)}
  });
}

// ---- MANIFEST.json ----------------------------------------------------------
const listArgs = LISTS.map(l => `${l.url}=../${l.file}`).join(' ');
write('MANIFEST.json', {
  generator: 'gen/generate.mjs (Digital Bazaar JS libraries, see gen/README.md)',
  spec: 'https://www.w3.org/TR/vc-bitstring-status-list/ (v1.0)',
  created: CREATED,
  issuer: {
    WARNING: 'TEST-ONLY key. The seed is public; never use in production.',
    derivation: 'Ed25519 seed = SHA-256(UTF-8 label)',
    seedLabel: SEED_LABEL,
    seedHex: SEED.toString('hex'),
    did: issuer.controller,
    verificationMethod: issuer.id,
    publicKeyMultibase: issuer.publicKeyMultibase,
    secretKeyMultibase: issuer.secretKeyMultibase
  },
  proof: {type: 'DataIntegrityProof', cryptosuite: 'eddsa-rdfc-2022',
    proofPurpose: 'assertionMethod', created: CREATED},
  statusValueMeaning: 'status=true means the bit at statusListIndex is set ' +
    '(revoked / suspended); false means not set',
  lists: LISTS.map(l => ({
    url: l.url, file: l.file, statusPurpose: l.statusPurpose,
    length: LIST_LENGTH, setBits: l.setBits,
    encodedListChars: l.encodedListLength
  })),
  listMap: Object.fromEntries(LISTS.map(l => [l.url, l.file])),
  credentials: manifestCreds,
  checkCommand: `cd gen && node check.mjs ${listArgs} ` +
    manifestCreds.map(c => `../${c.file}`).join(' '),
  checkManifestCommand: 'cd gen && node check.mjs --manifest ../MANIFEST.json',
  contextSources: CONTEXT_SOURCES
});
console.log('wrote vectors to', OUT, 'issuer', issuer.controller);
