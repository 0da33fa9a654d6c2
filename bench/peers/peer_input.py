#!/usr/bin/env python3
"""Writes the two RunFunctionRequests of the peer benchmark (bench-peers.sh).

    peer_input.py RENDERED XR COMPOSITION [REQUIRED] OUT_DIR

RENDERED is what `crossplane composition render` printed for XR through our
function. From it:

- OUT_DIR/ours.json: the request Crossplane sends our function for XR: the XR
  as observed composite, our Composition's step input, the capabilities
  Crossplane v2.2 advertises, and the objects in REQUIRED (when given)
  answering the function's requirements: the policy EnvironmentConfig under
  platform-policy, the XEnvironment a cluster or database takes its network
  from under network-environment, a database's connection Secret under
  rds-connection-secret. The policy requirement is answered (with nothing)
  even when REQUIRED holds no policy, as Crossplane answers it.
- OUT_DIR/peer.json: the request for function-patch-and-transform composing
  the same resources: a `Resources` input with every rendered resource as a
  base (Crossplane's own metadata taken off), and, for every string in a base
  equal to a value of the XR's spec.parameters or its name, a
  FromCompositeFieldPath patch from that XR field. That is how a P&T
  Composition would carry the XR's values into the same resources.
- OUT_DIR/counts.json: resources and patches, for the report.
"""
import json
import os
import sys

import yaml

CROSSPLANE_PREFIXES = ("crossplane.io/",)

# The requirement key our function asks under for each kind of required
# object, by the XR's kind (function/policy/policy.h,
# function/compose/environment.h, function/renderers/xdatabase/xdatabase.cc).
REQUIREMENTS = {
    "EnvironmentConfig": "platform-policy",
    "XEnvironment": "network-environment",
    ("XDatabase", "Secret"): "rds-connection-secret",
}
CAPABILITIES = ["CAPABILITY_CAPABILITIES", "CAPABILITY_REQUIRED_RESOURCES",
                "CAPABILITY_CREDENTIALS", "CAPABILITY_CONDITIONS",
                "CAPABILITY_REQUIRED_SCHEMAS"]


def documents(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]


def field_path(parts):
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif any(c in p for c in "./[]") or not p:
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out


def strings(node, parts=()):
    """Every string leaf of node with its path."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from strings(v, parts + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from strings(v, parts + (i,))
    elif isinstance(node, str):
        yield parts, node


def base_of(resource):
    base = {k: v for k, v in resource.items() if k not in ("status",)}
    meta = dict(base.get("metadata", {}))
    for key in ("generateName", "ownerReferences", "uid", "resourceVersion", "namespace"):
        meta.pop(key, None)
    for field in ("labels", "annotations"):
        kept = {k: v for k, v in meta.get(field, {}).items()
                if not k.startswith(CROSSPLANE_PREFIXES)}
        if kept:
            meta[field] = kept
        else:
            meta.pop(field, None)
    if meta:
        base["metadata"] = meta
    else:
        base.pop("metadata", None)
    return base


def main(argv):
    if len(argv) not in (5, 6):
        sys.exit(__doc__)
    rendered, xr_path, composition_path = argv[1:4]
    required = argv[4] if len(argv) == 6 else None
    out = argv[-1]
    xr = documents(xr_path)[0]
    composition = documents(composition_path)[0]
    step = next(s for s in composition["spec"]["pipeline"]
                if s["functionRef"]["name"] == "terraforming-function-platform")

    # The XR's values a P&T Composition would patch from.
    sources = {}
    for parts, value in strings(xr.get("spec", {}).get("parameters", {}), ("spec", "parameters")):
        if len(value) >= 3:
            sources.setdefault(value, field_path(parts))
    sources.setdefault(xr["metadata"]["name"], "metadata.name")

    resources, patches = [], 0
    for doc in documents(rendered):
        name = doc.get("metadata", {}).get("annotations", {}).get(
            "crossplane.io/composition-resource-name")
        if not name:
            continue  # the XR itself and the results
        base = base_of(doc)
        entry = {"name": name, "base": base}
        p = []
        for parts, value in strings(base):
            if parts[:1] in (("apiVersion",), ("kind",)):
                continue
            if value in sources:
                p.append({"type": "FromCompositeFieldPath", "fromFieldPath": sources[value],
                          "toFieldPath": field_path(parts)})
        if p:
            entry["patches"] = p
        patches += len(p)
        resources.append(entry)

    meta = {"tag": "bench", "capabilities": CAPABILITIES}
    observed = {"composite": {"resource": xr}}
    ours = {"meta": meta, "observed": observed, "input": step["input"]}
    answers = {"platform-policy": []}
    for doc in documents(required) if required else []:
        key = REQUIREMENTS.get(doc["kind"]) or REQUIREMENTS.get((xr["kind"], doc["kind"]))
        if not key:
            sys.exit(f"{required}: no requirement of {xr['kind']} asks for a {doc['kind']}")
        answers.setdefault(key, []).append({"resource": doc})
    ours["requiredResources"] = {k: {"items": v} for k, v in answers.items()}
    peer = {"meta": meta, "observed": observed,
            "input": {"apiVersion": "pt.fn.crossplane.io/v1beta1", "kind": "Resources",
                      "resources": resources}}
    os.makedirs(out, exist_ok=True)
    for name, body in (("ours.json", ours), ("peer.json", peer),
                       ("counts.json", {"resources": len(resources), "patches": patches})):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(body, f)
    print(f"{len(resources)} resources, {patches} patches")


if __name__ == "__main__":
    main(sys.argv)
