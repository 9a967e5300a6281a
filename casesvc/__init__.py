"""casesvc: prior-authorization cases whose review lifecycle comes from the clock.

Importing the package loads nothing else; DEVELOPERS.md maps its modules. The HTTP app is
``casesvc.app.create_app``, the CLI ``casesvc.cli.main``.
"""
