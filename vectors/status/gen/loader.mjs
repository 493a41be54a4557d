// Fully offline JSON-LD document loader for Laurel status-list vectors.
// Adapted from ../../interop/gen/loader.mjs (Ed25519 only, no OB contexts).
// Contexts come ONLY from npm context packages; did:key (Ed25519, z6Mk...) is
// resolved locally with @digitalbazaar/did-method-key. Extra documents (status
// list credentials) can be served from memory via makeDocumentLoader().
// Any other URL throws.
import * as credentialsContext from '@digitalbazaar/credentials-context';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import * as bitstringStatusListContext from
  '@digitalbazaar/vc-bitstring-status-list-context';
import ed25519Signature2020Context from 'ed25519-signature-2020-context';
import multikeyContext from '@digitalbazaar/multikey-context';
import didContext from 'did-context';
import securityContext from 'security-context';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
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
];

export const CONTEXTS = new Map(); // url -> document
export const CONTEXT_SOURCES = {}; // url -> npm package
for(const [pkg, map] of SOURCES) {
  for(const [url, doc] of map) {
    if(!/^https?:\/\//.test(url) || CONTEXTS.has(url)) {
      continue; // only real URLs; first package wins
    }
    CONTEXTS.set(url, doc);
    CONTEXT_SOURCES[url] = pkg;
  }
}

export const didKeyDriver = didKeyDriverFactory();
// Ed25519 did:keys (z6Mk...), Multikey verification methods
didKeyDriver.use({
  multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from
});

// extraDocuments: Map(url -> JSON document), e.g. status list credentials
export function makeDocumentLoader({extraDocuments = new Map()} = {}) {
  return async function documentLoader(url) {
    if(CONTEXTS.has(url)) {
      return {contextUrl: null, documentUrl: url, document: CONTEXTS.get(url)};
    }
    if(extraDocuments.has(url)) {
      return {
        contextUrl: null, documentUrl: url,
        // fresh copy so no consumer can mutate the served document
        document: structuredClone(extraDocuments.get(url))
      };
    }
    if(url.startsWith('did:key:')) {
      const document = await didKeyDriver.get({url});
      return {contextUrl: null, documentUrl: url, document};
    }
    const known = [...extraDocuments.keys()];
    throw new Error(`Offline document loader: refusing to load "${url}"` +
      (known.length ? ` (served documents: ${known.join(', ')})` : '') + '.');
  };
}

export const documentLoader = makeDocumentLoader();
