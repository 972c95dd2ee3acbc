"""commentgate: the web app, the core it shares with the workers, and the command line.

- :mod:`service.core`: Flask-free settings, Redis keys, store, decision policy, moderation.
- :mod:`service.web`: the Flask app (:func:`service.web.app.create_app`), API and pages.
- :mod:`service.cli`: the ``commentgate`` console script.

Importing this package stays light so the command line starts fast.
"""
