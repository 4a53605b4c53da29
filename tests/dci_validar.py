#!/usr/bin/env python3
"""Validates DCI (spdci) messages against the vendored Social Registry spec
(schemas/dci/social_api_v1.0.0.yaml) with openapi-schema-validator's OAS30Validator, each
against its path's schema: a request against the requestBody, an answer against the `default`
response, an HTTP error against `HttpErrorResponse`. OpenAPI 3.0 does not forbid undeclared
properties, so every object whose schema declares properties is also checked for keys it does
not declare (a misspelt optional field would otherwise pass).

Driven by tests/it/dci.rs. Usage:

    dci_validar.py SPEC.yaml MESSAGES.json

MESSAGES.json is a list of {"path": "/registry/sync/search", "kind": "request" | "response" |
"error", "body": {...}}. Prints one line per problem ("message N (kind path): where: what").
Exits 0 when every message is valid, 1 when one is not, 3 when a module is missing.
"""

import json
import sys

try:
    import yaml
    from openapi_schema_validator import OAS30Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4
except ImportError as error:  # pragma: no cover - depends on the machine
    print(f"dci_validar.py: a module is missing ({error}); run: "
          "python3 -m pip install openapi-schema-validator PyYAML", file=sys.stderr)
    sys.exit(3)

BASE = "urn:siis:dci-spec"


def local(node):
    """The schema with its local $refs made absolute against the spec's resource."""
    if isinstance(node, dict):
        return {k: (BASE + v if k == "$ref" and v.startswith("#") else local(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [local(x) for x in node]
    return node


def pointer(spec, ref):
    node = spec
    for part in ref.split("#", 1)[1].lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def schema_of(spec, path, kind):
    op = spec["paths"][path]["post"]
    if kind == "request":
        return op["requestBody"]["content"]["application/json"]["schema"]
    response = op["responses"]["default" if kind == "response" else "403"]
    if "$ref" in response:
        response = pointer(spec, response["$ref"])
    return response["content"]["application/json"]["schema"]


def undeclared(spec, registry, schema, value, where, out):
    """Keys of `value` its schema does not declare, where the schema declares some."""
    if "$ref" in schema:
        return undeclared(spec, registry, pointer(spec, schema["$ref"]), value, where, out)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            for branch in schema[key]:
                if OAS30Validator(local(branch), registry=registry).is_valid(value):
                    undeclared(spec, registry, branch, value, where, out)
                    break
    properties = {}
    for part in schema.get("allOf", []):
        part = pointer(spec, part["$ref"]) if "$ref" in part else part
        properties.update(part.get("properties", {}))
    properties.update(schema.get("properties", {}))
    if isinstance(value, dict) and properties:
        for k, v in value.items():
            if k not in properties:
                out.append(f"{where}: undeclared property {k!r}")
            else:
                undeclared(spec, registry, properties[k], v, f"{where}/{k}", out)
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            undeclared(spec, registry, schema["items"], v, f"{where}/{i}", out)


def main():
    spec_path, messages_path = sys.argv[1:3]
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    registry = Registry().with_resource(
        BASE, Resource.from_contents(spec, default_specification=DRAFT4))
    with open(messages_path, encoding="utf-8") as f:
        messages = json.load(f)
    problems = []
    for n, m in enumerate(messages):
        schema = schema_of(spec, m["path"], m["kind"])
        label = f"message {n} ({m['kind']} {m['path']})"
        validator = OAS30Validator(local(schema), registry=registry)
        for e in sorted(validator.iter_errors(m["body"]), key=lambda e: list(e.path)):
            where = "/".join(map(str, e.path)) or "(root)"
            problems.append(f"{label}: {where}: {e.message[:300]}")
        found = []
        undeclared(spec, registry, schema, m["body"], "", found)
        problems.extend(f"{label}: {p}" for p in found)
    for p in problems:
        print(p)
    print(f"{len(messages)} message(s), {len(problems)} problem(s)", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
