// Builds an OpenID Federation 1.0 trust anchor for Laurel's registry tests with jose, a JOSE
// library independent of Laurel: the anchor's entity configuration (self-signed), subordinate
// statements about two issuer DIDs (the issuers of ../../interop's Ed25519 and P-256
// credentials), and the statements a verifier must not accept (expired, signed by another key,
// about another sub, alg "none", HS256). Keys are new on every run; only public keys are written.
//
//   node generate.mjs [--base URL] [--out DIR]
//
// --base is the anchor's entity id and the origin of its fetch endpoint (default
// https://federation.example, the committed fixtures, used pinned); --out defaults to ..
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const base = arg('--base', 'https://federation.example').replace(/\/$/, '');
const out = arg('--out', join(here, '..'));
mkdirSync(join(out, 'statements'), { recursive: true });

const issuerOf = (file) => {
  const credential = JSON.parse(readFileSync(join(here, '../../interop', file), 'utf8'));
  return typeof credential.issuer === 'string' ? credential.issuer : credential.issuer.id;
};
const ED = issuerOf('ob-eddsa-rdfc-2022.json');
const P = issuerOf('ob-ecdsa-rdfc-2019.json');

const FAR = 4102444800; // 2100-01-01
const PAST = 1577836800; // 2020-01-01
const IAT = 1767225600; // 2026-01-01
const TYP = 'entity-statement+jwt';

async function keyPair(alg, kid) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined, extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, jwk };
}

const anchorEd = await keyPair('EdDSA', 'anchor-ed');
const anchorEs = await keyPair('ES256', 'anchor-es');
const rogue = await keyPair('EdDSA', 'rogue');

const sign = (key, payload, header = {}) =>
  new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: TYP, ...header })
    .sign(key.privateKey);

const write = (file, text) => writeFileSync(join(out, file), text.endsWith('\n') ? text : text + '\n');

const entityConfiguration = (keys, exp) => ({
  iss: base,
  sub: base,
  iat: IAT,
  exp,
  jwks: { keys: keys.map((k) => k.jwk) },
  metadata: {
    federation_entity: {
      organization_name: 'Test Federation Trust Anchor',
      federation_fetch_endpoint: `${base}/fetch`,
    },
  },
});

write('entity-configuration.jwt', await sign(anchorEd, entityConfiguration([anchorEd, anchorEs], FAR)));
write('entity-configuration-expired.jwt', await sign(anchorEd, entityConfiguration([anchorEd, anchorEs], PAST)));
// Self-signed by a key that is not the anchor's: it verifies against its own jwks, never
// against the anchor's pinned keys.
write('entity-configuration-rogue.jwt', await sign(rogue, entityConfiguration([rogue], FAR)));
write('anchor-jwks.json', JSON.stringify({ keys: [anchorEd.jwk, anchorEs.jwk] }, null, 2));
write('rogue-jwks.json', JSON.stringify({ keys: [rogue.jwk] }, null, 2));

const subordinate = (sub, name, exp) => ({
  iss: base,
  sub,
  iat: IAT,
  exp,
  jwks: { keys: [] },
  metadata: {
    federation_entity: {
      organization_name: name,
      homepage_uri: `https://${name.toLowerCase().replace(/[^a-z]+/g, '-')}.example`,
      logo_uri: `https://${name.toLowerCase().replace(/[^a-z]+/g, '-')}.example/logo.png`,
    },
  },
});

// exp as a string of digits, as a live registry signs it.
write('statements/ed-university.jwt', await sign(anchorEd, subordinate(ED, 'Ed University', String(FAR))));
write('statements/p-college.jwt', await sign(anchorEs, subordinate(P, 'P College', FAR)));
write('statements/expired.jwt', await sign(anchorEd, subordinate(ED, 'Ed University', PAST)));
// Signed by another key, claiming the anchor's kid and carrying its own key in the header.
write('statements/other-key.jwt', await sign(rogue, subordinate(ED, 'Ed University', FAR), { kid: 'anchor-ed', jwk: rogue.jwk }));
// A valid statement, but about P, served for ED.
write('statements/other-sub.jwt', await sign(anchorEd, subordinate(P, 'P College', FAR)));
write('statements/alg-none.jwt', new jose.UnsecuredJWT(subordinate(ED, 'Ed University', FAR)).encode());
const secret = new TextEncoder().encode('a shared secret is no anchor key!');
write('statements/hs256.jwt', await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(subordinate(ED, 'Ed University', FAR))))
  .setProtectedHeader({ alg: 'HS256', kid: 'anchor-ed', typ: TYP })
  .sign(secret));

// What each file is, and the answer a verifier must give (the tests read this).
const cases = [
  { case: 'listed (EdDSA, exp as digits)', ec: 'entity-configuration.jwt', did: ED, statement: 'statements/ed-university.jwt', expect: { listed: true, name: 'Ed University' } },
  { case: 'listed (ES256)', ec: 'entity-configuration.jwt', did: P, statement: 'statements/p-college.jwt', expect: { listed: true, name: 'P College' } },
  { case: 'listed, anchor keys pinned', ec: 'entity-configuration.jwt', jwks: 'anchor-jwks.json', did: ED, statement: 'statements/ed-university.jwt', expect: { listed: true, name: 'Ed University' } },
  { case: 'expired statement', ec: 'entity-configuration.jwt', did: ED, statement: 'statements/expired.jwt', expect: { listed: false, reason: 'expired' } },
  { case: 'statement signed by another key', ec: 'entity-configuration.jwt', did: ED, statement: 'statements/other-key.jwt', expect: { listed: false, reason: 'signature' } },
  { case: 'statement about another sub', ec: 'entity-configuration.jwt', did: ED, statement: 'statements/other-sub.jwt', expect: { listed: false, reason: "\"sub\"" } },
  { case: 'alg none', ec: 'entity-configuration.jwt', did: ED, statement: 'statements/alg-none.jwt', expect: { listed: false, reason: 'none' } },
  { case: 'HS256', ec: 'entity-configuration.jwt', did: ED, statement: 'statements/hs256.jwt', expect: { listed: false, reason: 'HS256' } },
  { case: 'expired entity configuration', ec: 'entity-configuration-expired.jwt', did: ED, statement: 'statements/ed-university.jwt', expect: { listed: false, reason: 'expired' } },
  { case: 'pinned anchor keys, entity configuration signed by another key', ec: 'entity-configuration-rogue.jwt', jwks: 'anchor-jwks.json', did: ED, statement: 'statements/ed-university.jwt', expect: { listed: false, reason: 'pinned' } },
];
write('MANIFEST.json', JSON.stringify({
  generator: 'gen/generate.mjs (jose ' + JSON.parse(readFileSync(join(here, 'node_modules/jose/package.json'), 'utf8')).version + ')',
  entityId: base,
  entityConfiguration: `${base}/.well-known/openid-federation`,
  fetchEndpoint: `${base}/fetch`,
  dids: { ed: ED, p: P },
  credentials: { [ED]: 'ob-eddsa-rdfc-2022.json', [P]: 'ob-ecdsa-rdfc-2019.json' },
  cases,
}, null, 2));
