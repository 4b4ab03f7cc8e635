"""`python -m handoff agents create|list|passwd|disable|enable`: manage console accounts in the configured store.

The password is read from stdin (one line), so it never appears in the process list or shell history:
    echo 's3cret-pass' | python -m handoff agents create alice --role admin --name 小艾
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from assistant.errors import AssistantError
from assistant.settings import Settings
from handoff.agents import ROLES, AgentDirectory
from storage.ports import Store


def _read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def _open_store() -> Store:
    from storage.factory import open_store

    settings = Settings()
    return open_store(settings.resolved_store_url, sqlite_synchronous=settings.sqlite_synchronous)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m handoff", description="Manage the agents' console accounts.")
    groups = parser.add_subparsers(dest="group", required=True)
    agents = groups.add_parser("agents", help="console accounts").add_subparsers(dest="command", required=True)
    create = agents.add_parser("create", help="create an account (password on stdin)")
    create.add_argument("username")
    create.add_argument("--role", choices=ROLES, default="agent")
    create.add_argument("--name", default="", help="display name users see, e.g. 王老师")
    agents.add_parser("list", help="list accounts")
    for name, text in (("passwd", "set a new password (on stdin)"), ("disable", "disable"), ("enable", "enable")):
        agents.add_parser(name, help=text).add_argument("username")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 on errors, with a message on stderr)."""
    args = _parser().parse_args(argv)
    try:
        store = _open_store()
        try:
            directory = AgentDirectory(store)
            if args.command == "create":
                account = directory.create(
                    args.username, _read_password("Password: "), role=args.role, display_name=args.name
                )
                print(f"created {account.role} {account.username} ({account.name})")
            elif args.command == "list":
                for account in directory.accounts():
                    state = "active" if account.active else "disabled"
                    print(f"{account.username}\t{account.role}\t{state}\t{account.name}")
            elif args.command == "passwd":
                directory.set_password(args.username, _read_password("New password: "))
                print(f"password of {args.username} changed")
            else:
                directory.set_active(args.username, args.command == "enable")
                print(f"{args.username} {args.command}d")
        finally:
            store.close()
    except AssistantError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except Exception as exc:  # an unreachable store or invalid settings: say so, no traceback
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(run())
