#!/usr/bin/env python3
"""Writes an SPDX 2.3 JSON SBOM of a runtime image, offline, from what the
image script put in it:

  scripts/sbom.py --image NAME:TAG --output FILE [--created EPOCH]
      [--dpkg-root DIR]          # packages of DIR/var/lib/dpkg/status, licences
                                 # from DIR/usr/share/doc/<package>/copyright
      [--host-files DIR]         # shared libraries copied into DIR from this
                                 # machine: the Debian package of each
                                 # (dpkg -S), its version (dpkg-query)
      [--component NAME VERSION PURL LICENSE]...  # the project's own programs

Every package is CONTAINED by one package for the image itself, which the
document DESCRIBES. The same sources give the same bytes: the creation time
is the image's (SOURCE_DATE_EPOCH), the namespace a hash of the content.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.parse

DISTRO = "debian-12"

# Debian copyright-format licence short names and their SPDX identifiers.
SPDX_LICENSES = {
    "apache-2.0": "Apache-2.0",
    "artistic": "Artistic-1.0-Perl",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsl-1.0": "BSL-1.0",
    "cc0-1.0": "CC0-1.0",
    "expat": "MIT",
    "mit": "MIT",
    "gpl-2": "GPL-2.0-only",
    "gpl-2+": "GPL-2.0-or-later",
    "gpl-3": "GPL-3.0-only",
    "gpl-3+": "GPL-3.0-or-later",
    "isc": "ISC",
    "lgpl-2": "LGPL-2.0-only",
    "lgpl-2+": "LGPL-2.0-or-later",
    "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-2.1+": "LGPL-2.1-or-later",
    "lgpl-3": "LGPL-3.0-only",
    "lgpl-3+": "LGPL-3.0-or-later",
    "mpl-2.0": "MPL-2.0",
    "psf-2": "PSF-2.0",
    "public-domain": None,
    "zlib": "Zlib",
}


def parse_stanzas(text):
    """Debian control stanzas (dpkg status, dpkg-query output) as dicts."""
    stanzas, fields, last = [], {}, None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if fields:
                stanzas.append(fields)
            fields, last = {}, None
        elif line[0] in " \t" and last:
            fields[last] += "\n" + line
        elif ":" in line:
            last, value = line.split(":", 1)
            fields[last] = value.strip()
    return stanzas


def simple_license(copyright_file):
    """The SPDX identifier when a machine-readable copyright file names one
    licence for every file; NOASSERTION otherwise."""
    try:
        with open(copyright_file, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return "NOASSERTION"
    if not text.startswith("Format:"):
        return "NOASSERTION"
    names = set()
    for stanza in parse_stanzas(text):
        if "Files" in stanza and "License" in stanza:
            names.add(stanza["License"].split("\n")[0].strip().lower())
    if len(names) != 1:
        return "NOASSERTION"
    return SPDX_LICENSES.get(names.pop()) or "NOASSERTION"


def deb_purl(name, version, arch):
    q = lambda s: urllib.parse.quote(s, safe="")
    return f"pkg:deb/debian/{q(name)}@{q(version)}?arch={q(arch)}&distro={DISTRO}"


def supplier(maintainer):
    m = re.match(r"\s*(.*?)\s*<([^>]*)>", maintainer or "")
    if not m:
        return "NOASSERTION"
    return f"Organization: {m.group(1)} ({m.group(2)})"


def deb_package(fields, license_id):
    name, version, arch = fields["Package"], fields["Version"], fields["Architecture"]
    pkg = {
        "name": name,
        "versionInfo": version,
        "supplier": supplier(fields.get("Maintainer")),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": license_id,
        "copyrightText": "NOASSERTION",
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": deb_purl(name, version, arch),
        }],
    }
    if fields.get("Source"):
        pkg["sourceInfo"] = f"built from the Debian source package {fields['Source']}"
    if fields.get("Homepage"):
        pkg["homepage"] = fields["Homepage"]
    return pkg


def dpkg_owner(path):
    """The package that installed <path> on this machine, trying both sides of
    the /usr merge and the file a symlink names; None when none did."""
    candidates = [path]
    candidates.append(path[4:] if path.startswith("/usr/") else "/usr" + path)
    real = os.path.realpath(path)
    candidates += [real, real[4:] if real.startswith("/usr/") else "/usr" + real]
    for c in candidates:
        r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            owner, _, owned = line.partition(": ")
            if owned == c and not owner.startswith("diversion"):
                return owner.split(", ")[0]
    return None


def host_packages(root):
    """Debian packages (as dpkg-query fields) of the shared libraries under
    <root>, a tree laid out as the image is."""
    owners, missing = set(), []
    for dirpath, _, names in os.walk(root):
        for n in names:
            image_path = os.path.join(dirpath, n)[len(root):]
            if ".so" not in n:
                continue
            owner = dpkg_owner(image_path)
            if owner:
                owners.add(owner)
            else:
                missing.append(image_path)
    if missing:
        sys.exit("sbom.py: no Debian package on this machine holds " + ", ".join(sorted(missing)))
    if not owners:
        return []
    r = subprocess.run(
        ["dpkg-query", "-W", "-f",
         "Package: ${Package}\nVersion: ${Version}\nArchitecture: ${Architecture}\n"
         "Maintainer: ${Maintainer}\nSource: ${source:Package}\nHomepage: ${Homepage}\n\n"]
        + sorted(owners), capture_output=True, text=True, check=True)
    return parse_stanzas(r.stdout)


def spdx_id(kind, name, arch=""):
    return "SPDXRef-" + re.sub(r"[^A-Za-z0-9.-]", "-", f"{kind}-{name}" + (f"-{arch}" if arch else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--created", type=int, default=int(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    ap.add_argument("--dpkg-root")
    ap.add_argument("--host-files")
    ap.add_argument("--component", nargs=4, action="append", default=[],
                    metavar=("NAME", "VERSION", "PURL", "LICENSE"))
    args = ap.parse_args()

    repository, _, tag = args.image.rpartition(":")
    image_name = repository.rsplit("/", 1)[-1]
    image_id = spdx_id("Image", image_name)
    packages = [{
        "name": repository,
        "SPDXID": image_id,
        "versionInfo": tag,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "CONTAINER",
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": f"pkg:oci/{image_name}?repository_url="
                                + urllib.parse.quote(repository, safe="") + f"&tag={tag}",
        }],
    }]
    contained = []
    for name, version, purl, license_id in args.component:
        contained.append({
            "name": name, "SPDXID": spdx_id("Component", name), "versionInfo": version,
            "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION", "licenseDeclared": license_id,
            "copyrightText": "NOASSERTION", "primaryPackagePurpose": "APPLICATION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                              "referenceLocator": purl}],
        })
    debs = {}
    if args.dpkg_root:
        with open(os.path.join(args.dpkg_root, "var/lib/dpkg/status"), encoding="utf-8") as f:
            for fields in parse_stanzas(f.read()):
                if fields.get("Status") != "install ok installed":
                    continue
                lic = simple_license(os.path.join(args.dpkg_root, "usr/share/doc", fields["Package"], "copyright"))
                debs[(fields["Package"], fields["Architecture"])] = deb_package(fields, lic)
    if args.host_files:
        for fields in host_packages(os.path.abspath(args.host_files)):
            key = (fields["Package"], fields["Architecture"])
            if key in debs:
                continue  # the image's own copy (its dpkg status) wins
            lic = simple_license(os.path.join("/usr/share/doc", fields["Package"], "copyright"))
            pkg = deb_package({k: v for k, v in fields.items() if v}, lic)
            pkg["comment"] = "shared libraries copied from this package as installed on the build machine"
            debs[key] = pkg
    for (name, arch), pkg in sorted(debs.items()):
        pkg["SPDXID"] = spdx_id("deb", name, arch)
        contained.append(pkg)
    packages += contained

    relationships = [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                      "relatedSpdxElement": image_id}]
    relationships += [{"spdxElementId": image_id, "relationshipType": "CONTAINS",
                       "relatedSpdxElement": p["SPDXID"]} for p in contained]
    created = datetime.datetime.fromtimestamp(args.created, datetime.timezone.utc)
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": args.image,
        "documentNamespace": "",
        "creationInfo": {
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "creators": ["Tool: terraforming-platform-scripts-sbom.py"],
        },
        "packages": packages,
        "relationships": relationships,
    }
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    doc["documentNamespace"] = f"https://spdx.org/spdxdocs/{image_name}-{tag}-{digest}"
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.output)
    print(f"{args.output}: {len(contained)} packages", file=sys.stderr)


if __name__ == "__main__":
    main()
