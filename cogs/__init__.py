"""Grove's Discord adapter: shared modules, then one package per feature (each loaded as an extension by bot.bot).

    replies.py   answering an interaction without pings; typed text given back
    errors.py    the one error handler (an extension: installs the command tree's on_error)
    checks.py    who may do what (admins, moderators)
    context.py   who the caller is to the engine
    privacy.py   what each feature holds about a member, and deleting it (`/privacy`)
    charts.py    PNG charts (matplotlib, off the event loop)
    i18n.py      the member's language: gettext catalogs (Babel) in `locale/`, `Tr` (every text goes through it)
    translator.py  the app commands in every interface language (an extension: the command tree's Translator)
    error_texts.py what each domain error says, as catalog messages
    vocabulary.py  tree states in the member's language
    catalogs.py  `python -m cogs.catalogs extract|check|add`: the catalogs' template and languages

    tasks/       /task and the task cards (writing, labelling, ranking), /status, /help
    moderation/  feed and mod-queue posts, reactions as data, `/mod …`, posts kept true to engine events
    admin/       /config …
    community/   /stats, /leaderboard, /privacy

A feature package has a thin `__init__` (setup), a `cog.py`, `views.py` for its buttons (they never import the
cog) and its rendering apart. No SQL and no `storage` here: the engine's records, errors and results only. No
text a member sees is written here but through `cogs.i18n` (`tr(...)`), in the member's language.
"""
