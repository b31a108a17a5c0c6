#!/usr/bin/env python3
"""Generate idpool's input-validation tables from botocore's service models (spec section 1.5.3).

Reads service-2.json(.gz) for cognito-identity, iam and sts from the installed botocore (located
with importlib, never imported) and writes crates/idpool-wire/src/validate/model.rs.

    python3 tools/gen_validation.py            # rewrite the generated file
    python3 tools/gen_validation.py --check    # exit 1 if the committed file is stale
    python3 tools/gen_validation.py --stdout   # print instead of writing

Standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "crates" / "idpool-wire" / "src" / "validate" / "model.rs"

# (Rust static name, botocore service, API version, operations or None for all of them)
SERVICES = [
    ("COGNITO", "cognito-identity", "2014-06-30", None),
    (
        "IAM",
        "iam",
        "2010-05-08",
        [
            "CreateRole", "GetRole", "ListRoles", "UpdateRole", "UpdateAssumeRolePolicy",
            "DeleteRole", "PutRolePolicy", "GetRolePolicy", "ListRolePolicies",
            "DeleteRolePolicy", "CreateOpenIDConnectProvider", "GetOpenIDConnectProvider",
            "ListOpenIDConnectProviders", "DeleteOpenIDConnectProvider",
            "AddClientIDToOpenIDConnectProvider", "RemoveClientIDFromOpenIDConnectProvider",
            "UpdateOpenIDConnectProviderThumbprint", "CreateSAMLProvider", "GetSAMLProvider",
            "ListSAMLProviders", "UpdateSAMLProvider", "DeleteSAMLProvider", "TagRole",
            "UntagRole", "ListRoleTags",
        ],
    ),
    ("STS", "sts", "2011-06-15", ["AssumeRoleWithWebIdentity", "GetCallerIdentity", "AssumeRole"]),
]

KINDS = {
    "string": "String",
    "boolean": "Boolean",
    "integer": "Integer",
    "long": "Long",
    "list": "List",
    "map": "Map",
    "structure": "Structure",
    "timestamp": "Timestamp",
}

# Java's predefined classes are ASCII-only unless UNICODE_CHARACTER_CLASS is set, while the regex
# crate's are Unicode; spell them out so `\w` keeps rejecting e.g. accented letters, as AWS does.
# Each is a bracketed class, which the regex crate also accepts nested inside another class.
JAVA_CLASSES = {
    "w": "[0-9A-Za-z_]",
    "W": "[^0-9A-Za-z_]",
    "d": "[0-9]",
    "D": "[^0-9]",
    "s": "[\\t\\n\\x0B\\x0C\\r ]",
    "S": "[^\\t\\n\\x0B\\x0C\\r ]",
}
HEX = set("0123456789abcdefABCDEF")


class ModelError(Exception):
    pass


def botocore_data_dir(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("botocore is not installed; pass --botocore-data DIR")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def load_model(data: Path, service: str, version: str) -> dict:
    base = data / service / version
    plain, packed = base / "service-2.json", base / "service-2.json.gz"
    if plain.exists():
        return json.loads(plain.read_text(encoding="utf-8"))
    if packed.exists():
        with gzip.open(packed, "rt", encoding="utf-8") as f:
            return json.load(f)
    raise ModelError(f"no service-2.json(.gz) under {base}")


def translate_pattern(java: str) -> str:
    """Rewrites a Java regular expression (as AWS models spell them) for the regex crate.

    `\\uXXXX` takes exactly four hex digits, as in Java: STS's `\\u10000-\\u10FFFF` therefore
    means U+1000, then the range '0'..U+10FF, then 'F' twice, which is what the service's Java
    validator runs. Literal `&` and `~` are escaped inside classes because the regex crate
    reads `&&` and `~~` there as set operators.
    """
    out: list[str] = []
    i, depth = 0, 0
    while i < len(java):
        c = java[i]
        if c == "\\":
            if i + 1 >= len(java):
                raise ModelError(f"dangling backslash in {java!r}")
            n = java[i + 1]
            if n == "u":
                digits = java[i + 2 : i + 6]
                if len(digits) != 4 or not set(digits) <= HEX:
                    raise ModelError(f"bad \\u escape in {java!r}")
                cp = int(digits, 16)
                if 0xD800 <= cp <= 0xDFFF:
                    raise ModelError(f"surrogate code point in {java!r}")
                out.append("\\x{%s}" % digits.upper())
                i += 6
                continue
            if n in JAVA_CLASSES:
                out.append(JAVA_CLASSES[n])
            elif n in "pP":
                if java[i + 2 : i + 3] == "{":
                    end = java.index("}", i + 2)
                    out.append(java[i : end + 1])
                    i = end + 1
                    continue
                out.append(java[i : i + 3])
                i += 3
                continue
            elif n in "tnrf":
                out.append("\\" + n)
            elif n.isascii() and not n.isalnum():
                out.append("\\" + n)
            else:
                raise ModelError(f"unsupported escape \\{n} in {java!r}")
            i += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth > 0:
            depth -= 1
        elif depth > 0 and c in "&~":
            out.append("\\" + c)
            i += 1
            continue
        elif depth > 0 and c == "-" and java[i + 1 : i + 2] == "-":
            raise ModelError(f"'--' inside a class is ambiguous in {java!r}")
        out.append(c)
        i += 1
    return "^(?:" + "".join(out) + ")$"


def lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def rust_str(text: str) -> str:
    """A Rust raw string literal that holds `text` verbatim."""
    hashes = "#"
    while '"' + hashes in text:
        hashes += "#"
    return "r" + hashes + '"' + text + '"' + hashes


def rust_option(value) -> str:
    return "None" if value is None else f"Some({value})"


class Tables:
    def __init__(self) -> None:
        self.patterns: list[str] = []

    def pattern_index(self, java: str) -> int:
        if java not in self.patterns:
            self.patterns.append(java)
        return self.patterns.index(java)


def reachable_shapes(shapes: dict, roots: list[str]) -> list[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        if name not in shapes:
            raise ModelError(f"shape {name} is referenced but not defined")
        seen.add(name)
        shape = shapes[name]
        for ref in ("member", "key", "value"):
            if ref in shape:
                stack.append(shape[ref]["shape"])
        for member in shape.get("members", {}).values():
            stack.append(member["shape"])
    return sorted(seen)


def bound(shape: dict, key: str):
    value = shape.get(key)
    if value is None:
        return None
    if isinstance(value, float):
        if not value.is_integer():
            raise ModelError(f"non-integral {key} {value}")
        value = int(value)
    return value


def render_service(tables: Tables, static: str, service: str, model: dict, ops) -> list[str]:
    shapes = model["shapes"]
    operations = model["operations"]
    op_names = sorted(operations) if ops is None else ops
    roots = []
    op_inputs = []
    for op in op_names:
        if op not in operations:
            raise ModelError(f"{service} has no operation {op}")
        input_shape = operations[op].get("input", {}).get("shape")
        op_inputs.append((op, input_shape))
        if input_shape:
            roots.append(input_shape)
    names = reachable_shapes(shapes, roots)
    index = {name: i for i, name in enumerate(names)}
    query = model["metadata"]["protocol"] == "query"

    lines = [f"static {static}_SHAPES: &[Shape] = &["]
    for i, name in enumerate(names):
        shape = shapes[name]
        kind = shape["type"]
        if kind not in KINDS:
            raise ModelError(f"{service} shape {name} has unsupported type {kind}")
        if shape.get("flattened"):
            raise ModelError(f"{service} shape {name} is flattened; the runtime does not read that")
        pattern = shape.get("pattern")
        pattern_ref = None if pattern is None else tables.pattern_index(pattern)
        enum = ", ".join(json.dumps(v) for v in shape.get("enum", []))
        item = key = 0
        if kind == "list":
            item = index[shape["member"]["shape"]]
            if query and shapes[shape["member"]["shape"]]["type"] in ("list", "map"):
                raise ModelError(f"{service} list {name} nests a collection; not supported")
        elif kind == "map":
            item = index[shape["value"]["shape"]]
            key = index[shape["key"]["shape"]]
        members = []
        required = set(shape.get("required", []))
        for member_name, member in shape.get("members", {}).items():
            if member.get("location") not in (None, ""):
                raise ModelError(f"{service} {name}.{member_name} is bound to an HTTP location")
            wire = member.get("locationName") or member.get("jsonName") or member_name
            members.append(
                f"M {{ wire: {json.dumps(wire)}, path: {json.dumps(lower_camel(member_name))}, "
                f"shape: {index[member['shape']]}, required: {str(member_name in required).lower()} }}"
            )
        lines.append(
            f"    /* {i} */ Shape {{ name: {json.dumps(name)}, kind: K::{KINDS[kind]}, "
            f"min: {rust_option(bound(shape, 'min'))}, max: {rust_option(bound(shape, 'max'))}, "
            f"pattern: {rust_option(pattern_ref)}, enum_values: &[{enum}], "
            f"sensitive: {str(bool(shape.get('sensitive'))).lower()}, item: {item}, key: {key}, "
            f"members: &[{', '.join(members)}] }},"
        )
    lines.append("];")
    lines.append("")
    lines.append(f"pub(super) static {static}: Service = Service {{")
    lines.append(f"    name: {json.dumps(service)},")
    lines.append(f"    shapes: {static}_SHAPES,")
    lines.append("    operations: &[")
    for op, input_shape in op_inputs:
        ref = "None" if input_shape is None else f"Some({index[input_shape]})"
        lines.append(f"        ({json.dumps(op)}, {ref}),")
    lines.append("    ],")
    lines.append("};")
    return lines


def generate(data: Path) -> str:
    tables = Tables()
    body: list[str] = []
    sources = []
    for static, service, version, ops in SERVICES:
        model = load_model(data, service, version)
        sources.append(f"{service} {model['metadata'].get('apiVersion', version)}")
        body.append("")
        body.extend(render_service(tables, static, service, model, ops))
    head = [
        "//! Constraint tables (spec §1.5.3): generated by tools/gen_validation.py; do not edit.",
        "//!",
        f"//! Source: botocore service models {', '.join(sources)}.",
        "",
        "use super::{Kind as K, Member as M, Pattern, Service, Shape};",
        "",
        "/// Model patterns as AWS prints them, with their regex-crate translation (anchored).",
        "pub(super) static PATTERNS: &[Pattern] = &[",
    ]
    for i, java in enumerate(tables.patterns):
        head.append(
            f"    /* {i} */ Pattern {{ model: {rust_str(java)}, regex: {rust_str(translate_pattern(java))} }},"
        )
    head.append("];")
    return "\n".join(head + body) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    parser.add_argument("--botocore-data", default=os.environ.get("BOTOCORE_DATA"))
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args()
    try:
        text = generate(botocore_data_dir(args.botocore_data))
    except (ModelError, OSError, ValueError, KeyError) as err:
        print(f"gen_validation: {err}", file=sys.stderr)
        return 2
    out = Path(args.output)
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else None
        if current != text:
            print(f"gen_validation: {out} is stale; run tools/gen_validation.py", file=sys.stderr)
            return 1
        print(f"gen_validation: {out} is up to date")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"gen_validation: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
