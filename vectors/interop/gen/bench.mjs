// Times Digital Bazaar's vc library on Laurel's benchmark credential (benches/typical-credential.json):
// eddsa-rdfc-2022 sign and verify, medians over N runs, for comparison with `laurel bench`.
// Usage: node bench.mjs [N]
import {readFileSync} from 'node:fs';
import {createHash} from 'node:crypto';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {documentLoader} from './loader.mjs';

const n = Number(process.argv[2] ?? 300);
const seed = createHash('sha256').update('laurel-bench').digest();
const generated = await Ed25519Multikey.generate({seed});
const did = `did:key:${generated.publicKeyMultibase}`;
const key = await Ed25519Multikey.from({
  type: 'Multikey', id: `${did}#${generated.publicKeyMultibase}`, controller: did,
  publicKeyMultibase: generated.publicKeyMultibase, secretKeyMultibase: generated.secretKeyMultibase
});
const credential = JSON.parse(readFileSync(new URL('../../../benches/typical-credential.json', import.meta.url)));
credential.issuer.id = did;
const median = xs => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async f => {
  const start = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - start) / 1000;
};
let signed;
const sign = [];
const verify = [];
for(let i = 0; i < n + 20; i++) {
  const t = await time(async () => {
    signed = await vc.issue({credential: structuredClone(credential),
      suite: new DataIntegrityProof({signer: key.signer(), cryptosuite: eddsaRdfc2022}), documentLoader});
  });
  if(i >= 20) sign.push(t);
}
for(let i = 0; i < n + 20; i++) {
  let result;
  const t = await time(async () => {
    result = await vc.verifyCredential({credential: signed,
      suite: new DataIntegrityProof({cryptosuite: eddsaRdfc2022}), documentLoader});
  });
  if(!result.verified) throw new Error('did not verify');
  if(i >= 20) verify.push(t);
}
console.log(JSON.stringify([
  {operation: 'digitalbazaar eddsa-rdfc-2022 sign', iterations: n, median_us: Math.round(median(sign))},
  {operation: 'digitalbazaar eddsa-rdfc-2022 verify', iterations: n, median_us: Math.round(median(verify))}
]));
