#!/usr/bin/env python3
"""Issue Open Badges 3.0 interop vectors with openbadgeslib (pinned 4.6.3).

Usage: issue.py OUTDIR        (OUTDIR is normally vectors/openbadgeslib/)

Writes every credential form openbadgeslib can issue, the did:web documents
and status lists they need (as files, to be preloaded at their URLs), tampered
copies, and OUTDIR/MANIFEST.json describing each vector and its expected
verdict. Keys are fixed (gen/keys/*.pem, generated on first run and committed),
ids, dates and the Data Integrity `created` are fixed, so EdDSA and RS* outputs
are byte-for-byte reproducible (ES* use RFC 6979 deterministic ECDSA nonces,
see below, and the status lists' gzip mtime is pinned to 0).

Everything is produced by openbadgeslib's own API (OB3Signer, OB3LdpSigner,
build_status_list_credential, status_entry, add_data_integrity_proof,
build_did_document, did_key_from_pem, did_jwk_from_jwk, baking). Two small
departures, both noted in the manifest:
  * status-list JWTs are signed with OB3Signer.sign_payload exactly as
    sign_status_list_credential does, but with a fixed `nbf` (the library
    stamps "now") so the files are reproducible;
  * tampered files are edited after signing, by this script.
"""

import base64
import functools
import gzip
import json
import os
import struct
import sys
import zlib

import jwt.algorithms
from datetime import datetime, timezone

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from openbadgeslib.util import __version__
from openbadgeslib import baking
from openbadgeslib.keys import public_jwk_from_pem
from openbadgeslib.ob3 import (Achievement, Issuer, OB3LdpSigner, OB3Signer,
                               OpenBadgeCredential, add_data_integrity_proof,
                               build_did_document, build_status_list_credential,
                               did_jwk_from_jwk, did_key_from_pem, status_entry)

# Status lists: gzip.compress stamps the current time into the gzip header of
# encodedList; pin it to 0 so the lists are reproducible.
gzip.compress = functools.partial(gzip.compress, mtime=0)
# ES256/384/512: PyJWT signs with randomized ECDSA; switch its ECDSA to RFC 6979
# deterministic nonces (still ordinary ECDSA signatures, verifiable by anyone)
# so regenerating the vectors gives identical files.
jwt.algorithms.ECDSA = functools.partial(ec.ECDSA, deterministic_signing=True)

HERE = os.path.dirname(os.path.abspath(__file__))
KEYDIR = os.path.join(HERE, 'keys')

VALID_FROM = datetime(2025, 1, 1, tzinfo=timezone.utc)
VALID_UNTIL = datetime(2099, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
EXPIRED_FROM = datetime(2020, 1, 1, tzinfo=timezone.utc)
EXPIRED_UNTIL = datetime(2021, 1, 1, tzinfo=timezone.utc)
DI_CREATED = datetime(2025, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
LIST_NBF = int(VALID_FROM.timestamp())

HOST = 'issuer.example'
WEB_ROOT = 'https://%s' % HOST

# key name -> (generator, JWS algorithms it signs)
KEYS = {
    'ed25519': (lambda: ed25519.Ed25519PrivateKey.generate(), ['EdDSA']),
    'p256': (lambda: ec.generate_private_key(ec.SECP256R1()), ['ES256']),
    'p384': (lambda: ec.generate_private_key(ec.SECP384R1()), ['ES384']),
    'p521': (lambda: ec.generate_private_key(ec.SECP521R1()), ['ES512']),
    'rsa2048': (lambda: rsa.generate_private_key(65537, 2048),
                ['RS256', 'RS384', 'RS512']),
}
# openbadgeslib's did:key codec (ob3/did.py multikey_from_pem) knows only these.
DID_KEY_KEYS = ('ed25519', 'p256')


def load_or_make_key(name):
    os.makedirs(KEYDIR, exist_ok=True)
    path = os.path.join(KEYDIR, name + '.pem')
    if not os.path.exists(path):
        key = KEYS[name][0]()
        pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        with open(path, 'wb') as f:
            f.write(pem)
    with open(path, 'rb') as f:
        priv_pem = f.read()
    priv = serialization.load_pem_private_key(priv_pem, password=None)
    pub_pem = priv.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    pub_path = os.path.join(KEYDIR, name + '.pub.pem')
    if not os.path.exists(pub_path):
        with open(pub_path, 'wb') as f:
            f.write(pub_pem)
    return priv_pem, pub_pem


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def b64u_dec(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def tiny_png():
    """A 16x16 RGB PNG, built by hand (no image library needed)."""
    w = h = 16
    raw = b''.join(b'\x00' + bytes([30, 90, 200]) * w for _ in range(h))

    def chunk(tag, data):
        body = tag + data
        return struct.pack('>I', len(data)) + body + \
            struct.pack('>I', zlib.crc32(body) & 0xffffffff)
    return (b'\x89PNG\r\n\x1a\n'
            + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw, 9))
            + chunk(b'IEND', b''))


TINY_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" '
            b'viewBox="0 0 64 64"><circle cx="32" cy="32" r="30" '
            b'fill="#1e5ac8"/></svg>')


