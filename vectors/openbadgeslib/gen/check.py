#!/usr/bin/env python3
"""Sanity check of the vectors: run verify.py over every MANIFEST.json entry
and assert openbadgeslib itself reaches the expected verdict.

Usage: check.py DIR        (DIR is vectors/openbadgeslib/)

A verdict is "verified" (exit 0), "revoked" / "suspended" (exit 1 with that
status), or "invalid" (exit 1, any other error). Entries may carry extra
verify.py arguments in "args" (e.g. --no-list-proof). Prints one line per
vector and a closing 'N passed, N failed' line; exits 1 on any mismatch.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def verdict(proc):
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except Exception:
        return 'crash', {'stdout': proc.stdout, 'stderr': proc.stderr}
    if proc.returncode == 0 and out.get('verified') is True:
        return 'verified', out
    if proc.returncode == 1 and out.get('verified') is False:
        return out.get('status') or 'invalid', out
    return 'crash', out


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: check.py DIR')
    root = os.path.abspath(sys.argv[1])
    with open(os.path.join(root, 'MANIFEST.json')) as f:
        manifest = json.load(f)
    passed = failed = 0
    for entry in manifest:
        cmd = [sys.executable, os.path.join(HERE, 'verify.py'), entry['file']]
        for url, rel in entry.get('preload', {}).items():
            cmd += ['--preload', '%s=%s' % (url, rel)]
        cmd += entry.get('args', [])
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        got, out = verdict(proc)
        ok = got == entry['expected']
        passed += ok
        failed += not ok
        line = '%-4s %-45s expected %-9s got %-9s' % (
            'ok' if ok else 'FAIL', entry['file'], entry['expected'], got)
        if not ok or got != 'verified':
            line += ' %s' % (out.get('error', '') if isinstance(out, dict) else out)
        print(line)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
