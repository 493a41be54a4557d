// An independent OpenID4VCI wallet: Animo's @openid4vc/openid4vci client (npm) runs the
// pre-authorized code flow against a Laurel server, with a key made here (Node's crypto).
//
//   node wallet.mjs OFFER_URI CONFIGURATION_ID KEY [TX_CODE]
//
// KEY: `did-key` (Ed25519, the proof names did:key#... in `kid`) or `jwk-p256` (P-256, the
// proof carries the public `jwk`). Prints one JSON line: {holder, credential, steps}. A step
// that fails prints {error, step} and exits 1. Run by tests/oid4vci.rs.
import crypto from 'node:crypto';
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { clientAuthenticationNone } from '@openid4vc/oauth2';
import { setGlobalConfig } from '@openid4vc/utils';

// The test server runs on loopback over http.
setGlobalConfig({ allowInsecureUrls: true });

const [offerUri, configurationId, keyKind, txCode] = process.argv.slice(2);

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58btc(bytes) {
  let n = BigInt('0x' + Buffer.from(bytes).toString('hex'));
  let out = '';
  while (n > 0n) { out = B58[Number(n % 58n)] + out; n /= 58n; }
  for (const b of bytes) { if (b === 0) out = '1' + out; else break; }
  return out;
}

function makeKey(kind) {
  if (kind === 'did-key') {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const jwk = publicKey.export({ format: 'jwk' });
    const raw = Buffer.from(jwk.x, 'base64url');
    const multibase = 'z' + base58btc(Buffer.concat([Buffer.from([0xed, 0x01]), raw]));
    const did = `did:key:${multibase}`;
    return { privateKey, alg: 'EdDSA', holder: did, signer: { method: 'did', didUrl: `${did}#${multibase}`, alg: 'EdDSA' }, jwk };
  }
  if (kind === 'jwk-p256') {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    return { privateKey, alg: 'ES256', holder: null, signer: { method: 'jwk', publicJwk: jwk, alg: 'ES256' }, jwk };
  }
  throw new Error(`unknown key kind ${kind}`);
}

const key = makeKey(keyKind);

const callbacks = {
  hash: (data, alg) => crypto.createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
  generateRandom: (n) => crypto.randomBytes(n),
  clientAuthentication: clientAuthenticationNone({ clientId: 'laurel-interop-wallet' }),
  signJwt: async (signer, { header, payload }) => {
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const signature = key.alg === 'EdDSA'
      ? crypto.sign(null, Buffer.from(input), key.privateKey)
      : crypto.sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    return { jwt: `${input}.${b64url(signature)}`, signerJwk: key.jwk };
  },
};

const client = new Openid4vciClient({ callbacks });
const steps = [];
let step = 'resolve offer';
try {
  const credentialOffer = await client.resolveCredentialOffer(offerUri);
  steps.push(step);
  step = 'issuer metadata';
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  steps.push(step);
  step = 'token';
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    txCode: txCode || undefined,
  });
  steps.push(step);
  step = 'nonce';
  const { c_nonce } = await client.requestNonce({ issuerMetadata });
  steps.push(step);
  step = 'key proof';
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    signer: key.signer,
    nonce: c_nonce,
  });
  steps.push(step);
  step = 'credential';
  const response = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId: configurationId,
    proofs: { jwt: [jwt] },
  });
  steps.push(step);
  const credential = response.credentialResponse.credentials[0].credential;
  const holder = key.holder ?? `did:jwk:${b64url(JSON.stringify(key.jwk))}`;
  console.log(JSON.stringify({ holder, credential, steps }));
} catch (error) {
  const detail = error?.errorResponse ?? error?.response?.body ?? null;
  console.log(JSON.stringify({ step, steps, error: String(error?.message ?? error), detail }));
  process.exit(1);
}
