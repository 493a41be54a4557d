// Checks Bitstring Status List v1.0 status of credentials, fully offline, with
// @digitalbazaar/vc-bitstring-status-list checkStatus().
//
// Usage: node check.mjs [--no-credential-verify] LIST_URL=LIST_FILE... CRED_FILE...
//        node check.mjs --manifest ../MANIFEST.json
//
// LIST_URL=LIST_FILE: the status list credential JSON in LIST_FILE is served by
//   the document loader for exactly LIST_URL (any URL, e.g.
//   http://127.0.0.1:8080/status/1; must match credentialStatus.
//   statusListCredential byte-for-byte). The argument is split at its first
//   "=", so URLs containing "=" need --list.
// --list URL FILE: same as URL=FILE, for URLs that contain "=".
// Status list credentials are verified (signature, issuer match, purpose
// match) by checkStatus via vc.verifyCredential with a DataIntegrityProof
// eddsa-rdfc-2022 suite; did:key (Ed25519, z6Mk...) is resolved offline, so
// lists signed by any Ed25519 did:key work.
//
// Prints one JSON line per credential:
//   {"file", "verified", "status", "error", "credentialVerified", "results"}
//   verified: checkStatus(...).verified (list credential loaded + verified,
//     issuers match, purposes match, list decoded)
//   status: the bit value (true = set = revoked/suspended) when the credential
//     has exactly one BitstringStatusListEntry; array of values if several;
//     null if the check failed
//   credentialVerified: the credential's own proof verified (skip with
//     --no-credential-verify; then null)
//   results: per entry {statusPurpose, statusListIndex, statusListCredential,
//     status}
// Exit code 0 iff every credential has verified === true (and
// credentialVerified !== false). In --manifest mode, exit 0 iff every result
// matches the manifest's expected {verified, status}.
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {makeDocumentLoader} from './loader.mjs';

const usage = () => {
  console.error(
    'usage: node check.mjs [--no-credential-verify] LIST_URL=LIST_FILE... ' +
    'CRED_FILE...\n' +
    '       (also: --list LIST_URL LIST_FILE)\n' +
    '       node check.mjs --manifest MANIFEST.json');
  process.exit(2);
};

const readJson = file => JSON.parse(readFileSync(file, 'utf8'));
const args = process.argv.slice(2);
const lists = new Map(); // url -> file
const creds = []; // {file, expected?}
let manifest;
let verifyCred = true;
for(let i = 0; i < args.length; ++i) {
  const a = args[i];
  if(a === '--manifest') {
    manifest = args[++i];
  } else if(a === '--list') {
    lists.set(args[i + 1], args[i + 2]);
    i += 2;
  } else if(a === '--no-credential-verify') {
    verifyCred = false;
  } else if(a === '-h' || a === '--help') {
    usage();
  } else if(/^[a-zA-Z][a-zA-Z0-9+.-]*:[^=]*=/.test(a)) {
    const eq = a.indexOf('=');
    lists.set(a.slice(0, eq), a.slice(eq + 1));
  } else {
    creds.push({file: a});
  }
}
if(manifest) {
  const m = readJson(manifest);
  const base = dirname(manifest);
  for(const [url, file] of Object.entries(m.listMap)) {
    lists.set(url, join(base, file));
  }
  for(const c of m.credentials) {
    creds.push({file: join(base, c.file), expected: c.expected});
  }
}
if(creds.length === 0) {
  usage();
}

const extraDocuments = new Map();
for(const [url, file] of lists) {
  try {
    extraDocuments.set(url, readJson(file));
  } catch(e) {
    console.error(`cannot read list file "${file}" for ${url}: ${e.message}`);
    process.exit(2);
  }
}
const documentLoader = makeDocumentLoader({extraDocuments});
const suite = () => new DataIntegrityProof({cryptosuite: eddsaRdfc2022});

// human-readable messages from a vc / jsigs / checkStatus result or error
function messagesOf(x, out = []) {
  if(!x) {
    return out;
  }
  if(Array.isArray(x)) {
    x.forEach(e => messagesOf(e, out));
    return out;
  }
  if(x instanceof Error || x.message) {
    if(x.errors) {
      messagesOf(x.errors, out);
    } else {
      let m = x.message;
      const causes = x.cause ? messagesOf(x.cause) : [];
      const extra = causes.filter(c => !m.includes(c));
      if(extra.length) {
        m += ` (cause: ${extra.join('; ')})`;
      }
      out.push(m);
    }
    return out;
  }
  if(typeof x === 'object') {
    messagesOf(x.error, out);
    for(const r of [].concat(x.results ?? [])) {
      if(r && r.verified === false) {
        messagesOf(r, out);
      }
    }
    return out;
  }
  out.push(String(x));
  return out;
}

async function checkFile({file}) {
  const line = {file, verified: false, status: null};
  const errors = [];
  let credential;
  try {
    credential = readJson(file);
  } catch(e) {
    return {...line, error: e.message, credentialVerified: null};
  }
  // 1. status via the library
  try {
    const r = await checkStatus({
      credential, documentLoader, suite: suite(),
      verifyBitstringStatusListCredential: true,
      verifyMatchingIssuers: true
    });
    line.verified = r.verified === true;
    if(line.verified) {
      const statuses = r.results.map(x => x.status);
      line.status = statuses.length === 1 ? statuses[0] : statuses;
      line.results = r.results.map(({credentialStatus: cs, status}) => ({
        statusPurpose: cs.statusPurpose,
        statusListIndex: cs.statusListIndex,
        statusListCredential: cs.statusListCredential,
        status
      }));
    } else {
      errors.push(...messagesOf(r));
    }
  } catch(e) {
    errors.push(...messagesOf(e));
  }
  // 2. the credential's own proof (status handled above, so stub it here)
  line.credentialVerified = null;
  if(verifyCred) {
    try {
      const r = await vc.verifyCredential({
        credential, suite: suite(), documentLoader,
        checkStatus: async () => ({verified: true})
      });
      line.credentialVerified = r.verified === true;
      if(!line.credentialVerified) {
        errors.push(...messagesOf(r).map(m => `credential proof: ${m}`));
      }
    } catch(e) {
      line.credentialVerified = false;
      errors.push(`credential proof: ${e.message}`);
    }
  }
  if(errors.length) {
    line.error = [...new Set(errors)].join('; ');
  }
  return line;
}

let allOk = true;
for(const c of creds) {
  const line = await checkFile(c);
  const lineOk = line.verified === true && line.credentialVerified !== false;
  if(c.expected) {
    line.expected = c.expected;
    line.ok = line.verified === c.expected.verified &&
      (!line.verified || line.status === c.expected.status) &&
      line.credentialVerified !== false;
    if(!line.ok) {
      allOk = false;
    }
  } else if(!lineOk) {
    allOk = false;
  }
  // stable key order: file, verified, status, error first
  const {file, verified, status, error = null, ...rest} = line;
  console.log(JSON.stringify({file, verified, status, error, ...rest}));
}
process.exit(allOk ? 0 : 1);
