// Generates Laurel interop test vectors into ../ (vectors/interop/).
// Usage: node generate.mjs
import {createECDH, createHash} from 'node:crypto';
import {writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {cryptosuite as ecdsaRdfc2019} from
  '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import {documentLoader, CONTEXT_SOURCES} from './loader.mjs';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CREATED = '2026-01-01T00:00:00Z';
const CHALLENGE = 'laurel-test-challenge';
const DOMAIN = 'laurel.example';

// ---- fixed, TEST-ONLY key material ----------------------------------------
const seedFrom = label => createHash('sha256').update(label).digest();
const ISSUER_ED25519_SEED = seedFrom('laurel-interop-test-issuer-ed25519');
const HOLDER_ED25519_SEED = seedFrom('laurel-interop-test-holder-ed25519');
const ISSUER_P256_D = seedFrom('laurel-interop-test-issuer-p256');

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

async function p256KeyFromPrivate(d) {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey(); // 0x04 || X || Y
  const b64u = b => Buffer.from(b).toString('base64url');
  const jwk = {
    kty: 'EC', crv: 'P-256',
    x: b64u(pub.subarray(1, 33)), y: b64u(pub.subarray(33, 65)), d: b64u(d)
  };
  const tmp = await EcdsaMultikey.fromJwk({jwk, secretKey: true});
  const did = `did:key:${tmp.publicKeyMultibase}`;
  return EcdsaMultikey.fromJwk({
    jwk, secretKey: true, id: `${did}#${tmp.publicKeyMultibase}`,
    controller: did
  });
}

const write = (name, obj) =>
  writeFileSync(join(OUT, name), JSON.stringify(obj, null, 2) + '\n');
const clone = o => structuredClone(o);

function obCredential({issuerDid, extraContexts = []}) {
  return {
    '@context': [
      'https://www.w3.org/ns/credentials/v2',
      'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
      ...extraContexts
    ],
    id: 'urn:uuid:6c3f0a52-6b1e-4f8e-9d51-3c0b5e1a7f01',
    type: ['VerifiableCredential', 'OpenBadgeCredential'],
    name: 'Laurel Interop Test Badge',
    issuer: {
      id: issuerDid,
      type: ['Profile'],
      name: 'Laurel Interop Test Issuer'
    },
    validFrom: CREATED,
    validUntil: '2099-01-01T00:00:00Z',
    credentialSubject: {
      id: 'did:example:recipient',
      type: ['AchievementSubject'],
      achievement: {
        id: 'https://example.com/achievements/1',
        type: ['Achievement'],
        name: 'Interop Testing',
        description: 'Awarded for producing cross-implementation test vectors.',
        criteria: {
          narrative: 'Sign a credential with one library and verify it with another.'
        }
      }
    }
  };
}

const issuerEd = await ed25519KeyFromSeed(ISSUER_ED25519_SEED);
const holderEd = await ed25519KeyFromSeed(HOLDER_ED25519_SEED);
const issuerP256 = await p256KeyFromPrivate(ISSUER_P256_D);

const eddsaSuite = key => new DataIntegrityProof({
  signer: key.signer(), cryptosuite: eddsaRdfc2022, date: CREATED
});

// 1. OB 3.0, eddsa-rdfc-2022
const obEddsa = await vc.issue({
  credential: obCredential({issuerDid: issuerEd.controller}),
  suite: eddsaSuite(issuerEd), documentLoader
});
write('ob-eddsa-rdfc-2022.json', obEddsa);

// 2. OB 3.0, ecdsa-rdfc-2019 (P-256)
const obEcdsa = await vc.issue({
  credential: obCredential({issuerDid: issuerP256.controller}),
  suite: new DataIntegrityProof({
    signer: issuerP256.signer(), cryptosuite: ecdsaRdfc2019, date: CREATED
  }),
  documentLoader
});
write('ob-ecdsa-rdfc-2019.json', obEcdsa);

// 3. OB 3.0, Ed25519Signature2020 (same Ed25519 issuer key)
const obEd2020 = await vc.issue({
  credential: obCredential({
    issuerDid: issuerEd.controller,
    extraContexts: ['https://w3id.org/security/suites/ed25519-2020/v1']
  }),
  suite: new Ed25519Signature2020({signer: issuerEd.signer(), date: CREATED}),
  documentLoader
});
write('ob-ed25519-signature-2020.json', obEd2020);

// 4. Plain VC DM 1.1, eddsa-rdfc-2022
const vc11 = await vc.issue({
  credential: {
    '@context': [
      'https://www.w3.org/2018/credentials/v1',
      'https://w3id.org/security/data-integrity/v2'
    ],
    id: 'urn:uuid:0e6f7b3a-2c4d-4a8e-8f11-7d2b9c4e5a02',
    type: ['VerifiableCredential'],
    issuer: issuerEd.controller,
    issuanceDate: CREATED,
    expirationDate: '2099-01-01T00:00:00Z',
    credentialSubject: {id: 'did:example:recipient'}
  },
  suite: eddsaSuite(issuerEd), documentLoader
});
write('vc11-eddsa-rdfc-2022.json', vc11);

// 5. Tampered copy of #1
const tampered = clone(obEddsa);
tampered.credentialSubject.achievement.name = 'Tampered Achievement Name';
write('ob-eddsa-rdfc-2022-tampered.json', tampered);

// 6. VP (VC v2) holding #1, signed by holder, authentication purpose
const presentation = vc.createPresentation({
  verifiableCredential: [clone(obEddsa)],
  id: 'urn:uuid:a1b2c3d4-0000-4000-8000-000000000003',
  holder: holderEd.controller,
  version: 2.0
});
const vp = await vc.signPresentation({
  presentation, suite: eddsaSuite(holderEd),
  challenge: CHALLENGE, domain: DOMAIN, documentLoader
});
write('vp-eddsa-rdfc-2022.json', vp);

// 7. VP whose holder is the credential's recipient (a badge issued to the holder's DID)
const toHolderCredential = obCredential({issuerDid: issuerEd.controller});
toHolderCredential.id = 'urn:uuid:a1b2c3d4-0000-4000-8000-000000000007';
toHolderCredential.credentialSubject.id = holderEd.controller;
const obToHolder = await vc.issue({
  credential: toHolderCredential, suite: eddsaSuite(issuerEd), documentLoader
});
const vpHolderPresentation = vc.createPresentation({
  verifiableCredential: [obToHolder],
  id: 'urn:uuid:a1b2c3d4-0000-4000-8000-000000000008',
  holder: holderEd.controller,
  version: 2.0
});
const vpHolder = await vc.signPresentation({
  presentation: vpHolderPresentation, suite: eddsaSuite(holderEd),
  challenge: CHALLENGE, domain: DOMAIN, documentLoader
});
write('vp-holder-is-recipient.json', vpHolder);

// keys.json
const hex = b => Buffer.from(b).toString('hex');
write('keys.json', {
  WARNING: 'TEST-ONLY keys. Seeds/private keys are public; never use in production.',
  derivation: 'seed/private key = SHA-256(UTF-8 label)',
  issuerEd25519: {
    label: 'laurel-interop-test-issuer-ed25519',
    seedHex: hex(ISSUER_ED25519_SEED),
    did: issuerEd.controller,
    verificationMethod: issuerEd.id,
    publicKeyMultibase: issuerEd.publicKeyMultibase,
    secretKeyMultibase: issuerEd.secretKeyMultibase
  },
  holderEd25519: {
    label: 'laurel-interop-test-holder-ed25519',
    seedHex: hex(HOLDER_ED25519_SEED),
    did: holderEd.controller,
    verificationMethod: holderEd.id,
    publicKeyMultibase: holderEd.publicKeyMultibase,
    secretKeyMultibase: holderEd.secretKeyMultibase
  },
  issuerP256: {
    label: 'laurel-interop-test-issuer-p256',
    privateKeyHex: hex(ISSUER_P256_D),
    did: issuerP256.controller,
    verificationMethod: issuerP256.id,
    publicKeyMultibase: issuerP256.publicKeyMultibase,
    secretKeyMultibase: (await issuerP256.export(
      {publicKey: true, secretKey: true, includeContext: false}))
      .secretKeyMultibase,
    publicKeyJwk: (({kty, crv, x, y}) => ({kty, crv, x, y}))(
      await EcdsaMultikey.toJwk({keyPair: issuerP256}))
  }
});

// 6. OB 3.0, eddsa-rdfc-2022, a name with a base direction (VC DM 2.0 §11.1): the
// cryptosuite canonicalizes with rdfDirection "i18n-datatype", so the direction is signed.
const directedCredential = obCredential({issuerDid: issuerEd.controller});
directedCredential.name = {'@value': 'شارة التعاون', '@language': 'ar', '@direction': 'rtl'};
const obDirected = await vc.issue({
  credential: directedCredential, suite: eddsaSuite(issuerEd), documentLoader
});
write('ob-eddsa-rdfc-2022-direction.json', obDirected);
// 7. #6 with its direction flipped after signing.
const flipped = clone(obDirected);
flipped.name['@direction'] = 'ltr';
write('ob-eddsa-rdfc-2022-direction-flipped.json', flipped);

// MANIFEST.json
const entry = (file, doc, expected, extra = {}) => ({
  file,
  kind: doc.type.includes('VerifiablePresentation') ?
    'VerifiablePresentation' : 'VerifiableCredential',
  expected: {verified: expected},
  proofType: doc.proof.type,
  cryptosuite: doc.proof.cryptosuite ?? null,
  proofPurpose: doc.proof.proofPurpose,
  verificationMethod: doc.proof.verificationMethod,
  issuer: typeof doc.issuer === 'string' ? doc.issuer : doc.issuer?.id ?? null,
  ...extra
});
write('MANIFEST.json', {
  generator: 'gen/generate.mjs (Digital Bazaar JS libraries, see gen/README.md)',
  created: CREATED,
  verifyCommand: 'cd gen && node verify.mjs ../<file> [--challenge C --domain D]',
  files: [
    entry('ob-eddsa-rdfc-2022.json', obEddsa, true),
    entry('ob-ecdsa-rdfc-2019.json', obEcdsa, true, {
      note: 'ECDSA signatures are non-deterministic; proofValue changes on each regeneration'
    }),
    entry('ob-ed25519-signature-2020.json', obEd2020, true),
    entry('vc11-eddsa-rdfc-2022.json', vc11, true),
    entry('ob-eddsa-rdfc-2022-tampered.json', tampered, false, {
      note: 'credentialSubject.achievement.name modified after signing'
    }),
    entry('ob-eddsa-rdfc-2022-direction.json', obDirected, true, {
      note: 'name is a language value object with @direction rtl'
    }),
    entry('ob-eddsa-rdfc-2022-direction-flipped.json', flipped, false, {
      note: 'the name\'s @direction flipped to ltr after signing'
    }),
    entry('vp-eddsa-rdfc-2022.json', vp, true, {
      holder: vp.holder,
      challenge: CHALLENGE,
      domain: DOMAIN,
      embeddedCredentials: ['ob-eddsa-rdfc-2022.json']
    }),
    entry('vp-holder-is-recipient.json', vpHolder, true, {
      holder: vpHolder.holder,
      challenge: CHALLENGE,
      domain: DOMAIN,
      note: 'the embedded badge is issued to the holder DID'
    }),
  ],
  contextSources: CONTEXT_SOURCES
});
console.log('wrote vectors to', OUT);
