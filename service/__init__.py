"""The commentgate web service.

The app factory is :func:`service.app.create_app`; importing this package stays light
so the command line starts fast.
"""
