#!/usr/bin/env python3
"""Verify one Open Badges 3.0 credential with openbadgeslib (pinned 4.6.3), offline.

Usage:
  verify.py FILE [--preload URL=FILE ...] [--no-list-proof] [--pubkey PEM]
            [--expected-recipient ID]

FILE is a compact JWT-VC (text; surrounding whitespace is ignored), a Data
Integrity credential (a JSON document with an embedded `proof`), or a baked
PNG/SVG carrying either. The format is detected from the content. A VC-API
response `{"verifiableCredential": ...}` and a `data:application/vc+jwt,`
envelope are unwrapped first.

Trust: with no --pubkey the issuer DID is read from the credential (`iss` /
`issuer.id`) and resolved the way openbadgeslib's own `verify_badge(...,
resolve_did=True)` does: did:key offline, did:web through its DID document
URL, and did:jwk through a shim added here (openbadgeslib 4.6.3 cannot resolve
did:jwk). The JWT's own `jwk` header is never trusted. Status
(credentialStatus) is always checked, and the status list's own JWT proof too
unless --no-list-proof.

--preload URL=FILE serves FILE whenever openbadgeslib fetches URL. Nothing
reaches the network: every fetch (util.download_file and the download hooks)
goes through the preload table, and an unknown URL is a fetch error. URL may
be https:// or http://; an http preload also answers the https URL of the same
host/path (did:web always resolves over https, so `did:web:127.0.0.1%3A8080`
is fetched as https://127.0.0.1:8080/.well-known/did.json, which a preload of
http://127.0.0.1:8080/.well-known/did.json satisfies). URL may also be a DID
(`did:web:host%3A8080=did.json`): it is mapped to that DID's document URL.
A relative FILE is taken relative to the current directory.

Prints one JSON line. Exit 0 with {"verified": true, ...} when openbadgeslib
accepts the credential (including status); exit 1 with {"verified": false,
"error": "...", "status": "revoked"|"suspended"|null, ...} otherwise; exit 2
on a usage error.
"""

import argparse
import base64
import json
import os
import sys
from urllib.parse import unquote, urlsplit, urlunsplit


def _did_web_url(did):
    """The URL openbadgeslib (ob3/did.py _fetch_did_web_document) fetches."""
    parts = [unquote(p) for p in did[len('did:web:'):].split(':')]
    host, path = parts[0], parts[1:]
    if path:
        return 'https://%s/%s/did.json' % (host, '/'.join(path))
    return 'https://%s/.well-known/did.json' % host


def _norm(url):
    """Key for the preload table: scheme folded to https, default port and
    empty path normalised, fragment dropped."""
    p = urlsplit(url)
    scheme = 'https' if p.scheme in ('http', 'https') else p.scheme
    netloc = p.netloc.lower()
    for default in (':443', ':80'):
        if netloc.endswith(default):
            netloc = netloc[:-len(default)]
    return urlunsplit((scheme, netloc, p.path or '/', p.query, ''))


class Preloads:
    def __init__(self, pairs):
        self.table = {}
        self.fetched = []
        for pair in pairs:
            if '=' not in pair:
                raise SystemExit(_usage('--preload needs URL=FILE, got %r' % pair))
            # a DID holds no '='; a URL's query may, a file name rarely does
            url, path = pair.split('=', 1) if pair.startswith('did:') \
                else pair.rsplit('=', 1)
            if url.startswith('did:web:'):
                url = _did_web_url(url)
            with open(path, 'rb') as f:
                self.table[_norm(url)] = f.read()

    def __call__(self, url, *args, **kwargs):
        self.fetched.append(url)
        try:
            return self.table[_norm(url)]
        except KeyError:
            raise ValueError('offline: %s was not preloaded' % url) from None


def _usage(msg):
    print(json.dumps({'verified': False, 'error': 'usage: ' + msg}))
    return 2


def _b64u_json(text):
    return json.loads(base64.urlsafe_b64decode(text + '=' * (-len(text) % 4)))


def install_shims(download):
    """Route every fetch to the preload table and teach openbadgeslib did:jwk."""
    import openbadgeslib.util as util
    import openbadgeslib.ob3.did as did_mod
    import openbadgeslib.ob3.status as status_mod
    import openbadgeslib.ob3.ldp as ldp_mod
    from openbadgeslib.ob3.verifier import OB3VerificationError

    # Belt and braces: no socket may connect, whatever code path tries.
    import socket

    def _no_network(*_a, **_k):
        raise OSError('verify.py is offline: network access blocked')
    socket.socket.connect = _no_network
    socket.socket.connect_ex = _no_network
    socket.create_connection = _no_network
    socket.getaddrinfo = _no_network

    util.download_file = download
    did_mod.download_file = download
    status_mod.download_file = download

    def jwk_pem(did):
        try:
            jwk = _b64u_json(did[len('did:jwk:'):])
        except Exception as exc:
            raise OB3VerificationError('malformed did:jwk: %s' % exc) from exc
        if not isinstance(jwk, dict):
            raise OB3VerificationError('did:jwk does not encode a JWK object')
        return did_mod._jwk_to_pem(jwk)

    orig_resolve_did = did_mod.resolve_did

    def resolve_did(did, download=None):
        if isinstance(did, str) and did.startswith('did:jwk:'):
            return jwk_pem(did)
        return orig_resolve_did(did, download=download)

    orig_resolve_vm = did_mod.resolve_verification_method

    def resolve_verification_method(vm_url, download=None):
        if isinstance(vm_url, str) and vm_url.startswith('did:jwk:'):
            did, _, fragment = vm_url.partition('#')
            # did:jwk spec: the one verification method is #0
            if fragment not in ('', '0'):
                raise OB3VerificationError(
                    'did:jwk verificationMethod fragment must be #0: %r' % vm_url)
            return jwk_pem(did)
        return orig_resolve_vm(vm_url, download=download)

    did_mod.resolve_did = resolve_did              # looked up at call time by
    did_mod.resolve_verification_method = resolve_verification_method  # for_issuer_did
    ldp_mod.resolve_verification_method = resolve_verification_method  # imported name


