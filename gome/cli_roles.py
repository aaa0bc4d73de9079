"""`gome roles list | show NAME | export DIR`: the role prompt files."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

__all__ = ["register", "dispatch"]


def register(sub: argparse._SubParsersAction) -> None:
    roles = sub.add_parser("roles", help="the role prompts: list, show, export for editing")
    roles_sub = roles.add_subparsers(dest="roles_command", required=True)
    listing = roles_sub.add_parser("list", help="roles, their files and template variables")
    listing.add_argument("--roles", type=Path, default=None, help="an overriding folder to check")
    show = roles_sub.add_parser("show", help="print a role's prompt file")
    show.add_argument("name")
    show.add_argument("--roles", type=Path, default=None)
    export = roles_sub.add_parser("export", help="copy the packaged prompt files into DIR, to edit and pass with --roles")
    export.add_argument("dir", type=Path)


def dispatch(args: argparse.Namespace) -> int:
    from gome.errors import GomeUserError
    from gome.roles import DEFAULT_DIR, ROLE_VARIABLES, load_messages, load_roles

    if args.roles_command == "export":
        args.dir.mkdir(parents=True, exist_ok=True)
        files = ["preamble.md", *(f"{name}.md" for name in ROLE_VARIABLES), "messages.yaml"]
        for name in files:
            target = args.dir / name
            if target.exists():
                raise GomeUserError(f"{target}: already exists; export into an empty folder")
            shutil.copyfile(DEFAULT_DIR / name, target)
        print(f"exported {len(files)} prompt files to {args.dir}; use them with gome run --roles {args.dir}")
        return 0
    roles = load_roles(args.roles)  # checks every template, overrides included
    if args.roles_command == "list":
        for name, role in roles.items():
            print(f"{name:14} {role.path}  reply cap {role.max_tokens} tokens; variables: "
                  f"{', '.join(sorted(ROLE_VARIABLES[name]))}")
        print(f"{'messages':14} {load_messages(args.roles).path}  (repair requests, notes, evidence lines, fallbacks)")
        return 0
    if args.name not in roles:
        raise GomeUserError(f"unknown role {args.name!r}; roles are {', '.join(roles)}")
    print(roles[args.name].path.read_text(), end="")
    return 0
