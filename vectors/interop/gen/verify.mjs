// Verifies credentials / presentations with @digitalbazaar/vc (offline).
// Usage: node verify.mjs [--challenge C] [--domain D] [--status-checked-elsewhere] FILE...
//   --status-checked-elsewhere: verify the proof of a credential with credentialStatus and
//    leave its status to ../../status/gen/check.mjs (the caller runs both: this package has
//    no status list client)
//        node verify.mjs --manifest ../MANIFEST.json
//   (manifest mode: verifies every listed file with its challenge/domain and
//    exits 0 only if every result equals the manifest's expected.verified)
// Prints one JSON line per file: {"file":..., "verified": bool, "error": "..."}
// Exit code 0 if every file verified, else 1.
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {cryptosuite as ecdsaRdfc2019} from
  '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import {documentLoader} from './loader.mjs';

const args = process.argv.slice(2);
const files = [];
let challenge;
let domain;
let manifest;
let statusElsewhere = false;
for(let i = 0; i < args.length; ++i) {
  if(args[i] === '--manifest') {
    manifest = args[++i];
  } else if(args[i] === '--status-checked-elsewhere') {
    statusElsewhere = true;
  } else if(args[i] === '--challenge') {
    challenge = args[++i];
  } else if(args[i] === '--domain') {
    domain = args[++i];
  } else {
    files.push(args[i]);
  }
}
if(files.length === 0 && !manifest) {
  console.error('usage: node verify.mjs [--challenge C] [--domain D] FILE...\n' +
    '       node verify.mjs --manifest MANIFEST.json');
  process.exit(2);
}

const suite = () => [
  new DataIntegrityProof({cryptosuite: eddsaRdfc2022}),
  new DataIntegrityProof({cryptosuite: ecdsaRdfc2019}),
  new Ed25519Signature2020()
];

// collect human-readable error messages from a vc/jsigs result tree
function errorsOf(result, out = []) {
  if(!result || typeof result !== 'object') {
    return out;
  }
  const push = e => {
    if(!e) {
      return;
    }
    for(const x of [].concat(e)) {
      if(x?.errors) {
        push(x.errors);
      } else if(x?.message) {
        out.push(x.message);
      } else {
        out.push(String(x));
      }
    }
  };
  push(result.error);
  for(const key of ['results', 'presentationResult', 'credentialResults']) {
    const v = result[key];
    for(const r of [].concat(v ?? [])) {
      if(r && r.verified === false) {
        errorsOf(r, out);
      }
    }
  }
  return out;
}

async function verifyFile({file, challenge, domain}) {
  let line;
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const types = [].concat(doc.type ?? []);
    let result;
    if(types.includes('VerifiablePresentation')) {
      if(challenge === undefined) {
        throw new Error('presentation requires --challenge');
      }
      result = await vc.verify({
        presentation: doc, challenge, domain, suite: suite(), documentLoader
      });
    } else {
      const checkStatus = statusElsewhere ?
        async () => ({verified: true}) : undefined;
      result = await vc.verifyCredential({
        credential: doc, suite: suite(), documentLoader, checkStatus
      });
    }
    line = {file, verified: result.verified === true};
    if(!line.verified) {
      line.error = [...new Set(errorsOf(result))].join('; ') || 'unknown';
    }
  } catch(e) {
    line = {file, verified: false, error: e.message};
  }
  return line;
}

let allOk = true;
if(manifest) {
  const m = JSON.parse(readFileSync(manifest, 'utf8'));
  for(const entry of m.files) {
    const line = await verifyFile({
      file: join(dirname(manifest), entry.file),
      challenge: entry.challenge, domain: entry.domain
    });
    line.expected = entry.expected.verified;
    line.ok = line.verified === line.expected;
    if(!line.ok) {
      allOk = false;
    }
    console.log(JSON.stringify(line));
  }
} else {
  for(const file of files) {
    const line = await verifyFile({file, challenge, domain});
    if(!line.verified) {
      allOk = false;
    }
    console.log(JSON.stringify(line));
  }
}
process.exit(allOk ? 0 : 1);
