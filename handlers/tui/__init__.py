"""The interactive handler console (Textual): ``writein console`` without a subcommand.

Screens: unlock → case list → case view, with the composer and small dialogs on top.
Everything a source wrote is shown through core.untrusted, as ``rich.text.Text``
that is never parsed as markup.
"""

from .app import ConsoleApp

__all__ = ["ConsoleApp"]
