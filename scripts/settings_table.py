"""Print the README's settings table from the Settings class (so docs and code cannot drift)."""

from __future__ import annotations

from pathlib import Path

from assistant.settings import PROJECT_ROOT, Settings


def _default(value: object) -> str:
    if hasattr(value, "get_secret_value"):
        secret = value.get_secret_value()
        return "(development value)" if secret else "(empty)"
    if isinstance(value, Path):
        try:
            return str(value.relative_to(PROJECT_ROOT))
        except ValueError:
            return str(value)
    if value == "" or value == {}:
        return "(empty)"
    return str(value)


def main() -> None:
    """Print the markdown table."""
    print("| variable | default | meaning |")
    print("|---|---|---|")
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
        description = (field.description or "").replace("|", "\\|")
        print(f"| `ASSISTANT_{name.upper()}` | `{_default(default)}` | {description} |")


if __name__ == "__main__":
    main()
