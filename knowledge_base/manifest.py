"""The manifest of a knowledge-base snapshot: what was built, from what, with which model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knowledge_base.indexes import IndexConfig

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """Facts about one snapshot (written as manifest.json)."""

    version: str
    created_at: str
    model: str
    dimension: int
    entry_count: int
    doc_count: int
    source_checksum: str
    index_kind: str
    config: IndexConfig = field(default_factory=IndexConfig)
    calibration: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "format": self.format,
            "version": self.version,
            "created_at": self.created_at,
            "model": self.model,
            "dimension": self.dimension,
            "entry_count": self.entry_count,
            "doc_count": self.doc_count,
            "source_checksum": self.source_checksum,
            "index_kind": self.index_kind,
            "config": self.config.to_json(),
            "calibration": {k: dict(v) for k, v in self.calibration.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """Inverse of `to_json`."""
        return cls(
            version=str(data["version"]),
            created_at=str(data["created_at"]),
            model=str(data["model"]),
            dimension=int(data["dimension"]),
            entry_count=int(data["entry_count"]),
            doc_count=int(data["doc_count"]),
            source_checksum=str(data["source_checksum"]),
            index_kind=str(data["index_kind"]),
            config=IndexConfig.from_json(data["config"]),
            calibration={k: dict(v) for k, v in data.get("calibration", {}).items()},
            format=int(data.get("format", FORMAT_VERSION)),
        )
