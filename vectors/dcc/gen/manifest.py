#!/usr/bin/env python3
"""Build vectors/dcc/MANIFEST.json from the copied DCC fixtures.

Run from anywhere: python3 vectors/dcc/gen/manifest.py
Deterministic: reads only the files under vectors/dcc/, "now" is fixed (NOW).
"""
import base64, glob, gzip, json, os, re, urllib.parse
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = datetime(2026, 12, 4, tzinfo=timezone.utc)

STANDARD_CONTEXTS = {
    "https://www.w3.org/2018/credentials/v1",
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
    "https://w3id.org/security/data-integrity/v1",
    "https://w3id.org/security/data-integrity/v2",
    "https://w3id.org/security/suites/ed25519-2020/v1",
    "https://w3id.org/security/multikey/v1",
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/v1",
    "https://w3id.org/security/v2",
    "https://w3id.org/vc/status-list/2021/v1",
    "https://www.w3.org/ns/credentials/status/v1",
    "https://w3id.org/dcc/v1",
}

# Where the fixtures reference the status lists. v1 fixtures (and the two
# v2 twoOIDF-* ones) use the GitHub Pages copy of this repository; the other
# v2 fixtures use verifier-core's test-fixtures. Both map by name to the
# files under statusLists/didkey-ed25519Signature2020/.
STATUS_URL_PREFIXES = [
    "https://digitalcredentials.github.io/vc-test-fixtures/statusLists/didkey-ed25519Signature2020/",
    "https://raw.githubusercontent.com/digitalcredentials/verifier-core/refs/heads/main/src/test-fixtures/status/",
]


def did_web_url(did):
    """did:web:host[:path...] -> https URL of its DID document."""
    parts = did[len("did:web:"):].split("#")[0].split(":")
    host = urllib.parse.unquote(parts[0])
    if len(parts) == 1:
        return f"https://{host}/.well-known/did.json"
    return "https://" + host + "/" + "/".join(urllib.parse.unquote(p) for p in parts[1:]) + "/did.json"


def local_did_docs():
    out = {}
    for f in sorted(glob.glob(os.path.join(ROOT, "dids", "**", "did.json"), recursive=True)):
        doc = json.load(open(f))
        out[doc["id"]] = os.path.relpath(f, ROOT)
    return out


def parse_date(s):
    if s is None:
        return None
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def decode_list(enc):
    """Return the decompressed bitstring bytes, or None if undecodable."""
    try:
        if enc.startswith("u"):
            s = enc[1:]
            raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        else:  # StatusList2021 / older lists: plain base64 (maybe url-safe)
            s = enc.replace("-", "+").replace("_", "/")
            raw = base64.b64decode(s + "=" * (-len(s) % 4))
        return gzip.decompress(raw)
    except Exception:
        return None


