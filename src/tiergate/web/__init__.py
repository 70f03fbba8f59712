"""Server-rendered pages: pricing, the account and members pages, billing forms, health."""