def extract(data):
    """Return the credential text (JWT or DI JSON) from FILE's bytes."""
    from openbadgeslib.ob3 import OB3Verifier
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        return OB3Verifier.extract_token_from_png(data), 'png'
    text = data.decode('utf-8').strip()
    if text.startswith('<'):
        return OB3Verifier.extract_token_from_svg(data).strip(), 'svg'
    return unwrap(text), None


def unwrap(text):
    """Accept a VC-API response {"verifiableCredential": ...} and a
    data:application/vc+jwt, envelope too: return the bare JWT or DI JSON."""
    if text.startswith('{'):
        try:
            doc = json.loads(text)
        except ValueError:
            return text
        if isinstance(doc, dict) and 'proof' not in doc \
                and 'verifiableCredential' in doc:
            inner = doc['verifiableCredential']
            return unwrap(inner.strip() if isinstance(inner, str)
                          else json.dumps(inner))
        return text
    for prefix in ('data:application/vc+jwt,', 'data:application/jwt,'):
        if text.startswith(prefix):
            return text[len(prefix):].strip()
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(add_help=True)
    ap.add_argument('file')
    ap.add_argument('--preload', action='append', default=[], metavar='URL=FILE')
    ap.add_argument('--no-list-proof', action='store_true',
                    help="don't verify the status list credential's own proof")
    ap.add_argument('--pubkey', help='PEM public key to trust instead of '
                                     'resolving the issuer DID')
    ap.add_argument('--expected-recipient')
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0

    result = {'verified': False, 'file': args.file}
    try:
        preloads = Preloads(args.preload)
    except OSError as exc:
        return _usage('cannot read preload: %s' % exc)
    install_shims(preloads)

    from openbadgeslib.ob3 import OB3LdpVerifier, OB3VerificationError, OB3Verifier
    from openbadgeslib.errors import LibOpenBadgesException
    from openbadgeslib.verify import issuer_did_from_document, issuer_did_from_token

    try:
        with open(args.file, 'rb') as f:
            data = f.read()
    except OSError as exc:
        return _usage('cannot read %s: %s' % (args.file, exc))

    try:
        token, carrier = extract(data)
        is_di = token.lstrip().startswith('{')
        result['format'] = 'di' if is_di else 'jwt'
        if carrier:
            result['carrier'] = carrier
        if not is_di:
            try:
                header = _b64u_json(token.split('.')[0])
                result['alg'] = header.get('alg')
                result['typ'] = header.get('typ')
                result['kid'] = header.get('kid')
            except Exception:
                pass
        if args.pubkey:
            with open(args.pubkey, 'rb') as f:
                pem = f.read()
            verifier = OB3LdpVerifier(pubkey_pem=pem) if is_di else OB3Verifier(pubkey_pem=pem)
            trusted = True
        else:
            did = issuer_did_from_document(token) if is_di else issuer_did_from_token(token)
            result['issuerDid'] = did
            # verify.py's verify_badge semantics: a did:web is anchored on DNS+TLS,
            # a did:key / did:jwk only proves internal consistency.
            trusted = did.startswith('did:web:')
            verifier = (OB3LdpVerifier.for_issuer_did(did, download=preloads) if is_di
                        else OB3Verifier.for_issuer_did(did, download=preloads))
        cred = verifier.verify(token, expected_recipient=args.expected_recipient,
                               check_status=True,
                               verify_status_list=not args.no_list_proof,
                               download=preloads)
    except (OB3VerificationError, LibOpenBadgesException, ValueError,
            UnicodeDecodeError) as exc:
        msg = str(exc)
        result['error'] = '%s: %s' % (type(exc).__name__, msg)
        status = None
        if "Credential status 'revocation' is set" in msg:
            status = 'revoked'
        elif "Credential status 'suspension' is set" in msg:
            status = 'suspended'
        result['status'] = status
        result['fetched'] = preloads.fetched
        print(json.dumps(result))
        return 1
    except Exception as exc:  # a crash inside the library is still a verdict
        result['error'] = 'unexpected %s: %s' % (type(exc).__name__, exc)
        result['status'] = None
        result['fetched'] = preloads.fetched
        print(json.dumps(result))
        return 1

    result.update({
        'verified': True,
        'trusted': trusted,
        'issuer': cred.issuer.id,
        'id': cred.id,
        'subject': cred.recipient_id,
        'achievement': cred.achievement.name,
        'statusEntries': len(cred.credential_status),
        'listProofChecked': bool(cred.credential_status) and not args.no_list_proof,
        'fetched': preloads.fetched,
    })
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
