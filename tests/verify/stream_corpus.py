"""The fault corpus grouped by what a batch shares (trust, CRLs, purpose, depth limit), with
unreadable chains and unusable names added: what the streaming and Dask tests run."""

from __future__ import annotations

import base64
import functools
import json

from cryptography.hazmat.primitives.serialization import Encoding

from tests.verify.verify_corpus import all_cases


def der(certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


@functools.lru_cache(maxsize=1)
def groups() -> tuple[dict, ...]:
    """Each group: the arguments one batch call takes (the trust anchors of all its cases
    together), and its chains (DER) and names."""
    found: dict = {}
    for case in all_cases():
        key = (tuple(c.public_bytes(Encoding.DER) for c in case.crls), case.purpose,
               case.max_depth)
        group = found.setdefault(key, {"trust": [], "crls": list(key[0]),
                                       "purpose": case.purpose, "max_depth": case.max_depth,
                                       "chains": [], "names": [], "ids": []})
        group["trust"] += [der(t) for t in case.trust if der(t) not in group["trust"]]
        group["chains"].append([der(c) for c in case.chain])
        group["names"].append(case.name)
        group["ids"].append(case.id)
    biggest = max(found.values(), key=lambda g: len(g["chains"]))
    valid = next(i for i, label in enumerate(biggest["ids"]) if label.startswith("valid-p256"))
    leaf, rest = biggest["chains"][valid][0], biggest["chains"][valid][1:]
    extra = [([b"\x30\x03\x02\x01\x01"] + rest, None, "unparseable-leaf"),
             ([leaf, b"\x30\x00"] + rest, biggest["names"][valid], "unparseable-extra-certificate"),
             ([], None, "empty-chain"),
             (biggest["chains"][valid], "bad name!", "unusable-name"),
             (biggest["chains"][valid], "", "empty-name")]
    for chain, name, label in extra:
        biggest["chains"].append(chain)
        biggest["names"].append(name)
        biggest["ids"].append(label)
    return tuple(found.values())


def biggest() -> dict:
    return max(groups(), key=lambda g: len(g["chains"]))


def valid_chain() -> tuple[list[bytes], list[bytes]]:
    """A valid P-256 chain of the biggest group, and that group's trust anchors."""
    group = biggest()
    position = next(i for i, label in enumerate(group["ids"]) if label.startswith("valid-p256"))
    return group["chains"][position], group["trust"]


def jsonl_lines(chains, names, bad_lines=()) -> list[str]:
    """JSON Lines text for the chains (with their names), with ``bad_lines`` (position, text)
    put in."""
    lines = []
    for chain, name in zip(chains, names):
        record = {"chain": [base64.b64encode(d).decode() for d in chain]}
        if name is not None:
            record["name"] = name
        lines.append(json.dumps(record) if chain else json.dumps({"chain": [], "name": name}))
    for position, text in bad_lines:
        lines.insert(position, text)
    return lines
