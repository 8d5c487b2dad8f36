"""The tier policy form (head office)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from brokercrm.segments import pipeline as sp
from brokercrm.segments.choices import Tier


class TierPolicyForm(forms.Form):
    """Thresholds of silver, gold and diamond and every tier's points multiplier."""

    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, initial_policy=None, **kwargs):
        super().__init__(*args, **kwargs)
        for tier in sp.TIERS[1:]:
            label = Tier(tier).label
            self.fields[f"{tier}_assets"] = forms.DecimalField(
                label=_("%(tier)s: 20-day average assets ≥") % {"tier": label},
                min_value=Decimal(0), max_digits=18, decimal_places=2,
            )  # fmt: skip
            self.fields[f"{tier}_commission"] = forms.DecimalField(
                label=_("%(tier)s: 12-month net commission ≥") % {"tier": label},
                min_value=Decimal(0), max_digits=18, decimal_places=2,
            )  # fmt: skip
        for tier in sp.TIERS:
            self.fields[f"{tier}_multiplier"] = forms.DecimalField(
                label=_("%(tier)s: points multiplier") % {"tier": Tier(tier).label},
                min_value=Decimal(0), max_digits=4, decimal_places=2,
            )  # fmt: skip
        self.order_fields([*(n for n in self.fields if n != "note"), "note"])
        if initial_policy is not None and not self.is_bound:
            for tier, t in initial_policy.thresholds.items():
                self.initial[f"{tier}_assets"] = t.avg_assets
                self.initial[f"{tier}_commission"] = t.net_commission
            for tier, m in initial_policy.multipliers.items():
                self.initial[f"{tier}_multiplier"] = m

    def thresholds(self) -> dict[str, sp.TierThreshold]:
        d = self.cleaned_data
        return {t: sp.TierThreshold(d[f"{t}_assets"], d[f"{t}_commission"]) for t in sp.TIERS[1:]}

    def multipliers(self) -> dict[str, Decimal]:
        return {t: self.cleaned_data[f"{t}_multiplier"] for t in sp.TIERS}


# --- the segment builder: the tree as form fields, and back ---------------------------------------
#
# Each node of the definition is a group of form fields named ``<attribute>@<path>``: the root
# group is ``r``, its items ``r.0``, ``r.1`` …, theirs ``r.0.0`` … A ``not`` around a node is the
# node's ``neg@<path>`` box. The page posts the whole form on every change; ``definition_from_form``
# rebuilds the JSON tree, which ``audience.definition_validate`` then judges (this parser is lenient
# on purpose: what the user typed reaches the validator, whose messages name the condition).

import re  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any, Mapping  # noqa: E402

from brokercrm.segments import audience as au  # noqa: E402

PATH = re.compile(r"^r(\.\d{1,3}){0,8}$")


def _key(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in path.split(".")[1:])


def definition_from_form(data) -> dict:
    """The definition tree the builder's fields describe (``data``: a ``QueryDict``)."""
    paths = sorted((k[5:] for k in data if k.startswith("kind@") and PATH.match(k[5:])), key=_key)
    if "r" not in paths:
        return {"op": "and", "items": []}
    groups: dict[str, dict] = {}
    root: dict = {}
    for path in paths:
        kind = data.get(f"kind@{path}")
        if kind == "group":
            node: dict = {"op": data.get(f"op@{path}") or "and", "items": []}
            groups[path] = node
        elif kind == "tag":
            node = {"tag": data.get(f"tag@{path}", "")}
        elif kind == "field":
            name = data.get(f"field@{path}", "")
            spec = au.FIELDS.get(name)
            cmp = data.get(f"cmp@{path}", "")
            if spec is not None and spec.kind == au.CHOICE:
                value: Any = data.getlist(f"choice@{path}")
            elif cmp == "between":
                value = [data.get(f"value@{path}", "").strip(), data.get(f"value2@{path}", "").strip()]
            else:
                value = data.get(f"value@{path}", "").strip()
            node = {"field": name, "cmp": cmp, "value": value}
        else:
            continue
        if data.get(f"neg@{path}"):
            node = {"op": "not", "items": [node]}
        if path == "r":
            root = node
            continue
        parent = groups.get(path.rsplit(".", 1)[0])
        if parent is not None:
            parent["items"].append(node)
    return root or {"op": "and", "items": []}


