#!/usr/bin/env python3
"""Writes a large declarative configuration (YAML) for measuring
`portico config db_import|db_export|parse`: N services with a route each
(and a plugin on every tenth) and N consumers with a key-auth credential.

    scripts/gen-declarative.py 10000 > big.yml
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
w = sys.stdout.write
w('_format_version: "3.0"\nservices:\n')
for i in range(n):
    w(f"- name: svc-{i}\n  url: http://10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:8080/api\n"
      f"  tags: [bulk, svc-{i % 100}]\n  routes:\n"
      f"  - name: route-{i}\n    paths: [/r/{i}]\n    methods: [GET, POST]\n")
    if i % 10 == 0:
        w("    plugins:\n    - name: key-auth\n")
w("consumers:\n")
for i in range(n):
    w(f"- username: user-{i}\n  custom_id: cid-{i}\n  keyauth_credentials:\n  - key: key-{i}\n")
