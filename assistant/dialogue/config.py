"""Shared pieces of the dialogue config files: bilingual texts, and a reader whose errors name file and field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError

LOCALES = ("zh", "en")


@dataclass(frozen=True)
class LocalizedText:
    """A fixed text in Chinese and English."""

    zh: str
    en: str

    def get(self, locale: str) -> str:
        """The text in `locale` (English unless zh), falling back to the other language when empty."""
        first, second = (self.zh, self.en) if locale == "zh" else (self.en, self.zh)
        return first or second


def load_yaml(path: Path) -> Any:
    """Parse a YAML file, turning IO and syntax problems into a ConfigError naming the file."""
    import yaml

    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({exc})") from exc


class Field:
    """A value found at a dotted path inside a config document; its checks raise ConfigError naming both."""

    def __init__(self, source: str, path: str, value: Any, present: bool = True) -> None:
        self.source = source
        self.path = path
        self.value = value
        self.present = present

    def error(self, message: str) -> ConfigError:
        """A ConfigError about this field."""
        return ConfigError(f"{self.source}: field '{self.path or '<root>'}' {message}")

    def child(self, key: str | int) -> Field:
        """The field `key` of this mapping (or item `key` of this list); absent keys are not `present`."""
        path = f"{self.path}[{key}]" if isinstance(key, int) else (f"{self.path}.{key}" if self.path else key)
        if isinstance(key, int):
            items = self.sequence()
            return Field(self.source, path, items[key])
        mapping = self.mapping(required=False)
        return Field(self.source, path, mapping.get(key), key in mapping and mapping[key] is not None)

    def mapping(self, *, required: bool = True) -> Mapping[str, Any]:
        """The value as a mapping with string keys (empty when absent and not required)."""
        if not self.present or self.value is None:
            if required:
                raise self.error("is required")
            return {}
        if not isinstance(self.value, Mapping) or not all(isinstance(k, str) for k in self.value):
            raise self.error("must be a mapping with text keys")
        return self.value

    def sequence(self) -> list[Any]:
        """The value as a list (empty when absent)."""
        if not self.present or self.value is None:
            return []
        if not isinstance(self.value, list):
            raise self.error("must be a list")
        return self.value

    def items(self) -> list[Field]:
        """The list items as fields."""
        return [self.child(i) for i in range(len(self.sequence()))]

    def text(self, default: str | None = None, *, allow_empty: bool = False) -> str:
        """The value as a stripped string."""
        if not self.present:
            if default is None:
                raise self.error("is required")
            return default
        if not isinstance(self.value, str | int | float) or isinstance(self.value, bool):
            raise self.error("must be text")
        text = str(self.value).strip()
        if not text and not allow_empty:
            raise self.error("must not be empty")
        return text

    def texts(self, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The value as a list of non-empty strings."""
        if not self.present:
            return default
        return tuple(item.text() for item in self.items())

    def number(self, default: float, *, low: float | None = None, high: float | None = None) -> float:
        """The value as a float within [low, high]."""
        if not self.present:
            return default
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise self.error("must be a number")
        value = float(self.value)
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(f"must be between {low} and {high}, got {value}")
        return value

    def integer(self, default: int, *, low: int = 0) -> int:
        """The value as an int of at least `low`."""
        if not self.present:
            return default
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error("must be an integer")
        if self.value < low:
            raise self.error(f"must be at least {low}, got {self.value}")
        return int(self.value)

    def flag(self, default: bool) -> bool:
        """The value as a boolean."""
        if not self.present:
            return default
        if not isinstance(self.value, bool):
            raise self.error("must be true or false")
        return self.value

    def localized(self, default: LocalizedText | None = None, *, allow_empty: bool = False) -> LocalizedText:
        """A `{zh: ..., en: ...}` mapping (one language may be missing) or one string used for both."""
        if not self.present:
            if default is None:
                raise self.error("is required")
            return default
        if isinstance(self.value, str):
            text = self.text(allow_empty=allow_empty)
            return LocalizedText(text, text)
        mapping = self.mapping()
        unknown = sorted(set(mapping) - set(LOCALES))
        if unknown:
            raise self.error(f"has unknown languages {unknown}; use {list(LOCALES)}")
        zh = self.child("zh").text("", allow_empty=True)
        en = self.child("en").text("", allow_empty=True)
        if not (zh or en) and not allow_empty:
            raise self.error("needs a zh or en text")
        return LocalizedText(zh, en)
