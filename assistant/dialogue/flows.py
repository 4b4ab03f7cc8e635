"""Slot-filling clarification flows (flows.yaml): per intent, one question whose options lead to answers."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.dialogue.config import Field, LocalizedText, load_yaml
from assistant.dialogue.decision import FAQ_PAYLOAD_PREFIX, HANDOFF_PAYLOAD
from assistant.errors import ConfigError
from assistant.text import normalize

# Payloads the engine gives a meaning of its own; a flow option must not shadow them.
RESERVED_PAYLOADS = (HANDOFF_PAYLOAD,)
RESERVED_PAYLOAD_PREFIX = FAQ_PAYLOAD_PREFIX
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./:-]*$")


@dataclass(frozen=True)
class FlowOption:
    """One answer to a flow question: quick-reply payload, title, free-text synonyms, and where it leads."""

    payload: str
    title: LocalizedText
    synonyms: tuple[str, ...] = ()
    faq_id: str | None = None
    answer: LocalizedText | None = None

    @property
    def match_terms(self) -> tuple[str, ...]:
        """Normalised words that select this option from free text: synonyms, titles and the payload."""
        terms = (*self.synonyms, self.title.zh, self.title.en, self.payload)
        return tuple(dict.fromkeys(t for t in (normalize(x) for x in terms) if t))


@dataclass(frozen=True)
class Flow:
    """The clarification asked when `intent` is predicted and `slot` is still unknown."""

    intent: str
    slot: str
    question: LocalizedText
    options: tuple[FlowOption, ...]

    def option(self, payload: str) -> FlowOption | None:
        """The option with this payload, or None."""
        return next((o for o in self.options if o.payload == payload), None)


@dataclass(frozen=True)
class Flows:
    """All flows keyed by the intent that triggers them."""

    by_intent: Mapping[str, Flow] = field(default_factory=dict)

    def get(self, intent: str | None) -> Flow | None:
        """The flow of an intent, or None."""
        return self.by_intent.get(intent) if intent else None

    def faq_ids(self) -> set[str]:
        """Every FAQ id the flows point to."""
        return {o.faq_id for f in self.by_intent.values() for o in f.options if o.faq_id}


def _parse_option(item: Field) -> FlowOption:
    payload = item.child("payload").text()
    if payload in RESERVED_PAYLOADS or payload.startswith(RESERVED_PAYLOAD_PREFIX):
        raise item.child("payload").error(f"{payload!r} is reserved by the engine")
    faq_field, answer_field = item.child("faq_id"), item.child("answer")
    if faq_field.present == answer_field.present:
        raise item.error("needs exactly one of 'faq_id' or 'answer'")
    return FlowOption(
        payload=payload,
        title=item.child("title").localized(),
        synonyms=item.child("synonyms").texts(),
        faq_id=faq_field.text() if faq_field.present else None,
        answer=answer_field.localized() if answer_field.present else None,
    )


def parse_flows(data: Any, source: str = "flows.yaml") -> Flows:
    """Validate a parsed flows document into `Flows`; errors name the file and the field."""
    root = Field(source, "", data, data is not None)
    flows_field = root.child("flows")
    flows: dict[str, Flow] = {}
    for intent, _ in flows_field.mapping(required=False).items():
        spec = flows_field.child(intent)
        if not _NAME_RE.match(intent):
            raise spec.error("is not a valid intent name")
        spec.mapping()
        options = tuple(_parse_option(item) for item in spec.child("options").items())
        if len(options) < 2:
            raise spec.child("options").error("needs at least two options")
        payloads = [o.payload for o in options]
        duplicates = sorted({p for p in payloads if payloads.count(p) > 1})
        if duplicates:
            raise spec.child("options").error(f"repeats payloads {duplicates}")
        flows[intent] = Flow(
            intent=intent,
            slot=spec.child("slot").text(),
            question=spec.child("question").localized(),
            options=options,
        )
    return Flows(flows)


def load_flows(path: Path) -> Flows:
    """Read and validate flows.yaml; a missing file is a ConfigError."""
    return parse_flows(load_yaml(path), str(path))


def validate_flow_faq_ids(flows: Flows, known_ids: Collection[str], source: str = "flows.yaml") -> None:
    """Raise ConfigError naming every flow option whose `faq_id` is not in the knowledge base."""
    known = set(known_ids)
    missing = [
        f"flows.{flow.intent}.options[{i}].faq_id={option.faq_id!r}"
        for flow in flows.by_intent.values()
        for i, option in enumerate(flow.options)
        if option.faq_id and option.faq_id not in known
    ]
    if missing:
        raise ConfigError(f"{source}: unknown FAQ ids in {', '.join(missing)}")