def _unwrap(node: Mapping) -> tuple[Mapping, bool]:
    """A node without its ``not`` wrappers, and whether it is negated (¬¬x = x)."""
    negated = False
    while isinstance(node, Mapping) and node.get("op") == "not" and len(node.get("items") or ()) == 1:
        node, negated = node["items"][0], not negated
    return node, negated


def _group_at(definition: dict, path: str) -> dict | None:
    node, _neg = _unwrap(definition)
    for index in _key(path):
        items = node.get("items") if isinstance(node, Mapping) else None
        if not isinstance(items, list) or index >= len(items):
            return None
        node, _neg = _unwrap(items[index])
    return node if isinstance(node, dict) and node.get("op") in ("and", "or") else None


def definition_apply(definition: dict, action: str, data) -> dict:
    """The definition after one of the builder's buttons: ``add-tag:<path>`` (the code picked in
    ``pick-tag@<path>``), ``add-field:<path>`` (``pick-field@<path>``), ``add-group:<path>``,
    ``remove:<path>``. Anything else leaves it unchanged."""
    verb, _sep, path = action.partition(":")
    if not PATH.match(path):
        return definition
    if verb == "remove" and path != "r":
        parent = _group_at(definition, path.rsplit(".", 1)[0])
        index = _key(path)[-1]
        if parent is not None and index < len(parent["items"]):
            del parent["items"][index]
        return definition
    group = _group_at(definition, path)
    if group is None:
        return definition
    if verb == "add-tag" and data.get(f"pick-tag@{path}"):
        group["items"].append({"tag": data.get(f"pick-tag@{path}")})
    elif verb == "add-field" and data.get(f"pick-field@{path}") in au.FIELDS:
        spec = au.FIELDS[data.get(f"pick-field@{path}")]
        if spec.kind == au.CHOICE:
            group["items"].append({"field": spec.name, "cmp": "in", "value": []})
        else:
            group["items"].append({"field": spec.name, "cmp": ">=", "value": ""})
    elif verb == "add-group":
        group["items"].append({"op": "or", "items": []})
    return definition


@dataclass
class BuilderNode:
    """One node of the builder as the template draws it."""

    path: str
    kind: str
    negated: bool = False
    op: str = "and"
    children: list[BuilderNode] = field(default_factory=list)
    tag: str = ""
    tag_name: str = ""
    spec: au.FieldSpec | None = None
    cmp: str = ""
    value: str = ""
    value2: str = ""
    chosen: tuple[str, ...] = ()
    choices: tuple[tuple[str, Any], ...] = ()
    cmps: tuple[tuple[str, Any], ...] = ()

    @property
    def depth(self) -> int:
        return self.path.count(".")


def builder_tree(definition: Mapping, *, tag_name, branches: list[tuple[str, str]]) -> BuilderNode:
    """The builder's nodes for a (possibly invalid) definition; ``tag_name(code)`` names a tag,
    ``branches`` are the (code, name) choices of a branch condition."""

    def build(raw: Any, path: str) -> BuilderNode:
        node, negated = _unwrap(raw if isinstance(raw, Mapping) else {})
        if "op" in node:
            items = node.get("items") if isinstance(node.get("items"), list) else []
            return BuilderNode(
                path=path, kind="group", negated=negated, op=node.get("op") if node.get("op") in ("and", "or") else "and",
                children=[build(item, f"{path}.{i}") for i, item in enumerate(items)],
            )  # fmt: skip
        if "tag" in node:
            code = str(node.get("tag") or "")
            return BuilderNode(path=path, kind="tag", negated=negated, tag=code, tag_name=tag_name(code))
        spec = au.FIELDS.get(node.get("field"))
        if spec is None:
            return BuilderNode(path=path, kind="group", negated=negated)
        value = node.get("value")
        built = BuilderNode(
            path=path, kind="field", negated=negated, spec=spec, cmp=str(node.get("cmp") or ""),
            cmps=tuple((c, au.CMP_LABELS[c]) for c in spec.cmps),
        )  # fmt: skip
        if spec.kind == au.CHOICE:
            built.chosen = tuple(str(v) for v in value) if isinstance(value, list) else ()
            built.choices = spec.choices if spec.choices is not None else tuple(branches)
        elif isinstance(value, list):
            built.value = str(value[0]) if value else ""
            built.value2 = str(value[1]) if len(value) > 1 else ""
        else:
            built.value = "" if value is None else str(value)
        return built

    root = build(definition, "r")
    if root.kind != "group":  # a lone condition at the top: draw it inside an "all of" group
        root = BuilderNode(path="r", kind="group", children=[build(definition, "r.0")])
    return root
