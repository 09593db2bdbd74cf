"""`grove export`, `grove import` and `grove communities`: the dataset's way in and out of a database."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.progress import Progress
from engine.engine import Engine
from engine.errors import DomainError
from engine.export import EXPORT_CACHE_MIB, ExportOptions, export, find_member
from engine.guilds import GuildSettings
from engine.importer import ImportFailed, import_trees
from engine.types import TreeState
from storage.database import Database
from storage.store import open_store


def export_options(args: argparse.Namespace, user_id: int | None) -> ExportOptions:
    if args.state is None or args.state == "all":
        states = None if args.state == "all" or user_id is not None else (TreeState.READY_FOR_EXPORT.value,)
    else:
        states = tuple(s.strip() for s in args.state.split(",") if s.strip())
        unknown = [s for s in states if s not in {t.value for t in TreeState}]
        if unknown:
            raise ValueError(f"unknown tree state {unknown[0]!r}; states are: {', '.join(t.value for t in TreeState)}")

    def choice(name: str) -> str:
        if getattr(args, f"{name}_only"):
            return "only"
        return "include" if getattr(args, f"include_{name}") else "exclude"

    return ExportOptions(
        states=states,
        lang=args.lang,
        deleted=choice("deleted"),  # type: ignore[arg-type]
        spam=choice("spam"),  # type: ignore[arg-type]
        synthetic=choice("synthetic"),  # type: ignore[arg-type]
        user=user_id,
        prompts_only=args.prompts_only,
        labels=args.labels,
        events=args.events,
        limit=args.limit,
        anonymize_seed=args.anonymize,
        community=getattr(args, "community_id", None),
        jobs=getattr(args, "jobs", 1),
    )


MIN_SALT = 16  # characters of --anonymize: an empty salt made every author reversible (issue 18)


def _unsafe_output(out: Path, db: Path | str, force: bool) -> str | None:
    """Why `grove export` must not write to `out`, or None."""
    if out.is_symlink() or out.exists():
        if out.is_dir():
            return f"{out} is a folder; give a file name"
        if out.exists() and isinstance(db, Path) and db.exists() and os.path.samefile(out, db):
            return f"{out} is the database itself; give another file name"
        if out.exists() and out.is_file():
            with out.open("rb") as f:
                if f.read(16) == b"SQLite format 3\x00":
                    return f"{out} is an SQLite database; an export never replaces one"
        if not force:
            return f"{out} exists; add --force to replace it"
    for suffix in ("-wal", "-shm", "-journal"):  # the database's own side files
        if str(out) == f"{db}{suffix}":
            return f"{out} belongs to the database; give another file name"
    return None


async def export_command(args: argparse.Namespace) -> int:
    if isinstance(args.db, Path) and not args.db.is_file():
        print(f"grove export: no database at {args.db}", file=sys.stderr)
        return 2
    if args.anonymize is not None and len(args.anonymize) < MIN_SALT:
        print(
            f"grove export: --anonymize needs a salt of at least {MIN_SALT} characters (a short or empty salt lets "
            "anyone recompute the ids from the originals)",
            file=sys.stderr,
        )
        return 2
    unsafe = _unsafe_output(args.out, args.db, args.force)
    if unsafe is not None:
        print(f"grove export: {unsafe}", file=sys.stderr)
        return 2
    if getattr(args, "jobs", 1) > 1 and args.limit is not None:
        print("grove export: --limit needs one process (the first N trees in order); leave out --jobs", file=sys.stderr)
        return 2
    if args.user is not None and args.state is not None:
        print(
            "grove export: --user exports all of a member's messages; it cannot be combined with --state",
            file=sys.stderr,
        )
        return 2
    try:
        db = await open_store(args.db, migrate=False, cache_mib=EXPORT_CACHE_MIB)
    except RuntimeError as exc:  # PostgreSQL: the server refused, or the schema is newer
        print(f"grove export: {exc}", file=sys.stderr)
        return 2
    try:
        if await db.schema_version() == 0:
            print(f"grove export: {args.db} is not a Grove database", file=sys.stderr)
            return 2
        user_id = None
        if args.user is not None:
            user_id = await find_member(db, str(args.user))
            if user_id is None:
                print(f"grove export: no member {args.user!r} in {args.db}", file=sys.stderr)
                return 2
        args.community_id = None
        if args.community is not None:
            try:
                args.community_id = await GuildSettings(db).resolve_community(args.community)
            except DomainError:
                print(f"grove export: no community {args.community!r} in {args.db}", file=sys.stderr)
                return 2
        try:
            options = export_options(args, user_id)
        except ValueError as exc:
            print(f"grove export: {exc}", file=sys.stderr)
            return 2
        counts = await Engine(db).tree_counts(options.lang)
        total = sum(n for state, n in counts.items() if options.states is None or state.value in options.states)
        progress = Progress("trees read", total=total)
        result = await export(db, args.out, options, progress=progress.update)
        progress.done()
    finally:
        await db.close()
    what = (
        f"{result.messages} messages"
        if result.mode == "messages"
        else (f"{result.trees} trees ({result.messages} messages)")
    )
    print(f"wrote {what} to {result.path}")
    if result.skipped_trees:
        print(f"skipped {result.skipped_trees} trees whose prompt the filters left out", file=sys.stderr)
    return 0


async def import_command(
    path: Path | str, file: Path, state: TreeState | None, strict: bool, community: str = "1"
) -> int:
    if not file.is_file():
        print(f"grove import: no file {file}", file=sys.stderr)
        return 2
    try:
        db = await open_store(path)
    except RuntimeError as exc:  # PostgreSQL: the server refused, or the schema is newer
        print(f"grove import: {exc}", file=sys.stderr)
        return 2
    try:
        try:
            pool = await GuildSettings(db).resolve_community(community)
        except DomainError:
            print(f"grove import: no community {community!r} in {path} (see grove communities)", file=sys.stderr)
            return 2
        result = await import_trees(db, file, state=state, strict=strict, community=pool)
    except ImportFailed as exc:
        for line in exc.result.errors:
            print(f"{file}: {line}", file=sys.stderr)
        print(f"grove import: {exc}", file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        print(f"grove import: cannot read {file}: {exc}", file=sys.stderr)
        return 2
    finally:
        await db.close()
    for line in result.errors:
        print(f"{file}: {line}", file=sys.stderr)
    states = ", ".join(f"{n} {s}" for s, n in sorted(result.by_state.items())) or "none new"
    print(
        f"imported {result.trees} trees ({result.messages} messages: {states}); "
        f"{result.loose} loose messages; "
        f"{result.already_present} already present; {len(result.errors)} bad line(s) skipped"
    )
    return 1 if result.errors else 0


async def communities_command(args: argparse.Namespace) -> int:
    if not args.db.is_file():
        print(f"grove communities: no database at {args.db}", file=sys.stderr)
        return 2
    db = await Database.open(args.db)
    try:
        settings = GuildSettings(db)
        if args.action == "join":
            try:
                community = await settings.resolve_community(args.community)
                old = await settings.join(args.guild, community, None)
            except DomainError as exc:
                print(f"grove communities join: {exc}", file=sys.stderr)
                return 2
            print(f"server {args.guild} is now in community {community} (was {old})")
            return 0
        for c in await settings.communities():
            servers = ", ".join(str(g) for g in c.guild_ids) or "no server yet"
            print(f"{c.id:>4}  {c.name or '-'}  servers: {servers}  trees: {c.trees}")
        return 0
    finally:
        await db.close()


def migrate_command(source: str, target: str) -> int:
    """`grove migrate --from sqlite:PATH --to postgresql://…` (storage/pg/migrate.py)."""
    if not source.startswith("sqlite:"):
        print("grove migrate: --from must be sqlite:PATH (the SQLite database to copy)", file=sys.stderr)
        return 2
    if not target.startswith(("postgresql://", "postgres://")):
        print("grove migrate: --to must be a postgresql:// URL", file=sys.stderr)
        return 2
    try:
        from storage.pg.migrate import MigrateError, copy
    except ImportError:
        print('grove migrate: PostgreSQL needs the [postgresql] extra: pip install -e ".[postgresql]"', file=sys.stderr)
        return 2
    try:
        counts = copy(Path(source.removeprefix("sqlite:")), target)
    except MigrateError as exc:
        print(f"grove migrate: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # the PostgreSQL server refused the connection, or a newer schema
        print(f"grove migrate: {exc}", file=sys.stderr)
        return 2
    for table, n in counts.items():
        if n:
            print(f"{table}: {n} rows")
    print(f"copied {sum(counts.values())} rows into {_without_password(target)}; nothing was left out")
    return 0


def _without_password(url: str) -> str:
    """The URL as it may be printed: user@host/database, never a password."""
    scheme, _, rest = url.partition("://")
    credentials, at, place = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':', 1)[0]}{at}{place}" if at else url
