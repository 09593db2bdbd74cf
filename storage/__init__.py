"""Storage: SQLite schema, migrations and every query Grove runs."""