def bit(data, i):
    return (data[i // 8] >> (7 - i % 8)) & 1 == 1


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def id_of(x):
    return x if isinstance(x, str) else (x or {}).get("id")


def registry_of(name):
    m = re.match(r"(noRegistry|noRegsitry|legacyRegistry|legacy|twoOIDF|oidf|fourRegistry|mixedRegistry)", name)
    if not m:
        return None
    return {"noRegsitry": "noRegistry", "legacyRegistry": "legacy"}.get(m.group(1), m.group(1))


def list_info():
    lists = {}
    for f in sorted(glob.glob(os.path.join(ROOT, "statusLists", "*", "*"))):
        rel = os.path.relpath(f, ROOT)
        d = json.load(open(f))
        types = as_list(d.get("type"))
        cs = d.get("credentialSubject", {})
        proof = as_list(d.get("proof"))
        vm = proof[0].get("verificationMethod") if proof else None
        name = os.path.basename(f)
        data = decode_list(cs.get("encodedList", ""))
        vf = parse_date(d.get("validFrom") or d.get("issuanceDate"))
        vu = parse_date(d.get("validUntil") or d.get("expirationDate"))
        problem = None
        if "BitstringStatusListCredential" not in types and "StatusList2021Credential" not in types:
            problem = "missingType"
        elif name == "tampered" or data is None:
            problem = "tampered"  # encodedList altered after signing (and not decodable)
        elif vu is not None and vu < NOW:
            problem = "expired"
        elif vf is not None and vf > NOW:
            problem = "notYetValid"
        lists[name] = {
            "file": rel,
            "id": d.get("id"),
            "type": [t for t in types if t != "VerifiableCredential"] or types,
            "issuer": id_of(d.get("issuer")),
            "signer": vm.split("#")[0] if vm else None,
            "verificationMethod": vm,
            "proofTypes": [p.get("type") + ("/" + p["cryptosuite"] if p.get("cryptosuite") else "") for p in proof],
            "validFrom": d.get("validFrom") or d.get("issuanceDate"),
            "validUntil": d.get("validUntil") or d.get("expirationDate"),
            "statusPurpose": cs.get("statusPurpose"),
            "length": len(data) * 8 if data is not None else None,
            "setBits": [i for i in range(len(data) * 8) if bit(data, i)] if data is not None else None,
            "proofIntact": problem != "tampered",
            "problem": problem,
            "_data": data,
        }
    return lists


def list_for_url(url, lists):
    for p in STATUS_URL_PREFIXES:
        if url.startswith(p) and url[len(p):] in lists:
            return lists[url[len(p):]]
    return None


def main():
    lists = list_info()
    dids = local_did_docs()
    entries = []
    files = sorted(glob.glob(os.path.join(ROOT, "verifiableCredentials", "**", "*.json"), recursive=True))
    for f in files:
        rel = os.path.relpath(f, ROOT)
        name = os.path.basename(f)
        e = {"file": rel, "registry": registry_of(name)}
        raw = open(f, "rb").read()
        if not raw.strip():
            e.update({"vc": "v1" if "/v1/" in rel else "v2", "empty": True, "proofs": [], "issuer": None,
                      "subjectHasId": None, "status": None, "preload": {}, "contexts": [],
                      "expected": {"verified": False, "codes": ["PARSING_ERROR"]},
                      "expectedWithSigner": {"verified": False, "codes": ["PARSING_ERROR"]},
                      "notes": ["the upstream file is empty (0 bytes)"]})
            entries.append(e)
            continue
        d = json.loads(raw)
        ctx = d.get("@context", [])
        vc = "v2" if "https://www.w3.org/ns/credentials/v2" in ctx else "v1"
        issuer = id_of(d.get("issuer"))
        proofs = as_list(d.get("proof"))
        ptypes = [p.get("type") + ("/" + p["cryptosuite"] if p.get("cryptosuite") else "") for p in proofs]
        subj = as_list(d.get("credentialSubject"))
        notes = []
        preload = {}
        if issuer and issuer.startswith("did:web:"):
            url = did_web_url(issuer)
            if issuer in dids:
                preload[url] = dids[issuer]
                dd = json.load(open(os.path.join(ROOT, dids[issuer])))
                if not dd.get("verificationMethod"):
                    notes.append("issuer DID document has no verificationMethod; its key is embedded in assertionMethod only")
                vms = [v for k in ("verificationMethod", "assertionMethod") for v in dd.get(k, []) if isinstance(v, dict)]
                if any(v.get("type") == "Multikey" for v in vms) and "https://w3id.org/security/multikey/v1" not in as_list(dd.get("@context")):
                    notes.append("issuer DID document uses type Multikey without the multikey/v1 context (its contexts do not define Multikey)")
                if any(v.get("type") == "Multikey" for v in vms) and any(p.get("type") == "Ed25519Signature2020" for p in proofs):
                    notes.append("Ed25519Signature2020 proof whose verification method is a Multikey (not Ed25519VerificationKey2020)")
            else:
                notes.append(f"issuer DID document {url} is not among the fixtures (unresolvable offline)")
        vf_s = d.get("validFrom") or d.get("issuanceDate")
        vu_s = d.get("validUntil") or d.get("expirationDate")
        codes = []
        if "tampered" in name.lower() and "tamperedstatus" not in name.lower():
            codes.append("PROOF_VERIFICATION_ERROR")
        if issuer and issuer.startswith("did:web:") and issuer not in dids:
            codes.append("PROOF_VERIFICATION_ERROR")
        if vu_s and parse_date(vu_s) < NOW:
            codes.append("CREDENTIAL_EXPIRED")
        if vf_s and parse_date(vf_s) > NOW:
            codes.append("CREDENTIAL_NOT_YET_VALID")
        codes_signer = list(codes)
        status = None
        entries_st = as_list(d.get("credentialStatus"))
        if len(entries_st) > 1:
            notes.append("more than one credentialStatus entry; only the first is described")
        if entries_st:
            s = entries_st[0]
            url = s.get("statusListCredential")
            L = list_for_url(url, lists)
            idx = s.get("statusListIndex")
            status = {"type": s.get("type"), "purpose": s.get("statusPurpose"), "index": idx, "list": url,
                      "listFile": L["file"] if L else None, "listType": L["type"] if L else None,
                      "listSigner": L["signer"] if L else None, "listIssuer": L["issuer"] if L else None,
                      "listProblem": L["problem"] if L else None,
                      "bitSet": (bit(L["_data"], int(idx)) if L and L["_data"] is not None and idx is not None else None),
                      "listIssuerIsCredentialIssuer": (L["issuer"] == issuer) if L else None}
            if L:
                preload[url] = L["file"]
                if L["signer"] and L["signer"].startswith("did:web:"):
                    preload[did_web_url(L["signer"])] = dids.get(L["signer"])
                if L["id"] != url:
                    notes.append(f"status list's own id ({L['id']}) differs from the URL it is fetched from")
            if L is None:
                codes.append("STATUS_VERIFICATION_ERROR"); codes_signer.append("STATUS_VERIFICATION_ERROR")
            elif L["problem"]:
                codes.append("STATUS_VERIFICATION_ERROR"); codes_signer.append("STATUS_VERIFICATION_ERROR")
            else:
                revoked_code = "REVOKED" if s.get("statusPurpose") == "revocation" else "SUSPENDED"
                if L["issuer"] != issuer or L["signer"] != issuer:
                    codes.append("STATUS_VERIFICATION_ERROR")
                    notes.append("status list issued/signed by a DID other than the credential's issuer")
                elif status["bitSet"]:
                    codes.append(revoked_code)
                if L["issuer"] == L["signer"] and status["bitSet"]:
                    codes_signer.append(revoked_code)
        if vc == "v2" and "issuanceDate" in d:
            notes.append("VC 2.0 credential using issuanceDate (v1 term, mapped by an inline context) and no validFrom")
        extra_ctx = [c for c in ctx if not (isinstance(c, str) and c in STANDARD_CONTEXTS)]
        e.update({
            "vc": vc,
            "proofs": ptypes,
            "issuer": issuer,
            "subjectHasId": any("id" in x for x in subj if isinstance(x, dict)),
            "subjectHasIdentifier": any("identifier" in x for x in subj if isinstance(x, dict)),
            "validFrom": vf_s, "validUntil": vu_s,
            "status": status,
            "preload": preload,
            "contexts": ctx,
            "nonstandardContexts": extra_ctx,
            "expected": {"verified": not codes, "codes": codes},
            "expectedWithSigner": {"verified": not codes_signer, "codes": codes_signer},
        })
        if notes:
            e["notes"] = notes
        entries.append(e)
    cross_path = os.path.join(ROOT, "CROSSCHECK.json")
    if os.path.exists(cross_path):
        cross = json.load(open(cross_path))
        for e in entries:
            c = cross["credentials"].get(e["file"])
            if c is None:
                continue
            e["digitalBazaar"] = c
            # consistency checks between this script and Digital Bazaar's libraries
            proofs_ok = all(p["verified"] for p in c.get("proofs", []))
            if "PROOF_VERIFICATION_ERROR" in e["expected"]["codes"]:
                assert not proofs_ok, e["file"]
            elif not e.get("empty"):
                assert proofs_ok, e["file"]
            st = e.get("status")
            if st and "checkStatusWithoutIssuerMatch" in c:
                db = c["checkStatusWithoutIssuerMatch"]
                if st["listProblem"]:
                    assert not db["verified"], e["file"]
                else:
                    assert db["verified"] and db["statusBitSet"] == [st["bitSet"]], e["file"]
                    assert c["checkStatus"]["verified"] == st["listIssuerIsCredentialIssuer"], e["file"]
        for name, L in lists.items():
            c = cross["statusLists"].get(L["file"])
            if c:
                L["digitalBazaar"] = c
                assert all(p["verified"] for p in c["proofs"]) == L["proofIntact"], name
    with open(os.path.join(ROOT, "MANIFEST.json"), "w") as out:
        json.dump(entries, out, indent=2, ensure_ascii=False)
        out.write("\n")
    lists_out = [{k: v for k, v in L.items() if k != "_data"} for L in lists.values()]
    for L in lists_out:
        if L["setBits"] is not None and len(L["setBits"]) > 64:
            L["setBits"] = L["setBits"][:64] + ["..."]
    with open(os.path.join(ROOT, "LISTS.json"), "w") as out:
        json.dump(lists_out, out, indent=2)
        out.write("\n")


if __name__ == "__main__":
    main()
