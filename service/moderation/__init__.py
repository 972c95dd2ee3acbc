"""Moderation: moderator accounts, decisions on comments, audit, lists and retention."""