class Gen:
    def __init__(self, outdir):
        self.out = outdir
        self.manifest = []
        self.keys = {n: load_or_make_key(n) for n in KEYS}
        self.counter = 0

    # ── files ────────────────────────────────────────────────────────────────
    def write(self, rel, data):
        path = os.path.join(self.out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(data, str):
            data = data.encode('utf-8')
        with open(path, 'wb') as f:
            f.write(data)
        return rel

    def write_json(self, rel, obj):
        return self.write(rel, json.dumps(obj, indent=2, sort_keys=True) + '\n')

    def add(self, file, kind, alg, issuer_did, expected, notes,
            preload=None, args=None, proof=None):
        entry = {'file': file, 'kind': kind, 'alg': alg,
                 'issuerDid': issuer_did, 'expected': expected,
                 'preload': preload or {}, 'notes': notes}
        if proof:
            entry['proof'] = proof
        if args:
            entry['args'] = args
        self.manifest.append(entry)

    # ── identities ───────────────────────────────────────────────────────────
    def pub_jwk(self, keyname):
        return public_jwk_from_pem(self.keys[keyname][1])

    def did_key(self, keyname):
        return did_key_from_pem(self.keys[keyname][1])

    def did_jwk(self, keyname):
        return did_jwk_from_jwk(self.pub_jwk(keyname))

    def did_web(self, keyname):
        """Bare-host did:web for ed25519 (the main issuer, which also signs the
        status lists); a path did:web per other key, because openbadgeslib's
        JWTs carry no `kid` and its verifier then takes verificationMethod[0]."""
        if keyname == 'ed25519':
            return 'did:web:%s' % HOST, '.well-known/did.json'
        return 'did:web:%s:keys:%s' % (HOST, keyname), 'keys/%s/did.json' % keyname

    def publish_did_web(self, keyname):
        did, path = self.did_web(keyname)
        doc = build_did_document(did, [('key-1', self.pub_jwk(keyname))])
        rel = self.write_json('did/%s' % path, doc)
        return did, {'%s/%s' % (WEB_ROOT, path): rel}

    # ── credentials ──────────────────────────────────────────────────────────
    def credential(self, issuer_did, *, status=None, valid_from=VALID_FROM,
                   valid_until=None, name_suffix=''):
        self.counter += 1
        n = self.counter
        ach = Achievement(
            id='%s/achievements/interop-%d' % (WEB_ROOT, n),
            name='Interop Badge %d%s' % (n, name_suffix),
            description='Issued by openbadgeslib %s for Laurel interop tests'
                        % __version__,
            criteria_narrative='Be a test vector.',
            achievement_type='Badge')
        cred = OpenBadgeCredential(
            issuer=Issuer(id=issuer_did, name='Example Issuer',
                          url='%s/' % WEB_ROOT),
            recipient_id='mailto:learner%d@example.com' % n,
            achievement=ach,
            id='urn:uuid:00000000-0000-4000-8000-%012d' % n,
            issuance_date=valid_from,
            expiration_date=valid_until,
            credential_status=status or [])
        return cred

    def jwt(self, cred, keyname, alg):
        return OB3Signer(privkey_pem=self.keys[keyname][0], algorithm=alg).sign(cred)

    def di(self, cred, keyname, vm):
        return OB3LdpSigner(self.keys[keyname][0], verification_method=vm).sign(
            cred, created=DI_CREATED)

    # ── status lists ─────────────────────────────────────────────────────────
    def status_lists(self):
        """JWT-secured Bitstring Status Lists of did:web:issuer.example
        (EdDSA): status/1 revocation (bit 1 set), status/2 suspension (bit 2
        set); and Data-Integrity-secured JSON lists status/3 (revocation, bit 1
        set) and status/4 (suspension, bit 2 set), which openbadgeslib's
        verifier refuses to trust as signed."""
        issuer, preload = self.publish_did_web('ed25519')
        priv = self.keys['ed25519'][0]
        lists = {}
        for num, purpose, bits in (('1', 'revocation', [1]),
                                   ('2', 'suspension', [2])):
            url = '%s/status/%s' % (WEB_ROOT, num)
            vc = build_status_list_credential(issuer, url, purpose, bits,
                                              issued=VALID_FROM)
            # == sign_status_list_credential(vc, priv, 'EdDSA') but nbf fixed
            payload = dict(vc)
            payload['iss'] = vc['issuer']
            payload['jti'] = vc['id']
            payload['nbf'] = LIST_NBF
            token = OB3Signer(privkey_pem=priv, algorithm='EdDSA').sign_payload(payload)
            rel = self.write('status/%s.jwt' % num, token)
            lists[purpose] = (url, {url: rel})
        for num, purpose, bits in (('3', 'revocation', [1]),
                                   ('4', 'suspension', [2])):
            url = '%s/status/%s' % (WEB_ROOT, num)
            vc = build_status_list_credential(issuer, url, purpose, bits,
                                              issued=VALID_FROM)
            signed = add_data_integrity_proof(vc, priv, issuer + '#key-1',
                                              created=DI_CREATED)
            rel = self.write_json('status/%s.json' % num, signed)
            lists['di-' + purpose] = (url, {url: rel})
        return issuer, preload, lists

    # ── the whole set ────────────────────────────────────────────────────────
    def run(self):
        # 1. JWT: every algorithm x every issuer DID method it can use.
        for keyname, (_, algs) in KEYS.items():
            for alg in algs:
                methods = ['did:jwk', 'did:web']
                if keyname in DID_KEY_KEYS:
                    methods.insert(0, 'did:key')
                for method in methods:
                    preload = {}
                    if method == 'did:key':
                        did = self.did_key(keyname)
                        note = 'did:key (resolved offline by openbadgeslib)'
                    elif method == 'did:jwk':
                        did = self.did_jwk(keyname)
                        note = ('did:jwk: openbadgeslib mints it (did_jwk_from_jwk) '
                                'but cannot resolve it; verify.py adds a shim')
                    else:
                        did, preload = self.publish_did_web(keyname)
                        note = 'did:web; DID document preloaded (JsonWebKey2020)'
                    until = VALID_UNTIL if self.counter % 2 else None
                    cred = self.credential(did, valid_until=until)
                    token = self.jwt(cred, keyname, alg)
                    tag = method.split(':')[1]
                    rel = self.write('jwt/%s-%s.jwt' % (alg.lower(), tag), token)
                    self.add(rel, 'jwt', alg, did, 'verified',
                             '%s %s key, %s; validUntil %s' % (
                                 alg, keyname, note,
                                 'none' if until is None else until.isoformat()),
                             preload)

        # did:web with a port (percent-encoded ':' in the method-specific id)
        did_port = 'did:web:%s%%3A8443' % HOST
        doc = build_did_document(did_port, [('key-1', self.pub_jwk('ed25519'))])
        rel_doc = self.write_json('did/port-8443/.well-known/did.json', doc)
        cred = self.credential(did_port)
        rel = self.write('jwt/eddsa-web-port.jwt', self.jwt(cred, 'ed25519', 'EdDSA'))
        self.add(rel, 'jwt', 'EdDSA', did_port, 'verified',
                 'did:web with a port: resolved at '
                 'https://issuer.example:8443/.well-known/did.json',
                 {'https://%s:8443/.well-known/did.json' % HOST: rel_doc})

        # 2. Status lists and credentials in each state (JWT and DI).
        web_did, web_preload, lists = self.status_lists()
        rev_url, rev_pre = lists['revocation']
        sus_url, sus_pre = lists['suspension']
        di_url, di_pre = lists['di-revocation']
        dis_url, dis_pre = lists['di-suspension']
        vm = web_did + '#key-1'
        states = (('clear', 0, 0, 'verified'), ('revoked', 1, 0, 'revoked'),
                  ('suspended', 0, 2, 'suspended'))
        for state, rev_idx, sus_idx, expected in states:
            status = [status_entry(rev_url, 'revocation', rev_idx),
                      status_entry(sus_url, 'suspension', sus_idx)]
            preload = dict(web_preload, **rev_pre, **sus_pre)
            note = ('credentialStatus: revocation index %d of %s, suspension '
                    'index %d of %s (EdDSA JWT status lists)'
                    % (rev_idx, rev_url, sus_idx, sus_url))
            cred = self.credential(web_did, status=status)
            rel = self.write('status/jwt-%s.jwt' % state,
                             self.jwt(cred, 'ed25519', 'EdDSA'))
            self.add(rel, 'jwt', 'EdDSA', web_did, expected, note, preload)
            cred = self.credential(web_did, status=status)
            rel = self.write_json('status/di-%s.json' % state,
                                  self.di(cred, 'ed25519', vm))
            self.add(rel, 'di', 'eddsa-rdfc-2022', web_did, expected, note, preload)
        # Data-Integrity-secured status list: only checkable with --no-list-proof
        for state, idx, expected in (('clear', 0, 'verified'), ('revoked', 1, 'revoked')):
            status = [status_entry(di_url, 'revocation', idx)]
            preload = dict(web_preload, **di_pre)
            cred = self.credential(web_did, status=status)
            rel = self.write('status/jwt-dilist-%s.jwt' % state,
                             self.jwt(cred, 'ed25519', 'EdDSA'))
            self.add(rel, 'jwt', 'EdDSA', web_did, expected,
                     'status list %s is a JSON BitstringStatusListCredential with '
                     'an eddsa-rdfc-2022 proof (add_data_integrity_proof); '
                     'openbadgeslib refuses to verify a non-JWT list, so run '
                     'with --no-list-proof (list proof unchecked)' % di_url,
                     preload, args=['--no-list-proof'])
        # DI credentials over the DI-secured lists (revocation status/3,
        # suspension status/4): every document here is JSON-LD with a DI proof
        for state, rev_idx, sus_idx, expected in states:
            status = [status_entry(di_url, 'revocation', rev_idx),
                      status_entry(dis_url, 'suspension', sus_idx)]
            preload = dict(web_preload, **di_pre, **dis_pre)
            cred = self.credential(web_did, status=status)
            rel = self.write_json('status/di-dilist-%s.json' % state,
                                  self.di(cred, 'ed25519', vm))
            self.add(rel, 'di', 'eddsa-rdfc-2022', web_did, expected,
                     'credentialStatus: revocation index %d of %s, suspension '
                     'index %d of %s; both lists are JSON with an eddsa-rdfc-2022 '
                     'proof (add_data_integrity_proof), which openbadgeslib cannot '
                     'verify, so run with --no-list-proof'
                     % (rev_idx, di_url, sus_idx, dis_url),
                     preload, args=['--no-list-proof'])
        # ... and without --no-list-proof openbadgeslib rejects it
        status = [status_entry(di_url, 'revocation', 0)]
        cred = self.credential(web_did, status=status)
        rel = self.write('status/jwt-dilist-strict.jwt',
                         self.jwt(cred, 'ed25519', 'EdDSA'))
        self.add(rel, 'jwt', 'EdDSA', web_did, 'invalid',
                 'same as jwt-dilist-clear but verified WITH list-proof checking: '
                 'openbadgeslib fails closed ("not a signed JWT-VC"). This is '
                 'an openbadgeslib limitation, not a defect of the credential; '
                 'a full Bitstring Status List verifier should say verified',
                 dict(web_preload, **di_pre))

        # 3. Data Integrity credentials (eddsa-rdfc-2022 is the only suite it issues)
        for method in ('did:key', 'did:web', 'did:jwk'):
            preload = {}
            if method == 'did:key':
                did = self.did_key('ed25519')
                vmid = '%s#%s' % (did, did[len('did:key:'):])
                note = 'OB3LdpSigner default verificationMethod (did:key#multibase)'
            elif method == 'did:web':
                did, preload = web_did, dict(web_preload)
                vmid = vm
                note = 'verificationMethod did:web:issuer.example#key-1 (JsonWebKey2020)'
            else:
                did = self.did_jwk('ed25519')
                vmid = did + '#0'
                note = ('verificationMethod did:jwk:...#0; openbadgeslib cannot '
                        'resolve did:jwk, verify.py adds a shim')
            cred = self.credential(did, valid_until=VALID_UNTIL)
            rel = self.write_json('di/eddsa-rdfc-2022-%s.json' % method.split(':')[1],
                                  self.di(cred, 'ed25519', vmid))
            self.add(rel, 'di', 'eddsa-rdfc-2022', did, 'verified', note, preload)

        # 4. Baked images (JWT in SVG verify="" / PNG iTXt; DI JSON as SVG text / PNG iTXt)
        png, svg = tiny_png(), TINY_SVG
        dk_ed = self.did_key('ed25519')
        dk_p256 = self.did_key('p256')
        cred = self.credential(web_did)
        signer = OB3Signer(privkey_pem=self.keys['ed25519'][0], algorithm='EdDSA')
        rel = self.write('baked/jwt-eddsa-web.png', signer.sign_into_png(cred, png))
        self.add(rel, 'png', 'EdDSA', web_did, 'verified',
                 'JWT-VC in iTXt chunk keyword openbadgecredential', dict(web_preload),
                 proof='jwt')
        cred = self.credential(dk_p256)
        signer = OB3Signer(privkey_pem=self.keys['p256'][0], algorithm='ES256')
        rel = self.write('baked/jwt-es256-key.svg', signer.sign_into_svg(cred, svg))
        self.add(rel, 'svg', 'ES256', dk_p256, 'verified',
                 'JWT-VC in <openbadges:credential verify="..."> '
                 '(xmlns https://purl.imsglobal.org/ob/v3p0)', proof='jwt')
        ldp = OB3LdpSigner(self.keys['ed25519'][0])
        cred = self.credential(dk_ed)
        # sign_into_* stamp created=now; bake the fixed-created JSON ourselves
        # with the same library baking call and arguments.
        text = ldp.sign_to_json(cred, created=DI_CREATED)
        rel = self.write('baked/di-eddsa-key.png',
                         baking.bake_png(png, text, keyword=baking.ITXT_KEYWORD_OB3))
        self.add(rel, 'png', 'eddsa-rdfc-2022', dk_ed, 'verified',
                 'DI JSON in iTXt openbadgecredential', proof='di')
        cred = self.credential(dk_ed)
        text = ldp.sign_to_json(cred, created=DI_CREATED)
        rel = self.write('baked/di-eddsa-key.svg', baking.bake_svg(
            svg, text, comment=' Signed with OpenBadgesLib (OB 3.0 Data Integrity) ',
            element=baking.SVG_ELEMENT_OB3, namespace=baking.SVG_NS_OB3, as_text=True))
        self.add(rel, 'svg', 'eddsa-rdfc-2022', dk_ed, 'verified',
                 'DI JSON as the text content of <openbadges:credential>', proof='di')
        # a baked PNG in a revoked state
        status = [status_entry(rev_url, 'revocation', 1)]
        cred = self.credential(web_did, status=status)
        signer = OB3Signer(privkey_pem=self.keys['ed25519'][0], algorithm='EdDSA')
        rel = self.write('baked/jwt-eddsa-web-revoked.png', signer.sign_into_png(cred, png))
        self.add(rel, 'png', 'EdDSA', web_did, 'revoked',
                 'baked JWT-VC, revocation index 1 of %s' % rev_url,
                 dict(web_preload, **rev_pre), proof='jwt')

        # 5. Tampered / invalid copies
        self.tampered(web_did, web_preload, dk_ed)

        self.manifest.sort(key=lambda e: e['file'])
        with open(os.path.join(self.out, 'MANIFEST.json'), 'w') as f:
            json.dump(self.manifest, f, indent=2)
            f.write('\n')

    def tampered(self, web_did, web_preload, dk_ed):
        # JWT, subject field changed after signing (payload re-encoded, old signature)
        cred = self.credential(dk_ed)
        token = self.jwt(cred, 'ed25519', 'EdDSA')
        h, p, s = token.split('.')
        payload = json.loads(b64u_dec(p))
        payload['credentialSubject']['achievement']['name'] = 'Forged Badge'
        forged = '.'.join([h, b64u(json.dumps(payload, separators=(',', ':')).encode()), s])
        rel = self.write('tampered/jwt-eddsa-subject-changed.jwt', forged)
        self.add(rel, 'jwt', 'EdDSA', dk_ed, 'invalid',
                 'credentialSubject.achievement.name changed after signing')
        # JWT, one byte of the decoded payload flipped (still valid JSON)
        cred = self.credential(web_did)
        token = self.jwt(cred, 'ed25519', 'EdDSA')
        h, p, s = token.split('.')
        raw = bytearray(b64u_dec(p))
        i = raw.index(b'learner') + 1
        raw[i] ^= 0x01                                   # 'learner' -> 'ldarner'
        rel = self.write('tampered/jwt-eddsa-payload-byte.jwt',
                         '.'.join([h, b64u(bytes(raw)), s]))
        self.add(rel, 'jwt', 'EdDSA', web_did, 'invalid',
                 'one byte of the JWT payload flipped (learner -> ldarner in '
                 'credentialSubject.id and sub)', dict(web_preload))
        # ES256 JWT, signature byte flipped
        dk_p256 = self.did_key('p256')
        cred = self.credential(dk_p256)
        token = self.jwt(cred, 'p256', 'ES256')
        h, p, s = token.split('.')
        sig = bytearray(b64u_dec(s))
        sig[5] ^= 0x80
        rel = self.write('tampered/jwt-es256-signature.jwt', '.'.join([h, p, b64u(bytes(sig))]))
        self.add(rel, 'jwt', 'ES256', dk_p256, 'invalid', 'one signature byte flipped')
        # RS256 via did:web, then the issuer claims rewritten
        did_web_rsa, pre = self.publish_did_web('rsa2048')
        cred = self.credential(did_web_rsa)
        token = OB3Signer(privkey_pem=self.keys['rsa2048'][0], algorithm='RS256').sign(cred)
        h, p, s = token.split('.')
        payload = json.loads(b64u_dec(p))
        payload['iss'] = payload['issuer']['id'] = dk_ed   # claims a different issuer
        forged = '.'.join([h, b64u(json.dumps(payload, separators=(',', ':')).encode()), s])
        rel = self.write('tampered/jwt-rs256-issuer-swapped.jwt', forged)
        self.add(rel, 'jwt', 'RS256', dk_ed, 'invalid',
                 'signed by the did:web rsa2048 key, then iss/issuer.id rewritten to '
                 'an Ed25519 did:key (signature no longer matches; alg/key family '
                 'mismatch too)', pre)
        # JWT signed correctly by a key that is not the issuer DID's key
        cred = self.credential(dk_ed)
        token = OB3Signer(privkey_pem=self.keys['p256'][0], algorithm='ES256').sign(cred)
        rel = self.write('tampered/jwt-es256-wrong-issuer-key.jwt', token)
        self.add(rel, 'jwt', 'ES256', dk_ed, 'invalid',
                 'well-formed JWT signed with the P-256 key (its jwk header is the '
                 'P-256 key) but issuer is the Ed25519 did:key: a verifier must not '
                 'trust the jwk header over the issuer DID')
        # expired (validUntil 2021) but correctly signed
        cred = self.credential(dk_ed, valid_from=EXPIRED_FROM, valid_until=EXPIRED_UNTIL)
        rel = self.write('tampered/jwt-eddsa-expired.jwt', self.jwt(cred, 'ed25519', 'EdDSA'))
        self.add(rel, 'jwt', 'EdDSA', dk_ed, 'invalid',
                 'correctly signed, validFrom 2020-01-01, validUntil/exp 2021-01-01: expired')
        # DI, subject field changed after signing
        cred = self.credential(dk_ed)
        doc = self.di(cred, 'ed25519', '%s#%s' % (dk_ed, dk_ed[len('did:key:'):]))
        doc['credentialSubject']['achievement']['name'] = 'Forged Badge'
        rel = self.write_json('tampered/di-subject-changed.json', doc)
        self.add(rel, 'di', 'eddsa-rdfc-2022', dk_ed, 'invalid',
                 'credentialSubject.achievement.name changed after signing')
        # DI, proofValue altered
        cred = self.credential(web_did)
        doc = self.di(cred, 'ed25519', web_did + '#key-1')
        pv = doc['proof']['proofValue']
        doc['proof']['proofValue'] = pv[:10] + ('A' if pv[10] != 'A' else 'B') + pv[11:]
        rel = self.write_json('tampered/di-proofvalue.json', doc)
        self.add(rel, 'di', 'eddsa-rdfc-2022', web_did, 'invalid',
                 'one character of proof.proofValue changed', dict(web_preload))
        # DI, validUntil added after signing (unsigned lifecycle claim)
        cred = self.credential(dk_ed)
        doc = self.di(cred, 'ed25519', '%s#%s' % (dk_ed, dk_ed[len('did:key:'):]))
        doc['validUntil'] = '2099-01-01T00:00:00Z'
        rel = self.write_json('tampered/di-validuntil-added.json', doc)
        self.add(rel, 'di', 'eddsa-rdfc-2022', dk_ed, 'invalid',
                 'validUntil added after signing')
        # baked PNG whose JWT payload was tampered
        cred = self.credential(dk_ed)
        token = self.jwt(cred, 'ed25519', 'EdDSA')
        h, p, s = token.split('.')
        payload = json.loads(b64u_dec(p))
        payload['name'] = 'Forged'
        forged = '.'.join([h, b64u(json.dumps(payload, separators=(',', ':')).encode()), s])
        rel = self.write('tampered/baked-jwt-eddsa.png',
                         baking.bake_png(tiny_png(), forged, keyword=baking.ITXT_KEYWORD_OB3))
        self.add(rel, 'png', 'EdDSA', dk_ed, 'invalid',
                 'baked PNG whose JWT payload name was changed after signing', proof='jwt')


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: issue.py OUTDIR')
    out = os.path.abspath(sys.argv[1])
    for sub in ('jwt', 'di', 'did', 'status', 'baked', 'tampered'):
        d = os.path.join(out, sub)
        if os.path.isdir(d):
            for root, _, files in os.walk(d):
                for f in files:
                    os.remove(os.path.join(root, f))
    Gen(out).run()


if __name__ == '__main__':
    main()
