"""E-mail: messages rendered from templates, queued with the change that causes them, sent
after the commit (see docs/mail.md)."""
