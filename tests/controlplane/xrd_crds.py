#!/usr/bin/env python3
"""Writes the CRDs that Crossplane would generate for our XRDs.

Without Crossplane's controllers running, the test API server has no CRD for
our composite resources or claims, so examples of them could not be checked.
This derives those CRDs the way Crossplane does (its xcrd package): the XRD
version's schema, plus the fields Crossplane adds to every XR and claim, so
the API server validates `spec.parameters` with our XRD's own rules (types,
enums, patterns, CEL).

    xrd_crds.py OUT_DIR XRD_FILE...
"""
import copy
import os
import sys

import yaml

OBJ = {"type": "object"}
STR = {"type": "string"}
LOOSE = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
NAME_REF = {"type": "object", "properties": {"name": STR}, "required": ["name"]}
SELECTOR = {
    "type": "object",
    "properties": {"matchLabels": {"type": "object", "additionalProperties": STR}},
    "required": ["matchLabels"],
}
OBJECT_REF = {
    "type": "object",
    "properties": {"apiVersion": STR, "kind": STR, "name": STR, "namespace": STR},
}
UPDATE_POLICY = {"type": "string", "enum": ["Automatic", "Manual"]}


def composition_props():
    return {
        "compositionRef": NAME_REF,
        "compositionSelector": SELECTOR,
        "compositionRevisionRef": NAME_REF,
        "compositionRevisionSelector": SELECTOR,
        "compositionUpdatePolicy": UPDATE_POLICY,
    }


def legacy_xr_spec_props():
    props = composition_props()
    props.update({
        "claimRef": {
            "type": "object",
            "properties": {"apiVersion": STR, "kind": STR, "namespace": STR, "name": STR},
            "required": ["apiVersion", "kind", "namespace", "name"],
        },
        "resourceRefs": {"type": "array", "items": OBJECT_REF,
                         "x-kubernetes-list-type": "atomic"},
        "writeConnectionSecretToRef": {
            "type": "object",
            "properties": {"name": STR, "namespace": STR},
            "required": ["name", "namespace"],
        },
    })
    return props


def modern_xr_spec_props():
    inner = composition_props()
    inner["resourceRefs"] = {"type": "array", "items": OBJECT_REF,
                             "x-kubernetes-list-type": "atomic"}
    return {"crossplane": {"type": "object", "properties": inner}}


def claim_spec_props():
    props = composition_props()
    props.update({
        "compositeDeletePolicy": {"type": "string", "enum": ["Background", "Foreground"]},
        "resourceRef": OBJECT_REF,
        "writeConnectionSecretToRef": {
            "type": "object", "properties": {"name": STR}, "required": ["name"]},
    })
    return props


STATUS_PROPS = {
    "conditions": {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
        "items": {
            "type": "object",
            "required": ["type", "status", "reason", "lastTransitionTime"],
            "properties": {
                "type": STR, "status": STR, "reason": STR, "message": STR,
                "lastTransitionTime": {"type": "string", "format": "date-time"},
                "observedGeneration": {"type": "integer", "format": "int64"},
            },
        },
    },
    "connectionDetails": {"type": "object", "properties": {"lastPublishedTime": {
        "type": "string", "format": "date-time"}}},
    "claimConditionTypes": {"type": "array", "items": STR, "x-kubernetes-list-type": "set"},
}


def version_schema(xrd_version, spec_extra):
    schema = copy.deepcopy((xrd_version.get("schema") or {}).get("openAPIV3Schema") or {})
    props = schema.get("properties", {})
    spec = copy.deepcopy(props.get("spec", {"type": "object"}))
    spec.setdefault("type", "object")
    spec.setdefault("properties", {}).update(copy.deepcopy(spec_extra))
    status = copy.deepcopy(props.get("status", {"type": "object"}))
    status.setdefault("type", "object")
    status.setdefault("properties", {}).update(copy.deepcopy(STATUS_PROPS))
    out = {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": STR,
            "kind": STR,
            "metadata": {"type": "object",
                         "properties": {"name": {"type": "string", "maxLength": 63}}},
            "spec": spec,
            "status": status,
        },
    }
    if "description" in schema:
        out["description"] = schema["description"]
    return out


def crd(name, group, names, scope, category, versions, spec_extra):
    names = copy.deepcopy(names)
    names["categories"] = list(names.get("categories", [])) + [category]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": group,
            "names": names,
            "scope": scope,
            "versions": [{
                "name": v["name"],
                "served": v.get("served", True),
                "storage": v.get("referenceable", False),
                "schema": {"openAPIV3Schema": version_schema(v, spec_extra)},
                "subresources": {"status": {}},
            } for v in versions],
        },
    }


def crds_for(xrd):
    api = xrd["apiVersion"]
    spec = xrd["spec"]
    modern = api == "apiextensions.crossplane.io/v2"
    scope = spec.get("scope", "Namespaced" if modern else "LegacyCluster")
    legacy = scope == "LegacyCluster"
    out = [crd(xrd["metadata"]["name"], spec["group"], spec["names"],
               "Namespaced" if scope == "Namespaced" else "Cluster", "composite",
               spec["versions"], legacy_xr_spec_props() if legacy else modern_xr_spec_props())]
    if spec.get("claimNames"):
        if not legacy:
            raise SystemExit(f"{xrd['metadata']['name']}: claims need scope LegacyCluster")
        claim = spec["claimNames"]
        out.append(crd(f"{claim['plural']}.{spec['group']}", spec["group"], claim, "Namespaced",
                       "claim", spec["versions"], claim_spec_props()))
    return out


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    out_dir = argv[0]
    os.makedirs(out_dir, exist_ok=True)
    for path in argv[1:]:
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if not doc or doc.get("kind") != "CompositeResourceDefinition":
                    continue
                for c in crds_for(doc):
                    with open(os.path.join(out_dir, c["metadata"]["name"] + ".yaml"), "w") as o:
                        yaml.safe_dump(c, o, sort_keys=False)


if __name__ == "__main__":
    main(sys.argv[1:])
