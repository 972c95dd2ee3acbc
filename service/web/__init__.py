"""The web app: the only package of commentgate that imports Flask.

The app factory is :func:`service.web.app.create_app`. The JSON API is in
:mod:`service.web.api`, the browser pages in :mod:`service.web.pages`; both use the
Flask-free core (:mod:`service.core`) and nothing else imports this package except the
``commentgate web`` command that serves it.
"""
